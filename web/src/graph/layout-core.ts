/**
 * Step 3 of the graph pipeline: what the layout worker does with one request. ELK (layered,
 * orthogonal edge routes) for small graphs, up to ELK_MAX_NODES nodes and ELK_MAX_EDGES
 * edges; above, the O(V+E) layered layout (layered.ts). Measured in Chromium on the 2-core
 * machine (docs/performance.md, UI): ELK took 2.4 s warm and 5.5 s cold for 500 nodes and
 * drew them 11,400 × 13,100 px; the layered layout takes a few ms for 500 nodes, ~20 ms for
 * 5,000, and draws compactly (chains straight, sources beside their consumers). ELK's
 * routed edges are kept for small graphs, where they read best and it takes a few hundred
 * ms (most of it loading its 1.6 MB, cold). ELK is loaded lazily: a page with only larger
 * graphs never parses it.
 */
import { toElkInput } from './elk-input.ts';
import { type ElkOutputGraph, flattenElk } from './flatten.ts';
import { layeredLayout } from './layered.ts';
import type { Layout } from './layout-types.ts';

export const ELK_MAX_NODES = 40;
export const ELK_MAX_EDGES = 120;

export interface LayoutRequest {
  n: number;
  edges: Int32Array;
}

/** The one method of elkjs this needs. */
export interface ElkLike {
  layout(graph: ReturnType<typeof toElkInput>): Promise<ElkOutputGraph>;
}

export function usesElk(n: number, edgeCount: number): boolean {
  return n <= ELK_MAX_NODES && edgeCount <= ELK_MAX_EDGES;
}

export async function computeLayout(
  request: LayoutRequest,
  loadElk: () => Promise<ElkLike>,
  now: () => number,
): Promise<Layout> {
  const started = now();
  const { n, edges } = request;
  const m = edges.length / 2;
  if (n > 0 && usesElk(n, m)) {
    try {
      const elk = await loadElk();
      const result = await elk.layout(toElkInput(n, edges));
      return { ...flattenElk(result, n, m), ms: now() - started };
    } catch {
      // ELK refused the graph (it should not): the fallback still shows it.
    }
  }
  return { ...layeredLayout(n, edges), ms: now() - started };
}
