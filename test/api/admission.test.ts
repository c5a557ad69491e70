/** Pools, run parallelism and priorities on a real server, seen through the API. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { getRun, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';

const sleepers = (count: number, seconds: string, extra: Record<string, unknown> = {}) =>
  Array.from({ length: count }, (_, id) => ({
    id,
    name: `s${id}`,
    engine: 'sleep',
    args: [seconds],
    ...extra,
  }));

describe('admission through the API', () => {
  const dir = tempDir();
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ dataDir: dir.path, pools: { gpu: 1 } });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('a pool of one slot runs its nodes one at a time and says why the others wait', async () => {
    const { body } = await post(server.url, {
      name: 'gpu',
      edges: [],
      nodes: sleepers(3, '0.2', { pool: 'gpu' }),
    });
    let most = 0;
    let reason: string | null = null;
    for (;;) {
      const run = await getRun(server.url, body.id);
      most = Math.max(most, run.nodes.filter((n) => n.state === State.running).length);
      const nodes = run.nodes as Array<{ waiting?: string | null }>;
      reason ??= nodes.find((n) => n.waiting)?.waiting ?? null;
      if (run.state === State.success) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(most, 1);
    assert.equal(reason, 'pool gpu: 1/1 slots in use');
  });

  it('run parallelism caps the nodes of a run in flight', async () => {
    const { body } = await post(server.url, {
      name: 'par',
      parallelism: 2,
      edges: [],
      nodes: sleepers(5, '0.15'),
    });
    let most = 0;
    for (;;) {
      const run = await getRun(server.url, body.id);
      most = Math.max(most, run.nodes.filter((n) => n.state === State.running).length);
      if (run.state === State.success) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(most, 2);
  });

  it('a higher-priority run overtakes a waiting lower one in a contended pool', async () => {
    const low = await post(server.url, {
      name: 'low',
      priority: 10,
      edges: [],
      nodes: sleepers(3, '0.3', { pool: 'gpu' }),
    });
    await waitForRun(server.url, low.body.id, (r) =>
      r.nodes.some((n) => n.state === State.running),
    );
    const high = await post(server.url, {
      name: 'high',
      priority: 90,
      edges: [],
      nodes: sleepers(1, '0.05', { pool: 'gpu' }),
    });
    const highDone = await waitForRun(server.url, high.body.id);
    const lowDone = await waitForRun(server.url, low.body.id);
    const lowStarts = lowDone.nodes.map((n) => Date.parse(n.start_date!)).sort((a, b) => a - b);
    const highStart = Date.parse(highDone.nodes[0].start_date!);
    assert.ok(
      highStart < lowStarts[1],
      'high started right after the first low node, before the second',
    );
  });

  it('an unknown pool is a 400 naming the node', async () => {
    const res = await post(server.url, { edges: [], nodes: sleepers(1, '0', { pool: 'tpu' }) });
    assert.equal(res.status, 400);
    assert.equal(res.body.path, 'nodes[0].pool');
    assert.match(res.body.message, /unknown pool "tpu"; the pools are gpu/);
  });
});
