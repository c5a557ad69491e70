/**
 * Large runs must not stall the server for others (a real server on loopback): GETs of a
 * 30,000-node run stream their answer a chunk per turn of the event loop, so /healthz is
 * answered while five of them are under way; SSE subscribers of one run share one snapshot;
 * listing runs reads none of their documents.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { call, Processes, settled } from '../support/processes.ts';
import { startTestServer, tempDir, waitForRun } from '../support/server.ts';

/** Node 0 sleeps for an hour; every other node waits for it, so nothing changes meanwhile. */
function waitingRun(nodes: number) {
  return {
    name: `big-${nodes}`,
    edges: Array.from({ length: nodes - 1 }, (_, i) => [0, i + 1]),
    nodes: Array.from({ length: nodes }, (_, id) => ({
      id,
      name: `node-${id}`,
      engine: id === 0 ? 'sleep' : 'nil',
      args: id === 0 ? ['3600'] : ['region=eu-west-1', `index=${id}`],
    })),
  };
}

async function submit(url: string, document: unknown): Promise<string> {
  const res = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(document),
  });
  const body = (await res.json()) as { id: string };
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

describe('large runs', () => {
  const dir = tempDir('baton-big-');
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ dataDir: dir.path });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('answers /healthz while five GETs of a 30,000-node run stream', async (t) => {
    let time = performance.now();
    const id = await submit(server.url, waitingRun(30_000));
    t.diagnostic(`submitted in ${Math.round(performance.now() - time)} ms`);
    time = performance.now();
    const order: string[] = [];
    // each GET: its head arrives, then its body is read to the end
    const gets = Array.from({ length: 5 }, async (_, i) => {
      const res = await fetch(`${server.url}/v1/tasks/${id}`);
      assert.equal(res.status, 200);
      return { i, body: res.text() };
    });
    const started = await Promise.all(gets);
    // every GET has begun answering; /healthz must not wait for any of them to end
    const finished = started.map(({ i, body }) =>
      body.then((text) => {
        order.push(`get ${i}`);
        return JSON.parse(text) as { id: string; nodes: unknown[] };
      }),
    );
    const health = await fetch(`${server.url}/healthz`);
    order.push('healthz');
    assert.equal(health.status, 200);
    const runs = await Promise.all(finished);
    t.diagnostic(`five GETs in ${Math.round(performance.now() - time)} ms`);
    assert.equal(order[0], 'healthz', `answered in the order ${order.join(', ')}`);
    for (const run of runs) {
      assert.equal(run.id, id);
      assert.equal(run.nodes.length, 30_000);
    }
    // the streamed answer is whole JSON with the live fields of every node
    const node = runs[0].nodes[29_999] as { name: string; args: string[]; state: number };
    assert.equal(node.name, 'node-29999');
    assert.deepEqual(node.args, ['region=eu-west-1', 'index=29999']);
    assert.equal(node.state, State.torun);
  });

  it('builds the SSE snapshot of a run once for all its subscribers', async () => {
    const id = await submit(server.url, waitingRun(20_000));
    await waitForRun(server.url, id, (run) => run.nodes[0].state === State.running);
    const builds = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^baton_sse_snapshots_total (\d+)$/m.exec(text)?.[1]);
    };
    const before = await builds();
    assert.ok(Number.isInteger(before), 'the metric baton_sse_snapshots_total is served');

    const subscribers = 20;
    const controller = new AbortController();
    const snapshots = await Promise.all(
      Array.from({ length: subscribers }, async () => {
        const res = await fetch(`${server.url}/v1/tasks/${id}/events`, {
          signal: controller.signal,
        });
        assert.equal(res.status, 200);
        // the first event, to the blank line that ends it
        const reader = res.body!.getReader();
        let text = '';
        const decoder = new TextDecoder();
        while (!text.includes('\n\n')) {
          const { value, done } = await reader.read();
          assert.ok(!done, 'the stream ended before its snapshot');
          text += decoder.decode(value, { stream: true });
        }
        return text.slice(0, text.indexOf('\n\n'));
      }),
    );
    controller.abort();
    assert.equal(await builds(), before + 1, `${subscribers} subscribers, one snapshot`);
    const first = snapshots[0];
    assert.match(first, /^id: 1\nevent: snapshot\ndata: /);
    const data = JSON.parse(first.slice(first.indexOf('data: ') + 6)) as {
      nodes: Array<{ state: number }>;
    };
    assert.equal(data.nodes.length, 20_000);
    assert.equal(data.nodes[0].state, State.running);
    for (const snapshot of snapshots) assert.equal(snapshot, first);

    // a change makes the next subscriber read a new one
    assert.equal((await fetch(`${server.url}/v1/tasks/${id}`, { method: 'DELETE' })).status, 202);
    await waitForRun(server.url, id);
    const res = await fetch(`${server.url}/v1/tasks/${id}/events`);
    const text = await res.text();
    assert.match(text, /"state":11/);
    assert.equal(await builds(), before + 2);
  });
});

describe('listing runs with large documents', () => {
  const dir = tempDir('baton-big-list-');
  const processes = new Processes();
  after(async () => {
    await processes.killAll();
    dir.remove();
  });

  it('reads none of their documents (bytes the `baton serve` process reads)', async () => {
    const server = await processes.serve(join(dir.path, 'data'));
    // 4 runs of 8 MB: 128 args of 64 KiB (the limit), far over SQLite's 2 MB page cache
    const arg = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 4; i++) {
      const document = {
        name: `heavy-${i}`,
        edges: [],
        nodes: [{ id: 0, name: 'n', engine: 'nil', args: Array(128).fill(arg) }],
      };
      const answer = await call(
        `${server.url}/v1/tasks`,
        { method: 'POST', body: JSON.stringify(document) },
        60_000,
      );
      assert.equal(answer.status, 202, answer.text);
    }
    await settled(server.url, 60_000);
    // rchar: every byte the event loop's thread read (files and sockets), from /proc; the
    // thread only, as the store's checkpoint worker reads the WAL beside it meanwhile
    const pid = server.child.pid;
    const bytesRead = () =>
      Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${pid}/io`, 'utf8'))?.[1]);
    const before = bytesRead();
    const list = await call(`${server.url}/v1/tasks?limit=10`);
    const read = bytesRead() - before;
    assert.equal(list.status, 200);
    const tasks = (list.json as { tasks: Array<{ name: string; nodes: number }> }).tasks;
    assert.deepEqual(
      tasks.map((t) => t.name),
      ['heavy-3', 'heavy-2', 'heavy-1', 'heavy-0'],
    );
    assert.ok(read < 1024 * 1024, `listing 4 runs of 8 MB read ${read} bytes`);
  });
});
