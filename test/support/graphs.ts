/** Small graph builders for tests: a Graph straight from an edge list, no document parsing. */
import type { Graph, GorchNode, RetryPolicy } from '../../src/graph/model.ts';

export function node(id: number, extra: Partial<GorchNode> = {}): GorchNode {
  return {
    id,
    name: `n${id}`,
    target: '',
    engine: 'nil',
    artifact: '',
    args: [],
    output: {},
    ...extra,
  };
}

function csr(n: number, pairs: Array<[number, number]>): { start: Uint32Array; list: Uint32Array } {
  const start = new Uint32Array(n + 1);
  for (const [from] of pairs) start[from + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const list = new Uint32Array(pairs.length);
  for (const [from, to] of [...pairs].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    list[fill[from]++] = to;
  }
  return { start, list };
}

export function graphOf(
  n: number,
  edges: Array<[number, number]>,
  retries?: (id: number) => RetryPolicy | undefined,
): Graph {
  const out = csr(n, edges);
  const inn = csr(
    n,
    edges.map(([a, b]) => [b, a]),
  );
  const nodes = Array.from({ length: n }, (_, id) => {
    const policy = retries?.(id);
    return policy ? node(id, { retries: policy }) : node(id);
  });
  return {
    name: 'test',
    nodes,
    succStart: out.start,
    succ: out.list,
    predStart: inn.start,
    pred: inn.list,
    refs: new Map(),
    matrix: false,
  };
}

/** A random DAG: edges only go forward in a random permutation, so it is acyclic. */
export function randomDagEdges(
  n: number,
  density: number,
  random: () => number,
): Array<[number, number]> {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const edges: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) if (random() < density) edges.push([order[i], order[j]]);
  }
  return edges;
}
