/**
 * The details of one node: its definition, live state, attempts, times, outputs, error, and
 * its captured log (`GET /v1/tasks/{id}/nodes/{n}/log`), refreshed while it runs.
 */
import { useEffect, useRef, useState } from 'react';
import { type LiveNode, nodeLog } from '../api.ts';
import { durationOf, formatDuration, formatTime } from '../format.ts';
import { useNow } from '../hooks.ts';
import { State } from '../states.ts';
import { StateBadge } from './common.tsx';

const LOG_REFRESH_MS = 2000;

type LogView =
  | { status: 'loading' }
  | { status: 'none' }
  | { status: 'text'; text: string }
  | { status: 'error'; message: string };

function NodeLog({ run, node, running }: { run: string; node: number; running: boolean }) {
  const [log, setLog] = useState<LogView>({ status: 'loading' });
  const [refresh, setRefresh] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: refresh reloads the log on demand
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const text = await nodeLog(run, node, controller.signal);
        if (controller.signal.aborted) return;
        setLog(text === null ? { status: 'none' } : { status: 'text', text });
      } catch (err) {
        if (!controller.signal.aborted)
          setLog({ status: 'error', message: (err as Error).message });
      }
      if (running && !controller.signal.aborted) timer = setTimeout(load, LOG_REFRESH_MS);
    };
    void load();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [run, node, running, refresh]);

  return (
    <section className="node-log" aria-labelledby="node-log-title" data-log={log.status}>
      <h3 id="node-log-title">
        Log{' '}
        <button type="button" className="link small" onClick={() => setRefresh((r) => r + 1)}>
          refresh
        </button>
      </h3>
      {log.status === 'loading' ? <p className="muted">Loading…</p> : null}
      {log.status === 'none' ? (
        <p className="muted" data-testid="no-log">
          No log available.
        </p>
      ) : null}
      {log.status === 'error' ? (
        <p className="notice error" role="alert">
          Could not load the log: {log.message}
        </p>
      ) : null}
      {log.status === 'text' ? (
        log.text === '' ? (
          <p className="muted">The log is empty.</p>
        ) : (
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard
          <section className="log" aria-label="Log output" tabIndex={0}>
            <pre>{log.text}</pre>
          </section>
        )
      ) : null}
    </section>
  );
}

export function NodePanel(props: {
  run: string;
  node: LiveNode;
  state: number;
  attempts: number;
  error: string | null;
  onClose(): void;
}) {
  const { run, node, state, attempts, error, onClose } = props;
  const now = useNow(1000, state === State.running);
  const heading = useRef<HTMLHeadingElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus moves when another node opens
  useEffect(() => {
    heading.current?.focus();
  }, [node.id]);
  const outputs = Object.entries(node.output);
  return (
    <aside className="node-panel" aria-labelledby="node-panel-title" data-node={node.id}>
      <div className="panel-head">
        <h2 id="node-panel-title" ref={heading} tabIndex={-1}>
          {node.name}
        </h2>
        <button type="button" className="icon" onClick={onClose} aria-label="Close node details">
          ✕
        </button>
      </div>
      <p>
        <StateBadge state={state} />
        {attempts > 0 ? <span className="muted small"> attempt {attempts}</span> : null}
      </p>
      <dl className="fields">
        <dt>Id</dt>
        <dd>{node.id}</dd>
        <dt>Target</dt>
        <dd>{node.target || <span className="muted">default</span>}</dd>
        <dt>Engine</dt>
        <dd>{node.engine}</dd>
        <dt>Artifact</dt>
        <dd className="mono">{node.artifact || <span className="muted">none</span>}</dd>
        <dt>Inputs (args)</dt>
        <dd className="mono">
          {node.args.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <ul className="plain">
              {node.args.map((arg, k) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: args are positional
                <li key={k}>{arg}</li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Outputs</dt>
        <dd className="mono">
          {outputs.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <ul className="plain">
              {outputs.map(([key, value]) => (
                <li key={key}>
                  {key}={value === '' ? <span className="muted">(not yet)</span> : value}
                </li>
              ))}
            </ul>
          )}
        </dd>
        {node.timeout ? (
          <>
            <dt>Timeout</dt>
            <dd>{node.timeout} s</dd>
          </>
        ) : null}
        {node.retries ? (
          <>
            <dt>Retries</dt>
            <dd>
              {node.retries.count} after {node.retries.backoff_s} s (doubling)
            </dd>
          </>
        ) : null}
        <dt>Started</dt>
        <dd>{formatTime(node.start_date, now) || <span className="muted">not yet</span>}</dd>
        <dt>Ended</dt>
        <dd>{formatTime(node.stop_date, now) || <span className="muted">not yet</span>}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(durationOf(node.start_date, node.stop_date, now))}</dd>
        {error ? (
          <>
            <dt>Error</dt>
            <dd className="error-text">{error}</dd>
          </>
        ) : null}
      </dl>
      <NodeLog run={run} node={node.id} running={state === State.running} />
    </aside>
  );
}
