/**
 * Clock jumps. A child process's Date.now cannot be moved without libfaketime (not installed
 * here), so these drive an in-process Orchestrator whose `now` (the wall clock it stores and
 * compares) jumps forward or backward, on the SQLite store, with a `probe` engine whose
 * attempts the test controls:
 *
 *   - timers that run inside one process (node and graph timeouts, retry backoff, sleep) are
 *     setTimeout, i.e. monotonic: a jump while they run changes nothing;
 *   - idempotency keys of attempts stay unique when the clock goes back (start times are
 *     forced to increase per node), so a retry is never mistaken for the attempt before it;
 *   - after a restart, node and graph timeouts are re-armed from the stored wall-clock start:
 *     a forward jump ends them at once (acceptable: that much wall time did pass), a backward
 *     jump must not extend them (capped at the whole timeout).
 *
 * Not testable here: leases on PostgreSQL are judged by the database's clock
 * (clock_timestamp()), so a replica's clock does not matter, but a jump of the database
 * server's clock would expire or extend every lease at once; SQLite leases live in one process
 * (MemoryLeases, Date.now) and only that process uses them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { parseDocument } from '../../src/graph/parse.ts';
import { isFinal, State } from '../../src/graph/states.ts';
import { EventBus } from '../../src/orchestrator/bus.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import {
  type Attempt,
  type AttemptOutcome,
  nilRunner,
  sleepRunner,
  type TaskRunner,
} from '../../src/orchestrator/runners.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { NodeRecord, RunRecord, Store } from '../../src/store/store.ts';
import { tempDir } from '../support/server.ts';

const HOUR = 3_600_000;

/** A wall clock that can jump. */
export class Clock {
  offset = 0;
  readonly now = () => Date.now() + this.offset;
  jump(ms: number): void {
    this.offset += ms;
  }
}

/**
 * The `probe` engine: args[0] says what an attempt does: `ok` succeeds after args[1] ms,
 * `hang` runs until aborted, `fail-once` fails the first attempt of the node and succeeds
 * after. Every attempt is recorded.
 */
function probe(): { runner: TaskRunner; attempts: Attempt[] } {
  const attempts: Attempt[] = [];
  const failed = new Set<string>();
  const runner: TaskRunner = {
    run(attempt) {
      attempts.push(attempt);
      const [what, ms] = attempt.node.args;
      return new Promise<AttemptOutcome>((resolve) => {
        const timer =
          what === 'ok'
            ? setTimeout(() => resolve({ state: State.success }), Number(ms ?? 0))
            : undefined;
        if (what === 'fail-once') {
          const key = `${attempt.runId}/${attempt.node.id}`;
          if (failed.has(key)) resolve({ state: State.success });
          else {
            failed.add(key);
            resolve({ state: State.failure, error: 'first attempt fails' });
          }
        }
        attempt.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve({ state: State.failure, error: 'aborted' });
        });
      });
    },
  };
  return { runner, attempts };
}

interface Harness {
  clock: Clock;
  store: Store;
  orchestrator: Orchestrator;
  attempts: Attempt[];
  submit(document: unknown): Promise<string>;
  /** the run and its nodes once `until` holds (default: finished), within `timeoutMs` */
  wait(
    id: string,
    until?: (run: RunRecord, nodes: NodeRecord[]) => boolean,
    timeoutMs?: number,
  ): Promise<{ run: RunRecord; nodes: NodeRecord[]; ms: number }>;
  /** stops the orchestrator, its runs left as they are in the store */
  stop(): Promise<void>;
}

async function harness(t: TestContext, path: string, clock = new Clock()): Promise<Harness> {
  const store = await openSqliteStore(path);
  const { runner, attempts } = probe();
  const orchestrator = new Orchestrator({
    store,
    bus: new EventBus(),
    runners: new Map([
      ['nil', nilRunner],
      ['sleep', sleepRunner(Math.random)],
      ['probe', runner],
    ]),
    logger: pino({ level: 'silent' }),
    now: clock.now,
    commitRetryMs: 50,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await orchestrator.stop();
    await store.close();
  };
  t.after(stop);
  return {
    clock,
    store,
    orchestrator,
    attempts,
    async submit(document) {
      const graph = parseDocument(document, { engines: orchestrator.engines });
      return (await orchestrator.submit(graph)).id;
    },
    async wait(id, until = (run) => isFinal(run.state), timeoutMs = 5000) {
      const started = performance.now();
      for (;;) {
        const run = await store.getRun(id);
        const nodes = await store.getNodes(id);
        if (run && until(run, nodes)) return { run, nodes, ms: performance.now() - started };
        if (performance.now() - started > timeoutMs) {
          throw new Error(
            `run ${id}: state ${run?.state}, nodes ${JSON.stringify(nodes.map((n) => n.state))} after ${timeoutMs} ms`,
          );
        }
        await delay(10);
      }
    },
    stop,
  };
}

const one = (node: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'clock',
  edges: [],
  nodes: [{ id: 0, name: 'probe', engine: 'probe', ...node }],
  ...extra,
});

