/**
 * `/`: every run, newest first, refreshed every 2 s. Polling the list (one request, whatever
 * is on screen, and it shows runs other people submit) is simpler and cheaper than an SSE
 * stream per visible run, and the API has no stream of new runs; the run page is the one
 * that follows a run live. Filter and page live in the URL, so a view can be bookmarked.
 */
import { useCallback, useState } from 'react';
import { type ApiError, listRuns, type TaskList } from '../api.ts';
import { ErrorNotice, Link, Pager, StateBadge } from '../components/common.tsx';
import { durationOf, formatDuration, formatTime } from '../format.ts';
import { useDocumentTitle, useNow, usePolling } from '../hooks.ts';
import { setQuery, useLocation } from '../router.ts';
import { STATE_NAMES, type StateName, swatchOf } from '../states.ts';

const PAGE_SIZES = [25, 50, 100] as const;
const POLL_MS = 2000;

function selectedStates(query: URLSearchParams): StateName[] {
  const wanted = new Set((query.get('state') ?? '').split(','));
  return STATE_NAMES.filter((name) => wanted.has(name));
}

export function RunsList() {
  useDocumentTitle('Runs');
  const { query } = useLocation();
  const states = selectedStates(query);
  const size = Number(query.get('limit'));
  const limit = Number.isInteger(size) && size >= 1 && size <= 1000 ? size : 50;
  const sizes = (PAGE_SIZES as readonly number[]).includes(limit)
    ? PAGE_SIZES
    : [limit, ...PAGE_SIZES];
  const cursor = query.get('cursor') ?? undefined;
  // cursors of the pages before this one, to go back (the API pages forward only)
  const trail = (query.get('back') ?? '').split(' ').filter(Boolean);

  const [page, setPage] = useState<TaskList | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [updated, setUpdated] = useState<number | null>(null);
  const stateKey = states.join(',');

  const poll = useCallback(
    async (signal: AbortSignal) => {
      try {
        const wanted = stateKey === '' ? [] : (stateKey.split(',') as StateName[]);
        const result = await listRuns({ limit, cursor, states: wanted });
        if (signal.aborted) return;
        setPage(result);
        setError(null);
        setUpdated(Date.now());
      } catch (err) {
        if (!signal.aborted) setError(err as ApiError);
      }
    },
    [limit, cursor, stateKey],
  );
  usePolling(poll, POLL_MS, `${limit} ${cursor} ${stateKey}`);

  const running = page?.tasks.some((t) => t.state === 'running' || t.state === 'initial') ?? false;
  const now = useNow(1000, running);

  const toggle = (name: StateName) => {
    const next = states.includes(name) ? states.filter((s) => s !== name) : [...states, name];
    setQuery({ state: next.join(','), cursor: undefined, back: undefined });
  };

  return (
    <section className="page runs" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Runs
        </h1>
        <Link className="button primary" href="/submit">
          Submit a document
        </Link>
      </div>

      <fieldset className="filters">
        <legend>Filter by state</legend>
        {STATE_NAMES.map((name) => {
          const { background, color } = swatchOf(name);
          return (
            <label key={name} className="filter">
              <input
                type="checkbox"
                name="state"
                value={name}
                checked={states.includes(name)}
                onChange={() => toggle(name)}
              />
              <span className="badge" style={{ background, color }}>
                {name}
              </span>
            </label>
          );
        })}
        <button
          type="button"
          className="link"
          disabled={states.length === 0}
          onClick={() => setQuery({ state: undefined, cursor: undefined, back: undefined })}
        >
          Show all
        </button>
      </fieldset>

      <ErrorNotice error={error}>Could not load the runs (retrying every 2 s): </ErrorNotice>

      <div className="table-wrap">
        <table className="data runs-table" aria-describedby="runs-status">
          <caption className="visually-hidden">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Nodes
              </th>
              <th scope="col">Started</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col">Run</th>
            </tr>
          </thead>
          <tbody>
            {page?.tasks.map((task) => (
              <tr key={task.id} data-run={task.id} data-state={task.state}>
                <td>
                  <StateBadge state={task.state} />
                </td>
                <td>
                  <Link href={`/runs/${encodeURIComponent(task.id)}`}>
                    {task.name || '(unnamed)'}
                  </Link>
                  {task.error ? <div className="muted small">{task.error}</div> : null}
                </td>
                <td className="num">{task.nodes}</td>
                <td title={task.start_date ?? task.created_date ?? undefined}>
                  {formatTime(task.start_date ?? task.created_date, now)}
                </td>
                <td className="num">
                  {formatDuration(durationOf(task.start_date, task.stop_date, now))}
                </td>
                <td>
                  <code title={task.id}>{task.id.slice(0, 8)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page && page.tasks.length === 0 ? (
          <p className="empty">
            {states.length > 0 || cursor ? (
              'No runs match.'
            ) : (
              <>
                No runs yet. <Link href="/submit">Submit a document</Link> or POST one to{' '}
                <code>/v1/tasks</code>.
              </>
            )}
          </p>
        ) : null}
        {page === null && !error ? <p className="empty">Loading…</p> : null}
      </div>

      <div className="list-foot">
        <Pager
          label="Pages of runs"
          hasPrevious={cursor !== undefined}
          hasNext={page?.next_cursor !== undefined}
          onPrevious={() =>
            setQuery(
              { cursor: trail.at(-1), back: trail.slice(0, -1).join(' ') || undefined },
              false,
            )
          }
          onNext={() =>
            setQuery(
              {
                cursor: page?.next_cursor,
                back: cursor ? [...trail, cursor].join(' ') : trail.join(' '),
              },
              false,
            )
          }
          status={cursor ? `page ${trail.length + 2}` : 'page 1'}
        />
        <label className="page-size">
          Per page{' '}
          <select
            value={limit}
            onChange={(e) =>
              setQuery({ limit: e.target.value, cursor: undefined, back: undefined })
            }
          >
            {sizes.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <p id="runs-status" className="muted small">
          {updated
            ? `Updated ${formatTime(new Date(updated).toISOString(), updated)}, every 2 s`
            : ''}
        </p>
      </div>
    </section>
  );
}
