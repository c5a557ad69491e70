/** Times, durations and timeline bars for people (pure; "now" is always passed in). */

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** 850 ms, 4.2 s, 3 min 04 s, 2 h 03 min */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.floor(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(m / 1440)} d ${String(Math.floor((m % 1440) / 60)).padStart(2, '0')} h`;
}

/** From start to stop, or to `now` while it runs; null before it started. */
export function durationOf(
  start: string | null | undefined,
  stop: string | null | undefined,
  now: number,
): number | null {
  const from = parseTime(start);
  if (from === null) return null;
  return (parseTime(stop) ?? now) - from;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time: `14:03:07` today, `2024-05-01 14:03` otherwise. */
export function formatTime(iso: string | null | undefined, now: number): string {
  const ms = parseTime(iso);
  if (ms === null) return '';
  const d = new Date(ms);
  const today = new Date(now);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time.slice(0, 5)}`;
}

export interface Bar {
  node: number;
  start: number;
  stop: number | null;
}

/** Nodes that started, by start time (pure). */
export function barsOf(
  nodes: ReadonlyArray<{ start_date: string | null; stop_date: string | null }>,
): Bar[] {
  const bars: Bar[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const start = parseTime(nodes[i].start_date);
    if (start === null) continue;
    bars.push({ node: i, start, stop: parseTime(nodes[i].stop_date) });
  }
  bars.sort((a, b) => a.start - b.start || a.node - b.node);
  return bars;
}
