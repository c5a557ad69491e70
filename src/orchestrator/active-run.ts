/**
 * What the orchestrator keeps in memory of a run it drives: its engine, the lease its changes
 * are written under, and, per node, what the current attempt needs (its start, its abort
 * handle, its admission). Everything else is in the store (docs/architecture.md §5).
 */
import type { RunEngine } from '../engine/engine.ts';
import type { Graph } from '../graph/model.ts';
import type { Lease } from '../store/store.ts';
import type { Demand } from './admission.ts';
import type { RunTimers } from './timers.ts';

export interface ActiveRun {
  id: string;
  /** what this replica writes the run's changes under */
  lease: Lease;
  /** why it failed inside the orchestrator, once it did */
  poisoned?: string;
  graph: Graph;
  engine: RunEngine;
  startedAt: number | null;
  outputs: Array<Record<string, string> | undefined>;
  /**
   * When each node's current attempt started (epoch ms, strictly increasing per node). With the
   * attempt number it makes the executor idempotency key: stable across a restart (it is
   * stored with the running state) and new for every attempt of every retry round.
   */
  started: Float64Array;
  /** abort handle of each node's current attempt */
  attempts: Map<number, AbortController>;
  timers: RunTimers;
  /** observability: when each node became ready (performance.now()), until it is dispatched */
  readyAt: Map<number, number>;
  /** the admission of each node's current attempt, released when it ends */
  admitted: Map<number, Demand>;
}

export function newActiveRun(
  id: string,
  lease: Lease,
  graph: Graph,
  engine: RunEngine,
  timers: RunTimers,
): ActiveRun {
  return {
    id,
    lease,
    graph,
    engine,
    startedAt: null,
    outputs: new Array(graph.nodes.length),
    started: new Float64Array(graph.nodes.length),
    attempts: new Map(),
    timers,
    readyAt: new Map(),
    admitted: new Map(),
  };
}
