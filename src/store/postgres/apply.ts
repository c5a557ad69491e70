/**
 * The orchestrator's write path: everything one scheduling tick changed, for many runs, in one
 * transaction and few round trips. Changes are partial updates (`undefined` = absent, `null` =
 * clear), so:
 *
 * 1. Plan (pure, `planApply`): merge the changes per run and per (run, node), field by field,
 *    a later change winning; then group the merged changes by their set of present fields
 *    (their "shape": at most 2^4 run shapes and 2^8 node shapes, in practice a handful).
 * 2. Execute: one `UPDATE ... FROM unnest($1::text[], $2::integer[], ...)` per shape, whatever
 *    the number of runs or nodes in it. An UPDATE that touched fewer rows than it was sent
 *    names a run or node that does not exist: a second query finds which, and the error rolls
 *    everything back.
 *
 * A bulk change applies before the node changes of the same `RunChanges` but after those of
 * an earlier one for the same run, so merging stops there: such a bulk starts a new phase,
 * and phases execute in order (one phase in the usual tick, where each run appears once).
 * Run fields touch no node, so they merge across the whole array.
 *
 * Fencing: changes that carry a lease are first checked against the runs table in one
 * SELECT ... FOR UPDATE of every such run (`fence`): a run whose owner or epoch moved (another
 * replica took it over) has its changes dropped, and the row locks keep a claim from moving
 * the others until the commit. A claim skips locked rows (leases.ts), so it waits for
 * nothing; it takes the run after this commit, and reads what it wrote. A writer frozen in
 * the middle of a transaction loses its session after db.ts IDLE_IN_TRANSACTION_MS, and with
 * it the locks, so its runs can still be taken over.
 *
 * A tick of one run changing 1,000 nodes is then BEGIN, the fence, one UPDATE of the run, one
 * UPDATE of the nodes, COMMIT; see test/store/postgres.test.ts "timings" for the measurements.
 */
import { DatabaseError } from 'pg';
import type { NodeChange, RunChange, RunChanges } from '../store.ts';
import { type Client, transaction, type WithClient } from './db.ts';

interface Column<C> {
  field: keyof C & string;
  column: string;
  /** the SQL type of the column, cast of the array parameter */
  type: string;
  /** sent as JSON text */
  json?: true;
}

const RUN_COLUMNS: readonly Column<RunChange>[] = [
  { field: 'state', column: 'state', type: 'smallint' },
  { field: 'startedAt', column: 'started_at', type: 'bigint' },
  { field: 'stoppedAt', column: 'stopped_at', type: 'bigint' },
  { field: 'error', column: 'error', type: 'text' },
  { field: 'resumes', column: 'resumes', type: 'integer' },
];

const NODE_COLUMNS: readonly Column<NodeChange>[] = [
  { field: 'state', column: 'state', type: 'smallint' },
  { field: 'attempts', column: 'attempts', type: 'integer' },
  { field: 'startedAt', column: 'started_at', type: 'bigint' },
  { field: 'stoppedAt', column: 'stopped_at', type: 'bigint' },
  { field: 'output', column: 'output', type: 'jsonb', json: true },
  { field: 'error', column: 'error', type: 'text' },
  { field: 'executor', column: 'executor', type: 'text' },
  { field: 'taskId', column: 'task_id', type: 'text' },
];

export interface Phase {
  /** per run: the states to move and where to */
  bulks: Map<string, { from: number[]; to: number }>;
  /** per run, per node: the merged change */
  nodes: Map<string, Map<number, NodeChange>>;
}

export interface Plan {
  /** per run: the merged change of its own fields */
  runs: Map<string, RunChange>;
  phases: Phase[];
  /** runs that neither a run update nor a node change will prove exist */
  unchecked: string[];
}

/** Which fields of `columns` `change` carries, as a bit mask. */
function shapeOf<C extends object>(columns: readonly Column<C>[], change: C): number {
  let mask = 0;
  for (let i = 0; i < columns.length; i++) {
    if ((change as Record<string, unknown>)[columns[i].field] !== undefined) mask |= 1 << i;
  }
  return mask;
}

/** Copies the present fields of `change` onto `into` (a later change wins, per field). */
function merge<C extends object>(into: C, change: C): void {
  for (const [field, value] of Object.entries(change)) {
    if (value !== undefined) (into as Record<string, unknown>)[field] = value;
  }
}

