/**
 * Property tests: random DAGs driven by random executors. Whatever happens, a node starts only
 * after all its predecessors succeeded, each node ends in one final state and stays there,
 * and the run's final state follows DESIGN §2.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { RunEngine } from '../../src/engine/engine.ts';
import {
  attemptEnded,
  type Command,
  cancel,
  graphTimeout,
  start,
  wake,
} from '../../src/engine/events.ts';
import type { Graph } from '../../src/graph/model.ts';
import { isFinal, State } from '../../src/graph/states.ts';
import { graphOf, randomDagEdges } from '../support/graphs.ts';

interface Scenario {
  n: number;
  density: number;
  seed: number;
  /** 0: none, 1: cancel, 2: graph timeout, at a random step */
  stop: 0 | 1 | 2;
}

/** Mulberry32: a tiny seeded generator so a failing case replays exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function simulate({ n, density, seed, stop }: Scenario) {
  const random = rng(seed);
  const graph: Graph = graphOf(n, randomDagEdges(n, density, random), (id) =>
    id % 3 === 0 ? { count: 1, backoff_s: 0.01 } : undefined,
  );
  const engine = new RunEngine(graph, { random });
  const state = new Array<number>(n).fill(State.initial);
  const inFlight = new Map<number, number>(); // node -> attempt
  const wakes = new Map<number, number>();
  let runState: number = State.initial;
  let finalSeen = 0;
  const stopAt = stop === 0 ? -1 : Math.floor(random() * (n + 2));

  const apply = (cmds: Command[]) => {
    for (const c of cmds) {
      switch (c.type) {
        case 'bulkNodes':
          for (let i = 0; i < n; i++) if ((c.from as number[]).includes(state[i])) state[i] = c.to;
          break;
        case 'nodeState':
          assert.ok(!isFinal(state[c.node]), `node ${c.node} left final state ${state[c.node]}`);
          state[c.node] = c.state;
          break;
        case 'dispatch': {
          const { predStart, pred } = graph;
          for (let k = predStart[c.node]; k < predStart[c.node + 1]; k++) {
            assert.equal(state[pred[k]], State.success, `node ${c.node} started before ${pred[k]}`);
          }
          assert.equal(state[c.node], State.running);
          inFlight.set(c.node, c.attempt);
          break;
        }
        case 'abort':
          assert.equal(inFlight.get(c.node), c.attempt);
          inFlight.delete(c.node);
          break;
        case 'wakeAfter':
          assert.ok(c.delayMs >= 0);
          wakes.set(c.node, c.attempt);
          break;
        case 'runState':
          assert.ok(!isFinal(runState), 'run changed after it finished');
          runState = c.state;
          if (isFinal(c.state)) finalSeen++;
          break;
      }
    }
  };

  apply(engine.handle(start()));
  for (let step = 0; inFlight.size + wakes.size > 0; step++) {
    if (step === stopAt) apply(engine.handle(stop === 1 ? cancel() : graphTimeout()));
    const useWake = wakes.size > 0 && (inFlight.size === 0 || random() < 0.3);
    const pool = useWake ? wakes : inFlight;
    if (pool.size === 0) break;
    const keys = [...pool.keys()];
    const node = keys[Math.floor(random() * keys.length)];
    const attempt = pool.get(node)!;
    pool.delete(node);
    if (useWake) {
      apply(engine.handle(wake(node, attempt)));
    } else {
      const roll = random();
      const result = roll < 0.8 ? State.success : roll < 0.93 ? State.failure : State.timeout;
      apply(engine.handle(attemptEnded(node, attempt, result)));
    }
  }
  return { graph, state, runState, finalSeen, engine };
}

it('random DAGs under random results obey the scheduling invariants', () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 0, max: 40 }),
        density: fc.double({ min: 0, max: 0.5, noNaN: true }),
        seed: fc.integer(),
        stop: fc.constantFrom(0, 0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
      }),
      (scenario) => {
        const { graph, state, runState, finalSeen, engine } = simulate(scenario);
        assert.equal(finalSeen, 1, 'the run finishes exactly once');
        for (let i = 0; i < scenario.n; i++) {
          assert.ok(isFinal(state[i]), `node ${i} ended in non-final state ${state[i]}`);
          assert.equal(engine.nodeState(i), state[i], 'commands and engine agree');
        }
        if (runState === State.success) {
          assert.ok(state.every((s) => s === State.success));
        } else if (runState === State.failure) {
          assert.ok(state.some((s) => s === State.failure || s === State.timeout));
          assert.ok(state.every((s) => s !== State.canceled));
        } else {
          assert.ok(runState === State.canceled || runState === State.timeout);
          assert.notEqual(scenario.stop, 0);
        }
        // notrunnable exactly when some ancestor ended badly
        const { predStart, pred } = graph;
        for (let i = 0; i < scenario.n; i++) {
          if (state[i] !== State.notrunnable) continue;
          let blocked = false;
          for (let k = predStart[i]; k < predStart[i + 1]; k++) {
            const p = state[pred[k]];
            blocked ||= p === State.failure || p === State.timeout || p === State.notrunnable;
          }
          assert.ok(blocked, `node ${i} notrunnable without a failed predecessor`);
        }
      },
    ),
    { numRuns: 500 },
  );
});
