/**
 * The count of claims of each unfinished run (`runs.resumes`, see store.ts ClaimedRun): the
 * leases live in memory (memory-leases.ts), but this count must survive the crashes it counts.
 */
import type { RunRecord } from '../store.ts';
import type { Conn } from './conn.ts';
import { getRun } from './runs.ts';

/** Counts a claim of run `id` and returns it with the new count; undefined if it is gone. */
export function countClaim(conn: Conn, id: string): (RunRecord & { resumes: number }) | undefined {
  const row = conn
    .stmt('UPDATE runs SET resumes = resumes + 1 WHERE id = ? RETURNING resumes')
    .get(id);
  if (row === undefined) return undefined;
  const record = getRun(conn, id);
  return record && { ...record, resumes: row.resumes as number };
}

/** Starts the counts of `ids` again (a clean handover, or a claim to cancel or retry). */
export function resetResumes(conn: Conn, ids: string[]): void {
  conn
    .stmt(
      'UPDATE runs SET resumes = 0 WHERE id IN (SELECT value FROM json_each(?)) AND resumes > 0',
    )
    .run(JSON.stringify(ids));
}
