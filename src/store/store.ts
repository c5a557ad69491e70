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
  /** the replica that submitted it holds its lease from the start (see Leases) */
  owner?: string;
  leaseMs?: number;
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

/**
 * Run ownership (DESIGN §5): each unfinished run is driven by one orchestrator replica, which
 * holds a lease on it and renews it by heartbeat; a run whose lease expired is taken over.
 *
 *   free ──claim──> held by R until T ──renew by R──> held until T' ──release by R──> free
 *                                 └─ T passes ─> expired: any replica's claim takes it over
 *
 * PostgreSQL keeps leases in the runs table (shared by replicas, judged by the database's
 * clock); the embedded SQLite store has one process, so it keeps them in memory.
 */
export interface Leases {
  /** Up to `limit` unfinished runs that nobody holds (or whose lease expired), oldest first. */
  claimRuns(owner: string, leaseMs: number, limit: number): Promise<RunRecord[]>;
  /** Takes this run (finished or not) if nobody holds it; false when another replica does. */
  claimRun(owner: string, id: string, leaseMs: number): Promise<boolean>;
  /** Extends the leases `owner` still holds among `ids`; returns those ids. */
  renewLeases(owner: string, ids: string[], leaseMs: number): Promise<string[]>;
  releaseRuns(owner: string, ids: string[]): Promise<void>;
}

/** Messages between replicas (PostgreSQL LISTEN/NOTIFY); absent on a single-process store. */
export interface Channels {
  /** Resolves once listening; the returned function stops. `onGap`: messages may be lost. */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onGap?: () => void,
  ): Promise<() => Promise<void>>;
  /** `payload` must stay under 8000 bytes of UTF-8. */
  notify(channel: string, payload: string): Promise<void>;
}

export interface Store extends Leases {
  /** set when several processes can share this store */
  readonly channels?: Channels;
  /**
   * Durably stores a new run and its nodes (all in state initial) before resolving.
   * With an idempotency key already used, stores nothing and returns the existing id.
   */
  createRun(run: NewRun): Promise<CreateResult>;
  /** Like createRun for many runs in one transaction (one commit); results in order. */
  createRuns(runs: NewRun[]): Promise<CreateResult[]>;
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
  /**
   * Retention: deletes up to `limit` finished runs (and their nodes) that stopped before
   * `before` (epoch ms), oldest first; returns how many. Nothing else ever deletes data.
   */
  deleteFinishedBefore(before: number, limit: number): Promise<number>;
  /** Runs that are not finished (initial or running), oldest first: to resume after a restart. */
  unfinishedRuns(): Promise<RunRecord[]>;
  /**
   * Whether retrying the failed operation may succeed (busy, locked, disk full, I/O error,
   * connection lost); anything else is a bug or a corrupt store and must not be retried forever.
   */
  isTransient(err: unknown): boolean;
  close(): Promise<void>;
}
