/**
 * The fields of each node (docs/architecture.md §1), checked and copied into a fresh
 * `GorchNode` one node at a time, in document order, and placed at its id: the nodes of a
 * `Graph` are in id order whatever order the document lists them in (gorchestrator indexes
 * the matrix by id, and its TOSCA client writes nodes in map order), and the order they came
 * in is kept for the answers (`NormalizedNodes.submitted`).
 *
 * The schema (schema.ts) has already checked each field's type and range; what it cannot say
 * is checked here, in this order for each node, and the first check that fails is the error:
 *   checkId           the id is one of 0..N-1 and no earlier node has it
 *   checkName         the name's length, and that no earlier node has it (a node without a
 *                     name gets one from its id once every given name is known: defaultNames)
 *   nodeEngine        the engine is known; a node with neither engine nor artifact is "nil"
 *   checkArgs         how many args, and each one's length
 *   checkOutputAlias  not both "output" and its alias "outputs"
 *   checkContainer    container.network shares neither the host's nor a container's network
 *   checkNoNul        no NUL in name, target, engine, artifact, args, outputs, depends
 *   checkPool         the pool is one the server has, when the pools are known
 * A new check of one node's own fields is one more function here, called from `normalizeNode`
 * at its place in this list. These checks see args before `{{inputs.*}}` substitution: a check
 * of what an arg says (a number an engine reads, say) runs on the substituted args, after
 * `resolveInputs` in parse.ts step 4. Checks that relate nodes through the edges
 * (get_attribute, depends) run once the edges are read (parse.ts).
 */

import { fail } from './errors.ts';
import type { GorchNode } from './model.ts';
import type { GorchDocumentInput } from './schema.ts';

/** What the node checks read of the parse options (parse.ts `ParseOptions`). */
export interface NodeFieldOptions {
  /** characters of a node name */
  maxNameLength: number;
  /** args per node */
  maxArgs: number;
  /** characters per arg */
  maxArgLength: number;
  /** engine names a node may use */
  engines: ReadonlySet<string>;
  /** pool names a node may ask for; absent: any */
  pools?: ReadonlySet<string>;
}

type RawNode = GorchDocumentInput['nodes'][number];

/** The path of node `id` in the document as it came: `nodes[k]`, k its index there. */
export type NodePath = (id: number) => string;

export interface NormalizedNodes {
  /** by id: `nodes[i].id === i` */
  nodes: GorchNode[];
  /** each name → its node's id */
  byName: Map<string, number>;
  /** the ids in the order the document listed them; undefined when that is 0..N-1 */
  submitted: Uint32Array | undefined;
  /** where a node is in the document, for the messages of the checks that follow */
  at: NodePath;
}

const inOrder: NodePath = (id) => `nodes[${id}]`;

/**
 * Checks and copies every node into its place by id. O(N): the ids are a permutation of
 * 0..N-1 once each is in range and none repeats.
 */
export function normalizeNodes(
  input: GorchDocumentInput['nodes'],
  opts: NodeFieldOptions,
): NormalizedNodes {
  const n = input.length;
  const nodes: GorchNode[] = new Array(n);
  const byName = new Map<string, number>();
  // position[id] = index in the document + 1 (0: not seen yet)
  const position = new Uint32Array(n);
  let ordered = true;
  const unnamed: number[] = [];
  for (let k = 0; k < n; k++) {
    const raw = input[k];
    checkId(raw.id, k, n, position);
    position[raw.id] = k + 1;
    if (raw.id !== k) ordered = false;
    const name = raw.name ?? '';
    if (name === '') unnamed.push(raw.id);
    else {
      checkName(name, raw.id, `nodes[${k}]`, byName, opts);
      byName.set(name, raw.id);
    }
    nodes[raw.id] = normalizeNode(raw, name, k, opts);
  }
  if (unnamed.length > 0) defaultNames(nodes, unnamed, byName);
  if (ordered) return { nodes, byName, submitted: undefined, at: inOrder };
  const submitted = new Uint32Array(n);
  for (let id = 0; id < n; id++) submitted[position[id] - 1] = id;
  return { nodes, byName, submitted, at: (id) => `nodes[${position[id] - 1}]` };
}

/**
 * Names the nodes that came without one (`name` absent, null or "", which gorchestrator
 * accepted) `node-ID`, or `node-ID~2`, `node-ID~3`, ... when a given name already has it.
 * Candidates of two ids never coincide, so each failed candidate is a distinct given name:
 * O(N) in all.
 */
