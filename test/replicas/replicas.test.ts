/**
 * Two orchestrator replicas on one PostgreSQL database, in this process: any replica answers
 * any call, live events cross replicas, a cancel sent to one reaches the run the other drives,
 * and a replica that stops heartbeating has its runs taken over.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { type RefusingExecutor, refusing, startRefusingExecutor } from '../support/failing-task.ts';
import { freshDatabase } from '../support/postgres.ts';
import { doc, getRun, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';

describe('two replicas on PostgreSQL', () => {
  const dir = tempDir();
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: RunningServer;
  let b: RunningServer;
  let executor: RefusingExecutor;
  before(async () => {
    db = await freshDatabase();
    executor = await startRefusingExecutor();
    const { executors } = executor;
    a = await startTestServer({ dataDir: dir.path, db: db.url, leaseMs: 1000, executors });
    b = await startTestServer({ dataDir: dir.path, db: db.url, leaseMs: 1000, executors });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await executor?.close();
    await db?.drop();
    dir.remove();
  });

  it('a run submitted to one replica is read, listed and streamed by the other', async () => {
    const { body } = await post(
      a.url,
      doc(
        [
          ['one', 'sleep', ['0.3']],
          ['two', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    const stream = await fetch(`${b.url}/v1/tasks/${body.id}/events`);
    const text = await stream.text(); // ends with the run's final state, relayed from a
    const events = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]));
    assert.equal(events[0].nodes.length, 2, 'a snapshot first');
    assert.ok(events.some((e) => e.node === 1 && e.state === State.success));
    const last = events.at(-1);
    assert.deepEqual([last.node, last.state], [undefined, State.success], 'ends with the run');
    const done = await getRun(b.url, body.id);
    assert.equal(done.state, State.success);
    const list = (await (await fetch(`${b.url}/v1/tasks`)).json()) as {
      tasks: Array<{ id: string }>;
    };
    assert.ok(list.tasks.some((t) => t.id === body.id));
    assert.ok(!b.orchestrator.drives(body.id), 'b never drove it');
  });

  it('a cancel sent to the other replica reaches the run', async () => {
    const { body } = await post(a.url, doc([['long', 'sleep', ['30']]]));
    await waitForRun(a.url, body.id, (r) => r.nodes[0].state === State.running);
    assert.ok(a.orchestrator.drives(body.id));
    const res = await fetch(`${b.url}/v1/tasks/${body.id}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.equal((await getRun(b.url, body.id)).state, State.canceled);
  });

  it('retry through either replica; a finished run is taken by whoever retries it', async () => {
    const { body } = await post(a.url, doc([['bad', 'shell', [], refusing()]]));
    await waitForRun(a.url, body.id);
    const res = await fetch(`${b.url}/v1/tasks/${body.id}/retry`, { method: 'POST' });
    assert.equal(res.status, 202);
    const again = await waitForRun(
      b.url,
      body.id,
      (r) => r.state === State.failure && r.nodes[0].attempts === 1 && r.stop_date !== null,
    );
    assert.equal(again.state, State.failure);
  });

  it('a replica that stops heartbeating loses its runs to the other, which finishes them', async () => {
    const c = await startTestServer({ dataDir: dir.path, db: db.url, leaseMs: 1000 });
    const { body } = await post(
      c.url,
      doc(
        [
          ['slow', 'sleep', ['1']],
          ['next', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    await waitForRun(c.url, body.id, (r) => r.nodes[0].state === State.running);
    // c vanishes without a word: no drain, no release (as under SIGKILL)
    await c.replica.stop();
    c.orchestrator.detach(body.id);
    await c.app.close();
    const t0 = Date.now();
    const done = await waitForRun(a.url, body.id, undefined, 15_000);
    assert.equal(done.state, State.success);
    assert.ok(a.orchestrator.drives(body.id) === false);
    const takeovers = a.replica.takeovers + b.replica.takeovers;
    assert.ok(takeovers >= 1, 'one of the replicas took the run over');
    assert.ok(Date.now() - t0 < 10_000, `taken over and finished in ${Date.now() - t0} ms`);
    await c.close();
  });
});

describe('retention', () => {
  it('deletes finished runs older than the retention at start and keeps the others', async (t) => {
    const dir = tempDir();
    t.after(() => dir.remove());
    const first = await startTestServer({ dataDir: dir.path });
    const { body } = await post(first.url, doc([['x', 'nil']]));
    await waitForRun(first.url, body.id);
    await first.close();
    await new Promise((r) => setTimeout(r, 50));
    const kept = await startTestServer({ dataDir: dir.path, retentionMs: 60_000 });
    assert.equal((await getRun(kept.url, body.id)).state, State.success, 'younger than 60 s: kept');
    await kept.close();
    const pruned = await startTestServer({ dataDir: dir.path, retentionMs: 10 });
    const res = await fetch(`${pruned.url}/v1/tasks/${body.id}`);
    assert.equal(res.status, 404, 'older than 10 ms: deleted');
    await pruned.close();
  });
});
