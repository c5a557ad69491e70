/**
 * Parse and validate a gorch document (docs/architecture.md §1) into a `Graph`, and back (`toDocument`).
 *
 * Order of checks, each failing with its own `DocumentError` (see errors.ts):
 *   1. the document is an object; node, edge, output and input counts are under the limits,
 *      before anything walks the arrays or maps (limits.ts);
 *   2. field types and ranges, from the compiled TypeBox check (schema.ts), first few errors;
 *   3. exactly one of digraph / edges; graph name length;
 *   4. per node, in document order: id in 0..N-1 and not repeated, name length and
 *      uniqueness, engine known, args limits, ... (node-fields.ts lists them); each node is
 *      placed at its id, so from here on `nodes[i].id === i` and the matrix and edges are read
 *      by id, whatever order the nodes came in; then {{inputs.*}} (inputs.ts), and args their
 *      engine could never run, once substituted (engine-args.ts);
 *   5. digraph or edges → CSR (entries, endpoints, self-loops, edge limit), in one or two
 *      typed passes over the input array, never an N×N structure of our own (adjacency.ts);
 *   6. no cycle (iterative DFS, O(V+E)), named node by node (adjacency.ts);
 *   7. get_attribute args name an ancestor: the lowest-id one whose name fully matches NODE,
 *      else the lowest-id one whose name contains a match (get-attribute.ts for the strategies
 *      and the work bound, node-patterns.ts);
 *   8. each `depends` compiles against the node's predecessors (depends.ts).
 *
 * Measured with bench/parse.ts (Node 24, 2 vCPUs), median of 5, JSON text to Graph:
 *   2,000-node matrix (4M entries, 8 MB):    ~70 ms, of which JSON.parse ~45 ms
 *   100,000 nodes, 300k edges (17 MB):     ~210 ms, of which JSON.parse ~100 ms
 * The digraph/edges arrays are checked by hand in the CSR scan rather than by the compiled
 * TypeBox check (~22 ms more for 4M entries, and worse messages).
 *
 * Checks after step 4 go through the nodes in id order and name a node by its index in the
 * document as it came (`at`), so a message points at the text the submitter wrote.
 */

import {
  describeCycle,
  edgesToSuccessors,
  matrixToSuccessors,
  topologicalOrder,
  transpose,
} from './adjacency.ts';
import { compileConditions } from './depends.ts';
import { checkEngineArgs } from './engine-args.ts';
import { DocumentError, describeValue, fail, locateJsonError } from './errors.ts';
import { resolveAttributes } from './get-attribute.ts';
import { resolveInputs } from './inputs.ts';
import { checkCounts, DEFAULT_LIMITS, type Limits } from './limits.ts';
import type { Graph } from './model.ts';
import { noNul, normalizeNodes } from './node-fields.ts';
import { checkDocument, type GorchDocumentInput, type NormalizedDocument } from './schema.ts';

// the parser's public names, whichever module defines them, are imported from here
export { type TopologicalResult, topologicalOrder } from './adjacency.ts';
export { parseGetAttribute } from './get-attribute.ts';
export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export { MAX_PATTERN_LENGTH, MAX_PATTERN_WORK } from './node-patterns.ts';

export interface ParseOptions extends Limits {
  /** engine names a node may use; an executor registry can pass its own */
  engines: ReadonlySet<string>;
  /** input values given with the submission (over the document's own `values`) */
  values?: Record<string, string>;
  /** pool names nodes may ask for; absent: any (checked where the pools are known) */
  pools?: ReadonlySet<string>;
}

export const DEFAULT_ENGINES: ReadonlySet<string> = new Set([
  'nil',
  'sleep',
  'shell',
  'ssh',
  'toscassh',
  'ansible',
  'http',
  'docker',
]);

function resolveOptions(options: Partial<ParseOptions> | undefined): ParseOptions {
  const resolved: ParseOptions = { ...DEFAULT_LIMITS, engines: DEFAULT_ENGINES };
  if (options === undefined) return resolved;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = options[key];
    if (value !== undefined) resolved[key] = value;
  }
  if (options.engines !== undefined) resolved.engines = options.engines;
  if (options.values !== undefined) resolved.values = options.values;
  if (options.pools !== undefined) resolved.pools = options.pools;
  return resolved;
}

/** Parses JSON text (a leading BOM is ignored); not JSON → a DocumentError with line and column. */
export function parseDocumentText(text: string, options?: Partial<ParseOptions>): Graph {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    const where = locateJsonError(body);
    const detail =
      where === undefined
        ? (error as Error).message
        : `line ${where.line} column ${where.column} (offset ${where.offset}): ${where.reason}`;
    throw new DocumentError('json', '', `not JSON: ${detail}`);
  }
  return parseDocument(value, options);
}

