/**
 * Property tests: random DAGs driven by random executors. Whatever happens, a node starts only
 * once its predecessors allow it, each node ends in one final state and stays there, and the
 * run's final state follows docs/architecture.md §2. With random `depends` expressions, the engine decides
 * every node exactly as a reference evaluator written here, independently, does.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { seeded } from '../../bench/generate.ts';
import { RunEngine } from '../../src/engine/engine.ts';
import {
  admit,
  attemptEnded,
  type Command,
  cancel,
  graphTimeout,
  start,
  wake,
} from '../../src/engine/events.ts';
import type { Graph } from '../../src/graph/model.ts';
import { parseDocument } from '../../src/graph/parse.ts';
import { isFinal, State } from '../../src/graph/states.ts';
import { node, randomDagEdges } from '../support/graphs.ts';

interface Scenario {
  n: number;
  density: number;
  seed: number;
  /** 0: none, 1: cancel, 2: graph timeout, at a random step */
  stop: 0 | 1 | 2;
  /** give some nodes random `depends` expressions */
  conditions: boolean;
}

/** A depends expression as the test builds it, evaluated by `reference` below. */
type Expr =
  | { kind: 'and' | 'or'; args: Expr[] }
  | { kind: 'not'; arg: Expr }
  | { kind: 'result'; node: number; result: string }
  | { kind: 'rule'; rule: string };

const RESULTS = ['success', 'failure', 'done', 'notrunnable', 'timeout', 'canceled'];
const RULES = ['all_success', 'all_done', 'one_success', 'one_failed', 'none_failed'];

function randomExpr(preds: number[], random: () => number, depth = 0): Expr {
  const roll = random();
  if (depth < 3 && roll < 0.35) {
    return {
      kind: random() < 0.5 ? 'and' : 'or',
      args: [randomExpr(preds, random, depth + 1), randomExpr(preds, random, depth + 1)],
    };
  }
  if (depth < 3 && roll < 0.45) return { kind: 'not', arg: randomExpr(preds, random, depth + 1) };
  if (preds.length === 0 || roll < 0.55) {
    return { kind: 'rule', rule: RULES[Math.floor(random() * RULES.length)] };
  }
  return {
    kind: 'result',
    node: preds[Math.floor(random() * preds.length)],
    result: RESULTS[Math.floor(random() * RESULTS.length)],
  };
}

function render(expr: Expr): string {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return `(${expr.args.map(render).join(expr.kind === 'and' ? ' && ' : ' || ')})`;
    case 'not':
      return `!${render(expr.arg)}`;
    case 'result':
      return `n${expr.node}.${expr.result}`;
    case 'rule':
      return expr.rule;
  }
}

/** Two-valued evaluation once every predecessor is final, written from the spec. */
function reference(expr: Expr, preds: number[], state: number[]): boolean {
  const is = (s: number, result: string) =>
    result === 'done' ? isFinal(s) : s === (State as Record<string, number>)[result];
  const failed = (s: number) => s === State.failure || s === State.timeout;
  switch (expr.kind) {
    case 'and':
      return expr.args.every((a) => reference(a, preds, state));
    case 'or':
      return expr.args.some((a) => reference(a, preds, state));
    case 'not':
      return !reference(expr.arg, preds, state);
    case 'result':
      return is(state[expr.node], expr.result);
    case 'rule':
      switch (expr.rule) {
        case 'all_success':
          return preds.every((p) => state[p] === State.success);
        case 'all_done':
          return preds.every((p) => isFinal(state[p]));
        case 'one_success':
          return preds.some((p) => state[p] === State.success);
        case 'one_failed':
          return preds.some((p) => failed(state[p]));
        default:
          return preds.every((p) => state[p] === State.success || state[p] === State.notrunnable);
      }
  }
}

function build(scenario: Scenario, random: () => number) {
  const edges = randomDagEdges(scenario.n, scenario.density, random);
  const preds: number[][] = Array.from({ length: scenario.n }, () => []);
  for (const [a, b] of edges) preds[b].push(a);
  const exprs = new Map<number, Expr>();
  const nodes = Array.from({ length: scenario.n }, (_, id) => {
    const extra: Record<string, unknown> = {};
    if (id % 3 === 0) extra.retries = { count: 1, backoff_s: 0.01 };
    if (scenario.conditions && random() < 0.5) {
      const expr = randomExpr(preds[id], random);
      exprs.set(id, expr);
      extra.depends = render(expr);
    }
    return node(id, extra);
  });
  const graph: Graph = parseDocument({ name: 'property', edges, nodes });
  return { graph, preds, exprs };
}

