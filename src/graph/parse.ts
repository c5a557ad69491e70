/**
 * Parse and validate a gorch document (docs/architecture.md §1) into a `Graph`, and back (`toDocument`).
 *
 * Order of checks, each failing with its own `DocumentError` (see errors.ts):
 *   1. the document is an object; node, edge, output and input counts are under the limits
 *      (before anything walks the arrays or maps);
 *   2. field types and ranges, from the compiled TypeBox check (schema.ts), first few errors;
 *   3. exactly one of digraph / edges; graph name length;
 *   4. per node: id == index, name length and uniqueness, engine known, args limits, and
 *      args its engine could never run (engine-args.ts);
 *   5. digraph or edges → CSR (entries, endpoints, self-loops, edge limit), in one or two
 *      typed passes over the input array, never an N×N structure of our own;
 *   6. no cycle (iterative DFS, O(V+E)), named node by node;
 *   7. get_attribute args name an ancestor: the lowest-id one whose name fully matches NODE
 *      (see resolveAttributes for the two strategies and the work bound).
 *
 * Measured with bench/parse.ts (Node 24, 2 vCPUs), median of 5, JSON text to Graph:
 *   2,000-node matrix (4M entries, 8 MB):    ~70 ms, of which JSON.parse ~45 ms
 *   100,000 nodes, 300k edges (17 MB):     ~210 ms, of which JSON.parse ~100 ms
 * The digraph/edges arrays are checked by hand in the CSR scan rather than by the compiled
 * TypeBox check (~22 ms more for 4M entries, and worse messages).
 */

import v8 from 'node:v8';
import { compileDepends, DependsError } from './depends.ts';
import { checkEngineArgs } from './engine-args.ts';
import { DocumentError, type DocumentErrorKind, describeValue, locateJsonError } from './errors.ts';
import { resolveInputs } from './inputs.ts';
import type { AttributeRef, Condition, GorchNode, Graph } from './model.ts';
import { checkDocument, type GorchDocumentInput, type NormalizedDocument } from './schema.ts';

export interface Limits {
  maxNodes: number;
  maxEdges: number;
  /** per node */
  maxArgs: number;
  /** characters (UTF-16 code units) per arg */
  maxArgLength: number;
  /** characters of a node name and of the graph name */
  maxNameLength: number;
  /** characters of all args of the document together, after {{inputs.*}} substitution */
  maxArgsLength: number;
  /** output names per node */
  maxOutputs: number;
  /** output names of all nodes together */
  maxOutputsTotal: number;
  /** declared inputs, and values given (each) */
  maxInputs: number;
}

export interface ParseOptions extends Limits {
  /** engine names a node may use; an executor registry can pass its own */
  engines: ReadonlySet<string>;
  /** input values given with the submission (over the document's own `values`) */
  values?: Record<string, string>;
  /** pool names nodes may ask for; absent: any (checked where the pools are known) */
  pools?: ReadonlySet<string>;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxNodes: 100_000,
  maxEdges: 1_000_000,
  maxArgs: 1_000,
  maxArgLength: 64 * 1024,
  maxNameLength: 256,
  maxArgsLength: 64 * 1024 * 1024,
  maxOutputs: 1_000,
  maxOutputsTotal: 100_000,
  maxInputs: 1_000,
});

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

/** Longest accepted NODE regular expression of a get_attribute arg. */
export const MAX_PATTERN_LENGTH = 256;

// get_attribute patterns run on V8's linear-time regexp engine (the `l` flag needs this)
v8.setFlagsFromString('--enable-experimental-regexp-engine');

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

