/** The executor service's HTTP contract: validation, idempotency, restarts, long polls, queueing. */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Agent } from 'undici';
import { createExecutorClient, ExecutorError } from '../../src/executor/client.ts';
import { drivers } from '../../src/executor/drivers/index.ts';
import { HttpAllowlist } from '../../src/executor/http-allow.ts';
import { startExecutor } from '../../src/executor/server.ts';
import { taskEnvironment } from '../../src/executor/task-env.ts';
import { RESTARTED_ERROR, TaskService } from '../../src/executor/task-service.ts';
import { TaskStore } from '../../src/executor/task-store.ts';
import { State } from '../../src/graph/states.ts';
import {
  freshKey,
  harness,
  isAlive,
  node,
  readPids,
  SCRIPTS,
  tempDir,
  until,
  writeScripts,
} from './helpers.ts';

async function post(url: string, body: unknown) {
  const res = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as { code?: number; message?: string; id?: string },
  };
}

test('ping answers success', async (t) => {
  const h = await harness(t);
  await h.client.ping();
  const res = await fetch(`${h.executor.url}/v1/ping`);
  assert.deepEqual(await res.json(), { status: 'success' });
  assert.equal(res.headers.get('baton-features'), 'batch');
});

test('bad bodies get 400 with a precise message', async (t) => {
  const h = await harness(t);
  const good = { ...node({ engine: 'nil' }), idempotency_key: 'k' };
  const cases: [unknown, RegExp][] = [
    ['{not json', /JSON/],
    [{ ...good, idempotency_key: undefined }, /required properties idempotency_key/],
    [
      { ...good, engine: 'telepathy' },
      /unknown engine "telepathy"; known engines: nil, sleep, shell, ssh, toscassh, ansible, http/,
    ],
    [{ ...good, args: 'x' }, /body\/args must be array/],
    [{ ...good, args: [1] }, /body\/args\/0 must be string/],
    [{ ...good, id: '0' }, /body\/id must be integer/],
    [{ ...good, output: { ip: 1 } }, /body\/output\/ip must be string/],
    [{ ...good, timeout: -1 }, /body\/timeout/],
  ];
  for (const [body, message] of cases) {
    const res = await post(h.executor.url, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.code, 400);
    assert.match(res.body.message ?? '', message);
  }
});

test('unknown ids and routes get JSON 404s', async (t) => {
  const h = await harness(t);
  for (const [method, p] of [
    ['GET', '/v1/tasks/nope'],
    ['GET', '/v1/tasks/nope/log'],
    ['DELETE', '/v1/tasks/nope'],
    ['GET', '/v2/whatever'],
  ]) {
    const res = await fetch(`${h.executor.url}${p}`, { method });
    assert.equal(res.status, 404, p);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 404);
    assert.ok(body.message.length > 0);
  }
  await assert.rejects(h.client.wait('nope', 0), (err: ExecutorError) => {
    assert.ok(err instanceof ExecutorError);
    assert.equal(err.status, 404);
    assert.match(err.message, /no task "nope"/);
    return true;
  });
});

test('POST ?wait answers with the final status of a task that ends in time, else its status then', async (t) => {
  const h = await harness(t);
  await writeScripts(h.root, SCRIPTS);
  const quick = await h.client.submit(
    node({ engine: 'shell', artifact: 'outputs.sh', output: { ip: '' } }),
    freshKey(),
    5,
  );
  assert.equal(quick.status?.state, State.success, quick.status?.error ?? '');
  assert.deepEqual(quick.status?.output, { ip: '10.1.2.4' });
  assert.equal(quick.status?.id, quick.id);

  const started = Date.now();
  const slow = await h.client.submit(node({ engine: 'sleep', args: ['3'] }), freshKey(), 0.3);
  const waited = Date.now() - started;
  assert.equal(slow.status?.state, State.running);
  assert.ok(waited >= 250 && waited < 2500, `answered after ${waited} ms`);
  // without wait the answer comes at once, with the task's status as accepted
  const now = await h.client.submit(node({ engine: 'sleep', args: ['3'] }), freshKey());
  assert.ok(
    now.status?.state === State.torun || now.status?.state === State.running,
    `state ${now.status?.state}`,
  );
  await h.client.cancel(slow.id);
  await h.client.cancel(now.id);
});

