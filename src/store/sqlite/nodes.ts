/** Reading a run's nodes. */
import type { SQLOutputValue } from 'node:sqlite';
import type { NodeRecord } from '../store.ts';
import type { Conn } from './conn.ts';

/**
 * All nodes of a run in node order: one range scan of the primary key, no sort. Rows are read
 * as arrays (see `Conn.stmt`), as a run may have 10,000 nodes.
 */
export function getNodes(conn: Conn, runId: string): NodeRecord[] {
  const rows = conn
    .stmt(
      `SELECT node, state, attempts, started_at, stopped_at, output, error, executor, task_id
       FROM nodes WHERE run_id = ? ORDER BY node`,
      true,
    )
    .all(runId) as unknown as SQLOutputValue[][];
  return rows.map(toNode);
}

function toNode(row: SQLOutputValue[]): NodeRecord {
  const [node, state, attempts, startedAt, stoppedAt, output, error, executor, taskId] = row;
  return {
    node: node as number,
    state: state as number,
    attempts: attempts as number,
    startedAt: startedAt as number | null,
    stoppedAt: stoppedAt as number | null,
    output: output === null ? null : JSON.parse(output as string),
    error: error as string | null,
    executor: executor as string | null,
    taskId: taskId as string | null,
  };
}
