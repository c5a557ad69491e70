/**
 * Step 4 of the graph pipeline (pure): ELK's laid-out graph flattened to what React Flow needs,
 * typed arrays indexed by node id and edge index (ids were assigned by toElkInput).
 */
import type { Layout } from './layout-types.ts';

export interface ElkPoint {
  x: number;
  y: number;
}

export interface ElkOutputGraph {
  width?: number;
  height?: number;
  children?: Array<{ id: string; x?: number; y?: number }>;
  edges?: Array<{
    id: string;
    sections?: Array<{ startPoint: ElkPoint; endPoint: ElkPoint; bendPoints?: ElkPoint[] }>;
  }>;
}

export function flattenElk(
  graph: ElkOutputGraph,
  n: number,
  edgeCount: number,
): Omit<Layout, 'ms'> {
  const positions = new Float64Array(2 * n);
  for (const child of graph.children ?? []) {
    const i = Number(child.id);
    if (!Number.isInteger(i) || i < 0 || i >= n) continue;
    positions[2 * i] = child.x ?? 0;
    positions[2 * i + 1] = child.y ?? 0;
  }
  const routes: Array<Float64Array | null> = new Array(edgeCount).fill(null);
  for (const edge of graph.edges ?? []) {
    const k = Number(edge.id.slice(1));
    const section = edge.sections?.[0];
    if (!Number.isInteger(k) || k < 0 || k >= edgeCount || !section) continue;
    const bends = section.bendPoints ?? [];
    const points = new Float64Array(4 + 2 * bends.length);
    points[0] = section.startPoint.x;
    points[1] = section.startPoint.y;
    for (let b = 0; b < bends.length; b++) {
      points[2 + 2 * b] = bends[b].x;
      points[3 + 2 * b] = bends[b].y;
    }
    points[points.length - 2] = section.endPoint.x;
    points[points.length - 1] = section.endPoint.y;
    routes[k] = points;
  }
  return {
    engine: 'elk',
    positions,
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    routes,
  };
}
