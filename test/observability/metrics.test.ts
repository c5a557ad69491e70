/**
 * /metrics on a real server: runs of known shapes move the counters by exactly what they
 * should, the histograms count what happened, the levels fall back to 0, and a takeover
 * between two replicas on PostgreSQL is counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { type RefusingExecutor, refusing, startRefusingExecutor } from '../support/failing-task.ts';
import { freshDatabase } from '../support/postgres.ts';
import { doc, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';
import { eventually, sample, scrape } from './helpers.ts';

describe('metrics', () => {
  const dir = tempDir();
  let server: RunningServer;
  let executor: RefusingExecutor;
  before(async () => {
    executor = await startRefusingExecutor();
    server = await startTestServer({ dataDir: dir.path, executors: executor.executors });
  });
  after(async () => {
    await server.close();
    await executor.close();
    dir.remove();
  });

  it('counts run and node transitions by state and engine, exactly', async () => {
    const { url } = server;
    const before = await scrape(url);
    assert.equal(sample(before, 'baton_runs_total', { state: 'success' }), 0, 'zero, not absent');
    assert.equal(
      sample(before, 'baton_nodes_total', { engine: 'nil', state: 'success' }),
      undefined,
    );

    // 1. three nil nodes, a -> b, a -> c: success
    const ok = await post(
      url,
      doc(
        [
          ['a', 'nil'],
          ['b', 'nil'],
          ['c', 'nil'],
        ],
        [
          [0, 1],
          [0, 2],
        ],
      ),
    );
    assert.equal((await waitForRun(url, ok.body.id)).state, State.success);
    let m = await scrape(url);
    assert.equal(sample(m, 'baton_nodes_total', { engine: 'nil', state: 'success' }), 3);
    assert.equal(sample(m, 'baton_nodes_total', { engine: 'nil', state: 'running' }), 3);
    assert.equal(sample(m, 'baton_nodes_total', { engine: 'nil', state: 'torun' }), 3);
    assert.equal(sample(m, 'baton_runs_total', { state: 'running' }), 1);
    assert.equal(sample(m, 'baton_runs_total', { state: 'success' }), 1);
    assert.equal(sample(m, 'baton_dispatch_latency_seconds_count', { engine: 'nil' }), 3);
    assert.equal(
      sample(m, 'baton_node_duration_seconds_count', { engine: 'nil', state: 'success' }),
      3,
    );

    // 2. f fails twice (one retry), so g never runs; h, independent, succeeds
    const failed = await post(
      url,
      doc(
        [
          ['f', 'shell', [], { ...refusing(), retries: { count: 1, backoff_s: 0.01 } }],
          ['g', 'nil'],
          ['h', 'sleep', ['0.01']],
        ],
        [[0, 1]],
      ),
    );
    assert.equal((await waitForRun(url, failed.body.id)).state, State.failure);

    // 3. a node that outlives its own timeout
    const slow = await post(url, doc([['slow', 'sleep', ['5'], { timeout: 0.2 }]]));
    const timedOut = await waitForRun(url, slow.body.id);
    assert.equal(timedOut.nodes[0].state, State.timeout);

    // 4. a run canceled while its node runs
    const long = await post(url, doc([['long', 'sleep', ['5']]]));
    await waitForRun(url, long.body.id, (r) => r.nodes[0].state === State.running);
    assert.equal(
      (await fetch(`${url}/v1/tasks/${long.body.id}`, { method: 'DELETE' })).status < 300,
      true,
    );
    await waitForRun(url, long.body.id);

    m = await eventually('the runs to retire', async () => {
      const now = await scrape(url);
      return sample(now, 'baton_active_runs') === 0 ? now : undefined;
    });
    const nodes = (engine: string, state: string) =>
      sample(m, 'baton_nodes_total', { engine, state });
    assert.deepEqual(
      {
        runs: ['running', 'success', 'failure', 'timeout', 'canceled'].map((state) =>
          sample(m, 'baton_runs_total', { state }),
        ),
        nil: ['torun', 'running', 'success', 'notrunnable'].map((s) => nodes('nil', s)),
        sleep: ['torun', 'running', 'success', 'failure', 'timeout', 'canceled'].map((s) =>
          nodes('sleep', s),
        ),
        shell: ['torun', 'running', 'success', 'failure'].map((s) => nodes('shell', s)),
      },
      {
        // started 4; a node timeout fails its run, it does not time the run out
        runs: [4, 1, 2, 0, 1],
        // run 1: 3 torun, running, success; run 2: g torun, then notrunnable
        nil: [4, 3, 3, 1],
        // h: torun, running, success; slow: torun, running, timeout; long: torun, running,
        // canceled
        sleep: [3, 3, 1, undefined, 1, 1],
        // f, on the executor: torun twice (start, retry), running twice, failure
        shell: [2, 2, undefined, 1],
      },
    );
    const durations = (state: string) =>
      sample(m, 'baton_node_duration_seconds_count', { engine: 'sleep', state });
    assert.deepEqual(
      ['success', 'failure', 'timeout', 'canceled'].map(durations),
      [1, undefined, 1, 1],
      'one observation per attempt, by its result',
    );
    assert.equal(
      sample(m, 'baton_node_duration_seconds_count', { engine: 'shell', state: 'failure' }),
      2,
      'both attempts of f',
    );
    const timeoutSum = sample(m, 'baton_node_duration_seconds_sum', {
      engine: 'sleep',
      state: 'timeout',
    });
    assert.ok(timeoutSum! >= 0.2 && timeoutSum! < 2, `timed out after ${timeoutSum} s`);
    assert.equal(sample(m, 'baton_dispatch_latency_seconds_count', { engine: 'sleep' }), 3);
    assert.equal(sample(m, 'baton_dispatch_latency_seconds_count', { engine: 'shell' }), 2);
    assert.equal(
      sample(m, 'baton_dispatch_latency_seconds_bucket', { engine: 'nil', le: '+Inf' }),
      3,
    );

    // levels are back to rest; the store committed at least once per run
    assert.equal(sample(m, 'baton_active_runs'), 0);
    assert.equal(sample(m, 'baton_dispatch_queue_depth'), 0);
    assert.equal(sample(m, 'baton_attempts_in_flight', { engine: 'sleep' }), 0);
    assert.equal(sample(m, 'baton_attempts_in_flight', { engine: 'nil' }), 0);
    assert.equal(sample(m, 'baton_attempts_in_flight', { engine: 'shell' }), 0);
    assert.ok(sample(m, 'baton_store_commit_duration_seconds_count')! >= 4);
    assert.ok(sample(m, 'baton_store_commit_changes_sum')! >= 20);
    assert.equal(sample(m, 'baton_lease_takeovers_total'), 0);
    // prom-client's default metrics, prefixed as before
    assert.notEqual(sample(m, 'baton_nodejs_eventloop_lag_seconds'), undefined);
    assert.notEqual(sample(m, 'baton_nodejs_eventloop_lag_p99_seconds'), undefined);
    assert.notEqual(sample(m, 'baton_process_cpu_seconds_total'), undefined);
  });

  it('shows attempts in flight while they run', async () => {
    const { url } = server;
    const { body } = await post(
      url,
      doc([
        ['x', 'sleep', ['0.5']],
        ['y', 'sleep', ['0.5']],
      ]),
    );
    await waitForRun(url, body.id, (r) => r.nodes.every((n) => n.state === State.running));
    const m = await scrape(url);
    assert.equal(sample(m, 'baton_attempts_in_flight', { engine: 'sleep' }), 2);
    assert.equal(sample(m, 'baton_active_runs'), 1);
    await waitForRun(url, body.id);
  });
});

describe('metrics: lease takeovers', () => {
  it('counts a run taken over from a replica that stopped heartbeating', async (t) => {
    const db = await freshDatabase();
    const dir = tempDir();
    const a = await startTestServer({ dataDir: dir.path, db: db.url, leaseMs: 500 });
    const c = await startTestServer({ dataDir: dir.path, db: db.url, leaseMs: 500 });
    t.after(async () => {
      await a.close();
      await c.close();
      await db.drop();
      dir.remove();
    });
    const { body } = await post(c.url, doc([['slow', 'sleep', ['0.5']]]));
    await waitForRun(c.url, body.id, (r) => r.nodes[0].state === State.running);
    // c goes silent as under SIGKILL: no heartbeat, no hand-over
    await c.replica.stop();
    c.orchestrator.detach(body.id);
    assert.equal((await waitForRun(a.url, body.id)).state, State.success);
    const m = await scrape(a.url);
    assert.equal(sample(m, 'baton_lease_takeovers_total'), 1);
    assert.equal(sample(m, 'baton_runs_total', { state: 'success' }), 1);
    assert.equal(
      sample(m, 'baton_dispatch_latency_seconds_count', { engine: 'sleep' }),
      undefined,
      're-attaching to a running attempt is not a dispatch',
    );
    assert.equal(
      sample(m, 'baton_node_duration_seconds_count', { engine: 'sleep', state: 'success' }),
      1,
    );
  });
});
