/**
 * One SQLite connection and the statements prepared on it. Every operation module takes a
 * `Conn` as its first argument instead of importing a global database, so transactions stay
 * visible at the call site and tests can hand in any connection.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { makePrivate } from '../../common/private-file.ts';

export interface Conn {
  readonly db: DatabaseSync;
  /**
   * The statement for `sql`, prepared on first use and reused for the connection's life.
   * With `arrays`, rows come back as arrays in column order instead of objects: for large
   * results (10,000 nodes: 4.7 ms instead of 11.6 ms to read and map, as SQLite's row
   * objects are slow to read properties from).
   */
  stmt(sql: string, arrays?: boolean): StatementSync;
}

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens `path` with the settings the store's guarantees rest on:
 * - WAL: readers never block the writer, and a commit is one append to the log;
 * - synchronous=NORMAL: every commit survives a crash of the process; a new run's commit is
 *   also fsynced, off the event loop (wal-sync.ts), before the store answers, so an API 202
 *   survives a power cut. State changes skip the fsync: a power cut may roll back the last
 *   moments of progress, which the orchestrator then redoes.
 * - busy_timeout: a second process (a CLI command, a second server by mistake) waits instead
 *   of failing at once;
 * - foreign_keys: nodes cannot outlive or precede their run.
 */
export function openConn(path: string): Conn {
  if (path !== ':memory:') makePrivate(path);
  const db = new DatabaseSync(path, {
    timeout: BUSY_TIMEOUT_MS,
    enableForeignKeyConstraints: true,
  });
  try {
    const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
    // an in-memory database keeps its 'memory' journal; a file that refuses WAL (some network
    // file systems) would silently lose the concurrency and durability assumptions above
    if (mode !== 'wal' && !(mode === 'memory' && db.location() === null)) {
      throw new Error(`journal_mode is ${String(mode)}, expected wal`);
    }
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return connOf(db);
}

/** Wraps an already open database (tests, tools) with a statement cache. */
export function connOf(db: DatabaseSync): Conn {
  const cache = new Map<string, StatementSync>();
  return {
    db,
    stmt(sql, arrays = false) {
      const key = arrays ? `arrays:${sql}` : sql;
      let statement = cache.get(key);
      if (statement === undefined) {
        statement = db.prepare(sql, { returnArrays: arrays });
        cache.set(key, statement);
      }
      return statement;
    },
  };
}

/**
 * Runs `body` in a write transaction: committed if it returns, rolled back if it throws.
 * BEGIN IMMEDIATE takes the write lock up front, so another process makes us wait
 * (busy_timeout) instead of failing mid-transaction when a read would upgrade to a write.
 * node:sqlite is synchronous, so nothing else on this connection can interleave.
 */
export function transaction<T>(conn: Conn, body: () => T): T {
  conn.stmt('BEGIN IMMEDIATE').run();
  try {
    const result = body();
    conn.stmt('COMMIT').run();
    return result;
  } catch (err) {
    if (conn.db.isTransaction) conn.stmt('ROLLBACK').run();
    throw err;
  }
}
