/**
 * What the run loop reports for metrics, as plain calls: the orchestrator knows this interface
 * only, never a metrics library (src/api/metrics.ts implements it with prom-client). States are
 * the names of graph/states.ts (`success`, `torun`, ...), engines the documents' engine names;
 * both are bounded sets, so they are safe as metric labels.
 *
 * Levels that are read when metrics are scraped (active runs, dispatches waiting for their
 * commit, attempts in flight) are not pushed through here: see `Orchestrator.load()`.
 */
export interface RunMetrics {
  /** A run entered `state`: `running` (started, or re-run by a retry) or a final state. */
  runState(state: string): void;
  /** `count` nodes of `engine` entered `state` (the engine moves all nodes at run start). */
  nodeState(engine: string, state: string, count: number): void;
  /**
   * An attempt was handed to its runner `latencyMs` after its node became ready: the engine's
   * `ready` command, when the orchestrator handled what made it startable (its last
   * predecessor's success, the run's start, a retry's backoff elapsing). Covers the wait for
   * admission, for the tick, the store commit of the node's `running` state and the
   * dispatches before it in that tick. Re-attached attempts are not reported.
   */
  dispatched(engine: string, latencyMs: number): void;
  /**
   * An attempt ended `durationMs` after its recorded start: `success`, `failure`, `timeout` (its
   * own or the run's) or `canceled` (the run was canceled while it ran).
   */
  attemptEnded(engine: string, state: string, durationMs: number): void;
  /** One tick's store transaction committed `changes` state changes in `ms`. */
  committed(ms: number, changes: number): void;
  /** This replica claimed `count` runs that another replica drove (its lease had expired). */
  takenOver(count: number): void;
}

/** Levels of one orchestrator at one instant (see `Orchestrator.load()`). */
export interface RunLoad {
  /** runs this process drives */
  activeRuns: number;
  /**
   * nodes ready (may start) whose attempt is not yet handed to a runner: waiting for
   * admission, or for the commit of their `running` state
   */
  dispatchQueue: number;
  /** attempts handed to a runner whose end has not been seen yet, by engine */
  inFlight: Map<string, number>;
}

export const noMetrics: RunMetrics = {
  runState() {},
  nodeState() {},
  dispatched() {},
  attemptEnded() {},
  committed() {},
  takenOver() {},
};