function simulate(scenario: Scenario) {
  const random = seeded(scenario.seed);
  const { graph, preds, exprs } = build(scenario, random);
  const { n } = scenario;
  const engine = new RunEngine(graph, { random });
  const state = new Array<number>(n).fill(State.initial);
  const ran = new Set<number>();
  const inFlight = new Map<number, number>(); // node -> attempt
  const wakes = new Map<number, number>();
  const readies = new Map<number, number>(); // ready, waiting for admission
  let runState: number = State.initial;
  let finalSeen = 0;
  const stopAt = scenario.stop === 0 ? -1 : Math.floor(random() * (n + 2));

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
          for (const p of preds[c.node]) {
            if (exprs.has(c.node))
              assert.ok(isFinal(state[p]), `node ${c.node} started before ${p} ended`);
            else
              assert.equal(state[p], State.success, `node ${c.node} started before ${p} succeeded`);
          }
          assert.equal(state[c.node], State.running);
          inFlight.set(c.node, c.attempt);
          ran.add(c.node);
          break;
        }
        case 'ready':
          assert.equal(state[c.node], State.torun, `node ${c.node} ready but not torun`);
          readies.set(c.node, c.attempt);
          break;
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
  // Admissions come late and in any order, as under pools and priorities.
  for (let step = 0; inFlight.size + wakes.size + readies.size > 0; step++) {
    if (step === stopAt) apply(engine.handle(scenario.stop === 1 ? cancel() : graphTimeout()));
    const pools = [inFlight, wakes, readies].filter((p) => p.size > 0);
    if (pools.length === 0) break;
    const pool = pools[Math.floor(random() * pools.length)];
    const keys = [...pool.keys()];
    const picked = keys[Math.floor(random() * keys.length)];
    const attempt = pool.get(picked)!;
    pool.delete(picked);
    if (pool === wakes) {
      apply(engine.handle(wake(picked, attempt)));
    } else if (pool === readies) {
      apply(engine.handle(admit(picked, attempt)));
    } else {
      const roll = random();
      const result = roll < 0.75 ? State.success : roll < 0.9 ? State.failure : State.timeout;
      apply(engine.handle(attemptEnded(picked, attempt, result)));
    }
  }
  return { graph, preds, exprs, state, ran, runState, finalSeen, engine };
}

const scenarios = (conditions: boolean) =>
  fc.record({
    n: fc.integer({ min: 0, max: 40 }),
    density: fc.double({ min: 0, max: 0.5, noNaN: true }),
    seed: fc.integer(),
    stop: fc.constantFrom(0, 0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    conditions: fc.constant(conditions),
  });

function checkCommon(scenario: Scenario, result: ReturnType<typeof simulate>): void {
  const { state, runState, finalSeen, engine } = result;
  assert.equal(finalSeen, 1, 'the run finishes exactly once');
  for (let i = 0; i < scenario.n; i++) {
    assert.ok(isFinal(state[i]), `node ${i} ended in non-final state ${state[i]}`);
    assert.equal(engine.nodeState(i), state[i], 'commands and engine agree');
  }
  const failed = state.some((s) => s === State.failure || s === State.timeout);
  if (runState === State.success) assert.ok(!failed, 'success with a failed node');
  else if (runState === State.failure) assert.ok(failed, 'failure without a failed node');
  else {
    assert.ok(runState === State.canceled || runState === State.timeout);
    assert.notEqual(scenario.stop, 0);
  }
}

it('random DAGs under random results obey the scheduling invariants', () => {
  fc.assert(
    fc.property(scenarios(false), (scenario) => {
      const result = simulate(scenario);
      checkCommon(scenario, result);
      const { state, graph, runState } = result;
      if (runState === State.success) assert.ok(state.every((s) => s === State.success));
      // notrunnable exactly when some predecessor ended badly
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
    }),
    { numRuns: 400 },
  );
});

it('depends expressions: the engine decides each node as the reference evaluator does', () => {
  fc.assert(
    fc.property(scenarios(true), (scenario) => {
      const result = simulate(scenario);
      checkCommon(scenario, result);
      const { state, preds, exprs, ran } = result;
      const stopped =
        scenario.stop !== 0 &&
        result.runState !== State.success &&
        result.runState !== State.failure;
      for (let i = 0; i < scenario.n; i++) {
        const expr: Expr = exprs.get(i) ?? { kind: 'rule', rule: 'all_success' };
        if (ran.has(i)) {
          assert.ok(
            reference(expr, preds[i], state),
            `node ${i} ran though ${render(expr)} is false`,
          );
        } else if (state[i] === State.notrunnable) {
          assert.ok(
            !reference(expr, preds[i], state),
            `node ${i} skipped though ${render(expr)} holds`,
          );
        } else if (!stopped) {
          assert.fail(`node ${i} ended ${state[i]} without running`);
        }
      }
    }),
    { numRuns: 400 },
  );
});
