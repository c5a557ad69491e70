/**
 * parseDocumentText on large documents: median of a few runs, in ms, from JSON text to a
 * validated Graph (JSON.parse included).
 *   matrix2000: 2,000 nodes as a digraph matrix (4,000,000 entries, ~1% density), target < 1 s
 *   edges100k:  100,000 nodes, ~300,000 edges, target well under 1 s
 * In both, every 10th node has a get_attribute arg reading the first node (10% of the nodes
 * share one pattern, which exercises the one-pass resolution).
 * Run directly (`npx node bench/parse.ts`) to print the numbers as JSON.
 */
import { parseDocumentText } from '../src/graph/parse.ts';

/** Deterministic PRNG (mulberry32), so runs compare. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random order of 0..n-1; edges go from earlier to later in it, so the graph is a DAG. */
function permutation(n: number, rand: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

function nodesJson(n: number): string {
  const nodes: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    nodes[i] = JSON.stringify({
      id: i,
      name: `node-${i}`,
      target: 'test',
      engine: 'shell',
      artifact: 'run.sh',
      args: i % 10 === 0 ? [`ip=get_attribute node-0:ip`] : [`n=${i}`],
      output: { ip: '' },
    });
  }
  return `[${nodes.join(',')}]`;
}

export function matrixDocument(n: number, density: number, seed = 1): string {
  const rand = random(seed);
  const order = permutation(n, rand);
  const rank = new Uint32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]] = i;
  const matrix = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (rank[i] < rank[j] && rand() < 2 * density) matrix[i * n + j] = 1;
    }
  }
  // a chain keeps every node downstream of order[0]
  for (let k = 0; k + 1 < n; k++) matrix[order[k] * n + order[k + 1]] = 1;
  // node-0 must be upstream of every node that reads its output: make it the first in order
  const first = order[0];
  return `{"name":"matrix${n}","digraph":[${matrix.join(',')}],"nodes":${nodesJson(n).replaceAll('get_attribute node-0:', `get_attribute node-${first}:`)}}`;
}

export function edgesDocument(n: number, edgesPerNode: number, seed = 2): string {
  const rand = random(seed);
  const order = permutation(n, rand);
  const pairs: string[] = [];
  for (let k = 0; k + 1 < n; k++) {
    // a chain keeps every node downstream of order[0]; then random forward edges
    pairs.push(`[${order[k]},${order[k + 1]}]`);
    for (let e = 1; e < edgesPerNode; e++) {
      const later = k + 1 + Math.floor(rand() * (n - k - 1));
      pairs.push(`[${order[k]},${order[later]}]`);
    }
  }
  const nodes = nodesJson(n).replaceAll('get_attribute node-0:', `get_attribute node-${order[0]}:`);
  return `{"name":"edges${n}","edges":[${pairs.join(',')}],"nodes":${nodes}}`;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function time(text: string, runs: number): number {
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    parseDocumentText(text);
    samples.push(performance.now() - start);
  }
  return Math.round(median(samples) * 10) / 10;
}

/** JSON.parse alone, the floor under parseDocumentText. */
function jsonParseTime(text: string, runs: number): number {
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    JSON.parse(text);
    samples.push(performance.now() - start);
  }
  return Math.round(median(samples) * 10) / 10;
}

export async function benchParse(): Promise<Record<string, number>> {
  const matrix = matrixDocument(2_000, 0.01);
  const edges = edgesDocument(100_000, 3);
  const start = performance.now();
  const result = {
    'parse.matrix2000.ms': time(matrix, 5),
    'parse.matrix2000.json_parse_only.ms': jsonParseTime(matrix, 5),
    'parse.edges100k.ms': time(edges, 5),
    'parse.edges100k.json_parse_only.ms': jsonParseTime(edges, 5),
    'parse.matrix2000.text_mb': Math.round(matrix.length / 1e5) / 10,
    'parse.edges100k.text_mb': Math.round(edges.length / 1e5) / 10,
  };
  return { ...result, 'parse.total_bench.ms': Math.round(performance.now() - start) };
}

if (import.meta.main) {
  console.log(JSON.stringify(await benchParse(), null, 2));
}
