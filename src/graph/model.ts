/**
 * The gorch model in memory. A document (docs/architecture.md §1) is parsed once into a `Graph`:
 * normalized nodes plus the edges in compressed sparse row form, both directions, so that
 * every walk the engine or the exporters make costs O(V+E) and memory never holds an N×N
 * matrix.
 */

/** Retry policy of one node: `count` extra attempts, exponential backoff from `backoff_s`. */
export interface RetryPolicy {
  count: number;
  backoff_s: number;
}

/**
 * A node's start condition, compiled from its `depends` expression over its predecessors'
 * results (see graph/depends.ts). `states` is a bit mask of state codes (1 << code).
 */
export type Condition =
  | { op: 'and'; args: Condition[] }
  | { op: 'or'; args: Condition[] }
  | { op: 'not'; arg: Condition }
  | { op: 'state'; node: number; states: number };

/** A node as the API and executors see it, after normalization (no nulls, `output` only). */
export interface GorchNode {
  id: number;
  name: string;
  target: string;
  engine: string;
  artifact: string;
  args: string[];
  output: Record<string, string>;
  timeout?: number;
  retries?: RetryPolicy;
  /** start condition over upstream results; absent means all_success */
  depends?: string;
  /** arg KEYs whose values are secret: masked in API answers and logs */
  secrets?: string[];
  /** named pool the node takes one slot of while it runs */
  pool?: string;
  /** arg KEYs passed as environment variables instead of arguments (docker) */
  env?: string[];
  /** limits of the node's container (docker) */
  resources?: NodeResources;
  /** how the node's container runs (docker) */
  container?: ContainerOptions;
}

export interface NodeResources {
  /** CPUs, fractions allowed (0.5: half a CPU) */
  cpus?: number;
  /** memory limit such as "256m" (units k, m, g) */
  memory?: string;
}

export interface ContainerOptions {
  /** network mode; default "none" (no network); host and container: modes are refused */
  network?: string;
  /** mount the image's root filesystem read-only */
  read_only?: boolean;
  /** user (and group) to run as, e.g. "1000:1000"; default the image's */
  user?: string;
  /** when to pull the image: if-not-present (default), always, never */
  pull?: 'if-not-present' | 'always' | 'never';
}

/** A `KEY=get_attribute NODE:ATTR` argument, resolved against `source` at dispatch time. */
export interface AttributeRef {
  /** index into the node's args */
  arg: number;
  key: string;
  /** id of the upstream node whose output is read */
  source: number;
  attribute: string;
  /**
   * no upstream name matched the whole NODE pattern, and `source` is the lowest-id one that
   * contains a match (gorchestrator's unanchored `regexp.MatchString`)
   */
  unanchored?: true;
}

export interface Graph {
  name: string;
  /** by id (`nodes[i].id === i`), whatever order the document listed them in */
  nodes: GorchNode[];
  /**
   * the ids in the order the document listed them, when that was not 0..N-1 (gorchestrator's
   * TOSCA client writes nodes in map order): `toDocument` answers in that order
   */
  submitted?: Uint32Array;
  /** successors of node i: succ[succStart[i] .. succStart[i+1]) */
  succStart: Uint32Array;
  succ: Uint32Array;
  /** predecessors of node i: pred[predStart[i] .. predStart[i+1]) */
  predStart: Uint32Array;
  pred: Uint32Array;
  /** get_attribute references, by node id (absent when the node has none) */
  refs: Map<number, AttributeRef[]>;
  /** compiled `depends` conditions, by node id (absent: all predecessors must succeed) */
  conditions: Map<number, Condition>;
  /** whether the document came as a `digraph` matrix (GET answers in the same form) */
  matrix: boolean;
  /** graph timeout in seconds from the document, if any */
  timeout?: number;
  /** 0-99: higher runs are dispatched first under contention (default 50) */
  priority?: number;
  /** attempts of this run in flight at most */
  parallelism?: number;
  /** declared run inputs and the values this run got (already substituted into args) */
  inputs?: Record<string, { default?: string; description?: string }>;
  values?: Record<string, string>;
}

export function edgeCount(graph: Graph): number {
  return graph.succ.length;
}
