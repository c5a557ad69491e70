/**
 * Several tasks per request (POST /v1/tasks/batch), against a real executor: each task is
 * accepted exactly as POST /v1/tasks accepts one (the same idempotency key names the same
 * task, which never runs twice), each is answered on its own line as soon as it is final, and
 * the client sends what is submitted in the same tick together, falling back to one POST per
 * task for an executor without batches.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { createExecutorClient, ExecutorError } from '../../src/executor/client.ts';
import type { TaskStatus } from '../../src/executor/types.ts';
import { State } from '../../src/graph/states.ts';
import { freshKey, harness, node, SCRIPTS, tempDir, writeScripts } from './helpers.ts';

interface Line {
  i: number;
  status?: TaskStatus;
  error?: { code: number; message: string };
}

/** POSTs a batch and reads its answer line by line, noting when each line came. */
async function batch(url: string, tasks: object[], wait = 0) {
  const res = await fetch(`${url}/v1/tasks/batch${wait > 0 ? `?wait=${wait}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tasks }),
  });
  if (res.status !== 202) return { status: res.status, body: await res.json(), lines: [] };
  const lines: (Line & { at: number })[] = [];
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n')) {
      lines.push({ ...(JSON.parse(rest.slice(0, end)) as Line), at: Date.now() });
      rest = rest.slice(end + 1);
    }
  }
  assert.equal(rest, '', 'the answer ends with a whole line');
  return { status: res.status, body: undefined, lines };
}

