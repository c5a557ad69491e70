/**
 * Every node of a run as a table (gorchestrator's view): target, engine, artifact, inputs
 * (args), outputs, state, attempts, duration, error. Filtered by name and state, 100 rows a
 * page. It is also the keyboard- and screen-reader-friendly way through a large graph.
 */
import { useMemo, useState } from 'react';
import type { LiveNode } from '../api.ts';
import { durationOf, formatDuration } from '../format.ts';
import { useNow } from '../hooks.ts';
import { anyRunning, type LiveState } from '../live/state.ts';
import { nameOf, STATE_NAMES } from '../states.ts';
import { PagePager, StateBadge } from './common.tsx';

const PAGE = 100;

export function NodeTable(props: {
  nodes: readonly LiveNode[];
  live: LiveState;
  selected: number;
  onSelect(node: number): void;
}) {
  const { nodes, live, selected, onSelect } = props;
  const now = useNow(1000, anyRunning(live.states));
  const [search, setSearch] = useState('');
  const [state, setState] = useState('');
  const [page, setPage] = useState(0);

  const rows = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const out: number[] = [];
    for (let i = 0; i < nodes.length; i++) {
      if (state !== '' && nameOf(live.states[i]) !== state) continue;
      if (needle !== '' && !nodes[i].name.toLowerCase().includes(needle)) continue;
      out.push(i);
    }
    return out;
  }, [nodes, live, search, state]);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const current = Math.min(page, pages - 1);
  const shown = rows.slice(current * PAGE, current * PAGE + PAGE);

  return (
    <div className="node-table">
      <div className="table-tools">
        <label>
          Name contains{' '}
          <input
            type="search"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setPage(0);
            }}
          />
        </label>
        <label>
          State{' '}
          <select
            value={state}
            onChange={(e) => {
              setState(e.target.value);
              setPage(0);
            }}
          >
            <option value="">any</option>
            {STATE_NAMES.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small" role="status">
          {rows.length} of {nodes.length} nodes
        </span>
      </div>
      <div className="table-wrap">
        <table className="data nodes-table">
          <caption className="visually-hidden">Nodes of the run</caption>
          <thead>
            <tr>
              <th scope="col" className="num">
                #
              </th>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Target</th>
              <th scope="col">Engine</th>
              <th scope="col">Artifact</th>
              <th scope="col">Inputs (args)</th>
              <th scope="col">Outputs</th>
              <th scope="col" className="num">
                Attempts
              </th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((i) => {
              const node = nodes[i];
              const error = live.errors.get(i) ?? node.error;
              const outputs = Object.entries(node.output);
              return (
                <tr
                  key={i}
                  data-node={i}
                  data-node-name={node.name}
                  data-state={nameOf(live.states[i])}
                  aria-current={i === selected ? 'true' : undefined}
                  className={i === selected ? 'selected' : undefined}
                >
                  <td className="num">{i}</td>
                  <th scope="row">
                    <button type="button" className="link" onClick={() => onSelect(i)}>
                      {node.name}
                    </button>
                  </th>
                  <td>
                    <StateBadge state={live.states[i]} />
                  </td>
                  <td>{node.target}</td>
                  <td>{node.engine}</td>
                  <td className="mono">{node.artifact}</td>
                  <td className="mono">
                    {node.args.length > 0 ? (
                      <ul className="plain">
                        {node.args.map((arg, k) => (
                          // biome-ignore lint/suspicious/noArrayIndexKey: args are positional
                          <li key={k}>{arg}</li>
                        ))}
                      </ul>
                    ) : null}
                  </td>
                  <td className="mono">
                    {outputs.length > 0 ? (
                      <ul className="plain">
                        {outputs.map(([key, value]) => (
                          <li key={key}>
                            {key}={value}
                          </li>
                        ))}
                      </ul>
                    ) : null}
                  </td>
                  <td className="num">{live.attempts[i] || ''}</td>
                  <td className="num">
                    {formatDuration(durationOf(node.start_date, node.stop_date, now))}
                  </td>
                  <td className="error-cell">{error ?? ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <PagePager label="Pages of nodes" current={current} pages={pages} onPage={setPage} />
    </div>
  );
}
