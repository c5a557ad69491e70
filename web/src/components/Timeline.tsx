/**
 * The run as a Gantt chart: one bar per node that started, from start_date to stop_date (or
 * now while it runs), coloured by state, on a scale from the run's start to its end.
 */
import { useMemo, useState } from 'react';
import type { RunDetail } from '../api.ts';
import { barsOf, formatDuration, parseTime } from '../format.ts';
import { useNow } from '../hooks.ts';
import { anyRunning, type LiveState } from '../live/state.ts';
import { nameOf, swatchOf } from '../states.ts';
import { PagePager } from './common.tsx';

const PAGE = 100;

export function Timeline(props: {
  detail: RunDetail;
  live: LiveState;
  selected: number;
  onSelect(node: number): void;
}) {
  const { detail, live, selected, onSelect } = props;
  const now = useNow(1000, anyRunning(live.states));
  const [page, setPage] = useState(0);
  const bars = useMemo(() => barsOf(detail.nodes), [detail]);
  const from = parseTime(detail.start_date) ?? bars[0]?.start ?? now;
  let to = parseTime(detail.stop_date) ?? now;
  for (const bar of bars) to = Math.max(to, bar.stop ?? now);
  const span = Math.max(1, to - from);
  const pages = Math.max(1, Math.ceil(bars.length / PAGE));
  const current = Math.min(page, pages - 1);
  const shown = bars.slice(current * PAGE, current * PAGE + PAGE);
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  if (bars.length === 0) {
    return <p className="empty">No node has started yet.</p>;
  }
  return (
    <div className="timeline">
      <div className="timeline-axis" aria-hidden="true">
        <span className="timeline-label" />
        <span className="timeline-scale">
          {ticks.map((t) => (
            <span key={t} style={{ left: `${t * 100}%` }}>
              {formatDuration(t * span)}
            </span>
          ))}
        </span>
      </div>
      <ol className="timeline-rows" aria-label="Node start and end times">
        {shown.map((bar) => {
          const node = detail.nodes[bar.node];
          const state = nameOf(live.states[bar.node]);
          const { background } = swatchOf(state);
          const end = bar.stop ?? now;
          const left = ((bar.start - from) / span) * 100;
          const width = Math.max(0.3, ((end - bar.start) / span) * 100);
          const text = `${node.name}: ${state}, started at +${formatDuration(bar.start - from) || '0 ms'}, ${
            bar.stop === null ? 'running for' : 'took'
          } ${formatDuration(end - bar.start) || '0 ms'}`;
          return (
            <li
              key={bar.node}
              data-node={bar.node}
              data-state={state}
              className={bar.node === selected ? 'selected' : undefined}
            >
              <button
                type="button"
                className="timeline-label link"
                onClick={() => onSelect(bar.node)}
              >
                {node.name}
              </button>
              <span className="timeline-track" title={text}>
                <span
                  className={`timeline-bar state-${state}`}
                  style={{
                    left: `${Math.min(left, 99.7)}%`,
                    width: `${Math.min(width, 100 - left)}%`,
                    background,
                  }}
                />
                <span className="visually-hidden">{text}</span>
              </span>
            </li>
          );
        })}
      </ol>
      <PagePager label="Pages of the timeline" current={current} pages={pages} onPage={setPage} />
    </div>
  );
}
