/**
 * The fields of each node (docs/architecture.md §1), checked and copied into a fresh
 * `GorchNode` one node at a time, in document order.
 *
 * The schema (schema.ts) has already checked each field's type and range; what it cannot say
 * is checked here, in this order for each node, and the first check that fails is the error:
 *   checkId           the id is the node's index (ids are 0..N-1 in order)
 *   checkName         the name's length, and that no earlier node has it
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

/** Checks and copies every node; `byName` maps each name to its node's id. */
export function normalizeNodes(
  input: GorchDocumentInput['nodes'],
  opts: NodeFieldOptions,
): { nodes: GorchNode[]; byName: Map<string, number> } {
  const nodes: GorchNode[] = new Array(input.length);
  const byName = new Map<string, number>();
  for (let k = 0; k < input.length; k++) nodes[k] = normalizeNode(input[k], k, byName, opts);
  return { nodes, byName };
}

/** Node `k`: its checks in the order of the list above, then its copy; adds it to `byName`. */
function normalizeNode(
  raw: RawNode,
  k: number,
  byName: Map<string, number>,
  opts: NodeFieldOptions,
): GorchNode {
  const at = `nodes[${k}]`;
  checkId(raw, k, at);
  checkName(raw.name, k, at, byName, opts);
  byName.set(raw.name, k);
  const engine = nodeEngine(raw, at, opts.engines);
  const args = raw.args ?? [];
  checkArgs(args, at, opts);
  checkOutputAlias(raw, at);
  checkContainer(raw, at);
  const node: GorchNode = {
    id: k,
    name: raw.name,
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

function checkId(raw: RawNode, k: number, at: string): void {
  if (raw.id !== k) {
    fail('id', `${at}.id`, `expected ${k} (ids must be 0..N-1 in order), got ${raw.id}`);
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