/** Merges `changes` into phases (see the module comment); no I/O. */
export function planApply(changes: RunChanges[]): Plan {
  const runs = new Map<string, RunChange>();
  const phases: Phase[] = [{ bulks: new Map(), nodes: new Map() }];
  const seen = new Set<string>();
  for (const { runId, run, bulk, nodes } of changes) {
    seen.add(runId);
    if (run !== undefined) {
      const merged = runs.get(runId);
      if (merged === undefined) runs.set(runId, { ...run });
      else merge(merged, run);
    }
    let phase = phases[phases.length - 1];
    if (bulk !== undefined && bulk.from.length > 0) {
      if (phase.nodes.has(runId) || phase.bulks.has(runId)) {
        phase = { bulks: new Map(), nodes: new Map() };
        phases.push(phase);
      }
      phase.bulks.set(runId, { from: [...new Set(bulk.from)], to: bulk.to });
    }
    if (nodes.length === 0) continue;
    let byNode = phase.nodes.get(runId);
    if (byNode === undefined) {
      byNode = new Map();
      phase.nodes.set(runId, byNode);
    }
    for (const change of nodes) {
      const merged = byNode.get(change.node);
      if (merged === undefined) byNode.set(change.node, { ...change });
      else merge(merged, change);
    }
  }
  const proven = new Set<string>();
  for (const [runId, change] of runs) if (shapeOf(RUN_COLUMNS, change) !== 0) proven.add(runId);
  for (const phase of phases) for (const runId of phase.nodes.keys()) proven.add(runId);
  return { runs, phases, unchecked: [...seen].filter((runId) => !proven.has(runId)) };
}

/**
 * Applies all of `changes` or, on the first error, none of them; changes under a lease that
 * no longer holds their run are dropped. Returns the ids of the runs dropped so.
 */
export async function apply(withClient: WithClient, changes: RunChanges[]): Promise<string[]> {
  if (changes.length === 0) return [];
  return withClient((client) =>
    transaction(client, async () => {
      const lost = await fence(client, changes);
      const kept = lost.size === 0 ? changes : changes.filter((c) => !lost.has(c.runId));
      if (kept.length > 0) await execute(client, planApply(kept));
      return [...lost];
    }),
  );
}

/**
 * Locks the rows of the runs whose changes carry a lease, in id order, and returns those no
 * longer held under that lease (or gone). One statement, whatever the number of runs.
 */
async function fence(client: Client, changes: RunChanges[]): Promise<Set<string>> {
  const leases = new Map<string, { owner: string; epoch: number }>();
  for (const { runId, lease } of changes) if (lease) leases.set(runId, lease);
  if (leases.size === 0) return new Set();
  const ids = [...leases.keys()];
  const { rows } = await run(
    client,
    'fence',
    'baton_fence_runs',
    `SELECT r.id FROM runs AS r
     JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS c (id, owner, epoch)
       ON r.id = c.id AND r.owner = c.owner AND r.lease_epoch = c.epoch
     ORDER BY r.id
     FOR UPDATE OF r`,
    [ids, ids.map((id) => leases.get(id)!.owner), ids.map((id) => leases.get(id)!.epoch)],
  );
  const held = new Set(rows.map((row) => row.id as string));
  return new Set(ids.filter((id) => !held.has(id)));
}

async function execute(client: Client, plan: Plan): Promise<void> {
  for (const [mask, runIds] of groupByShape(RUN_COLUMNS, plan.runs)) {
    await updateRuns(client, mask, runIds, plan.runs);
  }
  if (plan.unchecked.length > 0) await checkRuns(client, plan.unchecked);
  for (const phase of plan.phases) {
    if (phase.bulks.size > 0) await bulkUpdate(client, phase.bulks);
    const entries: NodeEntry[] = [];
    for (const [runId, byNode] of phase.nodes) {
      for (const [node, change] of byNode) entries.push({ runId, node, change });
    }
    // each statement locks its rows in (run, node) order (a nested loop over the unnest, as
    // EXPLAIN shows), so concurrent applies on the same nodes mostly queue instead of
    // deadlocking; a deadlock that still happens (40P01) is transient: the caller retries
    entries.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : a.node - b.node));
    const groups = new Map<number, NodeEntry[]>();
    for (const entry of entries) {
      const mask = shapeOf(NODE_COLUMNS, entry.change);
      const group = groups.get(mask);
      if (group === undefined) groups.set(mask, [entry]);
      else group.push(entry);
    }
    for (const [mask, group] of groups) {
      if (mask === 0) await checkNodes(client, group);
      else await updateNodes(client, mask, group);
    }
  }
}

interface NodeEntry {
  runId: string;
  node: number;
  change: NodeChange;
}

function groupByShape<C extends object>(
  columns: readonly Column<C>[],
  changes: Map<string, C>,
): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const [id, change] of [...changes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const mask = shapeOf(columns, change);
    if (mask === 0) continue; // an empty run change: the run is checked with the unchecked
    const group = groups.get(mask);
    if (group === undefined) groups.set(mask, [id]);
    else group.push(id);
  }
  return groups;
}

/** `SET a = c.a, ...` and the `unnest` arguments and aliases for the columns in `mask`. */
function shapeSql<C>(columns: readonly Column<C>[], mask: number, keys: string[], first: number) {
  const present = columns.filter((_, i) => mask & (1 << i));
  return {
    present,
    set: present.map((c) => `${c.column} = c.${c.column}`).join(', '),
    args: present.map((c, i) => `$${first + i}::${c.type}[]`).join(', '),
    aliases: [...keys, ...present.map((c) => c.column)].join(', '),
  };
}

