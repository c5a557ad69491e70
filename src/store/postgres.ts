/**
 * The shared Store (docs/architecture.md §5): PostgreSQL through `pg`, for one or several orchestrator
 * replicas. Each operation lives in `postgres/` as a function of a `WithClient`; this module
 * opens the pool, migrates the schema and turns database errors into errors that name the
 * operation. Besides the Store contract it offers what scale-out needs: run leases
 * (postgres/leases.ts) and LISTEN/NOTIFY (postgres/notify.ts).
 *
 * Measured against a local PostgreSQL 15, medians of 15 (test/store/postgres.test.ts
 * "timings" prints them): createRun of 10,000 nodes ~50 ms (half of it the foreign key's
 * row-by-row check, see the migration), getNodes of them ~8 ms, an apply of 1,000 node changes
 * 10-16 ms, an apply starting 100 runs at once ~11 ms. Unlike SQLite's, these calls do not
 * block the event loop for that long: most of the time is spent waiting on the server.
 */

import { apply } from './postgres/apply.ts';
import { connectionConfig, createPool, poolClient, type WithClient } from './postgres/db.ts';
import { claimRun, claimRuns, releaseRuns, renewLeases } from './postgres/leases.ts';
import { migrate, readMigrations } from './postgres/migrate.ts';
import { getNodes } from './postgres/nodes.ts';
import { createListener, notify, wireChannel } from './postgres/notify.ts';
import {
  createRun,
  createRuns,
  deleteFinishedBefore,
  deleteRun,
  getRun,
  listRuns,
  unfinishedRuns,
} from './postgres/runs.ts';
import {
  advanceSchedule,
  claimDueSchedules,
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  setSchedulePaused,
} from './postgres/schedules.ts';
import { type Channels, InvalidCursorError, type Store } from './store.ts';

export interface PostgresOptions {
  /**
   * The schema holding Baton's tables, created if missing (lowercase letters, digits and
   * `_`); default: the server's search_path (usually `public`). Also scopes notifications.
   */
  schema?: string;
  /** Connections in the pool (default 10); the listener uses one more. */
  poolSize?: number;
}

/** The PostgreSQL store always has channels: replicas share it. */
export interface PostgresStore extends Store {
  readonly channels: Channels;
}

/**
 * Opens a pool on `url`, creates `options.schema` if missing and migrates it (several
 * replicas may do so at once). Rejects if the server cannot be reached.
 */