function fail(kind: DocumentErrorKind, path: string, detail: string): never {
  throw DocumentError.at(kind, path, detail);
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
  if (Array.isArray(raw.nodes) && raw.nodes.length > opts.maxNodes) {
    fail('limit', 'nodes', `${raw.nodes.length} nodes is over the limit of ${opts.maxNodes}`);
  }
  if (Array.isArray(raw.edges) && raw.edges.length > opts.maxEdges) {
    fail('limit', 'edges', `${raw.edges.length} edges is over the limit of ${opts.maxEdges}`);
  }
  if (Array.isArray(raw.nodes)) countOutputs(raw.nodes, opts);
  countNames(raw.inputs, 'inputs', 'inputs are declared', opts.maxInputs);
  countNames(raw.values, 'values', 'values are given', opts.maxInputs);
  countNames(opts.values, 'values', 'values are given', opts.maxInputs);

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
  if (name.length > opts.maxNameLength) {
    fail('limit', 'name', `${name.length} characters is over the limit of ${opts.maxNameLength}`);
  }

  // 4. nodes, with {{inputs.x}} substituted
  const { nodes, byName } = normalizeNodes(doc.nodes, opts);
  const given = opts.values ? { ...doc.values, ...opts.values } : doc.values;
  const values = resolveInputs(doc.inputs, given, nodes, opts);
  checkEngineArgs(nodes);

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
  const refs = resolveAttributes(nodes, byName, predStart, pred, sorted.order);

  // 8. depends
  const conditions = compileConditions(nodes, byName, predStart, pred);

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
  if (doc.timeout !== undefined) graph.timeout = doc.timeout;
  if (doc.priority !== undefined) graph.priority = doc.priority;
  if (doc.parallelism !== undefined) graph.parallelism = doc.parallelism;
  if (doc.inputs !== undefined) {
    graph.inputs = structuredClone(doc.inputs);
    graph.values = values;
  }
  return graph;
}

/** The keys of `value` when it is a plain object (an array or anything else has none here). */
function keyCount(value: unknown): number {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.keys(value).length
    : 0;
}

/**
 * Output names per node and in all, counted before the type check and the copies walk them
 * (a million took seconds more each).
 */
function countOutputs(nodes: readonly unknown[], opts: ParseOptions): void {
  let total = 0;
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k];
    if (node === null || typeof node !== 'object') continue;
    for (const field of ['output', 'outputs'] as const) {
      const count = keyCount((node as Record<string, unknown>)[field]);
      if (count === 0) continue;
      const path = `nodes[${k}].${field}`;
      if (count > opts.maxOutputs) {
        fail('limit', path, `${count} outputs is over the limit of ${opts.maxOutputs} per node`);
      }
      total += count;
      if (total > opts.maxOutputsTotal) {
        fail(
          'limit',
          path,
          `the nodes up to this one declare ${total} outputs, over the limit of ` +
            `${opts.maxOutputsTotal} for a document`,
        );
      }
    }
  }
}

function countNames(value: unknown, path: string, what: string, max: number): void {
  const count = keyCount(value);
  if (count > max) fail('limit', path, `${count} ${what}, over the limit of ${max}`);
}

function normalizeNodes(
  input: GorchDocumentInput['nodes'],
  opts: ParseOptions,
): { nodes: GorchNode[]; byName: Map<string, number> } {
  const nodes: GorchNode[] = new Array(input.length);
  const byName = new Map<string, number>();
  for (let k = 0; k < input.length; k++) {
    const raw = input[k];
    const at = `nodes[${k}]`;
    if (raw.id !== k) {
      fail('id', `${at}.id`, `expected ${k} (ids must be 0..N-1 in order), got ${raw.id}`);
    }
    const name = raw.name;
    if (name.length > opts.maxNameLength) {
      fail(
        'limit',
        `${at}.name`,
        `${name.length} characters is over the limit of ${opts.maxNameLength}`,
      );
    }
    const previous = byName.get(name);
    if (previous !== undefined) {
      fail(
        'name',
        `${at}.name`,
        `duplicate name ${JSON.stringify(name)}: nodes ${previous} and ${k} both have it ` +
          '(names must be unique: get_attribute refers to nodes by name)',
      );
    }
    byName.set(name, k);

    const artifact = raw.artifact ?? '';
    let engine = raw.engine ?? '';
    if (engine === '') {
      // gorchestrator ran a node with neither engine nor artifact as "nil"
      if (artifact !== '') {
        fail(
          'engine',
          `${at}.engine`,
          `missing: a node with an artifact needs an engine, one of ${knownEngines(opts.engines)}`,
        );
      }
      engine = 'nil';
    } else if (!opts.engines.has(engine)) {
      fail(
        'engine',
        `${at}.engine`,
        `unknown engine ${JSON.stringify(engine)}, expected one of ${knownEngines(opts.engines)}`,
      );
    }

    const args = raw.args ?? [];
    if (args.length > opts.maxArgs) {
      fail(
        'limit',
        `${at}.args`,
        `${args.length} args is over the limit of ${opts.maxArgs} per node`,
      );
    }
    for (let a = 0; a < args.length; a++) {
      if (args[a].length > opts.maxArgLength) {
        fail(
          'limit',
          `${at}.args[${a}]`,
          `${args[a].length} characters is over the limit of ${opts.maxArgLength}`,
        );
      }
    }
    if (raw.output != null && raw.outputs != null) {
      fail(
        'shape',
        at,
        'both "output" and "outputs" are given; "outputs" is an alias of "output", give one',
      );
    }
    const node: GorchNode = {
      id: k,
      name,
      target: raw.target ?? '',
      engine,
      artifact,
      args: args.slice(),
      // spreading defines own properties, so a "__proto__" output name stays a plain key
      output: { ...(raw.output ?? raw.outputs ?? {}) },
    };
    if (raw.timeout !== undefined) node.timeout = raw.timeout;
    if (raw.retries !== undefined) {
      node.retries = { count: raw.retries.count, backoff_s: raw.retries.backoff_s };
    }
    if (raw.depends !== undefined) node.depends = raw.depends;
    if (raw.secrets !== undefined) node.secrets = raw.secrets.slice();
    copyContainerFields(raw, node, at);
    checkNoNul(node, at);
    if (raw.pool !== undefined) {
      if (opts.pools && !opts.pools.has(raw.pool)) {
        const known =
          [...opts.pools].sort().join(', ') || 'none (start the server with --pool NAME=SLOTS)';
        fail('shape', `${at}.pool`, `unknown pool "${raw.pool}"; the pools are ${known}`);
      }
      node.pool = raw.pool;
    }
    nodes[k] = node;
  }
  return { nodes, byName };
}

