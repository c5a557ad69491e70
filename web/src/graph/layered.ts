/**
 * The layered layout, left to right, in O(V + E) plus one sort per layer and sweep: what every
 * graph above ELK_MAX_NODES gets (ELK takes seconds there) and a compact drawing in
 * milliseconds.
 *   1. layering: longest path from the sources (Kahn's order), then every node that has
 *      successors moves right to just before its nearest successor, so a source or a side
 *      chain sits next to what consumes it instead of in the first column with a long edge;
 *   2. order within a layer: by id, then barycenter sweeps (forward on predecessors, backward
 *      on successors, ...) to pull connected nodes level with each other and uncross edges;
 *   3. coordinates: each node as close as it can get to the mean y of its neighbours in the
 *      layer it looks at, keeping the layer's order and one node pitch between nodes; that is
 *      an isotonic regression, solved exactly per layer in O(size) by pooling adjacent
 *      violators. Straight chains come out as straight lines.
 *   4. a layer taller than the whole drawing would be if it were 1.6 times as wide as high
 *      (thousands of independent tasks, a fan-out to hundreds) is wrapped into several
 *      columns, row by row in its order, instead of one column a million pixels tall.
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

interface Layering {
  layer: Int32Array;
  /** the nodes in topological order; nodes on cycles are left out */
  topo: Int32Array;
  sorted: number;
}

function layering(n: number, edges: Int32Array, succ: Csr): Layering {
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
  return { layer, topo: queue, sorted: tail };
}

/** Longest-path layer of every node (Kahn's order); nodes on cycles get the last layer + 1. */
export function longestPathLayers(n: number, edges: Int32Array): Int32Array {
  return layering(n, edges, csr(n, edges, 0)).layer;
}

/**
 * Moves every node with successors right, to one layer before its nearest successor
 * (successors first: reverse topological order). Sinks keep their layer, so the number of
 * layers does not change and no edge points left.
 */
