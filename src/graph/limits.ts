/**
 * The size limits of a gorch document (docs/architecture.md §1), and the counts taken before
 * anything walks it: nodes, edges, output names and inputs are counted on the raw JSON value,
 * ahead of the type check and the copies, so that no document costs more than its limits
 * allow. The remaining limits are checked where their fields are read: names and args in
 * node-fields.ts, edges in adjacency.ts, substituted args in inputs.ts.
 */

import { fail } from './errors.ts';

export interface Limits {
  maxNodes: number;
  maxEdges: number;
  /** per node */
  maxArgs: number;
  /** characters (UTF-16 code units) per arg */
  maxArgLength: number;
  /** characters of a node name */
  maxNameLength: number;
  /**
   * characters of the graph name: gorchestrator's TOSCA client names a graph after its
   * template's description (the ELK example's is 259 characters), so far more than a node's
   */
  maxGraphNameLength: number;
  /** characters of all args of the document together, after {{inputs.*}} substitution */
  maxArgsLength: number;
  /** output names per node */
  maxOutputs: number;
  /** output names of all nodes together */
  maxOutputsTotal: number;
  /** declared inputs, and values given (each) */
  maxInputs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxNodes: 100_000,
  maxEdges: 1_000_000,
  maxArgs: 1_000,
  maxArgLength: 64 * 1024,
  maxNameLength: 256,
  maxGraphNameLength: 16 * 1024,
  maxArgsLength: 64 * 1024 * 1024,
  maxOutputs: 1_000,
  maxOutputsTotal: 100_000,
  maxInputs: 1_000,
});

/**
 * Refuses a document (the raw JSON object) with more nodes, edges, output names, declared
 * inputs or given `values` than `limits` allow; `values` are those given with the submission.
 */
export function checkCounts(
  raw: Record<string, unknown>,
  limits: Limits,
  values: Record<string, string> | undefined,
): void {
  if (Array.isArray(raw.nodes) && raw.nodes.length > limits.maxNodes) {
    fail('limit', 'nodes', `${raw.nodes.length} nodes is over the limit of ${limits.maxNodes}`);
  }
  if (Array.isArray(raw.edges) && raw.edges.length > limits.maxEdges) {
    fail('limit', 'edges', `${raw.edges.length} edges is over the limit of ${limits.maxEdges}`);
  }
  if (Array.isArray(raw.nodes)) countOutputs(raw.nodes, limits);
  countNames(raw.inputs, 'inputs', 'inputs are declared', limits.maxInputs);
  countNames(raw.values, 'values', 'values are given', limits.maxInputs);
  countNames(values, 'values', 'values are given', limits.maxInputs);
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
function countOutputs(nodes: readonly unknown[], limits: Limits): void {
  let total = 0;
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k];
    if (node === null || typeof node !== 'object') continue;
    for (const field of ['output', 'outputs'] as const) {
      const count = keyCount((node as Record<string, unknown>)[field]);
      if (count === 0) continue;
      const path = `nodes[${k}].${field}`;
      if (count > limits.maxOutputs) {
        fail('limit', path, `${count} outputs is over the limit of ${limits.maxOutputs} per node`);
      }
      total += count;
      if (total > limits.maxOutputsTotal) {
        fail(
          'limit',
          path,
          `the nodes up to this one declare ${total} outputs, over the limit of ` +
            `${limits.maxOutputsTotal} for a document`,
        );
      }
    }
  }
}

function countNames(value: unknown, path: string, what: string, max: number): void {
  const count = keyCount(value);
  if (count > max) fail('limit', path, `${count} ${what}, over the limit of ${max}`);
}
