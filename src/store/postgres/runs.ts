/** Runs: create (with all their nodes), read, list, and find the unfinished ones. */
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
import { type Client, transaction, type WithClient } from './db.ts';

/**
 * The run and its nodes, all initial (the column defaults), in one statement, so one round
 * trip and one commit: the nodes' insert reads the run's id from the first CTE, which yields no
 * row when the idempotency key is taken, so a conflict inserts no node either. The foreign
 * key check runs at the end of the statement, when the run is there.
 * 10,000 nodes on a local PostgreSQL 15: ~50 ms, median of 15, nearly all in the nodes'
 * insert, half of that in the foreign key's check of each row (see the migration).
 */
const CREATE_RUN = `WITH run AS (
    INSERT INTO runs (id, name, document, node_count, created_at, idempotency_key, owner,
                      lease_expires_at)
    VALUES ($1::text, $2::text, $3::text, $4::integer, $5::bigint, $6::text, $7::text,
            CASE WHEN $7::text IS NULL THEN NULL
                 ELSE (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $8::bigint END)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
  ), nodes AS (
    INSERT INTO nodes (run_id, node)
    SELECT run.id, g FROM run, generate_series(0, $4::integer - 1) AS g
  )
  SELECT id FROM run`;

/**
 * Stores a run and its nodes. A used idempotency key makes the insert a no-op (ON CONFLICT
 * waits for a concurrent insert of the same key to commit or roll back), and the existing
 * run's id is read afterwards, in a new snapshot that sees that commit. A used id rejects.
 */
export async function createRun(withClient: WithClient, run: NewRun): Promise<CreateResult> {
  return withClient((client) => insertRun(client, run));
}

/** Many runs in one transaction, so a batch of submissions waits for one commit. */
export async function createRuns(withClient: WithClient, runs: NewRun[]): Promise<CreateResult[]> {
  return withClient((client) =>
    transaction(client, async () => {
      const results: CreateResult[] = [];
      for (const run of runs) results.push(await insertRun(client, run));
      return results;
    }),
  );
}

async function insertRun(client: Client, run: NewRun): Promise<CreateResult> {
  const key = run.idempotencyKey ?? null;
  const inserted = await client.query<{ id: string }>({
    name: 'baton_create_run',
    text: CREATE_RUN,
    values: [
      run.id,
      run.name,
      run.document,
      run.nodeCount,
      run.createdAt,
      key,
      run.owner ?? null,
      run.leaseMs ?? null,
    ],
  });
  if (inserted.rows.length === 1) return { created: true, id: run.id };
  const existing = await client.query<{ id: string }>({
    name: 'baton_run_by_key',
    text: 'SELECT id FROM runs WHERE idempotency_key = $1::text',
    values: [key],
  });
  if (existing.rows.length !== 1) throw new Error(`no run with idempotency key ${key}`);
  return { created: false, id: existing.rows[0].id };
}

const SUMMARY = 'seq, id, name, state, node_count, created_at, started_at, stopped_at, error';
export const RECORD = `${SUMMARY}, document`;

export async function getRun(withClient: WithClient, id: string): Promise<RunRecord | undefined> {
  const { rows } = await withClient((client) =>
    client.query<Row>({
      name: 'baton_get_run',
      text: `SELECT ${RECORD} FROM runs WHERE id = $1::text`,
      values: [id],
    }),
  );
  return rows.length === 0 ? undefined : toRecord(rows[0]);
}

/**
 * Newest first by seq, `limit + 1` rows to learn whether another page follows (plans seen
 * with EXPLAIN on 100,000 runs):
 * - no filter: the seq index, backwards from the cursor;
 * - one state (the common filter): `state = $1`, a backward range scan of runs_state_seq that
 *   stops after the page when the state is rare (`= ANY` of a one-element array would read
 *   every run in the state, then sort), or the seq index skipping other states when common;
 * - several states: likewise, runs_state_seq's ranges then a sort, or the seq index.
 */