/** The fields of a node run in a container (docker): copied, and what the schema cannot say. */
function copyContainerFields(
  raw: GorchDocumentInput['nodes'][number],
  node: GorchNode,
  at: string,
) {
  if (raw.env !== undefined) node.env = raw.env.slice();
  if (raw.resources !== undefined) node.resources = { ...raw.resources };
  if (raw.container !== undefined) {
    const network = raw.container.network;
    if (network !== undefined && /^(host|container:.*)$/.test(network)) {
      fail(
        'shape',
        `${at}.container.network`,
        `"${network}" would share the host's or another container's network; ` +
          'use "none" (the default), "bridge" or a network name',
      );
    }
    node.container = { ...raw.container };
  }
}

/** Compiles each node's `depends` against its predecessors (errors name the column). */
function compileConditions(
  nodes: GorchNode[],
  byName: Map<string, number>,
  predStart: Uint32Array,
  pred: Uint32Array,
): Map<number, Condition> {
  const conditions = new Map<number, Condition>();
  for (const node of nodes) {
    if (node.depends === undefined) continue;
    const preds = Array.from(pred.subarray(predStart[node.id], predStart[node.id + 1]));
    try {
      conditions.set(
        node.id,
        compileDepends(
          node.depends,
          preds,
          (name) => byName.get(name),
          (id) => nodes[id].name,
        ),
      );
    } catch (err) {
      if (!(err instanceof DependsError)) throw err;
      fail(
        'depends',
        `nodes[${node.id}].depends`,
        `${err.message} in ${JSON.stringify(excerpt(node.depends, err.column))}`,
      );
    }
  }
  return conditions;
}

/** An expression as error messages quote it: whole when short, else around `column`. */
function excerpt(source: string, column: number): string {
  if (source.length <= 120) return source;
  const from = Math.max(0, Math.min(column - 60, source.length - 120));
  return `${from > 0 ? '…' : ''}${source.slice(from, from + 120)}${from + 120 < source.length ? '…' : ''}`;
}

/**
 * NUL characters cannot reach a process (argv and environments are C strings) nor be stored
 * in PostgreSQL text: refused here rather than failing a run, or a store commit, later.
 */
function noNul(value: string, path: string): void {
  if (value.includes('\u0000')) fail('type', path, 'must not contain NUL (\\u0000) characters');
}

function checkNoNul(node: GorchNode, at: string): void {
  noNul(node.name, `${at}.name`);
  noNul(node.target, `${at}.target`);
  noNul(node.engine, `${at}.engine`);
  noNul(node.artifact, `${at}.artifact`);
  for (let a = 0; a < node.args.length; a++) noNul(node.args[a], `${at}.args[${a}]`);
  for (const [key, value] of Object.entries(node.output)) {
    noNul(key, `${at}.output`);
    noNul(value, `${at}.output.${key}`);
  }
  if (node.depends !== undefined) noNul(node.depends, `${at}.depends`);
}

function knownEngines(engines: ReadonlySet<string>): string {
  return [...engines].sort().join(', ');
}

