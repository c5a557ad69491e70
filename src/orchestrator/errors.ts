/**
 * What the orchestrator throws to its callers (the API maps them to answers, see
 * src/api/errors.ts), and the reason an attempt's signal carries when its run is handed over.
 */

export class RunNotFoundError extends Error {}
export class NodeNotFoundError extends Error {}
export class RunStateError extends Error {}
/** The replica that drives a run did not answer a forwarded action in time. */
export class ReplicaUnavailableError extends Error {}

/** Why an attempt's signal aborts when its run is handed over: the task must keep running. */
export class Detached extends Error {
  constructor() {
    super('the run moved to another replica');
  }
}

export const messageOf = (err: unknown): string =>
  err instanceof Error ? err.message : String(err);
