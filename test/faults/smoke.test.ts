/**
 * Smoke version of the fault suite (`*.fault.ts`) for `npm test`: the executor process
 * SIGKILLed mid-task and restarted (the run succeeds with retries; tasks that ended during the
 * outage keep their recorded success), an executor that never
 * answers (a node timeout and a cancel still end its nodes at once) or answers garbage (the
 * node fails at once), a full disk under SQLite, and clock jumps. The PostgreSQL restart runs
 * only in `npm run test:faults`: it restarts the server every other test shares.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { State } from '../../src/graph/states.ts';
import { backwardJumpMidAttempt, forwardJumpMidAttempt, retryAfterBackwardJump } from './clock.ts';
import { diskFull } from './disk-full.ts';
import {
  executorKilledMidTask,
  finished,
  perTarget,
  submit,
  withFakeExecutors,
} from './executor-faults.ts';
import { garbageServer, silentServer } from './fakes.ts';

describe('fault smoke', () => {
  it('executor SIGKILLed mid-task and restarted: with retries the run succeeds', async (t) => {
    await executorKilledMidTask(t, {
      tasks: 4,
      taskSeconds: 2,
      restartAfterMs: 200,
      retries: { count: 2, backoff_s: 0.1 },
      finishMs: 30_000,
    });
  });

  it('executor SIGKILLed mid-task, restarted after its tasks ended: they succeeded', async (t) => {
    await executorKilledMidTask(t, {
      tasks: 3,
      taskSeconds: 2,
      restartAfterTasksEnd: true,
      finishMs: 30_000,
    });
  });

  it('a silent or garbage executor: nodes end by timeout, cancel or a clear error', async (t) => {
    const silent = await silentServer();
    const garbage = await garbageServer();
    t.after(async () => {
      await silent.close();
      await garbage.close();
    });
    const { server } = await withFakeExecutors(t, { silent: silent.url(), garbage: garbage.url() });
    const timed = await submit(server.url, perTarget(['silent'], { timeout: 1 }));
    const junk = await submit(server.url, perTarget(['garbage']));
    const stuck = await submit(server.url, perTarget(['silent']));
    const a = await finished(server.url, timed, 10_000);
    assert.equal(a.nodes[0].state, State.timeout);
    const b = await finished(server.url, junk, 10_000);
    assert.equal(b.nodes[0].state, State.failure);
    assert.match(b.nodes[0].error ?? '', /not HTTP/);
    assert.equal(
      (await fetch(`${server.url}/v1/tasks/${stuck}`, { method: 'DELETE' })).status,
      202,
    );
    const c = await finished(server.url, stuck, 5_000);
    assert.equal(c.nodes[0].state, State.canceled);
  });

  it('disk full under SQLite: 5xx, never a false 202, and recovery', async (t) => {
    await diskFull(t, { submissions: 5, documentKiB: 256, diskMiB: 8 });
  });

  it('clock +1 h mid-attempt: no timeout fires', forwardJumpMidAttempt);
  it('clock -1 h mid-attempt: timeouts still fire on time', backwardJumpMidAttempt);
  it('clock -1 h before a retry: a new idempotency key', retryAfterBackwardJump);
});
