/** A run with its count of resumes (store.ts ClaimedRun), for the in-memory leases' claims. */
import type { RunRecord } from '../store.ts';
import type { Conn } from './conn.ts';
import { getRun } from './runs.ts';

export function runWithResumes(
  conn: Conn,
  id: string,
): (RunRecord & { resumes: number }) | undefined {
  const record = getRun(conn, id);
  if (record === undefined) return undefined;
  const row = conn.stmt('SELECT resumes FROM runs WHERE id = ?').get(id);
  return { ...record, resumes: (row?.resumes as number) ?? 0 };
}