export async function openPostgresStore(
  url: string,
  options: PostgresOptions = {},
): Promise<PostgresStore> {
  const where = describe(url, options.schema);
  const pool = guard(`open ${where}`, () => createPool(url, options));
  const withClient = poolClient(pool);
  try {
    await withClient((client) => migrate(client, readMigrations(), options.schema));
  } catch (err) {
    await pool.end().catch(() => {});
    throw wrap(`open ${where}`, err);
  }
  const listener = createListener(connectionConfig(url, options), channelPrefix(options.schema));
  let closed = false;

  async function use<T>(operation: string, body: (withClient: WithClient) => Promise<T>) {
    if (closed) throw new Error(`postgres store: ${operation}: the store is closed`);
    try {
      return await body(withClient);
    } catch (err) {
      throw wrap(operation, err);
    }
  }

  return {
    createRun: (run) => use(`createRun ${run.id}`, (db) => createRun(db, run)),
    createRuns: (runs) => use(`createRuns (${runs.length})`, (db) => createRuns(db, runs)),
    getRun: (id) => use(`getRun ${id}`, (db) => getRun(db, id)),
    getNodes: (id) => use(`getNodes ${id}`, (db) => getNodes(db, id)),
    listRuns: (query) => use('listRuns', (db) => listRuns(db, query)),
    apply: (changes) => use(`apply (${changes.length} runs)`, (db) => apply(db, changes)),
    unfinishedRuns: () => use('unfinishedRuns', (db) => unfinishedRuns(db)),
    deleteFinishedBefore: (before, limit) =>
      use('deleteFinishedBefore', (db) => deleteFinishedBefore(db, before, limit)),
    deleteRun: (id) => use(`deleteRun ${id}`, (db) => deleteRun(db, id)),
    claimRuns: (owner, leaseMs, limit) =>
      use(`claimRuns ${owner}`, (db) => claimRuns(db, owner, leaseMs, limit)),
    renewLeases: (owner, ids, leaseMs) =>
      use(`renewLeases ${owner}`, (db) => renewLeases(db, owner, ids, leaseMs)),
    releaseRuns: (owner, ids) => use(`releaseRuns ${owner}`, (db) => releaseRuns(db, owner, ids)),
    claimRun: (owner, id, leaseMs) =>
      use(`claimRun ${id}`, (db) => claimRun(db, owner, id, leaseMs)),
    createSchedule: (schedule) =>
      use(`createSchedule ${schedule.id}`, (db) => createSchedule(db, schedule)),
    getSchedule: (id) => use(`getSchedule ${id}`, (db) => getSchedule(db, id)),
    listSchedules: () => use('listSchedules', (db) => listSchedules(db)),
    setSchedulePaused: (id, paused, now, error) =>
      use(`setSchedulePaused ${id}`, (db) => setSchedulePaused(db, id, paused, now, error)),
    deleteSchedule: (id) => use(`deleteSchedule ${id}`, (db) => deleteSchedule(db, id)),
    claimDueSchedules: (now, limit) =>
      use('claimDueSchedules', (db) => claimDueSchedules(db, now, limit)),
    advanceSchedule: (due) =>
      use(`advanceSchedule ${due.schedule.id}`, (db) => advanceSchedule(db, due)),
    channels: {
      listen: (channel, onPayload, onGap) =>
        use(`listen ${channel}`, () => listener.listen(channel, onPayload, onGap)),
      notify: (channel, payload) =>
        use(`notify ${channel}`, (db) =>
          notify(db, wireChannel(channelPrefix(options.schema), channel), payload),
        ),
    },
    isTransient,
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await pool.end();
    },
  };
}

function channelPrefix(schema: string | undefined): string {
  return schema === undefined ? '' : `${schema}.`;
}

/** The server, database and schema of `url`, without credentials, for error messages. */
function describe(url: string, schema: string | undefined): string {
  let target: string;
  try {
    const parsed = new URL(url);
    target = `${parsed.host}${parsed.pathname}`;
  } catch {
    target = 'postgres';
  }
  return schema === undefined ? target : `${target} schema ${schema}`;
}

/**
 * SQLSTATEs worth a retry (the Store contract: busy, locked, disk full, I/O error, connection
 * lost): whole classes 08 (connection exception) and 53 (insufficient resources: disk full,
 * out of memory, too many connections), and 40001 serialization failure, 40P01 deadlock,
 * 55P03 lock not available (lock_timeout), 57P01/57P02 the server shut down, 57P03 it cannot
 * accept connections yet, 58030 I/O error.
 */
const TRANSIENT_CLASSES = new Set(['08', '53']);
const TRANSIENT_STATES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '58030']);

/** Node's errors for a connection that failed or broke. */
const TRANSIENT_SYSTEM = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** pg's own errors for a lost or timed-out connection, which carry no code. */
const TRANSIENT_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

export function isTransient(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; e; ) {
    if (typeof e.code === 'string') {
      const code = e.code;
      if (/^[0-9A-Z]{5}$/.test(code)) {
        return TRANSIENT_CLASSES.has(code.slice(0, 2)) || TRANSIENT_STATES.has(code);
      }
      return TRANSIENT_SYSTEM.has(code);
    }
    if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

function guard<T>(operation: string, body: () => T): T {
  try {
    return body();
  } catch (err) {
    throw wrap(operation, err);
  }
}

/**
 * Gives an error the operation it came from; the original is the `cause`. Caller mistakes
 * the API maps to 400 (a foreign cursor, a bad limit) pass unchanged.
 */
function wrap(operation: string, err: unknown): unknown {
  if (err instanceof InvalidCursorError || err instanceof RangeError) return err;
  return new Error(`postgres store: ${operation}: ${(err as Error).message}`, { cause: err });
}
