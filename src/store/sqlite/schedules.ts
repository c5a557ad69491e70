/** Schedules: create, read, list, pause/resume, delete, and the scheduler's claim/advance. */
import type { SQLOutputValue } from 'node:sqlite';
import { nextOccurrence, planFiring, SCHEDULE_CLAIM_MS } from '../cron.ts';
import type { Catchup, DueSchedule, NewSchedule, ScheduleRecord } from '../store.ts';
import { type Conn, transaction } from './conn.ts';

type Row = Record<string, SQLOutputValue>;

const COLUMNS =
  'id, name, cron, timezone, catchup, document, paused, next_fire_at, last_fire_at, error, created_at';

export function createSchedule(conn: Conn, schedule: NewSchedule): ScheduleRecord {
  const next = nextOccurrence(schedule.cron, schedule.timezone, schedule.createdAt);
  const row = conn
    .stmt(
      `INSERT INTO schedules (id, name, cron, timezone, catchup, document, next_fire_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING ${COLUMNS}`,
    )
    .get(
      schedule.id,
      schedule.name,
      schedule.cron,
      schedule.timezone,
      schedule.catchup,
      schedule.document,
      next,
      schedule.createdAt,
    );
  return toSchedule(row as Row);
}

export function getSchedule(conn: Conn, id: string): ScheduleRecord | undefined {
  const row = conn.stmt(`SELECT ${COLUMNS} FROM schedules WHERE id = ?`).get(id);
  return row === undefined ? undefined : toSchedule(row);
}

export function listSchedules(conn: Conn): ScheduleRecord[] {
  return conn
    .stmt(`SELECT ${COLUMNS} FROM schedules ORDER BY created_at, id`)
    .all()
    .map(toSchedule);
}

/**
 * Pausing keeps the next occurrence (shown as what would fire) and records `error`; resuming
 * moves it to the first occurrence after `now` and clears the error. Either ends a claim.
 */
export function setSchedulePaused(
  conn: Conn,
  id: string,
  paused: boolean,
  now: number,
  error: string | undefined,
): ScheduleRecord | undefined {
  return transaction(conn, () => {
    const current = getSchedule(conn, id);
    if (current === undefined) return undefined;
    const next = paused ? current.nextFireAt : nextOccurrence(current.cron, current.timezone, now);
    const row = conn
      .stmt(
        `UPDATE schedules SET paused = ?, next_fire_at = ?, error = ?, claimed_until = NULL
         WHERE id = ? RETURNING ${COLUMNS}`,
      )
      .get(paused ? 1 : 0, next, paused ? (error ?? null) : null, id);
    return toSchedule(row as Row);
  });
}

export function deleteSchedule(conn: Conn, id: string): boolean {
  return conn.stmt('DELETE FROM schedules WHERE id = ?').run(id).changes > 0;
}

/**
 * One write transaction: select the due, unclaimed schedules (a range of schedules_due), plan
 * each with croner, mark them claimed. BEGIN IMMEDIATE holds the write lock throughout, so a
 * second process on the same file waits and then sees the claims.
 */
export function claimDueSchedules(conn: Conn, now: number, limit: number): DueSchedule[] {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  return transaction(conn, () => {
    const rows = conn
      .stmt(
        `SELECT ${COLUMNS} FROM schedules
         WHERE paused = 0 AND next_fire_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
         ORDER BY next_fire_at LIMIT ?`,
      )
      .all(now, now, limit);
    const claim = conn.stmt('UPDATE schedules SET claimed_until = ? WHERE id = ?');
    return rows.map((row) => {
      const schedule = toSchedule(row);
      claim.run(now + SCHEDULE_CLAIM_MS, schedule.id);
      const plan = planFiring({ ...schedule, nextFireAt: schedule.nextFireAt as number }, now);
      return { schedule, ...plan };
    });
  });
}

export function advanceSchedule(conn: Conn, due: DueSchedule): boolean {
  const last = due.occurrences.at(-1) ?? null;
  const { changes } = conn
    .stmt(
      `UPDATE schedules
       SET next_fire_at = ?, last_fire_at = coalesce(?, last_fire_at), claimed_until = NULL
       WHERE id = ? AND next_fire_at = ?`,
    )
    .run(due.nextFireAt, last, due.schedule.id, due.schedule.nextFireAt);
  return changes > 0;
}

function toSchedule(row: Row): ScheduleRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    cron: row.cron as string,
    timezone: row.timezone as string,
    catchup: row.catchup as Catchup,
    document: row.document as string,
    paused: row.paused === 1,
    nextFireAt: row.next_fire_at as number | null,
    lastFireAt: row.last_fire_at as number | null,
    error: row.error as string | null,
    createdAt: row.created_at as number,
  };
}
