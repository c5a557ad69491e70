/**
 * A graph's edges (docs/architecture.md §1): the `digraph` matrix or the `edges` list read into
 * CSR rows (`succStart`/`succ`, then `predStart`/`pred`), and their topological order or a
 * cycle, named node by node. Each reader checks its entries by hand in one or two typed passes
 * over the input array, never building an N×N structure of its own, and holds the count to
 * the edge limit.
 */

import { describeValue, fail } from './errors.ts';
import type { GorchNode } from './model.ts';

function selfLoop(path: string, node: GorchNode): never {
  fail('self-loop', path, `node ${node.id} ${JSON.stringify(node.name)} has an edge to itself`);
}

export interface Successors {
  succStart: Uint32Array;
  succ: Uint32Array;
}

/**
 * Row-major N×N matrix → successor rows, sorted by construction. Two passes over the input
 * (count, then fill) and no allocation per entry; only non-zero entries get the type check.
 */
export function matrixToSuccessors(
  digraph: unknown,
  nodes: GorchNode[],
  maxEdges: number,
): Successors {
  const n = nodes.length;
  const size = n * n;
  if (!Array.isArray(digraph)) {
    fail(
      'edge',
      'digraph',
      `expected an array of N×N = ${size} numbers (N = ${n} nodes), got ${describeValue(digraph)}`,
    );
  }
  const d: unknown[] = digraph;
  if (d.length !== size) {
    const side = Math.sqrt(d.length);
    const hint = Number.isInteger(side) ? ` (a ${side}×${side} matrix for ${n} nodes)` : '';
    fail(
      'edge',
      'digraph',
      `expected N×N = ${size} entries for N = ${n} nodes, got ${d.length}${hint}`,
    );
  }
  const succStart = new Uint32Array(n + 1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const base = i * n;
    for (let j = 0; j < n; j++) {
      const v = d[base + j];
      if (v !== 0) {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          fail('edge', `digraph[${base + j}]`, `expected a number, got ${describeValue(v)}`);
        }
        if (i === j) selfLoop(`digraph[${base + j}]`, nodes[i]);
        count++;
      }
    }
    if (count > maxEdges) {
      fail(
        'limit',
        'digraph',
        `more than ${maxEdges} edges (non-zero entries), over the limit of ${maxEdges}`,
      );
    }
    succStart[i + 1] = count;
  }
  const succ = new Uint32Array(count);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const base = i * n;
    for (let j = 0; j < n; j++) if (d[base + j] !== 0) succ[p++] = j;
  }
  return { succStart, succ };
}

/**
 * `[[from, to], ...]` → successor rows, sorted and without duplicates, by two counting sorts
 * (by target, then by source): O(V+E), no comparison sort.
 */
export function edgesToSuccessors(
  edges: unknown,
  nodes: GorchNode[],
  maxEdges: number,
): Successors {
  const n = nodes.length;
  if (!Array.isArray(edges)) {
    fail('edge', 'edges', `expected an array of [from, to] pairs, got ${describeValue(edges)}`);
  }
  const list: unknown[] = edges;
  const m = list.length;
  if (m > maxEdges) fail('limit', 'edges', `${m} edges is over the limit of ${maxEdges}`);
  const from = new Uint32Array(m);
  const to = new Uint32Array(m);
  const outStart = new Uint32Array(n + 1);
  const inStart = new Uint32Array(n + 1);
  const endpoint = (v: unknown, k: number, side: 0 | 1): number => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < n) return v;
    return fail(
      'edge',
      `edges[${k}][${side}]`,
      n === 0
        ? `there are no nodes, got ${describeValue(v)}`
        : `expected a node id, an integer from 0 to ${n - 1}, got ${describeValue(v)}`,
    );
  };
  for (let k = 0; k < m; k++) {
    const pair = list[k];
    if (!Array.isArray(pair) || pair.length !== 2) {
      fail(
        'edge',
        `edges[${k}]`,
        `expected a pair [from, to] of node ids, got ${describeValue(pair)}`,
      );
    }
    const a = endpoint(pair[0], k, 0);
    const b = endpoint(pair[1], k, 1);
    if (a === b) selfLoop(`edges[${k}]`, nodes[a]);
    from[k] = a;
    to[k] = b;
    outStart[a + 1]++;
    inStart[b + 1]++;
  }
  for (let i = 0; i < n; i++) {
    outStart[i + 1] += outStart[i];
    inStart[i + 1] += inStart[i];
  }
  // sources grouped by target
  const sources = new Uint32Array(m);
  const inCursor = inStart.slice(0, n);
  for (let k = 0; k < m; k++) sources[inCursor[to[k]]++] = from[k];
  // targets ascending → each successor row comes out sorted
  const rows = new Uint32Array(m);
  const outCursor = outStart.slice(0, n);
  for (let j = 0; j < n; j++) {
    for (let p = inStart[j]; p < inStart[j + 1]; p++) rows[outCursor[sources[p]]++] = j;
  }
  // drop duplicates (adjacent in sorted rows), compacting in place
  const succStart = new Uint32Array(n + 1);
  let w = 0;
  for (let i = 0; i < n; i++) {
    let last = -1;
    for (let p = outStart[i]; p < outStart[i + 1]; p++) {
      const v = rows[p];
      if (v !== last) {
        rows[w++] = v;
        last = v;
      }
    }
    succStart[i + 1] = w;
  }
  return { succStart, succ: w === m ? rows : rows.slice(0, w) };
}

