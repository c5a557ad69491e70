/**
 * Follows one run's Server-Sent Events (`GET /v1/tasks/{id}/events`): a `snapshot`, then a
 * `state` event per change. Events are handed over in batches, once per animation frame.
 * The stream is closed here once the run is final (the server ends it too; without this
 * EventSource would reconnect forever); after a retry the page follows the run again.
 */
import { isFinal } from '../states.ts';
import { animationFrame, frameBatcher } from './batch.ts';
import type { SnapshotData, StateData, StreamEvent } from './state.ts';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

export interface StreamHandlers {
  onEvents(events: StreamEvent[]): void;
  onStatus(status: StreamStatus): void;
}

export function followRun(id: string, handlers: StreamHandlers): () => void {
  const source = new EventSource(`/v1/tasks/${encodeURIComponent(id)}/events`);
  const batcher = frameBatcher(handlers.onEvents, animationFrame);
  let ended = false;
  const end = () => {
    ended = true;
    source.close();
    batcher.flush();
    handlers.onStatus('ended');
  };
  handlers.onStatus('connecting');
  source.addEventListener('open', () => handlers.onStatus('live'));
  source.addEventListener('snapshot', (event) => {
    const data = JSON.parse((event as MessageEvent<string>).data) as SnapshotData;
    batcher.push({ type: 'snapshot', data });
    if (isFinal(data.state)) end();
  });
  source.addEventListener('state', (event) => {
    const data = JSON.parse((event as MessageEvent<string>).data) as StateData;
    batcher.push({ type: 'state', data });
    if (data.node === undefined && isFinal(data.state)) end();
  });
  source.addEventListener('error', () => {
    if (ended) return;
    handlers.onStatus(source.readyState === EventSource.CLOSED ? 'failed' : 'reconnecting');
  });
  return () => {
    ended = true;
    source.close();
    batcher.cancel();
  };
}
