/**
 * Live progress of a run for `baton run --watch` and `baton retry --watch`.
 *
 * `Tally` keeps every node's state and the count per state, updated in O(1) per event (a
 * 100,000-node run sends that many events). `renderFrame` turns it into a few lines (a bar
 * coloured by state, the counts, the running nodes' names) and is pure, so tests call it with
 * a fixed clock and width. `LiveView` draws frames in place on a terminal: it erases the lines
 * it drew last and writes the new ones, at most every `FRAME_MS` and once a second for the
 * clock; lines logged while it is up (failures, retries) are written above the frame and stay.
 * When the output is not a terminal the caller prints one line per change instead.
 */
import { isFinal, State, type StateName, stateName } from '../graph/states.ts';
import {
  fit,
  formatDuration,
  type Paint,
  paintState,
  STATE_STYLES,
  terminalSafe,
} from './output.ts';

const FRAME_MS = 80;
const CODES = Object.values(State).toSorted((a, b) => a - b);

export class Tally {
  /** state code by node id */
  readonly states = new Map<number, number>();
  /** node count by state code */
  readonly counts = new Map<number, number>();
  /** ids of the nodes running now, in the order they started */
  readonly running = new Set<number>();
  /** node names as a terminal may show them (`terminalSafe`) */
  readonly names = new Map<number, string>();
  runState: number = State.initial;

  get total(): number {
    return this.states.size;
  }

  /** Nodes in a final state. */
  get finished(): number {
    let n = 0;
    for (const [code, count] of this.counts) if (isFinal(code)) n += count;
    return n;
  }

  set(node: number, state: number, name?: string): void {
    if (name !== undefined) this.names.set(node, terminalSafe(name));
    const old = this.states.get(node);
    if (old === state) return;
    if (old !== undefined) this.counts.set(old, (this.counts.get(old) ?? 1) - 1);
    this.counts.set(state, (this.counts.get(state) ?? 0) + 1);
    this.states.set(node, state);
    if (state === State.running) this.running.add(node);
    else this.running.delete(node);
  }

  name(node: number): string {
    return this.names.get(node) ?? `#${node}`;
  }

  /** `success 3, failure 1, notrunnable 1`: non-zero counts in state-code order. */
  countsText(paint?: Paint): string {
    const parts: string[] = [];
    for (const code of CODES) {
      const n = this.counts.get(code) ?? 0;
      if (n > 0) parts.push(`${paint ? paintState(paint, code) : stateName(code)} ${n}`);
    }
    return parts.join(', ');
  }
}

/** Order of the bar's segments: finished states first, then running; the rest is pending. */
const BAR_ORDER: readonly StateName[] = [
  'success',
  'failure',
  'timeout',
  'canceled',
  'notrunnable',
  'running',
];

/** A bar of `width` cells, one run of cells per state, sized by cumulative rounding. */
export function renderBar(tally: Tally, width: number, paint: Paint): string {
  const total = tally.total;
  let bar = '';
  let cumulative = 0;
  let drawn = 0;
  for (const name of BAR_ORDER) {
    const count = tally.counts.get(State[name]) ?? 0;
    if (count === 0 || total === 0) continue;
    cumulative += count;
    const end = Math.round((cumulative / total) * width);
    if (end > drawn) {
      bar += paint(STATE_STYLES[name], (name === 'running' ? '▒' : '█').repeat(end - drawn));
      drawn = end;
    }
  }
  return bar + paint('gray', '░'.repeat(width - drawn));
}

export interface FrameOptions {
  /** terminal columns */
  width: number;
  elapsedMs: number;
  paint: Paint;
  title?: string;
}

/** The live frame: bar with done/total and clock, counts per state, running node names. */
export function renderFrame(tally: Tally, options: FrameOptions): string[] {
  const { width, paint } = options;
  const usable = Math.max(width - 1, 20);
  const done = `${tally.finished}/${tally.total}`;
  const clock = formatDuration(options.elapsedMs);
  const title = options.title ? `${options.title}  ` : '';
  const barWidth = Math.max(
    10,
    Math.min(40, usable - title.length - done.length - clock.length - 4),
  );
  const lines = [
    `${title}${renderBar(tally, barWidth, paint)}  ${done}  ${clock}`,
    tally.countsText(paint).replaceAll(', ', '  ') || paint('gray', 'waiting for the first event'),
  ];
  if (tally.running.size > 0) {
    const names: string[] = [];
    // room for "running: " and " (+99999 more)"
    const budget = usable - 'running: '.length - ' (+99999 more)'.length;
    let length = 0;
    for (const node of tally.running) {
      const name = tally.name(node);
      // stop collecting once the line is full: the rest is counted, not listed
      if (length + name.length + 2 > budget && names.length > 0) break;
      names.push(name);
      length += name.length + 2;
    }
    const more = tally.running.size - names.length;
    lines.push(
      `${paint('cyan', 'running:')} ${names.join(', ')}${more > 0 ? ` (+${more} more)` : ''}`,
    );
  }
  return lines.map((line) => fit(line, usable));
}

export interface Terminal {
  write(text: string): unknown;
  columns?: number;
}

/** Draws frames in place on a terminal; see the module comment. */
export class LiveView {
  readonly #term: Terminal;
  readonly #frame: () => string[];
  #drawn = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #clock: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(term: Terminal, frame: () => string[]) {
    this.#term = term;
    this.#frame = frame;
    this.#clock = setInterval(() => this.draw(), 1000);
    this.#clock.unref();
  }

  /** Asks for a redraw soon; many changes in a burst cost one frame. */
  schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.draw();
    }, FRAME_MS);
    this.#timer.unref();
  }

  draw(): void {
    if (this.#stopped) return;
    const lines = this.#frame();
    this.#term.write(this.#erase() + lines.join('\n'));
    this.#drawn = lines.length;
  }

  /** Writes a line above the frame, where it stays. */
  log(line: string): void {
    if (this.#stopped) {
      this.#term.write(`${line}\n`);
      return;
    }
    this.#term.write(`${this.#erase()}${line}\n`);
    this.#drawn = 0;
    this.draw();
  }

  /** Removes the frame and stops drawing; what is printed next starts on a clean line. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#clock);
    this.#term.write(this.#erase());
    this.#drawn = 0;
  }

  /** Back to the start of the first line drawn, then clear to the end of the screen. */
  #erase(): string {
    if (this.#drawn === 0) return '';
    return `\r${this.#drawn > 1 ? `\u001b[${this.#drawn - 1}A` : ''}\u001b[0J`;
  }
}