function selfLoop(path: string, node: GorchNode): never {
  fail('self-loop', path, `node ${node.id} ${JSON.stringify(node.name)} has an edge to itself`);
}

interface Successors {
  succStart: Uint32Array;
  succ: Uint32Array;
}

/**
 * Row-major N×N matrix → successor rows, sorted by construction. Two passes over the input
 * (count, then fill) and no allocation per entry; only non-zero entries get the type check.
 */
function matrixToSuccessors(digraph: unknown, nodes: GorchNode[], maxEdges: number): Successors {
  const n = nodes.length;
  const size = n * n;
  if (!Array.isArray(digraph)) {
    fail(
      'edge',
      'digraph',
      `expected an array of N×N = ${size} numbers (N = ${n} nodes), got ${describeValue(digraph)}`,
    );
  }
  const d: unknown[] = digraph;
  if (d.length !== size) {
    const side = Math.sqrt(d.length);
    const hint = Number.isInteger(side) ? ` (a ${side}×${side} matrix for ${n} nodes)` : '';
    fail(
      'edge',
      'digraph',
      `expected N×N = ${size} entries for N = ${n} nodes, got ${d.length}${hint}`,
    );
  }
  const succStart = new Uint32Array(n + 1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const base = i * n;
    for (let j = 0; j < n; j++) {
      const v = d[base + j];
      if (v !== 0) {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          fail('edge', `digraph[${base + j}]`, `expected a number, got ${describeValue(v)}`);
        }
        if (i === j) selfLoop(`digraph[${base + j}]`, nodes[i]);
        count++;
      }
    }
    if (count > maxEdges) {
      fail(
        'limit',
        'digraph',
        `more than ${maxEdges} edges (non-zero entries), over the limit of ${maxEdges}`,
      );
    }
    succStart[i + 1] = count;
  }
  const succ = new Uint32Array(count);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const base = i * n;
    for (let j = 0; j < n; j++) if (d[base + j] !== 0) succ[p++] = j;
  }
  return { succStart, succ };
}

/**
 * `[[from, to], ...]` → successor rows, sorted and without duplicates, by two counting sorts
 * (by target, then by source): O(V+E), no comparison sort.
 */
function edgesToSuccessors(edges: unknown, nodes: GorchNode[], maxEdges: number): Successors {
  const n = nodes.length;
  if (!Array.isArray(edges)) {
    fail('edge', 'edges', `expected an array of [from, to] pairs, got ${describeValue(edges)}`);
  }
  const list: unknown[] = edges;
  const m = list.length;
  if (m > maxEdges) fail('limit', 'edges', `${m} edges is over the limit of ${maxEdges}`);
  const from = new Uint32Array(m);
  const to = new Uint32Array(m);
  const outStart = new Uint32Array(n + 1);
  const inStart = new Uint32Array(n + 1);
  const endpoint = (v: unknown, k: number, side: 0 | 1): number => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < n) return v;
    return fail(
      'edge',
      `edges[${k}][${side}]`,
      n === 0
        ? `there are no nodes, got ${describeValue(v)}`
        : `expected a node id, an integer from 0 to ${n - 1}, got ${describeValue(v)}`,
    );
  };
  for (let k = 0; k < m; k++) {
    const pair = list[k];
    if (!Array.isArray(pair) || pair.length !== 2) {
      fail(
        'edge',
        `edges[${k}]`,
        `expected a pair [from, to] of node ids, got ${describeValue(pair)}`,
      );
    }
    const a = endpoint(pair[0], k, 0);
    const b = endpoint(pair[1], k, 1);
    if (a === b) selfLoop(`edges[${k}]`, nodes[a]);
    from[k] = a;
    to[k] = b;
    outStart[a + 1]++;
    inStart[b + 1]++;
  }
  for (let i = 0; i < n; i++) {
    outStart[i + 1] += outStart[i];
    inStart[i + 1] += inStart[i];
  }
  // sources grouped by target
  const sources = new Uint32Array(m);
  const inCursor = inStart.slice(0, n);
  for (let k = 0; k < m; k++) sources[inCursor[to[k]]++] = from[k];
  // targets ascending → each successor row comes out sorted
  const rows = new Uint32Array(m);
  const outCursor = outStart.slice(0, n);
  for (let j = 0; j < n; j++) {
    for (let p = inStart[j]; p < inStart[j + 1]; p++) rows[outCursor[sources[p]]++] = j;
  }
  // drop duplicates (adjacent in sorted rows), compacting in place
  const succStart = new Uint32Array(n + 1);
  let w = 0;
  for (let i = 0; i < n; i++) {
    let last = -1;
    for (let p = outStart[i]; p < outStart[i + 1]; p++) {
      const v = rows[p];
      if (v !== last) {
        rows[w++] = v;
        last = v;
      }
    }
    succStart[i + 1] = w;
  }
  return { succStart, succ: w === m ? rows : rows.slice(0, w) };
}