const running = (_run: RunRecord, nodes: NodeRecord[]) => nodes[0]?.state === State.running;

export async function forwardJumpMidAttempt(t: TestContext): Promise<void> {
  const h = await harness(t, ':memory:');
  const id = await h.submit(one({ args: ['ok', '300'], timeout: 2 }, { timeout: 5 }));
  await h.wait(id, running);
  h.clock.jump(HOUR);
  const { run, nodes } = await h.wait(id);
  assert.equal(nodes[0].state, State.success, 'the node timeout did not fire on the jump');
  assert.equal(run.state, State.success, 'nor did the graph timeout');
}

export async function backwardJumpMidAttempt(t: TestContext): Promise<void> {
  const h = await harness(t, ':memory:');
  const node = await h.submit(one({ args: ['hang'], timeout: 0.3 }));
  const graph = await h.submit(one({ args: ['hang'] }, { timeout: 0.5 }));
  await h.wait(node, running);
  await h.wait(graph, running);
  h.clock.jump(-HOUR);
  const a = await h.wait(node, undefined, 3000);
  assert.equal(a.nodes[0].state, State.timeout, 'node timeout after 0.3 s, not 1 h later');
  const b = await h.wait(graph, undefined, 3000);
  assert.equal(b.run.state, State.timeout, 'graph timeout after 0.5 s, not 1 h later');
  t.diagnostic(
    `after a -1 h jump: node timeout in ${Math.round(a.ms)} ms, graph in ${Math.round(b.ms)} ms`,
  );
}

/** A retry round after the clock went back: the new attempt gets a new idempotency key. */
export async function retryAfterBackwardJump(t: TestContext): Promise<void> {
  const h = await harness(t, ':memory:');
  const id = await h.submit(one({ args: ['fail-once'] }));
  const failed = await h.wait(id);
  assert.equal(failed.run.state, State.failure);
  const firstStart = failed.nodes[0].startedAt!;
  h.clock.jump(-HOUR);
  await h.orchestrator.retry(id);
  const done = await h.wait(id, (run) => run.state === State.success);
  const [first, second] = h.attempts;
  assert.equal(h.attempts.length, 2);
  assert.equal(first.attempt, second.attempt, 'a retry round starts again at attempt 1');
  assert.notEqual(first.key, second.key, 'yet its idempotency key is new');
  assert.ok(done.nodes[0].startedAt! > firstStart, 'start times only go forward per node');
}

async function resumeAfterJump(
  t: TestContext,
  jumpMs: number,
  document: unknown,
): Promise<{ run: RunRecord; nodes: NodeRecord[]; ms: number }> {
  const dir = tempDir();
  t.after(() => dir.remove());
  const path = join(dir.path, 'baton.db');
  const before = await harness(t, path);
  const id = await before.submit(document);
  await before.wait(id, running);
  await before.stop();
  const clock = new Clock();
  clock.jump(jumpMs);
  const after = await harness(t, path, clock);
  for (const record of await after.store.claimRuns(after.orchestrator.replicaId, 5000, 10)) {
    await after.orchestrator.adopt(record);
  }
  return after.wait(id, undefined, 4000);
}

/** Restart with the clock 1 h ahead: the node's time is up by the wall clock, so it ends. */
export async function resumeAfterForwardJump(t: TestContext): Promise<void> {
  const done = await resumeAfterJump(t, HOUR, one({ args: ['hang'], timeout: 30 }));
  assert.equal(done.nodes[0].state, State.timeout);
}

/** Restart with the clock 1 h behind: a node timeout of 1 s must still end the node soon. */
export async function resumeAfterBackwardJumpNode(t: TestContext): Promise<void> {
  const done = await resumeAfterJump(t, -HOUR, one({ args: ['hang'], timeout: 1 }));
  assert.equal(done.nodes[0].state, State.timeout);
}

/** Restart with the clock 1 h behind: a graph timeout of 1 s must still end the run soon. */
export async function resumeAfterBackwardJumpGraph(t: TestContext): Promise<void> {
  const done = await resumeAfterJump(t, -HOUR, one({ args: ['hang'] }, { timeout: 1 }));
  assert.equal(done.run.state, State.timeout);
}
