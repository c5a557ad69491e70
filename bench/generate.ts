/**
 * Graph generators for benchmarks: layered random DAGs like real pipelines (fan-out, then
 * fan-in), seeded so every run measures the same graph.
 */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `nodes` nodes in layers of `width`; each node below the first layer gets `fanIn` distinct
 * predecessors drawn from the layer above, so edges ≈ nodes × fanIn.
 */
export function layeredEdges(
  nodes: number,
  width: number,
  fanIn: number,
  seed = 1,
): Array<[number, number]> {
  const random = seeded(seed);
  const edges: Array<[number, number]> = [];
  for (let v = width; v < nodes; v++) {
    const layerStart = Math.floor(v / width) * width;
    const above = layerStart - width;
    const picked = new Set<number>();
    while (picked.size < Math.min(fanIn, width)) picked.add(above + Math.floor(random() * width));
    for (const u of picked) edges.push([u, v]);
  }
  return edges;
}

export function edgesDocument(nodes: number, edges: Array<[number, number]>, engine = 'nil') {
  return {
    name: `bench-${nodes}`,
    edges,
    nodes: Array.from({ length: nodes }, (_, id) => ({
      id,
      name: `t${id}`,
      engine,
      args: [] as string[],
    })),
  };
}
