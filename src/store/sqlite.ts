/**
 * The embedded Store (docs/architecture.md §5): one SQLite file under the data directory, through
 * `node:sqlite`. Each operation lives in `sqlite/` as a function of a connection; this module
 * opens the connection, migrates it and turns the synchronous calls into the async contract.
 *
 * node:sqlite is synchronous: every call runs to completion on the event loop, so one
 * connection needs no locking, and a transaction can never interleave with another call.
 * The price is that a call blocks the loop while it runs: createRun of 10,000 nodes ~12 ms,
 * getNodes of them ~4 ms, an apply of 1,000 node changes ~4 ms.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MemoryLeases } from './memory-leases.ts';
import { apply } from './sqlite/apply.ts';
import { Checkpointer } from './sqlite/checkpointer.ts';
import { type Conn, openConn } from './sqlite/conn.ts';
import { migrate, readMigrations } from './sqlite/migrate.ts';
import { getNodes } from './sqlite/nodes.ts';
import { runWithResumes } from './sqlite/resumes.ts';
import {
  createRuns,
  deleteFinishedBefore,
  deleteRun,
  deleteRuns,
  getRun,
  listRuns,
  unfinishedRunIds,
  unfinishedRuns,
} from './sqlite/runs.ts';
import {
  advanceSchedule,
  claimDueSchedules,
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  setSchedulePaused,
} from './sqlite/schedules.ts';
import { WalSync } from './sqlite/wal-sync.ts';
import { InvalidCursorError, type NewRun, type Store } from './store.ts';

/**
 * Opens (creating the file and its directory if needed) and migrates the database at `path`.
 * `:memory:` gives a private in-memory database, for tests.
 */
export async function openSqliteStore(path: string): Promise<Store> {
  const conn = guard(`open ${path}`, () => {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const conn = openConn(path);
    try {
      migrate(conn, readMigrations());
    } catch (err) {
      conn.db.close();
      throw err;
    }
    return conn;
  });
  return sqliteStore(conn);
}

