/**
 * States for the UI: names and codes from src/graph/states.ts, colours from
 * src/graph/export.ts (the same as DOT, Mermaid and the CLI), text black or white by contrast.
 */
import { STATE_COLOURS, textColourOn } from '../../src/graph/export.ts';
import { isFinal, State, type StateName } from '../../src/graph/states.ts';

export { isFinal, STATE_COLOURS, State, type StateName };

export const STATE_NAMES = Object.keys(State) as StateName[];

const byCode = new Map<number, StateName>(STATE_NAMES.map((name) => [State[name], name]));

export function nameOf(code: number): StateName | 'unknown' {
  return byCode.get(code) ?? 'unknown';
}

export function codeOf(name: string): number | undefined {
  return Object.hasOwn(State, name) ? State[name as StateName] : undefined;
}

export interface Swatch {
  background: string;
  color: string;
}

const swatches = new Map<string, Swatch>(
  STATE_NAMES.map((name) => {
    const background = STATE_COLOURS[name];
    return [name, { background, color: textColourOn(background) }];
  }),
);
const unknownSwatch: Swatch = { background: '#ffffff', color: '#000000' };

export function swatchOf(state: number | string): Swatch {
  const name = typeof state === 'number' ? nameOf(state) : state;
  return swatches.get(name) ?? unknownSwatch;
}

/** What each state means, for the legend and tooltips (docs/architecture.md §2). */
export const STATE_HELP: Readonly<Record<StateName, string>> = {
  initial: 'not yet considered',
  torun: 'waiting for its predecessors or a retry',
  running: 'dispatched, running now',
  success: 'done, outputs recorded',
  failure: 'failed after its retries',
  notrunnable: 'an ancestor failed, so it never ran',
  timeout: 'the node or the run ran out of time',
  canceled: 'stopped by a cancel',
};
