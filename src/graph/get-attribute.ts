/**
 * `KEY=get_attribute NODE:ATTR` args (docs/architecture.md §1): each is bound at submission to
 * the lowest-id ancestor whose name fully matches NODE, else to the lowest-id ancestor whose
 * name contains a match of it (gorchestrator matched unanchored; node-patterns.ts), and
 * replaced just before dispatch by that node's output (src/orchestrator/attributes.ts). Which
 * node, and by which rule, is kept in the ref (`unanchored`) and shown by `toDocument`.
 *
 * Resolution is bounded twice, each charge made before the work: graph walking
 * (MAX_RESOLUTION_STEPS) and regular-expression work (PatternBudget, MAX_PATTERN_WORK).
 */

import { fail } from './errors.ts';
import type { AttributeRef, GorchNode } from './model.ts';
import type { NodePath } from './node-fields.ts';
import { compilePattern, type Pattern, PatternBudget, searchPattern } from './node-patterns.ts';

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

interface Lookup {
  node: GorchNode;
  arg: number;
  key: string;
  pattern: Pattern;
  attribute: string;
  /** resolved source id, -1 when no ancestor matches */
  source: number;
  /** bound by the unanchored fallback */
  unanchored: boolean;
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
const NONE = 0xffffffff;

/**
 * Resolves every get_attribute arg to the lowest-id ancestor whose name fully matches NODE,
 * else (gorchestrator's rule, whose TOSCA client writes `mongo_server*` for the nodes of the
 * template mongo_server) to the lowest-id ancestor whose name contains a match of it; reports
 * the first arg in id order that is malformed or names no ancestor, at `at(id)`.
 */
export function resolveAttributes(
  nodes: readonly GorchNode[],
  byName: ReadonlyMap<string, number>,
  predStart: Uint32Array,
  pred: Uint32Array,
  order: Uint32Array,
  at: NodePath,
): Map<number, AttributeRef[]> {
  const n = nodes.length;
  const patterns = new Map<string, Pattern>();
  const lookups: Lookup[] = [];
  const budget = new PatternBudget();
  const pathOf = (lookup: Lookup) => `${at(lookup.node.id)}.args[${lookup.arg}]`;
  for (const node of nodes) {
    for (let a = 0; a < node.args.length; a++) {
      const arg = node.args[a];
      if (!GET_ATTRIBUTE.test(arg)) continue;
      const path = `${at(node.id)}.args[${a}]`;
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
        pattern = compilePattern(parts.pattern, path, budget);
        patterns.set(parts.pattern, pattern);
      }
      pattern.uses++;
      const { key, attribute } = parts;
      lookups.push({ node, arg: a, key, pattern, attribute, source: -1, unanchored: false });
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
        pathOf(lookup),
        `resolving the get_attribute args of this graph takes over ${MAX_RESOLUTION_STEPS} ` +
          'steps; use fewer distinct NODE patterns, or plain node names',
      );
    }
  };

  /**
   * The ancestors of the nodes of `uses` that `test` accepts, ascending: gathered by one
   * reverse BFS from all of them (only an ancestor of a user can be its source), their tests
   * charged to the budget before any runs.
   */
  const matchingAncestors = (
    uses: readonly Lookup[],
    pattern: Pattern,
    test: (name: string) => boolean,
  ): number[] => {
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
      // a node's uses are consecutive (id order)
      if (use.node.id !== previous) reach(use.node.id);
      previous = use.node.id;
    }
    for (let head = 0; head < tail; head++) reach(queue[head]);
    spend(work, uses[0]);
    const perName = pattern.source.length + 1;
    let cost = 0;
    for (let k = 0; k < tail; k++) cost += perName * (nodes[queue[k]].name.length + 16);
    budget.spend(cost, pathOf(uses[0]), pattern.source, tail);
    const matches: number[] = [];
    for (let k = 0; k < tail; k++) {
      const v = queue[k];
      if (test(nodes[v].name)) matches.push(v);
    }
    return matches.sort((a, b) => a - b);
  };

  /** Sets each use's source to its lowest-id ancestor among `matches` (ascending), if any. */
  const bind = (uses: readonly Lookup[], matches: readonly number[]): void => {
    if (matches.length === 0) return; // every use stays unbound
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
      return;
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
  };

  for (const [pattern, uses] of usesOf) {
    if (pattern.name !== undefined) {
      const id = byName.get(pattern.name);
      bind(uses, id === undefined ? [] : [id]);
    } else {
      bind(uses, matchingAncestors(uses, pattern, pattern.matches));
    }
    // no upstream name matches the whole pattern: gorchestrator's unanchored match
    const unbound = uses.filter((use) => use.source < 0);
    if (unbound.length === 0) continue;
    const contains = searchPattern(pattern, pathOf(unbound[0]), budget);
    bind(unbound, matchingAncestors(unbound, pattern, contains));
    for (const use of unbound) use.unanchored = use.source >= 0;
  }

  for (const lookup of lookups) {
    const { node, source, pattern } = lookup;
    if (source < 0) {
      fail(
        'get-attribute',
        pathOf(lookup),
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
    if (lookup.unanchored) ref.unanchored = true;
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
  // resolution tried the unanchored test last: the names it accepts include the full matches
  const test = pattern.contains ?? pattern.matches;
  for (const node of nodes) {
    // the message is worth what the budget has left, no more
    if (pattern.name === undefined && !budget.afford(perName * (node.name.length + 16))) {
      return `no upstream node matches ${JSON.stringify(pattern.source)}`;
    }
    if (!test(node.name)) continue;
    total++;
    if (shown.length < 5) shown.push(node === self ? `${node.name} (the node itself)` : node.name);
  }
  if (total === 0) {
    return `no node name matches ${JSON.stringify(pattern.source)}, wholly or in part`;
  }
  const more = total > shown.length ? ` and ${total - shown.length} more` : '';
  return `matching nodes: ${shown.join(', ')}${more}, ${total === 1 ? 'which is not upstream' : 'none of which is upstream'}`;
}