function pullTowardsSuccessors({ layer, topo, sorted }: Layering, succ: Csr): void {
  for (let i = sorted - 1; i >= 0; i--) {
    const v = topo[i];
    const from = succ.start[v];
    const to = succ.start[v + 1];
    if (from === to) continue;
    let nearest = layer[succ.list[from]];
    for (let p = from + 1; p < to; p++) nearest = Math.min(nearest, layer[succ.list[p]]);
    if (nearest - 1 > layer[v]) layer[v] = nearest - 1;
  }
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

/** The drawing's width / height that wrapping tall layers aims at (step 4). */
const ASPECT = 1.6;
/** No layer is wrapped below this many rows. */
const WRAP_MIN_ROWS = 8;

/** Ordering sweeps, then placement sweeps: each costs O(V + E) (plus the sorts). */
const ORDER_SWEEPS = 4;
const PLACE_SWEEPS = 4;

export function layeredLayout(
  n: number,
  edges: Int32Array,
  options: Partial<LayeredOptions> = {},
): Omit<Layout, 'ms'> {
  const { nodeWidth, nodeHeight, layerGap, nodeGap } = { ...defaults, ...options };
  const succ = csr(n, edges, 0);
  const pred = csr(n, edges, 1);
  const layers0 = layering(n, edges, succ);
  pullTowardsSuccessors(layers0, succ);
  const { layer } = layers0;
  let layers = 0;
  for (let v = 0; v < n; v++) if (layer[v] + 1 > layers) layers = layer[v] + 1;

  // Bucket nodes by layer, by id inside a layer (counting sort).
  const layerStart = new Int32Array(layers + 1);
  for (let v = 0; v < n; v++) layerStart[layer[v] + 1]++;
  for (let l = 0; l < layers; l++) layerStart[l + 1] += layerStart[l];
  const order = new Int32Array(n);
  const fill = layerStart.slice(0, layers);
  for (let v = 0; v < n; v++) order[fill[layer[v]]++] = v;

  // 4. how many columns each layer takes (1 unless it is far taller than the drawing)
  const pitch = nodeHeight + nodeGap;
  const columnWidth = nodeWidth + layerGap;
  const tallest = Math.max(WRAP_MIN_ROWS * pitch, Math.sqrt((n * pitch * columnWidth) / ASPECT));
  const columns = new Int32Array(layers);
  const columnStart = new Int32Array(layers + 1);
  for (let l = 0; l < layers; l++) {
    const size = layerStart[l + 1] - layerStart[l];
    columns[l] = Math.max(1, Math.ceil((size * pitch) / tallest));
    columnStart[l + 1] = columnStart[l] + columns[l];
  }

  // y of node v: while ordering, its slot in its layer centred on 0 (its row, in a wrapped
  // layer, where it stays).
  const y = new Float64Array(n);
  const pack = (l: number) => {
    const from = layerStart[l];
    const size = layerStart[l + 1] - from;
    const rows = Math.ceil(size / columns[l]);
    for (let i = 0; i < size; i++) {
      y[order[from + i]] = (Math.floor(i / columns[l]) - (rows - 1) / 2) * pitch;
    }
  };
  for (let l = 0; l < layers; l++) pack(l);

  /** mean y of v's neighbours in `adjacency`, or its own y when it has none */
  const meanOf = (adjacency: Csr, v: number) => {
    const from = adjacency.start[v];
    const to = adjacency.start[v + 1];
    if (from === to) return y[v];
    let sum = 0;
    for (let p = from; p < to; p++) sum += y[adjacency.list[p]];
    return sum / (to - from);
  };

  // 2. order
  const key = new Float64Array(n);
  const reorder = (adjacency: Csr, l: number) => {
    const from = layerStart[l];
    const to = layerStart[l + 1];
    if (to - from < 2) return;
    for (let i = from; i < to; i++) key[order[i]] = meanOf(adjacency, order[i]);
    const slice = Array.from(order.subarray(from, to));
    slice.sort((a, b) => key[a] - key[b] || y[a] - y[b]);
    order.set(slice, from);
    pack(l);
  };
  for (let sweep = 0; sweep < ORDER_SWEEPS; sweep++) {
    if (sweep % 2 === 0) for (let l = 1; l < layers; l++) reorder(pred, l);
    else for (let l = layers - 2; l >= 0; l--) reorder(succ, l);
  }

  // 3. coordinates: pool adjacent violators on t_i = want_i - i * pitch (see the header)
  const want = new Float64Array(n);
  const blockSum = new Float64Array(n);
  const blockCount = new Int32Array(n);
  const place = (adjacency: Csr, l: number) => {
    if (columns[l] > 1) return;
    const from = layerStart[l];
    const size = layerStart[l + 1] - from;
    let blocks = 0;
    for (let i = 0; i < size; i++) {
      want[i] = meanOf(adjacency, order[from + i]) - i * pitch;
      blockSum[blocks] = want[i];
      blockCount[blocks] = 1;
      blocks++;
      while (
        blocks > 1 &&
        blockSum[blocks - 2] / blockCount[blocks - 2] >
          blockSum[blocks - 1] / blockCount[blocks - 1]
      ) {
        blockSum[blocks - 2] += blockSum[blocks - 1];
        blockCount[blocks - 2] += blockCount[blocks - 1];
        blocks--;
      }
    }
    let i = 0;
    for (let b = 0; b < blocks; b++) {
      const level = blockSum[b] / blockCount[b];
      for (let c = 0; c < blockCount[b]; c++, i++) y[order[from + i]] = level + i * pitch;
    }
  };
  for (let sweep = 0; sweep < PLACE_SWEEPS; sweep++) {
    if (sweep % 2 === 0) for (let l = 1; l < layers; l++) place(pred, l);
    else for (let l = layers - 2; l >= 0; l--) place(succ, l);
  }

  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < n; v++) {
    if (y[v] < minY) minY = y[v];
    if (y[v] > maxY) maxY = y[v];
  }
  const positions = new Float64Array(2 * n);
  for (let l = 0; l < layers; l++) {
    for (let i = layerStart[l]; i < layerStart[l + 1]; i++) {
      const v = order[i];
      const column = columnStart[l] + ((i - layerStart[l]) % columns[l]);
      positions[2 * v] = column * columnWidth;
      positions[2 * v + 1] = Math.round(y[v] - minY);
    }
  }
  return {
    engine: 'layered',
    positions,
    width: layers === 0 ? 0 : columnStart[layers] * columnWidth - layerGap,
    height: n === 0 ? 0 : Math.round(maxY - minY) + nodeHeight,
    routes: null,
  };
}
