/** Small graph builders for tests. */
import type { GorchNode, Graph, RetryPolicy } from '../../src/graph/model.ts';
import { parseDocument } from '../../src/graph/parse.ts';

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

/** A Graph straight from an edge list, through the real parser (nodes n0, n1, ... of engine nil). */
export function graphOf(
  n: number,
  edges: Array<[number, number]>,
  retries?: (id: number) => RetryPolicy | undefined,
): Graph {
  const nodes = Array.from({ length: n }, (_, id) => {
    const policy = retries?.(id);
    return policy ? node(id, { retries: policy }) : node(id);
  });
  return parseDocument({ name: 'test', edges, nodes });
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
