/**
 * Executor faults (`npm run test:faults`), with real `baton serve` and `baton executor`
 * processes and fake executors on loopback:
 *   - the executor process SIGKILLed while tasks run: restarted on the same data directory
 *     with `retries` the run succeeds and no task finishes twice; restarted without retries
 *     the tasks fail with "executor restarted while the task was running"; never restarted,
 *     they fail with "connection refused" once the orchestrator gives up waiting (60 s);
 *     restarted only once its tasks ended, their success (recorded by each program's
 *     wrapper) stands and nothing runs again;
 *   - executors that hang or answer garbage: every node fails within a bound set by
 *     src/executor/client.ts (30 s for an answer, 10 s to connect, a long poll 30 s + 30 s,
 *     retried for 60 s) and independent nodes go on; an executor dripping its answer one byte
 *     at a time (or sending 1xx interim answers forever) fails the node within 45 s; a NUL
 *     character in a task's error or output fails the node and the replica lives;
 *   - the executor killed the instant its tasks start: no orphan runs beside the retry.
 * BATON_SUITE_SCALE=short leaves out the cases that wait on client.ts's 30 s and 60 s bounds.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { writeCerts } from '../../src/cli/certs.ts';
import { State } from '../../src/graph/states.ts';
import { freshDatabase } from '../support/postgres.ts';
import { Processes, suiteScale } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';
import {
  duration,
  executorKilledMidTask,
  finished,
  perTarget,
  run,
  submit,
  withFakeExecutors,
} from './executor-faults.ts';
import { type FakeServer, fakeExecutor, garbageServer, handlers, silentServer } from './fakes.ts';

// BATON_SUITE_SCALE=short leaves out what waits on the client's own 30 s and 60 s bounds
const full = suiteScale() === 'full';
const long = full
  ? false
  : 'BATON_SUITE_SCALE=short: waits on the 30 s and 60 s bounds of client.ts';

describe('executor SIGKILLed mid-task', () => {
  it('restarted on the same data directory, with retries: the run succeeds', async (t) => {
    await executorKilledMidTask(t, {
      tasks: 12,
      restartAfterMs: 500,
      retries: { count: 2, backoff_s: 0.2 },
      finishMs: 60_000,
    });
  });

  it('killed the instant its tasks start, restarted: no task runs beside its retry (5 rounds)', async (t) => {
    // busy threads on every core, so the executor is often descheduled right after a spawn
    const hogs = Array.from(
      { length: availableParallelism() * 2 },
      () =>
        new Worker('const end = Date.now() + 60_000; while (Date.now() < end);', { eval: true }),
    );
    t.after(() => Promise.all(hogs.map((w) => w.terminate())));
    const failures: string[] = [];
    for (let round = 0; round < 5; round++) {
      await executorKilledMidTask(t, {
        tasks: 8,
        taskSeconds: 4,
        killAtOnce: true,
        restartAfterMs: 0,
        retries: { count: 2, backoff_s: 0.1 },
        finishMs: 60_000,
      }).catch((err: Error) => failures.push(`round ${round}: ${err.message}`));
    }
    assert.deepEqual(failures, []);
  });

  it('restarted after its tasks ended: their recorded success stands, nothing runs again', async (t) => {
    await executorKilledMidTask(t, {
      tasks: 12,
      restartAfterTasksEnd: true,
      finishMs: 60_000,
    });
  });

  it('restarted, without retries: the tasks fail clearly, the rest goes on', async (t) => {
    await executorKilledMidTask(t, { tasks: 12, restartAfterMs: 500, finishMs: 60_000 });
  });

  it('never restarted: the tasks fail with "connection refused" within 90 s', {
    skip: long,
  }, async (t) => {
    const done = await executorKilledMidTask(t, { tasks: 4, finishMs: 120_000 });
    for (const node of done.nodes.slice(0, 4))
      assert.ok(duration(node) < 90, `${duration(node)} s`);
  });
});

async function fakes(t: { after(fn: () => Promise<void>): void }) {
  const servers: Record<string, FakeServer> = {
    silent: await silentServer(),
    garbage: await garbageServer(),
    'not-json': await fakeExecutor(handlers.notJson),
    'no-id': await fakeExecutor(handlers.noId),
    huge: await fakeExecutor(handlers.huge),
    'wait-hangs': await fakeExecutor(handlers.waitHangs),
    drip: await fakeExecutor(handlers.dripSubmit),
    'early-hints': await fakeExecutor(handlers.earlyHintsForever),
    'nul-status': await fakeExecutor(handlers.nulInStatus),
  };
  t.after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.close()));
  });
  return servers;
}

describe('executors that hang or answer garbage', () => {
  it('every node fails within its bound; the orchestrator keeps serving', async (t) => {
    const f = await fakes(t);
    const { server } = await withFakeExecutors(t, {
      'silent-http': f.silent.url('http'),
      'silent-https': f.silent.url('https'),
      garbage: f.garbage.url('http'),
      'garbage-https': f.garbage.url('https'),
      'not-json': f['not-json'].url(),
      'no-id': f['no-id'].url(),
      huge: f.huge.url(),
      'wait-hangs': f['wait-hangs'].url(),
    });
    // seconds each node may take to fail (what client.ts and executor-runner.ts allow, + slack)
    const bounds: Record<string, [bound: number, error: RegExp]> = {
      // 30 s for an answer, plus the 1 s the POST lets the task run (executor-runner.ts)
      'silent-http': [45, /no answer within 31 s/],
      'silent-https': [25, /could not connect in time|no answer/],
      garbage: [5, /not HTTP|connection closed/],
      'garbage-https': [5, /TLS|connection closed|not HTTP/i],
      'not-json': [5, /not JSON/],
      'no-id': [5, /without a task id/],
      huge: [10, /over 4 MiB/],
      // two long polls of 30 s wait + 30 s answer time each, then the 60 s give-up
      'wait-hangs': [150, /no answer within 60 s/],
    };
    // short: only what fails within seconds
    const targets = Object.keys(bounds).filter((target) => full || bounds[target][0] <= 25);
    const id = await submit(server.url, perTarget(targets));
    const done = await finished(server.url, id, 180_000);
    for (const [i, target] of targets.entries()) {
      const node = done.nodes[i];
      const [bound, error] = bounds[target];
      t.diagnostic(`${target}: ${node.state} after ${duration(node)} s: ${node.error}`);
      assert.equal(node.state, State.failure, target);
      assert.match(node.error ?? '', error, target);
      assert.ok(duration(node) <= bound, `${target} took ${duration(node)} s (bound ${bound} s)`);
    }
    assert.equal(done.nodes[targets.length].state, State.success);
    assert.ok(server.alive(), server.output());
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it('an executor dripping its answer, or sending 1xx answers forever: the node fails within 45 s', async (t) => {
    const f = await fakes(t);
    const { server } = await withFakeExecutors(t, {
      drip: f.drip.url(),
      'early-hints': f['early-hints'].url(),
    });
    const id = await submit(server.url, perTarget(['drip', 'early-hints']));
    await new Promise((r) => setTimeout(r, 45_000));
    const now = await run(server.url, id);
    t.diagnostic(`after 45 s: ${JSON.stringify(now.nodes.map((n) => [n.name, n.state, n.error]))}`);
    assert.equal(now.nodes[0].state, State.failure, 'drip: still running after 45 s');
    assert.equal(now.nodes[1].state, State.failure, 'early-hints: still running after 45 s');
  });

  it('a NUL character in a task status on SQLite: the node fails, its error kept', async (t) => {
    const f = await fakes(t);
    const { server } = await withFakeExecutors(t, { nul: f['nul-status'].url() });
    const id = await submit(server.url, perTarget(['nul'], { output: { ip: '' } }));
    const done = await finished(server.url, id, 30_000);
    assert.equal(done.nodes[0].state, State.failure);
    // NUL is scrubbed (PostgreSQL could not store it): the rest of the error is kept
    assert.equal(done.nodes[0].error, 'failed: bad\uFFFDbyte');
  });

  it('a NUL character in a task status on PostgreSQL: the node fails and the replica lives', async (t) => {
    const f = await fakes(t);
    const db = await freshDatabase();
    const tmp = tempDir();
    const processes = new Processes();
    t.after(async () => {
      await processes.killAll();
      await db.drop();
      tmp.remove();
    });
    const certs = join(tmp.path, 'certs');
    await writeCerts(certs);
    const server = await processes.serve(tmp.path, [
      '--db',
      db.url,
      '--executor',
      `nul=${f['nul-status'].url()}`,
      '--tls',
      certs,
    ]);
    const id = await submit(server.url, perTarget(['nul'], { output: { ip: '' } }));
    const outcome = await Promise.race([
      server.exited.then(({ code }) => `baton serve exited with ${code}`),
      finished(server.url, id, 30_000).then((r) => r),
    ]);
    assert.notEqual(typeof outcome, 'string', String(outcome));
    assert.equal((outcome as Awaited<ReturnType<typeof run>>).nodes[0].state, State.failure);
  });

  it('a node timeout or a cancel ends a node stuck on a silent executor at once', async (t) => {
    const f = await fakes(t);
    const { server } = await withFakeExecutors(t, { silent: f.silent.url('http') });
    const timed = await submit(server.url, perTarget(['silent'], { timeout: 1 }));
    const stuck = await submit(server.url, perTarget(['silent']));
    const done = await finished(server.url, timed, 10_000);
    assert.equal(done.nodes[0].state, State.timeout);
    await run(server.url, stuck);
    const cancel = await fetch(`${server.url}/v1/tasks/${stuck}`, { method: 'DELETE' });
    assert.equal(cancel.status, 202);
    const canceled = await finished(server.url, stuck, 5_000);
    assert.equal(canceled.state, State.canceled);
    assert.equal(canceled.nodes[0].state, State.canceled);
  });
});