/** Validates a parsed gorch document and builds its `Graph`; throws `DocumentError`. */
export function parseDocument(input: unknown, options?: Partial<ParseOptions>): Graph {
  const opts = resolveOptions(options);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    fail(
      'shape',
      '',
      `the document must be a JSON object with "nodes" and "digraph" or "edges", got ${describeValue(input)}`,
    );
  }
  const raw = input as Record<string, unknown>;

  // 1. limits first, so nothing below walks a huge array
  checkCounts(raw, opts, opts.values);

  // 2. types
  const issues = checkDocument(input);
  if (issues.length > 0) {
    throw new DocumentError('type', issues[0].path, issues.map((i) => i.message).join('; '), {
      issues,
    });
  }
  const doc = input as GorchDocumentInput;

  // 3. document level
  const hasMatrix = doc.digraph != null;
  const hasEdges = doc.edges != null;
  if (hasMatrix === hasEdges) {
    fail(
      'shape',
      '',
      `give exactly one of "digraph" (the N×N matrix) or "edges" ([[from, to], ...]), got ${hasMatrix ? 'both' : 'neither'}`,
    );
  }
  const name = doc.name ?? '';
  noNul(name, 'name');
  if (name.length > opts.maxGraphNameLength) {
    fail(
      'limit',
      'name',
      `${name.length} characters is over the limit of ${opts.maxGraphNameLength}`,
    );
  }

  // 4. nodes (node-fields.ts), by id, with {{inputs.x}} substituted
  const { nodes, byName, submitted, at } = normalizeNodes(doc.nodes, opts);
  const given = opts.values ? { ...doc.values, ...opts.values } : doc.values;
  const values = resolveInputs(doc.inputs, given, nodes, opts, at);
  checkEngineArgs(nodes, at);

  // 5. edges as CSR
  const n = nodes.length;
  const { succStart, succ } = hasMatrix
    ? matrixToSuccessors(doc.digraph, nodes, opts.maxEdges)
    : edgesToSuccessors(doc.edges, nodes, opts.maxEdges);
  const { predStart, pred } = transpose(n, succStart, succ);

  // 6. cycles
  const sorted = topologicalOrder(n, succStart, succ);
  if (sorted.cycle !== undefined) {
    const { cycle } = sorted;
    throw new DocumentError('cycle', hasMatrix ? 'digraph' : 'edges', describeCycle(cycle, nodes), {
      cycle,
    });
  }

  // 7. get_attribute
  const refs = resolveAttributes(nodes, byName, predStart, pred, sorted.order, at);

  // 8. depends
  const conditions = compileConditions(nodes, byName, predStart, pred, at);

  const graph: Graph = {
    name,
    nodes,
    succStart,
    succ,
    predStart,
    pred,
    refs,
    conditions,
    matrix: hasMatrix,
  };
  if (submitted !== undefined) graph.submitted = submitted;
  if (doc.timeout !== undefined) graph.timeout = doc.timeout;
  if (doc.priority !== undefined) graph.priority = doc.priority;
  if (doc.parallelism !== undefined) graph.parallelism = doc.parallelism;
  if (doc.inputs !== undefined) {
    graph.inputs = structuredClone(doc.inputs);
    graph.values = values;
  }
  return graph;
}

/**
 * The normalized document of a graph (no nulls, `output` only, every node named), in the form
 * it came in: `digraph` when `graph.matrix`, else `edges` sorted by (from, to), and the nodes
 * in the order they were submitted. Each node with get_attribute args also says which node
 * each was bound to (`get_attribute`, derived: `parseDocument` ignores it). `parseDocument`
 * of the result gives back an identical graph. Node objects, args and outputs are fresh copies.
 */
export function toDocument(graph: Graph): NormalizedDocument {
  const n = graph.nodes.length;
  const { succStart, succ, submitted } = graph;
  const nodes = new Array<NormalizedDocument['nodes'][number]>(n);
  for (let k = 0; k < n; k++) {
    const node = graph.nodes[submitted === undefined ? k : submitted[k]];
    const out: NormalizedDocument['nodes'][number] = {
      id: node.id,
      name: node.name,
      target: node.target,
      engine: node.engine,
      artifact: node.artifact,
      args: node.args.slice(),
      output: { ...node.output },
    };
    if (node.timeout !== undefined) out.timeout = node.timeout;
    if (node.retries !== undefined) {
      out.retries = { count: node.retries.count, backoff_s: node.retries.backoff_s };
    }
    if (node.depends !== undefined) out.depends = node.depends;
    if (node.secrets !== undefined) out.secrets = node.secrets.slice();
    if (node.pool !== undefined) out.pool = node.pool;
    if (node.env !== undefined) out.env = node.env.slice();
    if (node.resources !== undefined) out.resources = { ...node.resources };
    if (node.container !== undefined) out.container = { ...node.container };
    const refs = graph.refs.get(node.id);
    if (refs !== undefined) {
      out.get_attribute = refs.map((ref) => ({
        arg: ref.arg,
        node: ref.source,
        name: graph.nodes[ref.source].name,
        match: ref.unanchored ? 'unanchored' : 'full',
      }));
    }
    nodes[k] = out;
  }
  let doc: NormalizedDocument;
  if (graph.matrix) {
    const digraph = new Array<number>(n * n).fill(0);
    for (let i = 0; i < n; i++) {
      for (let p = succStart[i]; p < succStart[i + 1]; p++) digraph[i * n + succ[p]] = 1;
    }
    doc = { name: graph.name, digraph, nodes };
  } else {
    const edges: [number, number][] = new Array(succ.length);
    for (let i = 0; i < n; i++) {
      for (let p = succStart[i]; p < succStart[i + 1]; p++) edges[p] = [i, succ[p]];
    }
    doc = { name: graph.name, edges, nodes };
  }
  if (graph.timeout !== undefined) doc.timeout = graph.timeout;
  if (graph.priority !== undefined) doc.priority = graph.priority;
  if (graph.parallelism !== undefined) doc.parallelism = graph.parallelism;
  if (graph.inputs !== undefined) {
    doc.inputs = structuredClone(graph.inputs);
    doc.values = { ...graph.values };
  }
  return doc;
}