/** Predecessor rows from sorted successor rows; visiting sources in order keeps rows sorted. */
function transpose(
  n: number,
  succStart: Uint32Array,
  succ: Uint32Array,
): { predStart: Uint32Array; pred: Uint32Array } {
  const predStart = new Uint32Array(n + 1);
  for (let p = 0; p < succ.length; p++) predStart[succ[p] + 1]++;
  for (let i = 0; i < n; i++) predStart[i + 1] += predStart[i];
  const pred = new Uint32Array(succ.length);
  const cursor = predStart.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let p = succStart[i]; p < succStart[i + 1]; p++) pred[cursor[succ[p]]++] = i;
  }
  return { predStart, pred };
}

export type TopologicalResult = { order: Uint32Array; cycle?: undefined } | { cycle: number[] };

/**
 * Iterative three-colour DFS, O(V+E). For a DAG, returns a topological order (reverse
 * postorder); else the ids around the first cycle met, the first id repeated at the end
 * (`[0, 1, 2, 0]`). The explicit stack is the current DFS path, so the cycle is the stack
 * from the grey node met to the top.
 */
export function topologicalOrder(
  n: number,
  succStart: Uint32Array,
  succ: Uint32Array,
): TopologicalResult {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Uint8Array(n);
  const cursor = new Uint32Array(n);
  const stack = new Uint32Array(n);
  const order = new Uint32Array(n);
  let placed = n;
  for (let root = 0; root < n; root++) {
    if (colour[root] !== WHITE) continue;
    let top = 0;
    stack[top++] = root;
    colour[root] = GREY;
    cursor[root] = succStart[root];
    while (top > 0) {
      const v = stack[top - 1];
      if (cursor[v] < succStart[v + 1]) {
        const w = succ[cursor[v]++];
        if (colour[w] === WHITE) {
          colour[w] = GREY;
          cursor[w] = succStart[w];
          stack[top++] = w;
        } else if (colour[w] === GREY) {
          let from = top - 1;
          while (stack[from] !== w) from--;
          const cycle = Array.from(stack.subarray(from, top));
          cycle.push(w);
          return { cycle };
        }
      } else {
        colour[v] = BLACK;
        order[--placed] = v;
        top--;
      }
    }
  }
  return { order };
}

function describeCycle(cycle: readonly number[], nodes: readonly GorchNode[]): string {
  const names = cycle.map((id) => nodes[id].name);
  const length = cycle.length - 1;
  if (length <= 24) return `cycle: ${names.join(' -> ')}`;
  const head = names.slice(0, 12).join(' -> ');
  const tail = names.slice(-12).join(' -> ');
  return `cycle of ${length} nodes: ${head} -> … -> ${tail}`;
}

/** An arg that means to be a get_attribute: the value after the first '=' starts with it. */
const GET_ATTRIBUTE = /^[^=]*=get_attribute(?![\w])/;
/** gorchestrator's form: KEY=get_attribute NODE:ATTR, NODE up to the last ':'. */
const GET_ATTRIBUTE_FORM = /^([^=]+)=get_attribute[ \t]+(.+):([^:\s]+)$/;

/** The `(key, node pattern, attribute)` of a get_attribute arg, else undefined. */
export function parseGetAttribute(
  arg: string,
): { key: string; pattern: string; attribute: string } | undefined {
  const m = GET_ATTRIBUTE_FORM.exec(arg);
  return m === null ? undefined : { key: m[1], pattern: m[2], attribute: m[3] };
}

interface Pattern {
  source: string;
  matches: (name: string) => boolean;
  /**
   * the one name the pattern matches when it is a plain name (no regex metacharacter, or
   * each escaped: `db\.primary`, as TOSCA conversion writes names)
   */
  name: string | undefined;
  /** how many get_attribute args use it */
  uses: number;
}

interface Lookup {
  node: GorchNode;
  arg: number;
  key: string;
  pattern: Pattern;
  attribute: string;
  /** resolved source id, -1 when no ancestor matches */
  source: number;
}

