/**
 * Submission throughput through HTTP (autocannon, 50 connections, 10-node documents of `nil`
 * tasks, so the runs execute too): one replica on SQLite, then two replicas on one
 * PostgreSQL database (25 connections each). Goal: >= 1,000 accepted documents/s, p99 < 50 ms.
 * Then the run-takeover time: the replica driving a run is SIGKILLed and the time until the
 * other one has re-dispatched its running node is measured (lease 5 s, heartbeat 1 s).
 * Servers are real `baton serve` processes; PostgreSQL is the local one (BATON_TEST_PG_URL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { freshDatabase } from '../test/support/postgres.ts';
import { freePort } from '../test/support/processes.ts';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

const document = JSON.stringify({
  name: 'ten',
  edges: [
    [0, 1],
    [0, 2],
    [1, 3],
    [2, 3],
    [3, 4],
    [4, 5],
    [4, 6],
    [5, 7],
    [6, 8],
    [7, 9],
  ],
  nodes: Array.from({ length: 10 }, (_, id) => ({ id, name: `n${id}`, engine: 'nil' })),
});

async function serve(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [BATON, 'serve', '--port', String(port), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // request logs at info level would measure the logger: keep warnings only
    env: { ...process.env, CI: '1', BATON_LOG_LEVEL: 'warn' },
  });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`baton serve exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('baton serve did not start');
}

function load(url: string, connections: number) {
  return autocannon({
    url: `${url}/v1/tasks`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: document,
    connections,
    duration: SECONDS,
  });
}

function figures(prefix: string, results: autocannon.Result[]): Record<string, number> {
  const accepted = results.reduce((sum, r) => sum + r['2xx'], 0);
  const seconds = Math.max(...results.map((r) => r.duration));
  return {
    [`${prefix}.accepted_per_s`]: Math.round(accepted / seconds),
    [`${prefix}.p50.ms`]: Math.max(...results.map((r) => r.latency.p50)),
    [`${prefix}.p99.ms`]: Math.max(...results.map((r) => r.latency.p99)),
    [`${prefix}.errors`]: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
  };
}

/**
 * SIGKILLs the replica driving a run, then watches the run's lease in the database until the
 * other replica holds it; also reports when the run then finished.
 */
async function takeover(
  a: string,
  owner: ChildProcess,
  dbUrl: string,
): Promise<{ claimed: number; finished: number }> {
  const chain = JSON.stringify({
    name: 'takeover',
    edges: [[0, 1]],
    nodes: [
      { id: 0, name: 'long', engine: 'sleep', args: ['1'] },
      { id: 1, name: 'after', engine: 'nil' },
    ],
  });
  const res = await fetch(`${a}/v1/tasks`, {
    method: 'POST',
    body: chain,
    headers: { 'content-type': 'application/json' },
  });
  const { id } = (await res.json()) as { id: string };
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const lease = async () =>
      (await client.query('SELECT owner, state FROM runs WHERE id = $1', [id])).rows[0] as {
        owner: string | null;
        state: number;
      };
    await new Promise((r) => setTimeout(r, 300));
    const first = (await lease()).owner;
    const killedAt = Date.now();
    owner.kill('SIGKILL');
    let claimed = 0;
    for (;;) {
      const { owner: now, state } = await lease();
      if (!claimed && now !== null && now !== first) claimed = Date.now() - killedAt;
      if (state === 3) return { claimed, finished: Date.now() - killedAt };
      if (Date.now() - killedAt > 30_000) throw new Error('no takeover within 30 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await client.end();
  }
}

export async function benchSubmit(): Promise<Record<string, number>> {
  const result: Record<string, number> = { 'submit.seconds': SECONDS };
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-submit-'));
  const children: ChildProcess[] = [];
  const db = await freshDatabase();
  try {
    const solo = await serve(['--data', join(dir, 'sqlite')]);
    children.push(solo.child);
    Object.assign(result, figures('submit.sqlite_1_replica', [await load(solo.url, 50)]));
    solo.child.kill('SIGTERM');

    const a = await serve(['--db', db.url]);
    const b = await serve(['--db', db.url]);
    children.push(a.child, b.child);
    Object.assign(
      result,
      figures('submit.postgres_2_replicas', await Promise.all([load(a.url, 25), load(b.url, 25)])),
    );
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    // fresh replicas on a fresh database: the takeover alone, not a load backlog
    const db2 = await freshDatabase();
    try {
      const c = await serve(['--db', db2.url]);
      const d = await serve(['--db', db2.url]);
      children.push(c.child, d.child);
      const times = await takeover(c.url, c.child, db2.url);
      result['takeover.lease.ms'] = 5000;
      result['takeover.claimed_after_sigkill.ms'] = times.claimed;
      result['takeover.run_finished_after_sigkill.ms'] = times.finished;
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      await db2.drop();
    }
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

if (import.meta.main) console.log(JSON.stringify(await benchSubmit(), null, 2));
