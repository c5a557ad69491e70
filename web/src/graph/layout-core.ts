/**
 * Step 3 of the graph pipeline: what the layout worker does with one request. ELK (layered,
 * orthogonal edges) for graphs up to ELK_MAX_NODES nodes and ELK_MAX_EDGES edges, where it
 * takes up to about a second on a 2-core machine (see elkOptions); above, its time grows
 * past what an operator will wait (5,000 nodes: well over 5 s), so the O(V+E) layered
 * fallback runs instead, in a few ms. ELK is loaded lazily: a page with only large graphs
 * never parses its 1.6 MB.
 */
import { toElkInput } from './elk-input.ts';
import { type ElkOutputGraph, flattenElk } from './flatten.ts';
import { layeredLayout } from './layered.ts';
import type { Layout } from './layout-types.ts';

export const ELK_MAX_NODES = 1500;
export const ELK_MAX_EDGES = 6000;

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