function columnValues<C>(column: Column<C>, changes: C[]): unknown[] {
  return changes.map((change) => {
    const value = change[column.field];
    return column.json && value !== null ? JSON.stringify(value) : value;
  });
}

async function updateRuns(
  client: Client,
  mask: number,
  ids: string[],
  runs: Map<string, RunChange>,
): Promise<void> {
  const sql = shapeSql(RUN_COLUMNS, mask, ['id'], 2);
  const changes = ids.map((id) => runs.get(id)!);
  const result = await run(
    client,
    `update runs (${sql.present.map((c) => c.field).join(', ')})`,
    `baton_update_runs_${mask}`,
    `UPDATE runs AS r SET ${sql.set}
     FROM unnest($1::text[], ${sql.args}) AS c (${sql.aliases})
     WHERE r.id = c.id`,
    [ids, ...sql.present.map((column) => columnValues(column, changes))],
  );
  if (result.rowCount !== ids.length) await checkRuns(client, ids);
}

/** Throws for the first of `ids` that names no run. */
async function checkRuns(client: Client, ids: string[]): Promise<void> {
  const { rows } = await run(
    client,
    'check runs',
    'baton_missing_runs',
    `SELECT c.id FROM unnest($1::text[]) AS c (id)
     WHERE NOT EXISTS (SELECT FROM runs WHERE runs.id = c.id)
     LIMIT 1`,
    [ids],
  );
  if (rows.length > 0) throw new Error(`run ${rows[0].id}: no such run`);
}

/**
 * Every bulk change of a phase in one statement: one `unnest` row per (run, state to move),
 * so a node matches at most one row (its run's `from` states are distinct).
 */
async function bulkUpdate(
  client: Client,
  bulks: Map<string, { from: number[]; to: number }>,
): Promise<void> {
  const runIds: string[] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (const [runId, bulk] of bulks) {
    for (const state of bulk.from) {
      runIds.push(runId);
      from.push(state);
      to.push(bulk.to);
    }
  }
  await run(
    client,
    'bulk update nodes',
    'baton_bulk_update_nodes',
    `UPDATE nodes AS n SET state = c.to_state
     FROM unnest($1::text[], $2::integer[], $3::smallint[]) AS c (run_id, from_state, to_state)
     WHERE n.run_id = c.run_id AND n.state = c.from_state`,
    [runIds, from, to],
  );
}

async function updateNodes(client: Client, mask: number, group: NodeEntry[]): Promise<void> {
  const sql = shapeSql(NODE_COLUMNS, mask, ['run_id', 'node'], 3);
  const changes = group.map((entry) => entry.change);
  const result = await run(
    client,
    `update nodes (${sql.present.map((c) => c.field).join(', ')})`,
    `baton_update_nodes_${mask}`,
    `UPDATE nodes AS n SET ${sql.set}
     FROM unnest($1::text[], $2::integer[], ${sql.args}) AS c (${sql.aliases})
     WHERE n.run_id = c.run_id AND n.node = c.node`,
    [
      group.map((entry) => entry.runId),
      group.map((entry) => entry.node),
      ...sql.present.map((column) => columnValues(column, changes)),
    ],
  );
  if (result.rowCount !== group.length) await checkNodes(client, group);
}

/** Throws for the first of `group` that names no node, or a node of no run. */
async function checkNodes(client: Client, group: NodeEntry[]): Promise<void> {
  const { rows } = await run(
    client,
    'check nodes',
    'baton_missing_nodes',
    `SELECT c.run_id, c.node, EXISTS (SELECT FROM runs WHERE runs.id = c.run_id) AS run_exists
     FROM unnest($1::text[], $2::integer[]) AS c (run_id, node)
     WHERE NOT EXISTS (SELECT FROM nodes WHERE nodes.run_id = c.run_id AND nodes.node = c.node)
     LIMIT 1`,
    [group.map((entry) => entry.runId), group.map((entry) => entry.node)],
  );
  if (rows.length === 0) return;
  const { run_id: runId, node, run_exists: runExists } = rows[0];
  throw new Error(
    runExists ? `run ${runId} node ${node}: no such node` : `run ${runId}: no such run`,
  );
}

/** Runs one statement, naming it (and PostgreSQL's detail, e.g. the failing row) on error. */
async function run(client: Client, label: string, name: string, text: string, values: unknown[]) {
  try {
    return await client.query({ name, text, values });
  } catch (err) {
    const detail =
      err instanceof DatabaseError && err.detail ? ` (${err.detail.slice(0, 300)})` : '';
    throw new Error(`${label}: ${(err as Error).message}${detail}`, { cause: err });
  }
}