/** Predecessor rows from sorted successor rows; visiting sources in order keeps rows sorted. */
export function transpose(
  n: number,
  succStart: Uint32Array,
  succ: Uint32Array,
): { predStart: Uint32Array; pred: Uint32Array } {
  const predStart = new Uint32Array(n + 1);
  for (let p = 0; p < succ.length; p++) predStart[succ[p] + 1]++;
  for (let i = 0; i < n; i++) predStart[i + 1] += predStart[i];
  const pred = new Uint32Array(succ.length);
  const cursor = predStart.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let p = succStart[i]; p < succStart[i + 1]; p++) pred[cursor[succ[p]]++] = i;
  }
  return { predStart, pred };
}

export type TopologicalResult = { order: Uint32Array; cycle?: undefined } | { cycle: number[] };

/**
 * Iterative three-colour DFS, O(V+E). For a DAG, returns a topological order (reverse
 * postorder); else the ids around the first cycle met, the first id repeated at the end
 * (`[0, 1, 2, 0]`). The explicit stack is the current DFS path, so the cycle is the stack
 * from the grey node met to the top.
 */
export function topologicalOrder(
  n: number,
  succStart: Uint32Array,
  succ: Uint32Array,
): TopologicalResult {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Uint8Array(n);
  const cursor = new Uint32Array(n);
  const stack = new Uint32Array(n);
  const order = new Uint32Array(n);
  let placed = n;
  for (let root = 0; root < n; root++) {
    if (colour[root] !== WHITE) continue;
    let top = 0;
    stack[top++] = root;
    colour[root] = GREY;
    cursor[root] = succStart[root];
    while (top > 0) {
      const v = stack[top - 1];
      if (cursor[v] < succStart[v + 1]) {
        const w = succ[cursor[v]++];
        if (colour[w] === WHITE) {
          colour[w] = GREY;
          cursor[w] = succStart[w];
          stack[top++] = w;
        } else if (colour[w] === GREY) {
          let from = top - 1;
          while (stack[from] !== w) from--;
          const cycle = Array.from(stack.subarray(from, top));
          cycle.push(w);
          return { cycle };
        }
      } else {
        colour[v] = BLACK;
        order[--placed] = v;
        top--;
      }
    }
  }
  return { order };
}

/** A cycle as its error message says it: node by node, the middle elided past 24 nodes. */
export function describeCycle(cycle: readonly number[], nodes: readonly GorchNode[]): string {
  const names = cycle.map((id) => nodes[id].name);
  const length = cycle.length - 1;
  if (length <= 24) return `cycle: ${names.join(' -> ')}`;
  const head = names.slice(0, 12).join(' -> ');
  const tail = names.slice(-12).join(' -> ');
  return `cycle of ${length} nodes: ${head} -> … -> ${tail}`;
}
