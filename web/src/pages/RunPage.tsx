/**
 * `/runs/:id`: one run, live. Loads the run once (structure, definitions, timestamps), then
 * follows its SSE stream; events are applied once per animation frame and only change node
 * states, never the layout. Timestamps and outputs for the table, timeline and node panel
 * come from re-reading the run, throttled, while one of those is on screen. If the stream
 * cannot be opened at all, the page polls the run instead.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type ApiError, getRun, type RunDetail } from '../api.ts';
import { ErrorNotice, Legend, Link, StateBadge } from '../components/common.tsx';
import { GraphCanvas } from '../components/GraphCanvas.tsx';
import { NodePanel } from '../components/NodePanel.tsx';
import { NodeTable } from '../components/NodeTable.tsx';
import { RunActions } from '../components/RunActions.tsx';
import { Timeline } from '../components/Timeline.tsx';
import { durationOf, formatDuration, formatTime } from '../format.ts';
import { type DomainGraph, domainGraph } from '../graph/domain.ts';
import type { NodeLabel } from '../graph/flow.ts';
import { useDocumentTitle, useNow, usePolling } from '../hooks.ts';
import { applyEvents, countStates, type LiveState, liveFromNodes } from '../live/state.ts';
import { followRun, type StreamStatus } from '../live/stream.ts';
import { setQuery, useLocation } from '../router.ts';
import { isFinal } from '../states.ts';

const VIEWS = ['graph', 'table', 'timeline'] as const;
type View = (typeof VIEWS)[number];
const VIEW_LABELS: Record<View, string> = { graph: 'Graph', table: 'Table', timeline: 'Timeline' };

const STREAM_TEXT: Record<StreamStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'finished',
  failed: 'no live stream, polling every 3 s',
};

interface Structure {
  graph: DomainGraph;
  labels: NodeLabel[];
}

/** Live states re-read from the run (polling fallback, retry), as one more version. */
function reloaded(previous: LiveState | null, run: RunDetail): LiveState {
  const next = liveFromNodes(run.state, run.nodes);
  return { ...next, version: (previous?.version ?? 0) + 1 };
}

/** Time since `start` (to `stop` once set), ticking on its own so the page does not. */
function Elapsed({ start, stop }: { start: string | null; stop: string | null }) {
  const now = useNow(1000, start !== null && stop === null);
  return <>{formatDuration(durationOf(start, stop, now)) || '—'}</>;
}

