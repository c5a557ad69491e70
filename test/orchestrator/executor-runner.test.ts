/**
 * The orchestrator's side of a POST that breaks: real HTTP servers on loopback standing in
 * for an executor that restarts mid-answer, or is down.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { createExecutorClient } from '../../src/executor/client.ts';
import type { GorchNode } from '../../src/graph/model.ts';
import { State } from '../../src/graph/states.ts';
import { executorRunner } from '../../src/orchestrator/executor-runner.ts';
import type { Attempt } from '../../src/orchestrator/runners.ts';

const node: GorchNode = {
  id: 0,
  name: 'deploy',
  engine: 'shell',
  artifact: 'deploy.sh',
  args: [],
  output: {},
  target: '',
} as unknown as GorchNode;

function attempt(key: string): Attempt {
  return {
    runId: 'run-1',
    node,
    attempt: 1,
    key,
    signal: new AbortController().signal,
    reattach: false,
  };
}

async function listen(t: TestContext, server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text) as Record<string, unknown>;
}

function runnerFor(t: TestContext, url: string) {
  const client = createExecutorClient({ url, timeoutMs: 2000 });
  t.after(() => client.close());
  return executorRunner({ clients: new Map([['default', client]]), defaultName: 'default' });
}

test('a POST whose connection breaks after it arrived is sent again with the same key', async (t) => {
  const keys: unknown[] = [];
  const server = createServer(async (req, res) => {
    const sent = await body(req);
    keys.push(sent.idempotency_key);
    // the first time, the executor "restarts" before answering (it may have accepted)
    if (keys.length === 1) return req.socket.destroy();
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'task-1',
        name: 'deploy',
        state: State.success,
        output: {},
        exit_code: 0,
        error: null,
        started_at: null,
        stopped_at: null,
      }),
    );
  });
  const runner = runnerFor(t, await listen(t, server));
  const outcome = await runner.run(attempt('run-1/0/1/123'));
  assert.equal(outcome.state, State.success, outcome.error);
  assert.deepEqual(keys, ['run-1/0/1/123', 'run-1/0/1/123']);
});

test('a POST that never reached an executor (refused) fails at once, not after a minute', async (t) => {
  const server = createServer();
  const url = await listen(t, server);
  await new Promise((resolve) => server.close(resolve)); // nothing listens there any more
  const started = Date.now();
  const outcome = await runnerFor(t, url).run(attempt('run-1/0/1/456'));
  assert.equal(outcome.state, State.failure);
  assert.match(outcome.error ?? '', /connection refused/);
  assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
});
