/** Reading a run's nodes. */
import type { NodeRecord } from '../store.ts';
import type { WithClient } from './db.ts';

type Row = [
  node: number,
  state: number,
  attempts: number,
  startedAt: number | null,
  stoppedAt: number | null,
  output: Record<string, string> | null,
  error: string | null,
  executor: string | null,
  taskId: string | null,
];

/**
 * All nodes of a run in node order: one range scan of the primary key. Rows come as arrays
 * (no per-row object with column names to build and read back), as a run may have 10,000
 * nodes; jsonb `output` arrives parsed by pg.
 */
export async function getNodes(withClient: WithClient, runId: string): Promise<NodeRecord[]> {
  const { rows } = await withClient((client) =>
    client.query<Row>({
      name: 'baton_get_nodes',
      text: `SELECT node, state, attempts, started_at, stopped_at, output, error, executor, task_id
             FROM nodes WHERE run_id = $1::text ORDER BY node`,
      values: [runId],
      rowMode: 'array',
    }),
  );
  return rows.map(toNode);
}

function toNode(row: Row): NodeRecord {
  const [node, state, attempts, startedAt, stoppedAt, output, error, executor, taskId] = row;
  return { node, state, attempts, startedAt, stoppedAt, output, error, executor, taskId };
}