/**
 * Above this many uses, a pattern is resolved for every node at once by one pass in
 * topological order, O(V+E); up to it, by a reverse BFS from each node that uses it. A
 * broadcast such as 10,000 nodes reading `config:url` in a 100k-node graph costs one pass
 * instead of 10,000 walks; a host's IP read by its few components stays a local walk.
 */
const PER_GRAPH_PASS_ABOVE = 4;
/**
 * Walking allowed for get_attribute resolution (nodes and edges visited). Real documents need
 * a tiny fraction; the bound only stops adversarial ones (thousands of reads across a
 * 100k-node chain) from holding the event loop: 50M steps is about 0.3 s.
 */
const MAX_RESOLUTION_STEPS = 50_000_000;
/**
 * Regular-expression work allowed for get_attribute NODE patterns, in steps of V8's
 * linear-time engine, whose cost grows with pattern length × name length: compiling a
 * pattern is charged 400 + 16 × its length, testing it against a name (pattern length + 1) ×
 * (name length + 16). Every charge is made before the work is done. Measured on 2 vCPUs, a
 * step costs 20-35 ns for the costliest 250-character patterns and far less for plain ones,
 * so 3M steps hold the event loop for ~100 ms at most; 2,000 upstream 200-character names
 * tried against one 250-character pattern need 108M. Plain names cost nothing here.
 */
export const MAX_PATTERN_WORK = 3_000_000;
const NONE = 0xffffffff;
const REGEX_SYNTAX = /[\\^$.|?*+()[\]{}]/;

/**
 * Resolves every get_attribute arg to the lowest-id ancestor whose name fully matches NODE;
 * reports the first arg in document order that is malformed or names no ancestor.
 */
