/** Runs: create (with all their nodes), read, list, and find the unfinished ones. */
import type { SQLOutputValue } from 'node:sqlite';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import type {
  CreateResult,
  DeleteOutcome,
  ListQuery,
  NewRun,
  RunPage,
  RunRecord,
  RunSummary,
} from '../store.ts';
import { type Conn, transaction } from './conn.ts';

type Row = Record<string, SQLOutputValue>;

/**
 * The nodes of a new run, all initial (the column defaults), from one recursive CTE.
 * Measured for 10,000 nodes on a file database (WAL, synchronous=FULL, foreign keys on),
 * whole transaction, median of 15:
 *   - one prepared INSERT run 10,000 times in a loop: 21 ms
 *   - this recursive CTE: 13 ms (10 ms without the foreign-key check on each row)
 *   - INSERT ... SELECT FROM json_each(<JSON array of the ids>): 12 ms, plus building the array
 * The loop pays a JS -> C++ crossing, a bind and a step per row; the CTE runs the whole
 * insert inside SQLite in one step. (SQLite's generate_series is not built into node:sqlite.)
 * Must not run with a count of 0: the CTE's first row is node 0.
 */
const INSERT_NODES = `WITH RECURSIVE k (node) AS (
    SELECT 0 UNION ALL SELECT node + 1 FROM k WHERE node + 1 < ?2
  )
  INSERT INTO nodes (run_id, node) SELECT ?1, node FROM k`;

/**
 * Stores runs and their nodes in one transaction: a batch of submissions pays one commit. The
 * commit is not synced here: the store syncs the WAL off the event loop before it answers
 * (wal-sync.ts). A used idempotency key makes the insert a no-op (ON CONFLICT DO NOTHING), and
 * the existing run's id is returned instead.
 */
export function createRuns(conn: Conn, runs: NewRun[]): CreateResult[] {
  return transaction(conn, () => runs.map((run) => insertRun(conn, run)));
}

/** Takes back runs whose commit could not be made durable (wal-sync.ts); nodes cascade. */
export function deleteRuns(conn: Conn, ids: string[]): void {
  transaction(conn, () => {
    for (const id of ids) conn.stmt('DELETE FROM runs WHERE id = ?').run(id);
  });
}

function insertRun(conn: Conn, run: NewRun): CreateResult {
  const key = run.idempotencyKey ?? null;
  const { changes } = conn
    .stmt(
      `INSERT INTO runs (id, name, document, node_count, created_at, idempotency_key)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    )
    .run(run.id, run.name, run.document, run.nodeCount, run.createdAt, key);
  if (changes === 0) {
    const existing = conn.stmt('SELECT id FROM runs WHERE idempotency_key = ?').get(key);
    return { created: false, id: existing?.id as string };
  }
  if (run.nodeCount > 0) conn.stmt(INSERT_NODES).run(run.id, run.nodeCount);
  return { created: true, id: run.id };
}

const SUMMARY = 'seq, id, name, state, node_count, created_at, started_at, stopped_at, error';
const RECORD = `${SUMMARY}, document`;

export function getRun(conn: Conn, id: string): RunRecord | undefined {
  const row = conn.stmt(`SELECT ${RECORD} FROM runs WHERE id = ?`).get(id);
  return row === undefined ? undefined : toRecord(row);
}

/**
 * Newest first by seq, `limit + 1` rows to learn whether another page follows. One state
 * (the common filter) is an ordered range scan of runs_state_seq; several states read each
 * state's range of that index and sort what they found; no filter walks the primary key
 * backwards from the cursor. No document is read: it is the row's last column (migration
 * 004), so the summary's columns come before its overflow pages.
 */
export function listRuns(conn: Conn, query: ListQuery): RunPage {
  const { limit } = query;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.cursor);
  const states = query.states === undefined ? undefined : [...new Set(query.states)];
  let rows: Row[];
  if (states === undefined) {
    rows = conn
      .stmt(`SELECT ${SUMMARY} FROM runs WHERE seq < ? ORDER BY seq DESC LIMIT ?`)
      .all(before, limit + 1);
  } else if (states.length === 0) {
    return { runs: [] };
  } else if (states.length === 1) {
    rows = conn
      .stmt(`SELECT ${SUMMARY} FROM runs WHERE state = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
      .all(states[0], before, limit + 1);
  } else {
    rows = conn
      .stmt(
        `SELECT ${SUMMARY} FROM runs
         WHERE state IN (SELECT value FROM json_each(?)) AND seq < ?
         ORDER BY seq DESC LIMIT ?`,
      )
      .all(JSON.stringify(states), before, limit + 1);
  }
  if (rows.length <= limit) return { runs: rows.map(toSummary) };
  const page = rows.slice(0, limit);
  return { runs: page.map(toSummary), nextCursor: encodeCursor(page[limit - 1].seq as number) };
}

/** Initial or running runs, oldest first (two range seeks of runs_state_seq, then a sort). */
export function unfinishedRuns(conn: Conn): RunRecord[] {
  return conn
    .stmt(`SELECT ${RECORD} FROM runs WHERE state IN (0, 2) ORDER BY seq`)
    .all()
    .map(toRecord);
}

/** Ids of initial or running runs, oldest first (the lease table's candidates). */
export function unfinishedRunIds(conn: Conn): string[] {
  return conn
    .stmt('SELECT id FROM runs WHERE state IN (0, 2) ORDER BY seq')
    .all()
    .map((row) => row.id as string);
}

/** A run that is neither initial nor running: the only kind ever deleted. */
const FINISHED = 'state NOT IN (0, 2)';

/**
 * Retention: deletes up to `limit` finished runs that stopped before `before` (epoch ms),
 * oldest first, their nodes with them (ON DELETE CASCADE). Returns how many went.
 */
export function deleteFinishedBefore(conn: Conn, before: number, limit: number): number {
  return transaction(conn, () => {
    const { changes } = conn
      .stmt(
        `DELETE FROM runs WHERE id IN (
           SELECT id FROM runs WHERE ${FINISHED} AND stopped_at < ? ORDER BY seq LIMIT ?)`,
      )
      .run(before, limit);
    return Number(changes);
  });
}

/** One finished run, as retention deletes them (its nodes by ON DELETE CASCADE). */
export function deleteRun(conn: Conn, id: string): DeleteOutcome {
  return transaction(conn, () => {
    const { changes } = conn.stmt(`DELETE FROM runs WHERE id = ? AND ${FINISHED}`).run(id);
    if (Number(changes) > 0) return 'deleted';
    return conn.stmt('SELECT 1 FROM runs WHERE id = ?').get(id) ? 'unfinished' : 'missing';
  });
}

function toSummary(row: Row): RunSummary {
  return {
    id: row.id as string,
    name: row.name as string,
    state: row.state as number,
    nodeCount: row.node_count as number,
    createdAt: row.created_at as number,
    startedAt: row.started_at as number | null,
    stoppedAt: row.stopped_at as number | null,
    error: row.error as string | null,
  };
}

function toRecord(row: Row): RunRecord {
  return { ...toSummary(row), document: row.document as string };
}