function sqliteStore(conn: Conn): Store {
  function use<T>(operation: string, body: (conn: Conn) => T): T {
    return guard(operation, () => {
      if (!conn.db.isOpen) throw new Error('the store is closed');
      return body(conn);
    });
  }
  const leases = new MemoryLeases({
    unfinishedIds: () => use('unfinishedRunIds', (conn) => unfinishedRunIds(conn)),
    record: (id) => use(`getRun ${id}`, (conn) => runWithResumes(conn, id)),
  });
  // an in-memory database has no WAL, nothing to make durable and nothing to checkpoint
  const path = conn.db.location();
  const wal = path === null ? undefined : new WalSync(path);
  const checkpointer = path === null ? undefined : new Checkpointer(conn, path);
  async function create(runs: NewRun[]) {
    const results = use(`createRuns (${runs.length})`, (conn) => createRuns(conn, runs));
    const created = runs.filter((_, i) => results[i].created);
    // Held at once, before the sync below yields the loop (a run in the table without a
    // lease would be claimed as an orphan by this replica's claim loop meanwhile), and for as
    // long as the sync takes; the lease's time starts when the run does.
    for (const run of created) {
      if (run.owner && run.leaseMs) leases.hold(run.id, run.owner, Number.POSITIVE_INFINITY);
    }
    // an idempotent replay waits too: its run may be the one a sync under way is writing
    if (runs.length > 0 && wal) {
      try {
        await wal.sync();
      } catch (err) {
        // Committed but perhaps not on disk: take the runs back so that the 503 ("nothing
        // was stored") holds; if the disk refuses that too, they stay, and the claim loop
        // resumes them as it does any run nobody drives.
        const ids = created.map((run) => run.id);
        try {
          deleteRuns(conn, ids);
        } catch {}
        for (const run of created) if (run.owner) void leases.releaseRuns(run.owner, [run.id]);
        throw Object.assign(
          new Error(
            `sqlite store: createRuns: the disk did not confirm the write (${(err as Error).message})`,
            { cause: err },
          ),
          // SQLITE_IOERR_FSYNC, what a commit at synchronous=FULL would have failed with
          { errcode: 1034 },
        );
      }
    }
    for (const run of created) {
      if (run.owner && run.leaseMs) leases.hold(run.id, run.owner, run.leaseMs);
    }
    return results;
  }
  return {
    createRun: async (run) => (await create([run]))[0],
    createRuns: (runs) => create(runs),
    claimRuns: (owner, leaseMs, limit) => leases.claimRuns(owner, leaseMs, limit),
    claimRun: (owner, id, leaseMs) => leases.claimRun(owner, id, leaseMs),
    renewLeases: (owner, ids, leaseMs) => leases.renewLeases(owner, ids, leaseMs),
    releaseRuns: (owner, ids) => leases.releaseRuns(owner, ids),
    async getRun(id) {
      return use(`getRun ${id}`, (conn) => getRun(conn, id));
    },
    async getNodes(id) {
      return use(`getNodes ${id}`, (conn) => getNodes(conn, id));
    },
    async listRuns(query) {
      return use('listRuns', (conn) => listRuns(conn, query));
    },
    async apply(changes) {
      return use(`apply (${changes.length} runs)`, (conn) =>
        apply(conn, changes, (id, lease) => leases.holds(id, lease)),
      );
    },
    async deleteFinishedBefore(before, limit) {
      return use('deleteFinishedBefore', (conn) => deleteFinishedBefore(conn, before, limit));
    },
    async deleteRun(id) {
      const outcome = use(`deleteRun ${id}`, (conn) => deleteRun(conn, id));
      if (outcome === 'deleted') leases.forget(id);
      return outcome;
    },
    async unfinishedRuns() {
      return use('unfinishedRuns', (conn) => unfinishedRuns(conn));
    },
    async createSchedule(schedule) {
      return use(`createSchedule ${schedule.id}`, (conn) => createSchedule(conn, schedule));
    },
    async getSchedule(id) {
      return use(`getSchedule ${id}`, (conn) => getSchedule(conn, id));
    },
    async listSchedules() {
      return use('listSchedules', (conn) => listSchedules(conn));
    },
    async setSchedulePaused(id, paused, now, error) {
      return use(`setSchedulePaused ${id}`, (conn) =>
        setSchedulePaused(conn, id, paused, now, error),
      );
    },
    async deleteSchedule(id) {
      return use(`deleteSchedule ${id}`, (conn) => deleteSchedule(conn, id));
    },
    async claimDueSchedules(now, limit) {
      return use('claimDueSchedules', (conn) => claimDueSchedules(conn, now, limit));
    },
    async advanceSchedule(due) {
      return use(`advanceSchedule ${due.schedule.id}`, (conn) => advanceSchedule(conn, due));
    },
    isTransient,
    async close() {
      await checkpointer?.stop();
      await wal?.close();
      if (!conn.db.isOpen) return;
      guard('close', () => {
        // SQLite's advice for short-lived and long-lived connections alike: refresh the
        // planner's statistics where they are stale, at close (usually a no-op)
        conn.db.exec('PRAGMA optimize');
        conn.db.close();
      });
    },
  };
}

/** SQLite primary result codes worth a retry: BUSY, LOCKED, IOERR, FULL, CANTOPEN. */
const TRANSIENT_CODES = new Set([5, 6, 10, 13, 14]);

function isTransient(err: unknown): boolean {
  for (
    let e = err as { errcode?: number; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (typeof e.errcode === 'number') return TRANSIENT_CODES.has(e.errcode & 0xff);
  }
  return false;
}

/**
 * Runs `body`, giving SQLite's errors the operation they came from; the original is the
 * `cause`. Caller mistakes the API maps to 400 (a foreign cursor, a bad limit) pass unchanged.
 */
function guard<T>(operation: string, body: () => T): T {
  try {
    return body();
  } catch (err) {
    if (err instanceof InvalidCursorError || err instanceof RangeError) throw err;
    throw new Error(`sqlite store: ${operation}: ${(err as Error).message}`, { cause: err });
  }
}
