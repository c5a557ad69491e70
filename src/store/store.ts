/**
 * The persistence contract (docs/architecture.md §5). Two implementations: `sqlite.ts` (embedded default)
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

/**
 * The lease a replica drives a run under: its owner and the epoch, a fencing token that
 * changes each time the run passes to another owner (a claim by another replica, or after a
 * release). A run created with an owner is held at epoch 0.
 */
export interface Lease {
  owner: string;
  epoch: number;
}

/** A run as a claim returns it: with the lease's epoch and its count of resumes. */
export interface ClaimedRun extends RunRecord {
  epoch: number;
  /**
   * Resumes of this run that did not get as far as committing (the orchestrator counts one
   * before it resumes the run and resets the count once it committed): the replicas died
   * while resuming it, so it may be what kills them.
   */
  resumes: number;
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
  /** the count of resumes (ClaimedRun.resumes) */
  resumes?: number;
}

/** Everything one run changed during one tick. */
export interface RunChanges {
  runId: string;
  /**
   * Fencing: when set, the changes apply only if this lease still holds the run (same owner
   * and epoch), checked in the same transaction; otherwise they are dropped (see `apply`).
   */
  lease?: Lease;
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

/** What `deleteRun` did: deleted the run, found it unfinished (kept), or found none. */
export type DeleteOutcome = 'deleted' | 'unfinished' | 'missing';

export type CreateResult = { created: true; id: string } | { created: false; id: string };

/**
 * Run ownership (docs/architecture.md §5): each unfinished run is driven by one orchestrator replica, which
 * holds a lease on it and renews it by heartbeat; a run whose lease expired is taken over.
 *
 *   free ──claim──> held by R until T ──renew by R──> held until T' ──release by R──> free
 *                                 └─ T passes ─> expired: any replica's claim takes it over
 *
 * PostgreSQL keeps leases in the runs table (shared by replicas, judged by the database's
 * clock); the embedded SQLite store has one process, so it keeps them in memory.
 */
export interface Leases {
  /**
   * Up to `limit` unfinished runs that nobody holds (or whose lease expired), oldest first.
   * The epoch changes when the owner does.
   */
  claimRuns(owner: string, leaseMs: number, limit: number): Promise<ClaimedRun[]>;
  /**
   * Takes this run (finished or not) if nobody holds it; returns the lease's epoch, or
   * undefined when another replica holds it.
   */
  claimRun(owner: string, id: string, leaseMs: number): Promise<number | undefined>;
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

/** What a schedule does about occurrences it missed (downtime, a slow tick): see store/cron.ts. */
export type Catchup = 'none' | 'last' | 'all';

export interface NewSchedule {
  id: string;
  name: string;
  /** a croner pattern: 5 fields, or 6 with seconds first, or 7 with years last */
  cron: string;
  /** IANA time zone the pattern is read in */
  timezone: string;
  catchup: Catchup;
  /** normalized document JSON, as runs store it */
  document: string;
  createdAt: number;
}

export interface ScheduleRecord extends NewSchedule {
  paused: boolean;
  /** the next occurrence to fire (epoch ms); null when the pattern has no future occurrence */
  nextFireAt: number | null;
  /** the latest occurrence fired */
  lastFireAt: number | null;
  /** why the scheduler paused it (its document no longer parses), cleared on resume */
  error: string | null;
}

/** A schedule taken by `claimDueSchedules`, with what to fire and where it goes next. */
export interface DueSchedule {
  schedule: ScheduleRecord;
  /** occurrences to fire, oldest first (epoch ms); may be empty (catchup `none`) */
  occurrences: number[];
  /** the next occurrence after the claim's `now`, for `advanceSchedule` */
  nextFireAt: number | null;
  /** the pattern or time zone no longer works (croner changed): nothing to fire */
  error?: string;
}

/**
 * Schedules (cron + time zone + catchup policy + a document). Firing an occurrence is
 * submitting a run with the idempotency key `schedule:<id>:<occurrence epoch ms>`, so an
 * occurrence fired twice (two replicas, a retried claim) still makes one run.
 *
 *   due (next_fire_at <= now, not paused, unclaimed)
 *     ──claimDueSchedules──> claimed until now + SCHEDULE_CLAIM_MS
 *     ──runs submitted, advanceSchedule──> next_fire_at = the next occurrence, unclaimed
 *     └─ the claimer dies before advancing: the claim expires and another replica claims the
 *        same occurrences again (their runs already submitted are not created twice)
 *
 * Pausing stops claims; resuming moves next_fire_at to the first occurrence after now (what
 * was missed while paused is skipped) and clears the error.
 */
export interface Schedules {
  /** Stores a new schedule, its first occurrence being the first after `createdAt`. */
  createSchedule(schedule: NewSchedule): Promise<ScheduleRecord>;
  getSchedule(id: string): Promise<ScheduleRecord | undefined>;
  /** Every schedule, oldest first. */
  listSchedules(): Promise<ScheduleRecord[]>;
  /** Pauses (with an optional reason) or resumes; undefined when the schedule does not exist. */
  setSchedulePaused(
    id: string,
    paused: boolean,
    now: number,
    error?: string,
  ): Promise<ScheduleRecord | undefined>;
  /** false when the schedule did not exist. Runs it fired are kept. */
  deleteSchedule(id: string): Promise<boolean>;
  /**
   * Atomically claims up to `limit` due schedules, earliest due first, and returns the
   * occurrences each must fire (per its catchup policy, as of `now`). Schedules another
   * caller is claiming at the same moment are skipped, never returned twice.
   */
  claimDueSchedules(now: number, limit: number): Promise<DueSchedule[]>;
  /**
   * Ends a claim once its runs are submitted: next_fire_at becomes `due.nextFireAt`,
   * last_fire_at the last occurrence fired. Returns false, changing nothing, when the
   * schedule moved meanwhile (deleted, resumed, or claimed again after the claim expired).
   */
  advanceSchedule(due: DueSchedule): Promise<boolean>;
}

export interface Store extends Leases, Schedules {
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
   * Throws `InvalidCursorError` for a cursor it did not issue. Reads no document: its time
   * does not depend on the size of the runs listed.
   */
  listRuns(query: ListQuery): Promise<RunPage>;
  /**
   * Applies the changes of many runs in one transaction. Throws, and changes nothing, when
   * any change names an unknown run or node or breaks a constraint (e.g. an unknown state
   * code, a negative attempt count, a non-integer time). Changes that carry a `lease` no
   * longer held (another replica took the run over) are dropped, the others applied: returns
   * the ids of the runs dropped so.
   */
  apply(changes: RunChanges[]): Promise<string[]>;
  /**
   * Retention: deletes up to `limit` finished runs (and their nodes) that stopped before
   * `before` (epoch ms), oldest first; returns how many.
   */
  deleteFinishedBefore(before: number, limit: number): Promise<number>;
  /**
   * Deletes one finished run with everything it owns (its nodes, and with the row its
   * idempotency key), as retention does: `DELETE /v1/tasks/{id}`. An unfinished run (initial
   * or running) is left alone. These two are all that ever deletes a run.
   */
  deleteRun(id: string): Promise<DeleteOutcome>;
  /** Runs that are not finished (initial or running), oldest first: to resume after a restart. */
  unfinishedRuns(): Promise<RunRecord[]>;
  /**
   * Whether retrying the failed operation may succeed (busy, locked, disk full, I/O error,
   * connection lost); anything else is a bug or a corrupt store and must not be retried forever.
   */
  isTransient(err: unknown): boolean;
  close(): Promise<void>;
}
