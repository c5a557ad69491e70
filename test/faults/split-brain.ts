/**
 * Split brain on PostgreSQL: two real `baton serve` replicas and a real `baton executor`. The
 * replica driving a run is frozen (SIGSTOP) until the other has taken the run over and made
 * progress with it, then thawed (SIGCONT): it comes back with a stale run in memory, results
 * of tasks that ended meanwhile, timers due. Its lease is fenced, so whatever it tries to
 * commit for the run is dropped and it lets the run go. Each round checks what a user sees:
 * every task ran exactly once (one line each in a file), every node is final, and the run's
 * state agrees with its nodes' states, also once the thawed replica has noticed.
 *
 * Used by split-brain.test.ts (a short version in `npm test`) and split-brain.fault.ts
 * (more rounds, `npm run test:faults`).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { layeredEdges } from '../../bench/generate.ts';
import { State, stateName } from '../../src/graph/states.ts';
import { freshDatabase } from '../support/postgres.ts';
import { type BatonProcess, call, eventually, Processes } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';
import { tlsExecutor } from '../support/tls-executor.ts';

export interface SplitBrainOptions {
  rounds: number;
  /** nodes of each round's graph (shell tasks appending a line) */
  nodes: number;
  /** the replicas' lease (BATON_LEASE_MS); the frozen one is taken over after about this */
  leaseMs: number;
}

/** nodes per layer of the graphs, as many as the executor runs at once */
const WIDTH = 8;

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

/** Runs `rounds` freeze/thaw rounds, alternating the frozen replica; returns what it saw. */
export async function splitBrain(t: TestContext, options: SplitBrainOptions) {
  const dir = tempDir('baton-split-');
  const db = await freshDatabase();
  const processes = new Processes();
  const sql = new pg.Client({ connectionString: db.url });
  t.after(async () => {
    // SIGKILL ends a stopped process too
    await processes.killAll();
    await sql.end().catch(() => {});
    await db.drop();
    dir.remove();
  });
  const { certs, args } = await tlsExecutor(
    dir.path,
    { 'append.sh': '#!/bin/sh\nsleep 0.3\necho "$1" >> "$2"\n' },
    ['--concurrency', String(WIDTH)],
  );
  const executor = await processes.start(args);
  const replicaArgs = ['--db', db.url, '--executor', `default=${executor.url}`, '--tls', certs];
  const env = { BATON_LEASE_MS: String(options.leaseMs) };
  const replicas = [
    await processes.serve(dir.path, replicaArgs, { env }),
    await processes.serve(dir.path, replicaArgs, { env }),
  ];
  await sql.connect();
  const owner = async (id: string) =>
    (await sql.query<{ owner: string | null }>('SELECT owner FROM runs WHERE id = $1', [id]))
      .rows[0]?.owner;

  const succeeded = async (id: string) =>
    (
      await sql.query<{ count: number }>(
        'SELECT count(*)::integer AS count FROM nodes WHERE run_id = $1 AND state = $2',
        [id, State.success],
      )
    ).rows[0].count;

  const report: Array<{ round: number; takenOverAt: number; thawedAt: number }> = [];
  for (let round = 0; round < options.rounds; round++) {
    const frozen = replicas[round % 2];
    const other = replicas[(round + 1) % 2];
    const out = join(dir.path, `lines-${round}.txt`);
    const n = options.nodes;
    const document = {
      name: `split-${round}`,
      edges: layeredEdges(n, WIDTH, 2, round + 1),
      nodes: Array.from({ length: n }, (_, id) => ({
        id,
        name: `line-${id}`,
        engine: 'shell',
        artifact: 'append.sh',
        args: [String(id), out],
      })),
    };
    const posted = await call(`${frozen.url}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify(document),
    });
    assert.equal(posted.status, 202, posted.text);
    const id = (posted.json as { id: string }).id;
    const first = await owner(id);
    assert.ok(first, 'the submitting replica holds the run');

    // freeze the owner with tasks in flight (half of the second layer done)
    await eventually(
      'the run to get going',
      async () => (lines(out).length >= WIDTH + WIDTH / 2 ? true : undefined),
      60_000,
      20,
    );
    frozen.child.kill('SIGSTOP');
    let takenOverAt = 0;
    try {
      await eventually(
        'the other replica to take the run over',
        async () => ((await owner(id)) !== first ? true : undefined),
        60_000,
        50,
      );
      takenOverAt = lines(out).length;
      // and to commit the next layer as done: what the frozen one still thinks is to run
      await eventually(
        'the new owner to make progress',
        async () => ((await succeeded(id)) >= Math.min(n, 3 * WIDTH) ? true : undefined),
        60_000,
        20,
      );
    } finally {
      frozen.child.kill('SIGCONT');
    }
    const thawedAt = lines(out).length;

    // the thawed replica notices it lost the run (its heartbeat, or a fenced commit)
    await eventually(
      'the thawed replica to let the run go',
      async () => (lostLease(frozen, id) ? true : undefined),
      60_000,
      50,
    );
    const done = await eventually(
      'the run to finish',
      async () => {
        const res = await call(`${other.url}/v1/tasks/${id}`);
        const run = res.json as { state: number } | undefined;
        return res.status === 200 && run && run.state >= State.success ? run : undefined;
      },
      120_000,
      100,
    );
    assert.ok(done);
    // read back through both replicas and the database once the thawed one is known to be
    // done with the run
    for (const replica of replicas) await consistent(replica, id, n);
    const states = await sql.query<{ state: number }>(
      'SELECT state FROM nodes WHERE run_id = $1 ORDER BY node',
      [id],
    );
    const notFinal = states.rows.filter((row) => row.state < State.success);
    assert.deepEqual(notFinal, [], 'every node final in the database');
    const written = lines(out);
    assert.equal(new Set(written).size, n, `round ${round}: every task ran`);
    assert.equal(written.length, n, `round ${round}: no task ran twice`);
    assert.ok(frozen.alive() && other.alive(), 'both replicas alive');
    report.push({ round, takenOverAt, thawedAt });
  }
  return report;
}

/** Whether the replica logged that it lost run `id`'s lease. */
function lostLease(replica: BatonProcess, id: string): boolean {
  return replica
    .output()
    .split('\n')
    .some((line) => line.includes(id) && line.includes('lost the lease'));
}

/** The run as `replica` serves it: finished, every node final, run state agreeing. */
async function consistent(replica: BatonProcess, id: string, n: number): Promise<void> {
  const res = await call(`${replica.url}/v1/tasks/${id}`);
  assert.equal(res.status, 200, res.text);
  const run = res.json as { state: number; nodes: Array<{ name: string; state: number }> };
  assert.equal(run.nodes.length, n);
  const unfinished = run.nodes.filter((node) => node.state < State.success);
  assert.deepEqual(unfinished, [], `every node final (via ${replica.url})`);
  const failed = run.nodes.filter((node) => node.state !== State.success);
  // without `depends`, a run succeeds iff every node did
  assert.equal(
    stateName(run.state),
    failed.length === 0 ? 'success' : 'failure',
    `run state agrees with its nodes: ${JSON.stringify(failed)}`,
  );
  assert.equal(run.state, State.success, 'nothing failed: every task ran and succeeded');
}
