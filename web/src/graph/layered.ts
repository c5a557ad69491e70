/**
 * The fast layout for large graphs, where ELK would take many seconds: layered left to right
 * like ELK's, in O(V + E) plus one sort per layer.
 *   1. longest-path layering: a node sits one layer right of its furthest predecessor;
 *   2. order within a layer by id, then three barycenter sweeps (forward on predecessors,
 *      backward on successors, forward again) to pull connected nodes level with each other;
 *   3. coordinates: layer k at x = k * (width + gap), each layer centred vertically.
 * Nodes on a cycle (a pasted document not yet validated) go to one extra last layer.
 */
import { LAYER_GAP, type Layout, NODE_GAP, NODE_HEIGHT, NODE_WIDTH } from './layout-types.ts';

interface Csr {
  start: Int32Array;
  list: Int32Array;
}

/** Adjacency in compressed sparse row form: neighbours of v are list[start[v] .. start[v+1]). */
function csr(n: number, edges: Int32Array, from: 0 | 1): Csr {
  const start = new Int32Array(n + 1);
  const m = edges.length / 2;
  for (let k = 0; k < m; k++) start[edges[2 * k + from] + 1]++;
  for (let v = 0; v < n; v++) start[v + 1] += start[v];
  const fill = start.slice(0, n);
  const list = new Int32Array(m);
  for (let k = 0; k < m; k++) list[fill[edges[2 * k + from]]++] = edges[2 * k + 1 - from];
  return { start, list };
}

/** Longest-path layer of every node (Kahn's order); nodes on cycles get the last layer + 1. */
export function longestPathLayers(n: number, edges: Int32Array): Int32Array {
  const succ = csr(n, edges, 0);
  const indegree = new Int32Array(n);
  for (let k = 1; k < edges.length; k += 2) indegree[edges[k]]++;
  const layer = new Int32Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let v = 0; v < n; v++) if (indegree[v] === 0) queue[tail++] = v;
  let deepest = 0;
  while (head < tail) {
    const v = queue[head++];
    if (layer[v] > deepest) deepest = layer[v];
    for (let p = succ.start[v]; p < succ.start[v + 1]; p++) {
      const w = succ.list[p];
      if (layer[v] + 1 > layer[w]) layer[w] = layer[v] + 1;
      if (--indegree[w] === 0) queue[tail++] = w;
    }
  }
  if (tail < n) {
    for (let v = 0; v < n; v++) if (indegree[v] > 0) layer[v] = deepest + 1;
  }
  return layer;
}

export interface LayeredOptions {
  nodeWidth: number;
  nodeHeight: number;
  layerGap: number;
  nodeGap: number;
}

const defaults: LayeredOptions = {
  nodeWidth: NODE_WIDTH,
  nodeHeight: NODE_HEIGHT,
  layerGap: LAYER_GAP,
  nodeGap: NODE_GAP,
};

export function layeredLayout(
  n: number,
  edges: Int32Array,
  options: Partial<LayeredOptions> = {},
): Omit<Layout, 'ms'> {
  const { nodeWidth, nodeHeight, layerGap, nodeGap } = { ...defaults, ...options };
  const layer = longestPathLayers(n, edges);
  let layers = 0;
  for (let v = 0; v < n; v++) if (layer[v] + 1 > layers) layers = layer[v] + 1;

  // Bucket nodes by layer, by id inside a layer (counting sort).
  const layerStart = new Int32Array(layers + 1);
  for (let v = 0; v < n; v++) layerStart[layer[v] + 1]++;
  for (let l = 0; l < layers; l++) layerStart[l + 1] += layerStart[l];
  const order = new Int32Array(n);
  const fill = layerStart.slice(0, layers);
  for (let v = 0; v < n; v++) order[fill[layer[v]]++] = v;

  // y of node v: its slot in its layer, centred on 0; updated by each sweep.
  const pitch = nodeHeight + nodeGap;
  const y = new Float64Array(n);
  const place = (l: number) => {
    const from = layerStart[l];
    const size = layerStart[l + 1] - from;
    for (let i = 0; i < size; i++) y[order[from + i]] = (i - (size - 1) / 2) * pitch;
  };
  for (let l = 0; l < layers; l++) place(l);

  const pred = csr(n, edges, 1);
  const succ = csr(n, edges, 0);
  const key = new Float64Array(n);
  const sweep = (adjacency: Csr, l: number) => {
    const from = layerStart[l];
    const to = layerStart[l + 1];
    for (let i = from; i < to; i++) {
      const v = order[i];
      const count = adjacency.start[v + 1] - adjacency.start[v];
      if (count === 0) {
        key[v] = y[v];
        continue;
      }
      let sum = 0;
      for (let p = adjacency.start[v]; p < adjacency.start[v + 1]; p++) sum += y[adjacency.list[p]];
      key[v] = sum / count;
    }
    const slice = Array.from(order.subarray(from, to));
    slice.sort((a, b) => key[a] - key[b] || a - b);
    order.set(slice, from);
    place(l);
  };
  for (let l = 1; l < layers; l++) sweep(pred, l);
  for (let l = layers - 2; l >= 0; l--) sweep(succ, l);
  for (let l = 1; l < layers; l++) sweep(pred, l);

  let minY = 0;
  let maxY = 0;
  for (let v = 0; v < n; v++) {
    if (y[v] < minY) minY = y[v];
    if (y[v] > maxY) maxY = y[v];
  }
  const positions = new Float64Array(2 * n);
  for (let v = 0; v < n; v++) {
    positions[2 * v] = layer[v] * (nodeWidth + layerGap);
    positions[2 * v + 1] = y[v] - minY;
  }
  return {
    engine: 'layered',
    positions,
    width: layers === 0 ? 0 : layers * (nodeWidth + layerGap) - layerGap,
    height: n === 0 ? 0 : maxY - minY + nodeHeight,
    routes: null,
  };
}
