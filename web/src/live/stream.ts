/**
 * Follows one run's Server-Sent Events (`GET /v1/tasks/{id}/events`): a `snapshot`, then a
 * `state` event per change. Events are handed over in batches, once per animation frame.
 *
 * The stream is read with fetch rather than EventSource so that it carries the tab's token
 * as an `Authorization` header (auth.ts), and it behaves as EventSource did: a connection
 * that drops is opened again after a pause (each new one starts with a fresh snapshot), an
 * answer other than 200 ends it for good (`failed`; the page then polls), and the stream is
 * closed here once the run is final (the server ends it too). A 401 asks for a token.
 */
import { authHeaders, reportUnauthorized } from '../auth.ts';
import { isFinal } from '../states.ts';
import { animationFrame, frameBatcher } from './batch.ts';
import { SseParser } from './sse.ts';
import type { SnapshotData, StateData, StreamEvent } from './state.ts';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

export interface StreamHandlers {
  onEvents(events: StreamEvent[]): void;
  onStatus(status: StreamStatus): void;
}

/** EventSource's default pause before reconnecting. */
const RECONNECT_MS = 3000;

export function followRun(id: string, handlers: StreamHandlers): () => void {
  const url = `/v1/tasks/${encodeURIComponent(id)}/events`;
  const controller = new AbortController();
  const batcher = frameBatcher(handlers.onEvents, animationFrame);
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const end = () => {
    ended = true;
    controller.abort();
    batcher.flush();
    handlers.onStatus('ended');
  };

  const dispatch = (event: string, data: string) => {
    if (event === 'snapshot') {
      const snapshot = JSON.parse(data) as SnapshotData;
      batcher.push({ type: 'snapshot', data: snapshot });
      if (isFinal(snapshot.state)) end();
    } else if (event === 'state') {
      const change = JSON.parse(data) as StateData;
      batcher.push({ type: 'state', data: change });
      if (change.node === undefined && isFinal(change.state)) end();
    }
  };

  const reconnect = () => {
    if (ended) return;
    handlers.onStatus('reconnecting');
    timer = setTimeout(() => void connect(), RECONNECT_MS);
  };

  const connect = async () => {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...authHeaders() },
        cache: 'no-store',
        signal: controller.signal,
      });
    } catch {
      reconnect();
      return;
    }
    if (ended) return;
    if (res.status === 401) {
      const body = (await res.json().catch(() => null)) as { message?: string } | null;
      reportUnauthorized(body?.message ?? 'HTTP 401');
    }
    if (!res.ok || res.body === null) {
      void res.body?.cancel();
      handlers.onStatus('failed');
      return;
    }
    handlers.onStatus('live');
    const parser = new SseParser();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || ended) break;
        for (const message of parser.push(value)) {
          dispatch(message.event, message.data);
          if (ended) break;
        }
      }
    } catch {
      // the connection dropped (or was aborted by end or close)
    }
    // the server closed the stream before the run's end: follow it again, as EventSource would
    reconnect();
  };

  handlers.onStatus('connecting');
  void connect();
  return () => {
    ended = true;
    controller.abort();
    if (timer !== undefined) clearTimeout(timer);
    batcher.cancel();
  };
}