test('the same idempotency key gives the same id and runs once', async (t) => {
  const h = await harness(t);
  await writeScripts(h.root, SCRIPTS);
  const runs = path.join(await tempDir(t), 'runs');
  const n = node({ engine: 'shell', artifact: 'append.sh', args: [runs, '0.2'] });
  const key = freshKey();
  const ids = await Promise.all([
    h.client.submit(n, key),
    h.client.submit(n, key),
    h.client.submit(n, key),
  ]);
  assert.equal(new Set(ids.map((r) => r.id)).size, 1);
  const status = await h.client.wait(ids[0].id, 30);
  assert.equal(status.state, State.success);
  assert.equal((await h.client.submit(n, key)).id, ids[0].id);
  assert.equal(readFileSync(runs, 'utf8'), 'run\n');
  // a different node under a used key is a client bug: refused, not silently mapped
  await assert.rejects(
    h.client.submit({ ...n, args: [runs, '5'] }, key),
    (err: ExecutorError) => err.status === 409,
  );
});

test('idempotency survives an executor restart', async (t) => {
  const root = await tempDir(t);
  const dataDir = await tempDir(t);
  await writeScripts(root, SCRIPTS);
  const runs = path.join(await tempDir(t), 'runs');
  const n = node({ engine: 'shell', artifact: 'append.sh', args: [runs, '0'], output: {} });
  const key = freshKey();

  const first = await startExecutor({
    name: 'a',
    host: '127.0.0.1',
    port: 0,
    tls: null,
    dataDir,
    artifactRoot: root,
  });
  const c1 = createExecutorClient({ url: first.url });
  const { id } = await c1.submit(n, key);
  assert.equal((await c1.wait(id, 30)).state, State.success);
  await c1.close();
  await first.close();

  const second = await startExecutor({
    name: 'a',
    host: '127.0.0.1',
    port: 0,
    tls: null,
    dataDir,
    artifactRoot: root,
  });
  const c2 = createExecutorClient({ url: second.url });
  t.after(async () => {
    await c2.close();
    await second.close();
  });
  assert.equal((await c2.submit(n, key)).id, id);
  const status = await c2.wait(id, 0);
  assert.equal(status.state, State.success);
  assert.equal(readFileSync(runs, 'utf8'), 'run\n');
});

test('a task running when the executor dies is a failure after restart', async (t) => {
  const root = await tempDir(t);
  const dataDir = await tempDir(t);
  await writeScripts(root, SCRIPTS);
  const pidFile = path.join(await tempDir(t), 'pids');
  const fixture = fileURLToPath(new URL('fixtures/run-executor.ts', import.meta.url));
  const child = spawn(process.execPath, [fixture, dataDir, root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`executor exited with ${code}`)));
  });
  const c1 = createExecutorClient({ url });
  const key = freshKey();
  const n = node({ engine: 'shell', artifact: 'forever.sh', args: [pidFile] });
  const { id } = await c1.submit(n, key);
  await until(() => readPids(pidFile, 2).length === 2, 'the task to start');
  const pids = readPids(pidFile, 2);
  // the task's process group outlives the executor: clean it up whatever happens
  t.after(() => {
    try {
      process.kill(-pids[0], 'SIGKILL');
    } catch {}
  });
  await c1.close();
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(pids.every(isAlive), 'the task outlived its executor');

  const h = await harness(t, { root, dataDir });
  const status = await h.client.wait(id, 0);
  assert.equal(status.state, State.failure);
  assert.equal(status.error, RESTARTED_ERROR);
  assert.ok(status.stopped_at);
  // the process group the dead executor left behind was killed on start-up
  await until(() => !pids.some(isAlive), 'the orphaned group to be killed', 3000);
  // and the key still names that task: it is never run a second time
  assert.equal((await h.client.submit(n, key)).id, id);
  assert.equal(readPids(pidFile, 1).length, 2);
});