export function RunPage({ id }: { id: string }) {
  useState(() => performance.mark('baton:run-page'));
  const { query } = useLocation();
  const view: View = (VIEWS as readonly string[]).includes(query.get('view') ?? '')
    ? (query.get('view') as View)
    : 'graph';
  const nodeParam = Number.parseInt(query.get('node') ?? '', 10);

  const [detail, setDetail] = useState<RunDetail | null>(null);
  const [structure, setStructure] = useState<Structure | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [live, setLive] = useState<LiveState | null>(null);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [epoch, setEpoch] = useState(0);
  useDocumentTitle(detail ? detail.name || id : 'Run');

  // 1. The run, once: structure and definitions.
  useEffect(() => {
    const controller = new AbortController();
    getRun(id, controller.signal).then(
      (run) => {
        performance.mark('baton:detail', { detail: { nodes: run.nodes.length } });
        setDetail(run);
        setStructure({
          graph: domainGraph(run),
          labels: run.nodes.map((n) => ({ name: n.name, engine: n.engine })),
        });
        setLive((previous) => previous ?? liveFromNodes(run.state, run.nodes));
      },
      (err: ApiError) => {
        if (!controller.signal.aborted) setLoadError(err);
      },
    );
    return () => controller.abort();
  }, [id]);

  // 2. Its live states.
  const loaded = live !== null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: epoch reopens the stream after a retry
  useEffect(() => {
    if (!loaded) return;
    return followRun(id, {
      onEvents: (events) =>
        setLive((previous) => (previous ? applyEvents(previous, events).next : previous)),
      onStatus: setStatus,
    });
  }, [id, loaded, epoch]);

  // 2a. A finished run can be retried from elsewhere (the CLI, another tab): when the tab
  // comes back into view, follow it again (the snapshot says at once if anything changed).
  useEffect(() => {
    if (status !== 'ended') return;
    const onVisible = () => {
      if (!document.hidden) setEpoch((e) => e + 1);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [status]);

  // 2b. No stream at all (a proxy that breaks SSE): poll the run.
  usePolling(
    async (signal) => {
      if (status !== 'failed') return;
      const run = await getRun(id, signal);
      if (signal.aborted) return;
      setDetail(run);
      setLive((previous) => reloaded(previous, run));
    },
    3000,
    `${id} ${status === 'failed'}`,
  );

  // 3. Timestamps, outputs and errors for the table, timeline and panel: re-read after
  // changes, at most once a second (every 3 s for large runs), while one of them shows.
  const selected = structure && nodeParam >= 0 && nodeParam < structure.graph.n ? nodeParam : -1;
  const version = live?.version ?? 0;
  const runFinal = live ? isFinal(live.runState) : false;
  const wantsDetail = view !== 'graph' || selected >= 0 || runFinal;
  const lastFetch = useRef(0);
  const latestFetch = useRef(0);
  useEffect(() => {
    if (!structure || version === 0 || !wantsDetail || status === 'failed') return;
    const throttle = structure.graph.n > 1000 ? 3000 : 1000;
    const wait = Math.max(0, lastFetch.current + throttle - Date.now());
    // A new change only moves the timer; a read already on its way is not thrown away (under
    // a steady stream of events none would ever land), only an older answer is ignored.
    const timer = setTimeout(() => {
      lastFetch.current = Date.now();
      const ticket = ++latestFetch.current;
      getRun(id).then(
        (run) => ticket === latestFetch.current && setDetail(run),
        () => undefined,
      );
    }, wait);
    return () => clearTimeout(timer);
  }, [id, structure, version, wantsDetail, status]);
  // answers arriving after the page is gone are dropped
  useEffect(
    () => () => {
      latestFetch.current = -1;
    },
    [],
  );

  const counts = useMemo(() => (live ? countStates(live.states) : undefined), [live]);
  const select = useCallback((node: number) => setQuery({ node: String(node) }), []);
  const close = useCallback(() => setQuery({ node: undefined }), []);
  const onRetried = useCallback((run: RunDetail) => {
    setDetail(run);
    setLive((previous) => reloaded(previous, run));
    setEpoch((e) => e + 1);
  }, []);

  if (loadError) {
    return (
      <section className="page" aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {loadError.status === 404 ? 'Run not found' : 'Could not load the run'}
        </h1>
        <ErrorNotice error={loadError} />
        <p>
          <Link href="/">Back to the runs</Link>
        </p>
      </section>
    );
  }
  if (!detail || !structure || !live) {
    return (
      <section className="page" aria-labelledby="page-title" aria-busy="true">
        <h1 id="page-title" tabIndex={-1}>
          Run <code>{id}</code>
        </h1>
        <p role="status">Loading the run…</p>
      </section>
    );
  }

  const selectedNode = selected >= 0 ? detail.nodes[selected] : undefined;
  return (
    <section className="page run" aria-labelledby="page-title" data-run={id}>
      <div className="run-head">
        <div className="run-title">
          <h1 id="page-title" tabIndex={-1}>
            {detail.name || '(unnamed run)'}
          </h1>
          <span data-testid="run-state">
            <StateBadge state={live.runState} />
          </span>
          <span className={`stream stream-${status}`} data-stream={status}>
            {STREAM_TEXT[status]}
          </span>
        </div>
        <RunActions id={id} runState={live.runState} onRetried={onRetried} />
      </div>
      <dl className="run-facts">
        <div>
          <dt>Run</dt>
          <dd>
            <code>{id}</code>
          </dd>
        </div>
        <div>
          <dt>Nodes</dt>
          <dd>{structure.graph.n}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd title={detail.start_date ?? undefined}>
            {formatTime(detail.start_date, Date.now()) || '—'}
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            <Elapsed start={detail.start_date} stop={runFinal ? detail.stop_date : null} />
          </dd>
        </div>
        {detail.error ? (
          <div>
            <dt>Error</dt>
            <dd className="error-text">{detail.error}</dd>
          </div>
        ) : null}
      </dl>

      <div className="run-toolbar">
        <div role="tablist" aria-label="Views of the run" className="tabs">
          {VIEWS.map((v, i) => (
            <button
              key={v}
              type="button"
              role="tab"
              id={`tab-${v}`}
              aria-selected={view === v}
              aria-controls="run-view"
              tabIndex={view === v ? 0 : -1}
              onClick={() => setQuery({ view: v === 'graph' ? undefined : v })}
              onKeyDown={(e) => {
                const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
                if (step === 0) return;
                e.preventDefault();
                const next = VIEWS[(i + step + VIEWS.length) % VIEWS.length];
                setQuery({ view: next === 'graph' ? undefined : next });
                document.getElementById(`tab-${next}`)?.focus();
              }}
            >
              {VIEW_LABELS[v]}
            </button>
          ))}
        </div>
        <Legend counts={counts} />
      </div>

      <div className={`run-body${selectedNode ? ' with-panel' : ''}`}>
        <div
          role="tabpanel"
          id="run-view"
          aria-labelledby={`tab-${view}`}
          className={`view view-${view}`}
        >
          {view === 'graph' ? (
            <GraphCanvas
              graph={structure.graph}
              labels={structure.labels}
              live={live}
              selected={selected}
              onSelect={select}
              label={`Graph of ${detail.name || 'the run'}: tab to a node, Enter opens its details`}
            />
          ) : null}
          {view === 'table' ? (
            <NodeTable nodes={detail.nodes} live={live} selected={selected} onSelect={select} />
          ) : null}
          {view === 'timeline' ? (
            <Timeline detail={detail} live={live} selected={selected} onSelect={select} />
          ) : null}
        </div>
        {selectedNode ? (
          <NodePanel
            run={id}
            node={selectedNode}
            state={live.states[selected]}
            attempts={live.attempts[selected]}
            error={live.errors.get(selected) ?? selectedNode.error}
            onClose={close}
          />
        ) : null}
      </div>
    </section>
  );
}
