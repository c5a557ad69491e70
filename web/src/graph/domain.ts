/**
 * Step 1 of the graph pipeline: the domain graph of a run or of a pasted document. Only the
 * structure (node count and edges) matters for layout, so a graph is `n` plus its edges as
 * one flat Int32Array (`[from0, to0, from1, to1, ...]`, cheap to copy into the layout worker)
 * and a key computed from both: two runs of the same shape share one cached layout.
 */

export interface DomainGraph {
  n: number;
  /** edge k goes from edges[2k] to edges[2k + 1] */
  edges: Int32Array;
  /** identifies the structure: equal keys, equal layout */
  key: string;
}

/** What a gorch document (as submitted, or as GET /v1/tasks/{id} answers) tells about shape. */
export interface DocumentShape {
  digraph?: ArrayLike<number> | null;
  edges?: ArrayLike<ArrayLike<number>> | null;
  nodes: ArrayLike<unknown>;
}

export class ShapeError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/**
 * The edges of a document, from `edges` or the N×N `digraph` (a non-zero `digraph[i*N+j]` is
 * an edge i→j). Reading the matrix costs O(N²), as sending it did; `edges` costs O(E).
 */
export function edgesOf(doc: DocumentShape): Int32Array {
  const n = doc.nodes.length;
  const hasDigraph = doc.digraph !== undefined && doc.digraph !== null;
  const hasEdges = doc.edges !== undefined && doc.edges !== null;
  if (hasDigraph && hasEdges) throw new ShapeError('document', 'has both digraph and edges');
  if (hasEdges) {
    const list = doc.edges!;
    const out = new Int32Array(list.length * 2);
    for (let k = 0; k < list.length; k++) {
      const pair = list[k];
      const from = pair?.[0];
      const to = pair?.[1];
      if (!isIndex(from, n) || !isIndex(to, n) || pair.length !== 2) {
        throw new ShapeError(`edges[${k}]`, `expected a pair of node ids from 0 to ${n - 1}`);
      }
      out[2 * k] = from;
      out[2 * k + 1] = to;
    }
    return out;
  }
  if (!hasDigraph) return new Int32Array(0);
  const matrix = doc.digraph!;
  if (matrix.length !== n * n) {
    throw new ShapeError(
      'digraph',
      `expected ${n * n} entries (${n}×${n} for ${n} nodes), got ${matrix.length}`,
    );
  }
  let count = 0;
  for (let p = 0; p < matrix.length; p++) if (matrix[p] !== 0) count++;
  const out = new Int32Array(count * 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      if (matrix[row + j] !== 0) {
        out[k++] = i;
        out[k++] = j;
      }
    }
  }
  return out;
}

function isIndex(value: unknown, n: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < n;
}

export function domainGraph(doc: DocumentShape): DomainGraph {
  const edges = edgesOf(doc);
  const n = doc.nodes.length;
  return { n, edges, key: structureKey(n, edges) };
}

/** FNV-1a over the node count and every edge endpoint, with both counts in clear: O(E). */
export function structureKey(n: number, edges: Int32Array): string {
  let hash = 0x811c9dc5;
  const mix = (value: number) => {
    for (let shift = 0; shift < 32; shift += 8) {
      hash ^= (value >>> shift) & 0xff;
      hash = Math.imul(hash, 0x01000193);
    }
  };
  mix(n);
  for (let p = 0; p < edges.length; p++) mix(edges[p]);
  return `${n}:${edges.length / 2}:${(hash >>> 0).toString(36)}`;
}