function resolveAttributes(
  nodes: readonly GorchNode[],
  byName: ReadonlyMap<string, number>,
  predStart: Uint32Array,
  pred: Uint32Array,
  order: Uint32Array,
): Map<number, AttributeRef[]> {
  const n = nodes.length;
  const patterns = new Map<string, Pattern>();
  const lookups: Lookup[] = [];
  const budget = new PatternBudget();
  for (const node of nodes) {
    for (let a = 0; a < node.args.length; a++) {
      const arg = node.args[a];
      if (!GET_ATTRIBUTE.test(arg)) continue;
      const path = `nodes[${node.id}].args[${a}]`;
      const parts = parseGetAttribute(arg);
      if (parts === undefined) {
        fail(
          'get-attribute',
          path,
          `malformed get_attribute ${JSON.stringify(arg)}: expected KEY=get_attribute NODE:ATTR ` +
            '(NODE a regular expression matched against node names)',
        );
      }
      let pattern = patterns.get(parts.pattern);
      if (pattern === undefined) {
        const name = literalName(parts.pattern);
        if (name === undefined)
          budget.spend(400 + 16 * Math.min(parts.pattern.length, MAX_PATTERN_LENGTH), path);
        pattern = {
          source: parts.pattern,
          matches: compileNodePattern(parts.pattern, path, name),
          name,
          uses: 0,
        };
        patterns.set(parts.pattern, pattern);
      }
      pattern.uses++;
      const { key, attribute } = parts;
      lookups.push({ node, arg: a, key, pattern, attribute, source: -1 });
    }
  }
  const refs = new Map<number, AttributeRef[]>();
  if (lookups.length === 0) return refs;

  const usesOf = new Map<Pattern, Lookup[]>();
  for (const lookup of lookups) {
    const list = usesOf.get(lookup.pattern);
    if (list === undefined) usesOf.set(lookup.pattern, [lookup]);
    else list.push(lookup);
  }
  const position = new Uint32Array(n); // index in topological order
  for (let k = 0; k < n; k++) position[order[k]] = k;
  const member = new Uint32Array(n); // member[v] === stamp: v matches the current pattern
  const visited = new Uint32Array(n);
  const queue = new Uint32Array(n);
  let best: Uint32Array | undefined;
  let stamp = 0;
  let visitStamp = 0;
  let steps = 0;
  const spend = (count: number, lookup: Lookup): void => {
    steps += count;
    if (steps > MAX_RESOLUTION_STEPS) {
      fail(
        'limit',
        `nodes[${lookup.node.id}].args[${lookup.arg}]`,
        `resolving the get_attribute args of this graph takes over ${MAX_RESOLUTION_STEPS} ` +
          'steps; use fewer distinct NODE patterns, or plain node names',
      );
    }
  };

  for (const [pattern, uses] of usesOf) {
    // the matching nodes, ascending
    let matches: number[];
    if (pattern.name !== undefined) {
      const id = byName.get(pattern.name);
      matches = id === undefined ? [] : [id];
    } else {
      // only an ancestor of a node that uses the pattern can be its source: gather them by
      // one reverse BFS from all its users, charge their tests, then test them
      visitStamp++;
      let tail = 0;
      let work = 0;
      const reach = (v: number) => {
        work += predStart[v + 1] - predStart[v] + 1;
        for (let p = predStart[v]; p < predStart[v + 1]; p++) {
          const u = pred[p];
          if (visited[u] === visitStamp) continue;
          visited[u] = visitStamp;
          queue[tail++] = u;
        }
      };
      let previous = -1;
      for (const use of uses) {
        // a node's uses are consecutive (document order)
        if (use.node.id !== previous) reach(use.node.id);
        previous = use.node.id;
      }
      for (let head = 0; head < tail; head++) reach(queue[head]);
      spend(work, uses[0]);
      const perName = pattern.source.length + 1;
      let cost = 0;
      for (let k = 0; k < tail; k++) cost += perName * (nodes[queue[k]].name.length + 16);
      budget.spend(cost, `nodes[${uses[0].node.id}].args[${uses[0].arg}]`, pattern.source, tail);
      matches = [];
      for (let k = 0; k < tail; k++) {
        const v = queue[k];
        if (pattern.matches(nodes[v].name)) matches.push(v);
      }
      matches.sort((a, b) => a - b);
    }
    if (matches.length === 0) continue; // every use fails below
    stamp++;
    let lowestPosition = NONE;
    for (const m of matches) {
      member[m] = stamp;
      if (position[m] < lowestPosition) lowestPosition = position[m];
    }

    if (uses.length > PER_GRAPH_PASS_ABOVE) {
      // best[v] = lowest matching ancestor of v: min over predecessors u of (u if it
      // matches, best[u]), in topological order
      spend(n + pred.length, uses[0]);
      best ??= new Uint32Array(n);
      for (let k = 0; k < n; k++) {
        const v = order[k];
        let b = NONE;
        for (let p = predStart[v]; p < predStart[v + 1]; p++) {
          const u = pred[p];
          if (member[u] === stamp && u < b) b = u;
          if (best[u] < b) b = best[u];
        }
        best[v] = b;
      }
      for (const lookup of uses) {
        const b = best[lookup.node.id];
        lookup.source = b === NONE ? -1 : b;
      }
      continue;
    }

    // reverse BFS from each user; a node earlier in topological order than every match can
    // neither match nor lead to one, and the lowest matching id ends the search at once
    const lowest = matches[0];
    for (const lookup of uses) {
      visitStamp++;
      let head = 0;
      let tail = 0;
      let source = NONE;
      let work = 0;
      for (let v = lookup.node.id; ; v = queue[head++]) {
        work += predStart[v + 1] - predStart[v] + 1;
        for (let p = predStart[v]; p < predStart[v + 1]; p++) {
          const u = pred[p];
          if (visited[u] === visitStamp || position[u] < lowestPosition) continue;
          visited[u] = visitStamp;
          queue[tail++] = u;
          if (member[u] === stamp && u < source) source = u;
        }
        if (source === lowest || head === tail) break;
      }
      lookup.source = source === NONE ? -1 : source;
      spend(work, lookup);
    }
  }

  for (const lookup of lookups) {
    const { node, source, pattern } = lookup;
    if (source < 0) {
      fail(
        'get-attribute',
        `nodes[${node.id}].args[${lookup.arg}]`,
        `get_attribute ${pattern.source}:${lookup.attribute} names no upstream node of ` +
          `${JSON.stringify(node.name)} (${describeMatches(pattern, node, nodes, budget)})`,
      );
    }
    const ref: AttributeRef = {
      arg: lookup.arg,
      key: lookup.key,
      source,
      attribute: lookup.attribute,
    };
    const list = refs.get(node.id);
    if (list === undefined) refs.set(node.id, [ref]);
    else list.push(ref);
  }
  return refs;
}