test('wait long-polls and answers as soon as the task ends', async (t) => {
  const h = await harness(t);
  const { id } = await h.client.submit(node({ engine: 'sleep', args: ['0.4'] }), freshKey());
  const started = Date.now();
  const status = await h.client.wait(id, 30);
  const took = Date.now() - started;
  assert.equal(status.state, State.success);
  assert.ok(took >= 300 && took < 5000, `took ${took} ms, not the 30 s asked`);
  // without wait the answer is immediate, final or not
  const { id: slow } = await h.client.submit(node({ engine: 'sleep', args: ['5'] }), freshKey());
  const t0 = Date.now();
  // queued (1) until its record is fsynced, then running (2)
  const first = (await h.client.wait(slow, 0)).state;
  assert.ok(first === State.torun || first === State.running, `state ${first}`);
  assert.equal((await h.client.wait(slow, 0.3)).state, State.running);
  assert.ok(Date.now() - t0 < 3000);
  await h.client.cancel(slow);
});

test('closing the executor answers pending long polls', async (t) => {
  const h = await harness(t);
  const { id } = await h.client.submit(node({ engine: 'sleep', args: ['30'] }), freshKey());
  const pending = h.client.wait(id, 60);
  await until(async () => (await h.client.wait(id, 0)).state === State.running, 'running');
  const t0 = Date.now();
  await h.executor.close();
  const status = await pending;
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(status.state, State.failure);
  assert.match(status.error ?? '', /shut down/);
});

test('with concurrency 1 extra tasks queue as torun and run in order', async (t) => {
  const h = await harness(t, { concurrency: 1 });
  const a = await h.client.submit(node({ engine: 'sleep', args: ['0.3'] }), freshKey());
  const b = await h.client.submit(node({ engine: 'sleep', args: ['0.1'] }), freshKey());
  const c = await h.client.submit(node({ engine: 'nil' }), freshKey());
  await until(async () => (await h.client.wait(a.id, 0)).state === State.running, 'a to run');
  assert.equal((await h.client.wait(b.id, 0)).state, State.torun);
  assert.equal((await h.client.wait(b.id, 0)).started_at, null);
  // a queued task can be cancelled without ever starting
  const canceled = await h.client.cancel(c.id);
  assert.equal(canceled.state, State.canceled);
  assert.equal(canceled.started_at, null);
  const sa = await h.client.wait(a.id, 30);
  const sb = await h.client.wait(b.id, 30);
  assert.equal(sb.state, State.success);
  assert.ok(Date.parse(sb.started_at!) >= Date.parse(sa.stopped_at!));
});

test('nil and sleep drivers', async (t) => {
  const h = await harness(t);
  assert.equal((await h.run(node({ engine: 'nil' }))).state, State.success);
  assert.equal((await h.run(node({ engine: 'sleep' }))).state, State.success);
  // as gorchestrator's: text that is not a number means a random 0-1 s, and `result` is set
  const soon = await h.run(node({ name: 'nap', engine: 'sleep', args: ['soon'] }));
  assert.equal(soon.state, State.success);
  assert.match(soon.output.result ?? '', /^nap_\d{10}$/);
  const bad = await h.run(node({ engine: 'sleep', args: ['-5'] }));
  assert.equal(bad.state, State.failure);
  assert.equal(bad.error, 'sleep: args[0] must be a number of seconds >= 0, got -5');
  const timedOut = await h.run(node({ engine: 'sleep', args: ['10'], timeout: 0.2 }));
  assert.equal(timedOut.state, State.timeout);
});

