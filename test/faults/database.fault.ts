/**
 * PostgreSQL restarted under load (`npm run test:faults` only: it restarts the shared local
 * server, so it never runs in `npm test`, and test:faults runs its files one at a time).
 *
 * Two `baton serve` replicas share a fresh database; one drives a 60-node graph of `sleep`
 * tasks while clients submit small documents to both, each under its own Idempotency-Key and
 * retried with that key until answered 202 (what a careful client does with an answer lost to
 * a failure). Meanwhile `pg_ctlcluster ... restart` stops and starts the server. Afterwards:
 * both replicas are alive, the graph and every run answered 202 finished successfully, and
 * the database holds exactly one run per key (a retried submission never made a second run).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { layeredEdges } from '../../bench/generate.ts';
import { freshDatabase } from '../support/postgres.ts';
import {
  call,
  listAllRuns,
  Processes,
  percentile,
  settled,
  suiteScale,
} from '../support/processes.ts';
import { tempDir } from '../support/server.ts';

const exec = promisify(execFile);
const full = suiteScale() === 'full';
const CLUSTER = readdirSync('/etc/postgresql')[0];

async function pgReady(): Promise<boolean> {
  return exec('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']).then(
    () => true,
    () => false,
  );
}

async function restartPostgres(): Promise<number> {
  const started = performance.now();
  await exec('pg_ctlcluster', ['--skip-systemctl-redirect', CLUSTER, 'main', 'restart'], {
    timeout: 60_000,
  });
  for (let i = 0; i < 300 && !(await pgReady()); i++) await delay(100);
  return Math.round(performance.now() - started);
}

const small = (key: string) =>
  JSON.stringify({
    name: `during-restart-${key}`,
    edges: [
      [0, 1],
      [1, 2],
    ],
    nodes: [
      { id: 0, name: 'a', engine: 'nil' },
      { id: 1, name: 'b', engine: 'sleep', args: ['0.05'] },
      { id: 2, name: 'c', engine: 'nil' },
    ],
  });

it('PostgreSQL restarted under load: every accepted run finishes, no 202 is lost', async (t) => {
  const seconds = full ? 20 : 8;
  const dir = tempDir();
  const db = await freshDatabase();
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    // leave the shared server up for whatever runs next
    if (!(await pgReady())) {
      await exec('pg_ctlcluster', ['--skip-systemctl-redirect', CLUSTER, 'main', 'start']).catch(
        () => {},
      );
    }
    for (let i = 0; i < 300 && !(await pgReady()); i++) await delay(100);
    await db.drop();
    dir.remove();
  });
  const quiet = { env: { BATON_LOG_LEVEL: 'warn' } };
  const a = await processes.serve(dir.path, ['--db', db.url], quiet);
  const b = await processes.serve(dir.path, ['--db', db.url], quiet);

  const n = 60;
  const graph = await call(`${a.url}/v1/tasks`, {
    method: 'POST',
    body: JSON.stringify({
      name: 'long-graph',
      edges: layeredEdges(n, 12, 2, 3),
      nodes: Array.from({ length: n }, (_, id) => ({
        id,
        name: `s${id}`,
        engine: 'sleep',
        args: ['0.2'],
      })),
    }),
  });
  assert.equal(graph.status, 202, graph.text);
  const graphId = (graph.json as { id: string }).id;

  // clients: submit under a key, retry with the same key until 202 (bounded)
  const ids = new Map<string, string>();
  const failures = new Map<string, number>();
  const latencies: number[] = [];
  let longestOutageMs = 0;
  const end = Date.now() + seconds * 1000;
  const client = async (c: number) => {
    for (let i = 0; Date.now() < end; i++) {
      const key = `client-${c}-${i}`;
      const url = (c + i) % 2 === 0 ? a.url : b.url;
      const firstTry = performance.now();
      for (;;) {
        const started = performance.now();
        const answer = await call(
          `${url}/v1/tasks`,
          { method: 'POST', body: small(key), headers: { 'idempotency-key': key } },
          15_000,
        );
        latencies.push(performance.now() - started);
        if (answer.status === 202) {
          ids.set(key, (answer.json as { id: string }).id);
          longestOutageMs = Math.max(longestOutageMs, performance.now() - firstTry);
          break;
        }
        const kind = answer.status === 0 ? answer.text.slice(0, 60) : String(answer.status);
        failures.set(kind, (failures.get(kind) ?? 0) + 1);
        assert.ok(
          answer.status === 0 || answer.status >= 500,
          `a valid submission answered ${answer.status}: ${answer.text}`,
        );
        assert.ok(performance.now() - firstTry < 60_000, `${key} never accepted`);
        await delay(100);
      }
    }
  };
  const clients = Array.from({ length: 8 }, (_, c) => client(c));
  await delay(3000);
  const restartMs = await restartPostgres();
  await Promise.all(clients);

  // afterwards: alive, everything finished, one run per key
  assert.ok(a.alive(), `replica a died:\n${a.output()}`);
  assert.ok(b.alive(), `replica b died:\n${b.output()}`);
  await settled(a.url, 120_000);
  const runs = await listAllRuns(b.url);
  assert.equal(runs.get(graphId)?.state, 'success', `the graph: ${runs.get(graphId)?.state}`);
  for (const [key, id] of ids) {
    assert.equal(runs.get(id)?.state, 'success', `run ${id} (${key}): ${runs.get(id)?.state}`);
  }
  assert.equal(new Set(ids.values()).size, ids.size, 'one id per key');
  assert.equal(runs.size, ids.size + 1, 'no run besides the graph and one per key');
  const figures = {
    restart_ms: restartMs,
    accepted: ids.size,
    failed_tries: Object.fromEntries(failures),
    longest_wait_for_a_202_ms: Math.round(longestOutageMs),
    submit_p50_ms: percentile(latencies, 50),
    submit_p99_ms: percentile(latencies, 99),
  };
  console.log(JSON.stringify({ fault: 'postgres_restart', ...figures }));
  t.diagnostic(JSON.stringify(figures));
});