function describeMatches(
  pattern: Pattern,
  self: GorchNode,
  nodes: readonly GorchNode[],
  budget: PatternBudget,
): string {
  const shown: string[] = [];
  let total = 0;
  const perName = pattern.source.length + 1;
  for (const node of nodes) {
    // the message is worth what the budget has left, no more
    if (pattern.name === undefined && !budget.afford(perName * (node.name.length + 16))) {
      return `no upstream node matches ${JSON.stringify(pattern.source)}`;
    }
    if (!pattern.matches(node.name)) continue;
    total++;
    if (shown.length < 5) shown.push(node === self ? `${node.name} (the node itself)` : node.name);
  }
  if (total === 0) return `no node name matches ${JSON.stringify(pattern.source)}`;
  const more = total > shown.length ? ` and ${total - shown.length} more` : '';
  return `matching nodes: ${shown.join(', ')}${more}, ${total === 1 ? 'which is not upstream' : 'none of which is upstream'}`;
}

/** The regular-expression work left of MAX_PATTERN_WORK (see there). */
class PatternBudget {
  #left = MAX_PATTERN_WORK;

  /** Takes `cost` steps, or refuses the document at `path`. */
  spend(cost: number, path: string, pattern?: string, names?: number): void {
    this.#left -= cost;
    if (this.#left >= 0) return;
    const what =
      pattern === undefined
        ? 'compiling the get_attribute node patterns'
        : `matching the get_attribute node pattern ${JSON.stringify(pattern.length > 60 ? `${pattern.slice(0, 60)}…` : pattern)} against the names of its ${names} upstream nodes`;
    fail(
      'limit',
      path,
      `${what} exceeds the budget of ${MAX_PATTERN_WORK} regular-expression steps for a ` +
        'document (a test costs about pattern length × name length); use plain node names, ' +
        'or fewer and shorter patterns',
    );
  }

  /** Takes `cost` steps if they are left. */
  afford(cost: number): boolean {
    if (cost > this.#left) return false;
    this.#left -= cost;
    return true;
  }
}

/**
 * The one name `pattern` fully matches when it is a plain name: no regex metacharacter, or
 * each one escaped (`db\.primary` is `db.primary`); undefined for a real regex (`\d`, `.*`).
 */
function literalName(pattern: string): string | undefined {
  if (!REGEX_SYNTAX.test(pattern)) return pattern;
  let name = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || !REGEX_SYNTAX.test(next)) return undefined;
      name += next;
      i++;
    } else if (REGEX_SYNTAX.test(c)) return undefined;
    else name += c;
  }
  return name;
}

/**
 * NODE of a get_attribute as a full-match test of node names. A plain name (no regex syntax,
 * the usual case) is compared as a string, sparing 100k RegExp compilations when every node
 * reads its own upstream node. A regex must compile on its own first (so that an unbalanced
 * `)` cannot escape the `^(?:…)$` wrapper), be at most MAX_PATTERN_LENGTH long, and not nest
 * unbounded quantifiers (`(a+)+`), the usual exponential-backtracking shape.
 */
function compileNodePattern(
  pattern: string,
  path: string,
  name: string | undefined,
): (name: string) => boolean {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    fail(
      'get-attribute',
      path,
      `get_attribute node pattern of ${pattern.length} characters is over the limit of ${MAX_PATTERN_LENGTH}`,
    );
  }
  if (name !== undefined) return (other) => other === name; // as the regex would
  try {
    new RegExp(pattern);
  } catch (error) {
    fail(
      'get-attribute',
      path,
      `get_attribute node pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`,
    );
  }
  // V8's linear-time engine: no pattern can backtrack exponentially (`(a|aa)*b` against 60
  // a's froze the server for hours with the backtracking one); it has no backreferences or
  // lookarounds, which a node-name pattern does not need.
  try {
    const re = new RegExp(`^(?:${pattern})$`, 'l');
    return (name) => re.test(name);
  } catch (error) {
    fail(
      'get-attribute',
      path,
      `get_attribute node pattern ${JSON.stringify(pattern)} cannot be matched in linear time ` +
        `(${(error as Error).message}); use no backreferences or lookarounds`,
    );
  }
}

/**
 * The normalized document of a graph (no nulls, `output` only), in the form it came in:
 * `digraph` when `graph.matrix`, else `edges` sorted by (from, to). `parseDocument` of the
 * result gives back an identical graph. Node objects, args and outputs are fresh copies.
 */
export function toDocument(graph: Graph): NormalizedDocument {
  const n = graph.nodes.length;
  const { succStart, succ } = graph;
  const nodes = graph.nodes.map((node) => {
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
    return out;
  });
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