test('bad options fail at start-up naming the option', async (t) => {
  const dataDir = await tempDir(t);
  await assert.rejects(
    startExecutor({
      name: 'x',
      host: '127.0.0.1',
      port: 0,
      tls: null,
      dataDir,
      artifactRoot: '/nonexistent/art',
    }),
    /artifact root \/nonexistent\/art is not a directory/,
  );
  await assert.rejects(
    startExecutor({
      name: 'x',
      host: '127.0.0.1',
      port: 0,
      tls: null,
      dataDir,
      artifactRoot: dataDir,
      concurrency: 0,
    }),
    /concurrency must be a positive integer/,
  );
});

/** A TaskService on `store` (a real one with a faulty disk), closed after the test. */
function serviceOn(t: TestContext, store: TaskStore, artifactRoot: string): TaskService {
  const service = new TaskService({
    store,
    drivers,
    artifactRoot,
    concurrency: 4,
    killGraceMs: 1000,
    spawner: 'posix',
    env: taskEnvironment(process.env),
    http: { allowlist: new HttpAllowlist([]), dispatcher: new Agent() },
    logger: pino({ enabled: false }),
  });
  t.after(async () => {
    await service.shutdown();
    store.close();
  });
  return service;
}

test('a task whose record cannot be made durable fails unrun, and the service goes on', async (t) => {
  const root = await tempDir(t);
  const dataDir = await tempDir(t);
  await writeScripts(root, SCRIPTS);
  const ran = path.join(await tempDir(t), 'runs');
  let fsyncFails = true;
  // a real store whose fsync fails (EIO) on demand, as on a dying disk
  class DyingDisk extends TaskStore {
    override async sync(): Promise<void> {
      if (fsyncFails) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      return super.sync();
    }
  }
  const service = serviceOn(t, new DyingDisk(dataDir), root);
  const appendOnce = node({ engine: 'shell', artifact: 'append.sh', args: [ran, '0'] });
  const lost = service.submit(appendOnce, freshKey());
  assert.equal(lost.kind, 'accepted');
  const failed = await service.wait(lost.id, 5000);
  assert.equal(failed?.state, State.failure);
  assert.match(
    failed?.error ?? '',
    /not started: the executor could not make its record durable \(EIO/,
  );
  assert.throws(() => readFileSync(ran), /ENOENT/, 'the task ran');

  fsyncFails = false;
  const kept = service.submit(appendOnce, freshKey());
  assert.equal((await service.wait(kept.id, 5000))?.state, State.success);
  assert.equal(readFileSync(ran, 'utf8'), 'run\n');
});

test('a task starts only after its running record is fsynced; canceled before that, it never starts', async (t) => {
  const root = await tempDir(t);
  await writeScripts(root, SCRIPTS);
  const ran = path.join(await tempDir(t), 'runs');
  let syncs = 0;
  // a real store on a slow disk: each fsync takes 300 ms
  class SlowDisk extends TaskStore {
    override async sync(): Promise<void> {
      syncs++;
      await new Promise((r) => setTimeout(r, 300));
      return super.sync();
    }
  }
  const service = serviceOn(t, new SlowDisk(await tempDir(t)), root);
  const append = node({ engine: 'shell', artifact: 'append.sh', args: [ran, '0'] });
  const doomed = service.submit(append, freshKey());
  const kept = [service.submit(append, freshKey()), service.submit(append, freshKey())];
  await new Promise((r) => setTimeout(r, 100));
  assert.throws(() => readFileSync(ran), /ENOENT/, 'a task ran before its record was durable');
  const canceled = await service.cancel(doomed.id);
  assert.equal(canceled?.state, State.canceled);
  for (const { id } of kept) assert.equal((await service.wait(id, 5000))?.state, State.success);
  assert.equal(readFileSync(ran, 'utf8'), 'run\nrun\n');
  assert.equal(syncs, 1, 'the three records shared one fsync');
});
