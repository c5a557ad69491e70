/**
 * Schedules: create, read, list, pause/resume, delete, and the scheduler's claim/advance,
 * shared by every replica on the database (see store.ts Schedules for the lifecycle).
 */
import { nextOccurrence, planFiring, SCHEDULE_CLAIM_MS } from '../cron.ts';
import type { Catchup, DueSchedule, NewSchedule, ScheduleRecord } from '../store.ts';
import { transaction, type WithClient } from './db.ts';

const COLUMNS =
  'id, name, cron, timezone, catchup, document, paused, next_fire_at, last_fire_at, error, created_at';

interface Row {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  catchup: Catchup;
  document: string;
  paused: boolean;
  next_fire_at: number | null;
  last_fire_at: number | null;
  error: string | null;
  created_at: number;
}

export async function createSchedule(
  withClient: WithClient,
  schedule: NewSchedule,
): Promise<ScheduleRecord> {
  const next = nextOccurrence(schedule.cron, schedule.timezone, schedule.createdAt);
  const { rows } = await withClient((client) =>
    client.query<Row>({
      name: 'baton_create_schedule',
      text: `INSERT INTO schedules (id, name, cron, timezone, catchup, document, next_fire_at,
                                    created_at)
             VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint,
                     $8::bigint)
             RETURNING ${COLUMNS}`,
      values: [
        schedule.id,
        schedule.name,
        schedule.cron,
        schedule.timezone,
        schedule.catchup,
        schedule.document,
        next,
        schedule.createdAt,
      ],
    }),
  );
  return toSchedule(rows[0]);
}

export async function getSchedule(
  withClient: WithClient,
  id: string,
): Promise<ScheduleRecord | undefined> {
  const { rows } = await withClient((client) =>
    client.query<Row>({
      name: 'baton_get_schedule',
      text: `SELECT ${COLUMNS} FROM schedules WHERE id = $1::text`,
      values: [id],
    }),
  );
  return rows.length === 0 ? undefined : toSchedule(rows[0]);
}

export async function listSchedules(withClient: WithClient): Promise<ScheduleRecord[]> {
  const { rows } = await withClient((client) =>
    client.query<Row>({
      name: 'baton_list_schedules',
      text: `SELECT ${COLUMNS} FROM schedules ORDER BY created_at, id`,
    }),
  );
  return rows.map(toSchedule);
}

/**
 * Pausing keeps the next occurrence and records `error`; resuming moves it to the first
 * occurrence after `now` (computed in JS, with the row locked) and clears the error. Either
 * ends a claim.
 */
export async function setSchedulePaused(
  withClient: WithClient,
  id: string,
  paused: boolean,
  now: number,
  error: string | undefined,
): Promise<ScheduleRecord | undefined> {
  return withClient((client) =>
    transaction(client, async () => {
      const current = await client.query<Row>({
        name: 'baton_lock_schedule',
        text: `SELECT ${COLUMNS} FROM schedules WHERE id = $1::text FOR UPDATE`,
        values: [id],
      });
      if (current.rows.length === 0) return undefined;
      const { cron, timezone, next_fire_at } = current.rows[0];
      const next = paused ? next_fire_at : nextOccurrence(cron, timezone, now);
      const { rows } = await client.query<Row>({
        name: 'baton_pause_schedule',
        text: `UPDATE schedules
               SET paused = $2::boolean, next_fire_at = $3::bigint, error = $4::text,
                   claimed_until = NULL
               WHERE id = $1::text
               RETURNING ${COLUMNS}`,
        values: [id, paused, next, paused ? (error ?? null) : null],
      });
      return toSchedule(rows[0]);
    }),
  );
}

export async function deleteSchedule(withClient: WithClient, id: string): Promise<boolean> {
  const { rowCount } = await withClient((client) =>
    client.query({
      name: 'baton_delete_schedule',
      text: 'DELETE FROM schedules WHERE id = $1::text',
      values: [id],
    }),
  );
  return (rowCount ?? 0) > 0;
}

/**
 * One transaction in two statements with the plan computed in JS between them (croner has no
 * SQL form): lock the due, unclaimed schedules (`FOR UPDATE SKIP LOCKED`: a replica claiming
 * at the same moment skips them instead of waiting, and after this commit sees them claimed),
 * then mark them claimed in one UPDATE over arrays.
 */
export async function claimDueSchedules(
  withClient: WithClient,
  now: number,
  limit: number,
): Promise<DueSchedule[]> {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  return withClient((client) =>
    transaction(client, async () => {
      const { rows } = await client.query<Row>({
        name: 'baton_due_schedules',
        text: `SELECT ${COLUMNS} FROM schedules
               WHERE NOT paused AND next_fire_at <= $1::bigint
                 AND (claimed_until IS NULL OR claimed_until <= $1::bigint)
               ORDER BY next_fire_at
               LIMIT $2::integer
               FOR UPDATE SKIP LOCKED`,
        values: [now, limit],
      });
      if (rows.length === 0) return [];
      await client.query({
        name: 'baton_claim_schedules',
        text: 'UPDATE schedules SET claimed_until = $2::bigint WHERE id = ANY ($1::text[])',
        values: [rows.map((row) => row.id), now + SCHEDULE_CLAIM_MS],
      });
      return rows.map((row) => {
        const schedule = toSchedule(row);
        const plan = planFiring({ ...schedule, nextFireAt: schedule.nextFireAt as number }, now);
        return { schedule, ...plan };
      });
    }),
  );
}

export async function advanceSchedule(withClient: WithClient, due: DueSchedule): Promise<boolean> {
  const { rowCount } = await withClient((client) =>
    client.query({
      name: 'baton_advance_schedule',
      text: `UPDATE schedules
             SET next_fire_at = $3::bigint, last_fire_at = coalesce($4::bigint, last_fire_at),
                 claimed_until = NULL
             WHERE id = $1::text AND next_fire_at = $2::bigint`,
      values: [
        due.schedule.id,
        due.schedule.nextFireAt,
        due.nextFireAt,
        due.occurrences.at(-1) ?? null,
      ],
    }),
  );
  return (rowCount ?? 0) > 0;
}

function toSchedule(row: Row): ScheduleRecord {
  return {
    id: row.id,
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    catchup: row.catchup,
    document: row.document,
    paused: row.paused,
    nextFireAt: row.next_fire_at,
    lastFireAt: row.last_fire_at,
    error: row.error,
    createdAt: row.created_at,
  };
}
