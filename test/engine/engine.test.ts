import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunEngine } from '../../src/engine/engine.ts';
import {
  admit,
  attemptEnded,
  type Command,
  cancel,
  type EngineEvent,
  graphTimeout,
  resume,
  retry,
  start,
  wake,
} from '../../src/engine/events.ts';
import { parseDocument } from '../../src/graph/parse.ts';
import { State } from '../../src/graph/states.ts';
import { graphOf } from '../support/graphs.ts';

const opts = { random: () => 0.5 };

/** build -> deploy (default condition), build -> alert (depends: build.failure) */
const buildDeployAlert = () =>
  parseDocument({
    edges: [
      [0, 1],
      [0, 2],
    ],
    nodes: [
      { id: 0, name: 'build', engine: 'nil' },
      { id: 1, name: 'deploy', engine: 'nil' },
      { id: 2, name: 'alert', engine: 'nil', depends: 'build.failure' },
    ],
  });

/** Feeds an event, then admits every node it made ready, as an orchestrator without limits. */
function drive(engine: RunEngine, event: EngineEvent): Command[] {
  const out = engine.handle(event);
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (c.type === 'ready') out.push(...engine.handle(admit(c.node, c.attempt)));
  }
  return out.filter((c) => c.type !== 'ready');
}
const dispatched = (cmds: Command[]) =>
  cmds.filter((c) => c.type === 'dispatch').map((c) => (c as { node: number }).node);
const runStates = (cmds: Command[]) =>
  cmds.filter((c) => c.type === 'runState').map((c) => (c as { state: number }).state);

