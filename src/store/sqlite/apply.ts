/**
 * The orchestrator's write path: everything one scheduling tick changed, for many runs, in one
 * transaction. Per run: the run's own fields, then the bulk state change, then each node.
 *
 * A change sets only the fields it carries (`undefined` = absent, `null` = clear). SQL cannot
 * say "leave this column alone" with a bound parameter (COALESCE(?, col) cannot set NULL), so
 * each set of present fields gets its own UPDATE, built once and prepared once per connection:
 * at most 2^8 node shapes and 2^5 run shapes, in practice a handful.
 *
 * Fencing: the caller says which leases still hold their runs (`holds`, in memory: one
 * process uses the file); changes under another lease are dropped. node:sqlite being
 * synchronous, nothing can move a lease between that check and the commit.
 */
import type { SQLInputValue } from 'node:sqlite';
import type { Lease, NodeChange, RunChange, RunChanges } from '../store.ts';
import { type Conn, transaction } from './conn.ts';

interface Field<C> {
  field: keyof C & string;
  column: string;
  /** stored as JSON text */
  json?: true;
}

interface Update {
  sql: string;
  values: SQLInputValue[];
}

/** Builds `UPDATE table SET <present columns> WHERE <where>` for a change, cached by shape. */
function partialUpdate<C extends object>(
  table: string,
  fields: readonly Field<C>[],
  where: string,
): (change: C) => Update | undefined {
  const sqlByMask = new Map<number, string>();
  return (change) => {
    let mask = 0;
    const values: SQLInputValue[] = [];
    for (let i = 0; i < fields.length; i++) {
      const value = (change as Record<string, unknown>)[fields[i].field];
      if (value === undefined) continue;
      mask |= 1 << i;
      // anything else that is not an SQL value fails to bind, which fails the transaction
      values.push(
        (fields[i].json && value !== null ? JSON.stringify(value) : value) as SQLInputValue,
      );
    }
    if (mask === 0) return undefined;
    let sql = sqlByMask.get(mask);
    if (sql === undefined) {
      const set = fields.filter((_, i) => mask & (1 << i)).map((f) => `${f.column} = ?`);
      sql = `UPDATE ${table} SET ${set.join(', ')} WHERE ${where}`;
      sqlByMask.set(mask, sql);
    }
    return { sql, values };
  };
}

const runUpdate = partialUpdate<RunChange>(
  'runs',
  [
    { field: 'state', column: 'state' },
    { field: 'startedAt', column: 'started_at' },
    { field: 'stoppedAt', column: 'stopped_at' },
    { field: 'error', column: 'error' },
    { field: 'resumes', column: 'resumes' },
  ],
  'id = ?',
);

const nodeUpdate = partialUpdate<NodeChange>(
  'nodes',
  [
    { field: 'state', column: 'state' },
    { field: 'attempts', column: 'attempts' },
    { field: 'startedAt', column: 'started_at' },
    { field: 'stoppedAt', column: 'stopped_at' },
    { field: 'output', column: 'output', json: true },
    { field: 'error', column: 'error' },
    { field: 'executor', column: 'executor' },
    { field: 'taskId', column: 'task_id' },
  ],
  'run_id = ? AND node = ?',
);

/**
 * Applies all of `changes` or, on the first error, none of them; changes whose lease `holds`
 * denies are dropped. Returns the ids of the runs dropped so.
 */
export function apply(
  conn: Conn,
  changes: RunChanges[],
  holds: (runId: string, lease: Lease) => boolean = () => true,
): string[] {
  if (changes.length === 0) return [];
  const lost = new Set<string>();
  transaction(conn, () => {
    for (const change of changes) {
      if (change.lease && !holds(change.runId, change.lease)) lost.add(change.runId);
      else if (!lost.has(change.runId)) applyRun(conn, change);
    }
  });
  return [...lost];
}

function applyRun(conn: Conn, { runId, run, bulk, nodes }: RunChanges): void {
  let node: number | undefined;
  try {
    const update = run === undefined ? undefined : runUpdate(run);
    // A node row found below proves its run exists (foreign key): the run is looked up on
    // its own only when nothing else would tell, or to name what is missing.
    if (update !== undefined) {
      if (conn.stmt(update.sql).run(...update.values, runId).changes !== 1) {
        throw new Error('no such run');
      }
    } else if (nodes.length === 0 && !runExists(conn, runId)) {
      throw new Error('no such run');
    }
    if (bulk !== undefined && bulk.from.length > 0) {
      conn.stmt(bulkUpdate(bulk.from.length)).run(bulk.to, runId, ...bulk.from);
    }
    for (const change of nodes) {
      node = change.node;
      const update = nodeUpdate(change);
      const found =
        update === undefined
          ? conn.stmt('SELECT 1 FROM nodes WHERE run_id = ? AND node = ?').get(runId, node) !==
            undefined
          : conn.stmt(update.sql).run(...update.values, runId, node).changes === 1;
      if (!found) {
        if (runExists(conn, runId)) throw new Error('no such node');
        node = undefined;
        throw new Error('no such run');
      }
    }
  } catch (err) {
    const where = node === undefined ? `run ${runId}` : `run ${runId} node ${node}`;
    throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
  }
}

function runExists(conn: Conn, runId: string): boolean {
  return conn.stmt('SELECT 1 FROM runs WHERE id = ?').get(runId) !== undefined;
}

/**
 * The bulk state change for `count` source states, one comparison each: an IN list of more
 * than two values, or from json_each, makes SQLite fill a temporary index on every execution
 * (30 µs instead of 10 for a new run's ten nodes). Almost always one state, at most the eight.
 */
function bulkUpdate(count: number): string {
  let sql = bulkSql[count];
  if (sql === undefined) {
    const states = Array.from({ length: count }, () => 'state = ?').join(' OR ');
    sql = `UPDATE nodes SET state = ? WHERE run_id = ? AND (${states})`;
    bulkSql[count] = sql;
  }
  return sql;
}
const bulkSql: string[] = [];