/** Counts the requests an executor gets, by method and path without the query. */
function countRequests(server: http.Server): Map<string, number> {
  const counts = new Map<string, number>();
  server.on('request', (req: http.IncomingMessage) => {
    const key = `${req.method} ${req.url?.split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return counts;
}

test('a batch answers each task on its own line, as soon as it is final', async (t) => {
  const h = await harness(t);
  await writeScripts(h.root, SCRIPTS);
  const started = Date.now();
  const { status, lines } = await batch(
    h.executor.url,
    [
      { ...node({ engine: 'sleep', args: ['0.6'] }), idempotency_key: freshKey() },
      { ...node({ engine: 'nil' }), idempotency_key: freshKey() },
      { ...node({ engine: 'shell', artifact: 'fail.sh' }), idempotency_key: freshKey() },
      { ...node({ engine: 'telepathy' }), idempotency_key: freshKey() },
      { ...node({ engine: 'sleep', args: ['30'] }), idempotency_key: freshKey() },
    ],
    2,
  );
  assert.equal(status, 202);
  const byIndex = new Map(lines.map((l) => [l.i, l]));
  assert.deepEqual([...byIndex.keys()].sort(), [0, 1, 2, 3, 4], 'one line per task');
  assert.equal(lines.length, 5);
  assert.equal(byIndex.get(0)?.status?.state, State.success);
  assert.equal(byIndex.get(1)?.status?.state, State.success);
  assert.equal(byIndex.get(2)?.status?.state, State.failure);
  assert.equal(byIndex.get(2)?.status?.error, 'exited with code 3: disk on fire');
  assert.deepEqual(byIndex.get(3)?.error, {
    code: 400,
    message:
      'body/engine: unknown engine "telepathy"; known engines: nil, sleep, shell, ssh, toscassh, ansible, http',
  });
  // not final within the wait: answered as it is then, like POST /v1/tasks?wait=2
  assert.equal(byIndex.get(4)?.status?.state, State.running);
  // the quick ones did not wait for the slow ones
  assert.ok(byIndex.get(1)!.at < byIndex.get(0)!.at, 'nil answered before the 0.6 s sleep');
  assert.ok(byIndex.get(0)!.at - started < 1900, 'the 0.6 s sleep answered before the wait');
  await h.client.cancel(byIndex.get(4)!.status!.id);
});

test('a key names one task whatever the requests: it never runs twice', async (t) => {
  const h = await harness(t);
  await writeScripts(h.root, SCRIPTS);
  const runs = path.join(await tempDir(t), 'runs');
  const task = { ...node({ engine: 'shell', artifact: 'append.sh', args: [runs, '0'] }) };
  const key = freshKey();
  // the same key twice in one batch, then again in another batch and in a single POST
  const first = await batch(
    h.executor.url,
    [
      { ...task, idempotency_key: key },
      { ...task, idempotency_key: key },
    ],
    5,
  );
  const ids = first.lines.map((l) => l.status?.id);
  assert.equal(ids.length, 2);
  assert.equal(ids[0], ids[1]);
  const again = await batch(h.executor.url, [{ ...task, idempotency_key: key }], 5);
  assert.equal(again.lines[0].status?.id, ids[0]);
  assert.equal(again.lines[0].status?.state, State.success);
  const single = await h.client.submit(node(task), key);
  assert.equal(single.id, ids[0]);
  assert.equal(readFileSync(runs, 'utf8'), 'run\n', 'one run for one key');
  // the key with another node is refused for that task alone
  const conflict = await batch(h.executor.url, [
    { ...task, args: [runs, '1'], idempotency_key: key },
    { ...node({ engine: 'nil' }), idempotency_key: freshKey() },
  ]);
  const lines = new Map(conflict.lines.map((l) => [l.i, l]));
  assert.equal(lines.get(0)?.error?.code, 409);
  assert.match(
    lines.get(0)?.error?.message ?? '',
    new RegExp(`was already used for task ${ids[0]} with a different node`),
  );
  assert.ok(lines.get(1)?.status?.id);
});

test('bad batches are refused whole with 400', async (t) => {
  const h = await harness(t);
  const empty = await batch(h.executor.url, []);
  assert.equal(empty.status, 400);
  assert.match(JSON.stringify(empty.body), /body\/tasks must not have fewer than 1 items/);
  const keyless = await batch(h.executor.url, [node({ engine: 'nil' })]);
  assert.equal(keyless.status, 400);
  assert.match(JSON.stringify(keyless.body), /idempotency_key/);
});

test('the client sends what is submitted in one tick in one request', async (t) => {
  const h = await harness(t);
  await writeScripts(h.root, SCRIPTS);
  const counts = countRequests(h.executor.app.server);
  await h.client.ping(); // answered with a header saying the executor takes batches
  const keys = Array.from({ length: 5 }, () => freshKey());
  const answers = await Promise.all(
    keys.map((key, i) => h.client.submit(node({ engine: 'nil', name: `n${i}` }), key, 5)),
  );
  assert.equal(counts.get('POST /v1/tasks/batch'), 1);
  assert.equal(counts.get('POST /v1/tasks'), undefined);
  assert.equal(new Set(answers.map((a) => a.id)).size, 5);
  for (const [i, a] of answers.entries()) {
    assert.equal(a.status?.state, State.success);
    assert.equal(a.status?.name, `n${i}`, 'each submission gets its own task');
  }
  // one refused task fails alone, with the executor's reason
  const [good, bad] = await Promise.allSettled([
    h.client.submit(node({ engine: 'nil' }), freshKey(), 5),
    h.client.submit(node({ engine: 'nil', name: 'other' }), keys[0], 5),
  ]);
  assert.equal(good.status, 'fulfilled');
  assert.equal(bad.status, 'rejected');
  const err = (bad as PromiseRejectedResult).reason as ExecutorError;
  assert.ok(err instanceof ExecutorError);
  assert.equal(err.kind, 'status');
  assert.equal(err.status, 409);
  assert.match(err.message, /POST \/v1\/tasks\/batch\?wait=5 answered 409: idempotency_key/);
  assert.equal(counts.get('POST /v1/tasks/batch'), 2);
});

/** A minimal executor of the older kind, one task per POST, saying it takes batches or not. */
async function olderExecutor(t: TestContext, features?: string) {
  const counts = new Map<string, number>();
  let n = 0;
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url?.split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (features) res.setHeader('baton-features', features);
      if (key === 'GET /v1/ping') return res.end(JSON.stringify({ status: 'success' }));
      if (key === 'POST /v1/tasks') {
        const { name } = JSON.parse(body) as { name: string };
        res.statusCode = 202;
        return res.end(JSON.stringify({ id: `task-${n++}`, name, state: State.success }));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 404, message: `no route ${key}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const client = createExecutorClient({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
  t.after(() => client.close());
  return { client, counts };
}

test('an executor without batches gets one POST per task', async (t) => {
  const { client, counts } = await olderExecutor(t);
  await client.ping();
  const answers = await Promise.all(
    [0, 1, 2].map((i) => client.submit(node({ engine: 'nil', name: `n${i}` }), freshKey(), 1)),
  );
  assert.deepEqual(
    answers.map((a) => a.status?.name),
    ['n0', 'n1', 'n2'],
  );
  assert.equal(counts.get('POST /v1/tasks'), 3);
  assert.equal(counts.get('POST /v1/tasks/batch'), undefined);
});

test('an executor that says it takes batches but answers 404 gets them one by one', async (t) => {
  // e.g. a proxy in front of it that does not route the batch path
  const { client, counts } = await olderExecutor(t, 'batch');
  await client.ping();
  const answers = await Promise.all(
    [0, 1].map((i) => client.submit(node({ engine: 'nil', name: `n${i}` }), freshKey(), 1)),
  );
  assert.deepEqual(
    answers.map((a) => a.status?.name),
    ['n0', 'n1'],
  );
  assert.equal(counts.get('POST /v1/tasks/batch'), 1);
  assert.equal(counts.get('POST /v1/tasks'), 2);
  // and later ones go one by one at once
  await client.submit(node({ engine: 'nil' }), freshKey(), 1);
  assert.equal(counts.get('POST /v1/tasks/batch'), 1);
  assert.equal(counts.get('POST /v1/tasks'), 3);
});

test('a batch answer that is not one line per task fails the submissions, not the client', async (t) => {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('baton-features', 'batch');
      if (req.url === '/v1/ping') return res.end('{"status":"success"}');
      res.writeHead(202, { 'content-type': 'application/x-ndjson' });
      // a line that is no object, then one for a task the batch does not have
      res.end('null\n{"i":7,"status":{}}\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const client = createExecutorClient({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
  t.after(() => client.close());
  await client.ping();
  const answers = await Promise.allSettled([
    client.submit(node({ engine: 'nil' }), freshKey(), 1),
    client.submit(node({ engine: 'nil' }), freshKey(), 1),
  ]);
  for (const answer of answers) {
    assert.equal(answer.status, 'rejected');
    const err = (answer as PromiseRejectedResult).reason as ExecutorError;
    assert.ok(err instanceof ExecutorError, String(err));
    assert.equal(err.kind, 'protocol');
    assert.match(
      err.message,
      /POST \/v1\/tasks\/batch\?wait=1 answered a line for no task of the batch: null/,
    );
  }
});