describe('RunEngine', () => {
  it('dispatches roots, then successors once all predecessors succeeded', () => {
    // 0 -> 2 <- 1, 2 -> 3
    const e = new RunEngine(
      graphOf(4, [
        [0, 2],
        [1, 2],
        [2, 3],
      ]),
      opts,
    );
    const first = drive(e, start());
    assert.deepEqual(dispatched(first), [0, 1]);
    assert.deepEqual(runStates(first), [State.running]);
    assert.deepEqual(first[1], { type: 'bulkNodes', from: [State.initial], to: State.torun });
    assert.deepEqual(dispatched(drive(e, attemptEnded(0, 1, State.success))), []);
    assert.deepEqual(dispatched(drive(e, attemptEnded(1, 1, State.success))), [2]);
    assert.deepEqual(dispatched(drive(e, attemptEnded(2, 1, State.success))), [3]);
    const last = drive(e, attemptEnded(3, 1, State.success));
    assert.deepEqual(runStates(last), [State.success]);
    assert.equal(e.runState, State.success);
  });

  it('a failure makes descendants notrunnable while an independent branch goes on', () => {
    // 0 -> 1 -> 2, 3 independent
    const e = new RunEngine(
      graphOf(4, [
        [0, 1],
        [1, 2],
      ]),
      opts,
    );
    assert.deepEqual(dispatched(drive(e, start())), [0, 3]);
    const cmds = drive(e, attemptEnded(0, 1, State.failure, 'exit 1'));
    assert.deepEqual(
      cmds.map((c) => c.type === 'nodeState' && [c.node, c.state]),
      [
        [0, State.failure],
        [1, State.notrunnable],
        [2, State.notrunnable],
      ],
    );
    assert.equal(e.runState, State.running, 'node 3 still runs');
    assert.deepEqual(runStates(drive(e, attemptEnded(3, 1, State.success))), [State.failure]);
  });

  it('retries with exponential backoff as data, then fails for good', () => {
    const e = new RunEngine(
      graphOf(2, [[0, 1]], (id) => (id === 0 ? { count: 2, backoff_s: 1 } : undefined)),
      { random: () => 1 },
    );
    drive(e, start());
    const r1 = drive(e, attemptEnded(0, 1, State.failure, 'boom'));
    assert.deepEqual(r1.at(-1), { type: 'wakeAfter', node: 0, attempt: 1, delayMs: 1000 });
    assert.equal(e.nodeState(0), State.torun);
    assert.deepEqual(drive(e, wake(0, 1)).at(-1), { type: 'dispatch', node: 0, attempt: 2 });
    const r2 = drive(e, attemptEnded(0, 2, State.timeout));
    assert.deepEqual(r2.at(-1), { type: 'wakeAfter', node: 0, attempt: 2, delayMs: 2000 });
    assert.deepEqual(dispatched(drive(e, wake(0, 2))), [0]);
    const r3 = drive(e, attemptEnded(0, 3, State.failure));
    assert.equal(e.nodeState(0), State.failure);
    assert.equal(e.nodeState(1), State.notrunnable);
    assert.deepEqual(runStates(r3), [State.failure]);
  });

  it('ignores late, duplicate and stale results', () => {
    const e = new RunEngine(graphOf(1, []), opts);
    drive(e, start());
    assert.deepEqual(drive(e, attemptEnded(0, 7, State.success)), [], 'wrong attempt');
    drive(e, cancel());
    assert.deepEqual(drive(e, attemptEnded(0, 1, State.success)), [], 'after cancel');
    assert.deepEqual(drive(e, wake(0, 1)), []);
    assert.equal(e.nodeState(0), State.canceled);
  });

  it('cancel gives unfinished nodes the run state and aborts running ones', () => {
    const e = new RunEngine(graphOf(3, [[0, 1]]), opts);
    drive(e, start());
    drive(e, attemptEnded(2, 1, State.success));
    const cmds = drive(e, cancel());
    assert.deepEqual(
      cmds.filter((c) => c.type === 'abort').map((c) => c.node),
      [0],
    );
    assert.deepEqual(
      [0, 1, 2].map((i) => e.nodeState(i)),
      [State.canceled, State.canceled, State.success],
    );
    assert.equal(e.runState, State.canceled);
    assert.deepEqual(drive(e, cancel()), [], 'cancel twice is a no-op');
  });

  it('a graph timeout marks unfinished nodes timeout', () => {
    const e = new RunEngine(graphOf(2, [[0, 1]]), opts);
    drive(e, start());
    drive(e, graphTimeout());
    assert.equal(e.nodeState(0), State.timeout);
    assert.equal(e.nodeState(1), State.timeout);
    assert.equal(e.runState, State.timeout);
  });

  it('retry re-runs what did not succeed and keeps successes', () => {
    // 0 -> 1 -> 2 ; 3
    const e = new RunEngine(
      graphOf(4, [
        [0, 1],
        [1, 2],
      ]),
      opts,
    );
    drive(e, start());
    drive(e, attemptEnded(0, 1, State.success));
    drive(e, attemptEnded(3, 1, State.success));
    drive(e, attemptEnded(1, 1, State.failure));
    assert.equal(e.runState, State.failure);
    const cmds = drive(e, retry());
    assert.deepEqual(dispatched(cmds), [1]);
    assert.equal(e.runState, State.running);
    drive(e, attemptEnded(1, 1, State.success));
    assert.deepEqual(runStates(drive(e, attemptEnded(2, 1, State.success))), [State.success]);
    assert.deepEqual(drive(e, retry()), [], 'a successful run has nothing to retry');
  });

  it('an empty graph succeeds at once', () => {
    const e = new RunEngine(graphOf(0, []), opts);
    assert.deepEqual(runStates(drive(e, start())), [State.running, State.success]);
  });

  it('resumes a persisted run: re-attaches running nodes, dispatches ready ones', () => {
    const g = graphOf(4, [
      [0, 1],
      [0, 2],
      [2, 3],
    ]);
    const e = RunEngine.restore(
      g,
      {
        runState: State.running,
        nodes: [
          { state: State.success, attempts: 1 },
          { state: State.running, attempts: 1 },
          { state: State.torun, attempts: 0 },
          { state: State.torun, attempts: 0 },
        ],
      },
      opts,
    );
    const cmds = drive(e, resume());
    assert.deepEqual(
      cmds.filter((c) => c.type === 'dispatch'),
      [
        { type: 'dispatch', node: 1, attempt: 1, reattach: true },
        { type: 'dispatch', node: 2, attempt: 1 },
      ],
    );
    drive(e, attemptEnded(1, 1, State.success));
    drive(e, attemptEnded(2, 1, State.success));
    assert.deepEqual(runStates(drive(e, attemptEnded(3, 1, State.success))), [State.success]);
  });

  it('resuming a run that never started starts it', () => {
    const e = RunEngine.restore(
      graphOf(1, []),
      { runState: State.initial, nodes: [{ state: State.initial, attempts: 0 }] },
      opts,
    );
    assert.deepEqual(dispatched(drive(e, resume())), [0]);
  });

  it('depends: a failure handler runs on failure, the success path is skipped, the run fails', () => {
    const g = buildDeployAlert();
    const e = new RunEngine(g, opts);
    drive(e, start());
    assert.deepEqual(dispatched(drive(e, attemptEnded(0, 1, State.failure))), [2]);
    assert.equal(e.nodeState(1), State.notrunnable);
    assert.deepEqual(runStates(drive(e, attemptEnded(2, 1, State.success))), [State.failure]);
  });

  it('depends: when the build succeeds the handler is skipped and the run succeeds', () => {
    const g = buildDeployAlert();
    const e = new RunEngine(g, opts);
    drive(e, start());
    const cmds = drive(e, attemptEnded(0, 1, State.success));
    assert.deepEqual(dispatched(cmds), [1]);
    const skipped = cmds.find((c) => c.type === 'nodeState' && c.node === 2);
    assert.deepEqual(skipped, {
      type: 'nodeState',
      node: 2,
      state: State.notrunnable,
      attempt: 0,
      error: 'condition "build.failure" is false',
    });
    assert.deepEqual(runStates(drive(e, attemptEnded(1, 1, State.success))), [State.success]);
  });

  it('depends: all_done waits for every predecessor, then runs whatever they ended in', () => {
    const g = parseDocument({
      edges: [
        [0, 2],
        [1, 2],
      ],
      nodes: [
        { id: 0, name: 'a', engine: 'nil' },
        { id: 1, name: 'b', engine: 'nil' },
        { id: 2, name: 'cleanup', engine: 'nil', depends: 'all_done' },
      ],
    });
    const e = new RunEngine(g, opts);
    drive(e, start());
    assert.deepEqual(dispatched(drive(e, attemptEnded(0, 1, State.failure))), []);
    assert.deepEqual(dispatched(drive(e, attemptEnded(1, 1, State.success))), [2]);
  });
});
