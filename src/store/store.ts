/**
 * The persistence contract (DESIGN §5). Two implementations: `sqlite.ts` (embedded default)
 * and, later, `postgres.ts`. The orchestrator writes all state changes of one scheduling tick
 * through a single `apply` call, which must be one transaction.
 *
 * Times are epoch milliseconds. Documents are stored as the normalized JSON text the API
 * accepted, so a GET can answer in the submitter's own shape.
 */

export interface NewRun {
  id: string;
  name: string;
  /** normalized document JSON (see graph/parse.ts `toDocument`) */
  document: string;
  nodeCount: number;
  createdAt: number;
  idempotencyKey?: string;
}

export interface RunRecord {
  id: string;
  name: string;
  state: number;
  document: string;
  nodeCount: number;
  createdAt: number;
  startedAt: number | null;
  stoppedAt: number | null;
  error: string | null;
}

/** A run without its document, for listings. */
export type RunSummary = Omit<RunRecord, 'document'>;

export interface NodeRecord {
  node: number;
  state: number;
  attempts: number;
  startedAt: number | null;
  stoppedAt: number | null;
  /** output values filled at run time */
  output: Record<string, string> | null;
  error: string | null;
  /** executor name and task id, recorded at dispatch so recovery can re-attach */
  executor: string | null;
  taskId: string | null;
}

/** One node's change; absent fields are left as they are, `null` clears. */
export interface NodeChange {
  node: number;
  state?: number;
  attempts?: number;
  startedAt?: number | null;
  stoppedAt?: number | null;
  output?: Record<string, string> | null;
  error?: string | null;
  executor?: string | null;
  taskId?: string | null;
}

export interface RunChange {
  state?: number;
  startedAt?: number | null;
  stoppedAt?: number | null;
  error?: string | null;
}

/** Everything one run changed during one tick. */
export interface RunChanges {
  runId: string;
  run?: RunChange;
  /**
   * Sets the state of every node of the run that is in `from` to `to` (e.g. all initial
   * nodes to torun at start, or failed nodes back to torun on retry) before `nodes` apply.
   */
  bulk?: { from: number[]; to: number };
  nodes: NodeChange[];
}

export interface ListQuery {
  limit: number;
  /** opaque cursor from a previous page */
  cursor?: string;
  /** only runs in these states (an empty list matches no run) */
  states?: number[];
}

export interface RunPage {
  runs: RunSummary[];
  /** present when more runs follow */
  nextCursor?: string;
}

/** A `ListQuery.cursor` that `listRuns` did not issue: the API answers 400. */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

export type CreateResult = { created: true; id: string } | { created: false; id: string };

export interface Store {
  /**
   * Durably stores a new run and its nodes (all in state initial) before resolving.
   * With an idempotency key already used, stores nothing and returns the existing id.
   */
  createRun(run: NewRun): Promise<CreateResult>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** All nodes of a run, ordered by node id; empty when the run does not exist. */
  getNodes(id: string): Promise<NodeRecord[]>;
  /**
   * Newest first by a store-assigned insertion sequence (the same order as createdAt unless
   * the writers' clocks disagree); the cursor is stable under inserts.
   * Throws `InvalidCursorError` for a cursor it did not issue.
   */
  listRuns(query: ListQuery): Promise<RunPage>;
  /**
   * Applies the changes of many runs in one transaction. Throws, and changes nothing, when
   * any change names an unknown run or node or breaks a constraint (e.g. an unknown state
   * code, a negative attempt count, a non-integer time).
   */
  apply(changes: RunChanges[]): Promise<void>;
  /** Runs that are not finished (initial or running), oldest first: to resume after a restart. */
  unfinishedRuns(): Promise<RunRecord[]>;
  /**
   * Whether retrying the failed operation may succeed (busy, locked, disk full, I/O error,
   * connection lost); anything else is a bug or a corrupt store and must not be retried forever.
   */
  isTransient(err: unknown): boolean;
  close(): Promise<void>;
}