function defaultNames(nodes: GorchNode[], unnamed: readonly number[], byName: Map<string, number>) {
  for (const id of unnamed) {
    let name = `node-${id}`;
    for (let suffix = 2; byName.has(name); suffix++) name = `node-${id}~${suffix}`;
    nodes[id].name = name;
    byName.set(name, id);
  }
}

/** Node at index `k`: its checks in the order of the list above, then its copy. */
function normalizeNode(raw: RawNode, name: string, k: number, opts: NodeFieldOptions): GorchNode {
  const at = `nodes[${k}]`;
  const engine = nodeEngine(raw, at, opts.engines);
  const args = raw.args ?? [];
  checkArgs(args, at, opts);
  checkOutputAlias(raw, at);
  checkContainer(raw, at);
  const node: GorchNode = {
    id: raw.id,
    name,
    target: raw.target ?? '',
    engine,
    artifact: raw.artifact ?? '',
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
  if (raw.env !== undefined) node.env = raw.env.slice();
  if (raw.resources !== undefined) node.resources = { ...raw.resources };
  if (raw.container !== undefined) node.container = { ...raw.container };
  checkNoNul(node, at);
  if (raw.pool !== undefined) {
    checkPool(raw.pool, at, opts.pools);
    node.pool = raw.pool;
  }
  return node;
}

/** `id` is one of 0..N-1 that no earlier node has (`position[id]`: its index + 1, or 0). */
function checkId(id: number, k: number, n: number, position: Uint32Array): void {
  if (id < 0 || id >= n) {
    fail(
      'id',
      `nodes[${k}].id`,
      n === 1
        ? `expected 0 (the ids of N nodes are 0..N-1, in any order), got ${id}`
        : `expected an id from 0 to ${n - 1} (the ids of N nodes are 0..N-1, in any order), got ${id}`,
    );
  }
  if (position[id] !== 0) {
    fail(
      'id',
      `nodes[${k}].id`,
      `id ${id} is already nodes[${position[id] - 1}]'s (the ids of N nodes are 0..N-1, each once, in any order)`,
    );
  }
}

function checkName(
  name: string,
  k: number,
  at: string,
  byName: ReadonlyMap<string, number>,
  opts: NodeFieldOptions,
): void {
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
}

/** The node's engine: one of `engines`, or "nil" when it gives neither engine nor artifact. */
function nodeEngine(raw: RawNode, at: string, engines: ReadonlySet<string>): string {
  const engine = raw.engine ?? '';
  if (engine === '') {
    // gorchestrator ran a node with neither engine nor artifact as "nil"
    if ((raw.artifact ?? '') !== '') {
      fail(
        'engine',
        `${at}.engine`,
        `missing: a node with an artifact needs an engine, one of ${knownEngines(engines)}`,
      );
    }
    return 'nil';
  }
  if (!engines.has(engine)) {
    fail(
      'engine',
      `${at}.engine`,
      `unknown engine ${JSON.stringify(engine)}, expected one of ${knownEngines(engines)}`,
    );
  }
  return engine;
}

function knownEngines(engines: ReadonlySet<string>): string {
  return [...engines].sort().join(', ');
}

function checkArgs(args: readonly string[], at: string, opts: NodeFieldOptions): void {
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
}

function checkOutputAlias(raw: RawNode, at: string): void {
  if (raw.output != null && raw.outputs != null) {
    fail(
      'shape',
      at,
      'both "output" and "outputs" are given; "outputs" is an alias of "output", give one',
    );
  }
}

/** What the schema cannot say of a node run in a container (docker). */
function checkContainer(raw: RawNode, at: string): void {
  const network = raw.container?.network;
  if (network !== undefined && /^(host|container:.*)$/.test(network)) {
    fail(
      'shape',
      `${at}.container.network`,
      `"${network}" would share the host's or another container's network; ` +
        'use "none" (the default), "bridge" or a network name',
    );
  }
}

/**
 * NUL characters cannot reach a process (argv and environments are C strings) nor be stored
 * in PostgreSQL text: refused here rather than failing a run, or a store commit, later.
 */
export function noNul(value: string, path: string): void {
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

function checkPool(pool: string, at: string, pools: ReadonlySet<string> | undefined): void {
  if (pools && !pools.has(pool)) {
    const known = [...pools].sort().join(', ') || 'none (start the server with --pool NAME=SLOTS)';
    fail('shape', `${at}.pool`, `unknown pool "${pool}"; the pools are ${known}`);
  }
}
