/** Small graph builders for the UI's pure-step tests. */
import { type DomainGraph, domainGraph } from '../../web/src/graph/domain.ts';
import type { NodeLabel } from '../../web/src/graph/flow.ts';
import type { Schedule } from '../../web/src/live/batch.ts';

/** A document shape with `n` nodes named n0, n1, ... (engine nil) and the given edges. */
export function doc(n: number, edges: Array<[number, number]>) {
  return {
    edges,
    nodes: Array.from({ length: n }, (_, id) => ({ id, name: `n${id}`, engine: 'nil' })),
  };
}

export function graph(n: number, edges: Array<[number, number]>): DomainGraph {
  return domainGraph(doc(n, edges));
}

/** 0 -> 1 -> ... -> n-1 */
export function chain(n: number): DomainGraph {
  return graph(
    n,
    Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number]),
  );
}

/** 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3 */
export function diamond(): DomainGraph {
  return graph(4, [
    [0, 1],
    [0, 2],
    [1, 3],
    [2, 3],
  ]);
}

/** `n` nodes in rows of `width`: each node after the first row follows the one above it and the one above-left. */
export function grid(n: number, width: number): DomainGraph {
  const edges: Array<[number, number]> = [];
  for (let i = width; i < n; i++) {
    edges.push([i - width, i]);
    if (i % width !== 0) edges.push([i - width - 1, i]);
  }
  return graph(n, edges);
}

export function labelsOf(n: number): NodeLabel[] {
  return Array.from({ length: n }, (_, i) => ({ name: `n${i}`, engine: 'nil' }));
}

export function statesOf(codes: number[]) {
  return { states: Uint8Array.from(codes), attempts: new Uint16Array(codes.length) };
}

/** The distinct x of each node, as layer indices 0, 1, 2 ... */
export function layersOf(positions: Float64Array): number[] {
  const xs = [...new Set(Array.from({ length: positions.length / 2 }, (_, i) => positions[2 * i]))];
  xs.sort((a, b) => a - b);
  const rank = new Map(xs.map((x, k) => [x, k]));
  return Array.from({ length: positions.length / 2 }, (_, i) => rank.get(positions[2 * i])!);
}

/** A scheduler run by hand: `run()` fires what was scheduled. */
export function batchSchedule(): Schedule & { run(): void; pending(): number } {
  let callbacks: Array<() => void> = [];
  const schedule = ((callback: () => void) => {
    callbacks.push(callback);
    return () => {
      callbacks = callbacks.filter((c) => c !== callback);
    };
  }) as Schedule & { run(): void; pending(): number };
  schedule.run = () => {
    const now = callbacks;
    callbacks = [];
    for (const callback of now) callback();
  };
  schedule.pending = () => callbacks.length;
  return schedule;
}