export async function listRuns(withClient: WithClient, query: ListQuery): Promise<RunPage> {
  const { limit } = query;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.cursor);
  const states = query.states === undefined ? undefined : [...new Set(query.states)];
  if (states !== undefined && states.length === 0) return { runs: [] };
  const { rows } = await withClient((client) => {
    if (states === undefined) {
      return client.query<Row>({
        name: 'baton_list_runs',
        text: `SELECT ${SUMMARY} FROM runs WHERE seq < $1::bigint
               ORDER BY seq DESC LIMIT $2::integer`,
        values: [before, limit + 1],
      });
    }
    if (states.length === 1) {
      return client.query<Row>({
        name: 'baton_list_runs_in_state',
        text: `SELECT ${SUMMARY} FROM runs WHERE state = $1::integer AND seq < $2::bigint
               ORDER BY seq DESC LIMIT $3::integer`,
        values: [states[0], before, limit + 1],
      });
    }
    return client.query<Row>({
      name: 'baton_list_runs_in_states',
      text: `SELECT ${SUMMARY} FROM runs WHERE state = ANY ($1::integer[]) AND seq < $2::bigint
             ORDER BY seq DESC LIMIT $3::integer`,
      values: [states, before, limit + 1],
    });
  });
  if (rows.length <= limit) return { runs: rows.map(toSummary) };
  const page = rows.slice(0, limit);
  return { runs: page.map(toSummary), nextCursor: encodeCursor(page[limit - 1].seq) };
}

/**
 * Initial or running runs, oldest first: to resume after a restart (a bitmap scan of
 * runs_state_seq's two ranges, then a sort of the few unfinished runs).
 */
export async function unfinishedRuns(withClient: WithClient): Promise<RunRecord[]> {
  const { rows } = await withClient((client) =>
    client.query<Row>({
      name: 'baton_unfinished_runs',
      text: `SELECT ${RECORD} FROM runs WHERE state IN (0, 2) ORDER BY seq`,
    }),
  );
  return rows.map(toRecord);
}

/**
 * Retention: deletes up to `limit` finished runs that stopped before `before` (epoch ms),
 * oldest first, their nodes with them (ON DELETE CASCADE). Returns how many went.
 */
export async function deleteFinishedBefore(
  withClient: WithClient,
  before: number,
  limit: number,
): Promise<number> {
  const { rowCount } = await withClient((client) =>
    client.query({
      name: 'baton_delete_finished',
      text: `DELETE FROM runs WHERE id IN (
               SELECT id FROM runs
               WHERE state NOT IN (0, 2) AND stopped_at < $1::bigint
               ORDER BY seq LIMIT $2::integer)`,
      values: [before, limit],
    }),
  );
  return rowCount ?? 0;
}

/**
 * One finished run, as retention deletes them (its nodes by ON DELETE CASCADE). The
 * second query only says why nothing was deleted.
 */
export async function deleteRun(withClient: WithClient, id: string): Promise<DeleteOutcome> {
  return withClient(async (client) => {
    const { rowCount } = await client.query({
      name: 'baton_delete_run',
      text: 'DELETE FROM runs WHERE id = $1::text AND state NOT IN (0, 2)',
      values: [id],
    });
    if ((rowCount ?? 0) > 0) return 'deleted';
    const { rows } = await client.query({
      name: 'baton_run_exists',
      text: 'SELECT 1 FROM runs WHERE id = $1::text',
      values: [id],
    });
    return rows.length > 0 ? 'unfinished' : 'missing';
  });
}

/** A runs row as selected by `SUMMARY` or `RECORD` (bigints are numbers, see db.ts). */
export interface Row {
  seq: number;
  id: string;
  name: string;
  state: number;
  node_count: number;
  created_at: number;
  started_at: number | null;
  stopped_at: number | null;
  error: string | null;
  document?: string;
}

function toSummary(row: Row): RunSummary {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    nodeCount: row.node_count,
    createdAt: row.created_at,
    startedAt: row.started_at,
    stoppedAt: row.stopped_at,
    error: row.error,
  };
}

export function toRecord(row: Row): RunRecord {
  return { ...toSummary(row), document: row.document as string };
}
