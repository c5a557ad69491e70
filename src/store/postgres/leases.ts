/**
 * Run leases, for several orchestrator replicas on one database (docs/architecture.md §5).
 *
 *   free (owner NULL) ──claimRuns──> held by R until T ──renewLeases by R──> held by R until T'
 *        ^                              │         │
 *        └────────releaseRuns by R──────┘         └─ T passes ─> expired: claimRuns by any
 *                                                   replica (R included) takes it over
 *
 * Only unfinished runs (initial, running) are claimed. Expiry is judged by the database's
 * clock (`NOW_MS`), never a replica's, so replicas with skewed clocks agree on it.
 *
 * Fencing: a claim that changes the owner adds one to `lease_epoch`, and `apply` writes the
 * changes of a run only while the writer's (owner, epoch) still match, under the run row's
 * lock (apply.ts `fence`). A replica frozen past its lease (a long GC pause, SIGSTOP, a VM
 * migration) whose run was taken over meanwhile can then no longer commit anything for it.
 * A claim by the same owner keeps the epoch: what that replica has in memory is still the
 * run's latest state.
 */
import type { ClaimedRun } from '../store.ts';
import type { WithClient } from './db.ts';
import { RECORD, type Row, toRecord } from './runs.ts';

/** The epoch after a claim by `$1` (SET expressions read the row's values before it). */
const NEXT_EPOCH = 'lease_epoch + CASE WHEN owner IS DISTINCT FROM $1::text THEN 1 ELSE 0 END';

/** The database's clock in epoch milliseconds. */
const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

function checkPositive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

/**
 * Takes up to `limit` unfinished runs that no replica holds or whose lease expired, oldest
 * first, for `leaseMs`. Rows another replica is claiming at the same moment are skipped
 * (FOR UPDATE SKIP LOCKED), so concurrent claims never wait for each other nor return the
 * same run.
 */
export async function claimRuns(
  withClient: WithClient,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<ClaimedRun[]> {
  checkPositive('leaseMs', leaseMs);
  checkPositive('limit', limit);
  const { rows } = await withClient((client) =>
    client.query<Row & { lease_epoch: number; resumes: number }>({
      name: 'baton_claim_runs',
      text: `WITH clock AS (SELECT ${NOW_MS} AS now_ms),
        claimable AS (
          SELECT id FROM runs, clock
          WHERE state IN (0, 2) AND (lease_expires_at IS NULL OR lease_expires_at <= now_ms)
          ORDER BY seq
          LIMIT $3::integer
          FOR UPDATE OF runs SKIP LOCKED
        ), claimed AS (
          UPDATE runs AS r SET owner = $1::text, lease_expires_at = clock.now_ms + $2::bigint,
            lease_epoch = ${NEXT_EPOCH}
          FROM claimable, clock
          WHERE r.id = claimable.id
          RETURNING r.*
        )
        SELECT ${RECORD}, lease_epoch, resumes FROM claimed ORDER BY seq`,
      values: [owner, leaseMs, limit],
    }),
  );
  return rows.map((row) => ({ ...toRecord(row), epoch: row.lease_epoch, resumes: row.resumes }));
}

/**
 * Extends `owner`'s leases on `ids` to `leaseMs` from now, and returns the ids it still
 * holds (a run missing from the answer was taken over, released, or never held: stop
 * driving it). An expired lease that nobody took over yet is renewed.
 */
export async function renewLeases(
  withClient: WithClient,
  owner: string,
  ids: string[],
  leaseMs: number,
): Promise<string[]> {
  checkPositive('leaseMs', leaseMs);
  if (ids.length === 0) return [];
  const { rows } = await withClient((client) =>
    client.query<{ id: string }>({
      name: 'baton_renew_leases',
      text: `UPDATE runs SET lease_expires_at = ${NOW_MS} + $3::bigint
             WHERE id = ANY ($2::text[]) AND owner = $1::text
             RETURNING id`,
      values: [owner, ids, leaseMs],
    }),
  );
  return rows.map((row) => row.id);
}

/**
 * Takes run `id`, finished or not, unless another replica holds an unexpired lease on it
 * (a replica about to cancel or retry a run it does not drive). Returns the lease's epoch
 * when `owner` holds it, else undefined.
 */
export async function claimRun(
  withClient: WithClient,
  owner: string,
  id: string,
  leaseMs: number,
): Promise<number | undefined> {
  checkPositive('leaseMs', leaseMs);
  const { rows } = await withClient((client) =>
    client.query<{ lease_epoch: number }>({
      name: 'baton_claim_run',
      text: `UPDATE runs SET owner = $1::text, lease_expires_at = ${NOW_MS} + $3::bigint,
               lease_epoch = ${NEXT_EPOCH}
             WHERE id = $2::text
               AND (owner IS NULL OR owner = $1::text OR lease_expires_at <= ${NOW_MS})
             RETURNING lease_epoch`,
      values: [owner, id, leaseMs],
    }),
  );
  return rows[0]?.lease_epoch;
}

/** Gives up `owner`'s leases on `ids` (those it does not hold are left alone). */
export async function releaseRuns(
  withClient: WithClient,
  owner: string,
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  await withClient((client) =>
    client.query({
      name: 'baton_release_runs',
      text: `UPDATE runs SET owner = NULL, lease_expires_at = NULL
             WHERE id = ANY ($2::text[]) AND owner = $1::text`,
      values: [owner, ids],
    }),
  );
}
