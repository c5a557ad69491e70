/** The condition evaluator: Kleene logic, and no recursion however deep the condition. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, Truth } from '../../src/engine/condition.ts';
import type { Condition } from '../../src/graph/model.ts';
import { State } from '../../src/graph/states.ts';

const success = 1 << State.success;
const term = (node: number): Condition => ({ op: 'state', node, states: success });
const states =
  (...s: number[]) =>
  (node: number) =>
    s[node];

describe('evaluate', () => {
  it('follows Kleene logic: unknown until the known results decide', () => {
    const a = term(0);
    const b = term(1);
    const and: Condition = { op: 'and', args: [a, b] };
    const or: Condition = { op: 'or', args: [a, b] };
    const { running, success: ok, failure } = State;
    assert.equal(evaluate(and, states(running, failure)), Truth.false);
    assert.equal(evaluate(and, states(running, ok)), Truth.unknown);
    assert.equal(evaluate(and, states(ok, ok)), Truth.true);
    assert.equal(evaluate(or, states(running, ok)), Truth.true);
    assert.equal(evaluate(or, states(running, failure)), Truth.unknown);
    assert.equal(evaluate(or, states(failure, failure)), Truth.false);
    assert.equal(evaluate({ op: 'not', arg: and }, states(ok, failure)), Truth.true);
    assert.equal(evaluate({ op: 'not', arg: or }, states(running, failure)), Truth.unknown);
    assert.equal(evaluate({ op: 'and', args: [] }, states()), Truth.true);
    assert.equal(evaluate({ op: 'or', args: [] }, states()), Truth.false);
    // (a || !b) && !(a && b)
    const mixed: Condition = {
      op: 'and',
      args: [
        { op: 'or', args: [a, { op: 'not', arg: b }] },
        { op: 'not', arg: and },
      ],
    };
    assert.equal(evaluate(mixed, states(ok, failure)), Truth.true);
    assert.equal(evaluate(mixed, states(ok, ok)), Truth.false);
    assert.equal(evaluate(mixed, states(failure, ok)), Truth.false);
    assert.equal(evaluate(mixed, states(failure, running)), Truth.unknown);
  });

  it('evaluates a condition 1,000,000 levels deep without overflowing the stack', () => {
    let not: Condition = term(0);
    let nested: Condition = term(0);
    for (let i = 0; i < 1_000_000; i++) {
      not = { op: 'not', arg: not };
      nested = { op: i % 2 ? 'and' : 'or', args: [nested, term(0)] };
    }
    assert.equal(evaluate(not, states(State.success)), Truth.true);
    assert.equal(evaluate(not, states(State.failure)), Truth.false);
    assert.equal(evaluate(not, states(State.running)), Truth.unknown);
    assert.equal(evaluate(nested, states(State.success)), Truth.true);
    assert.equal(evaluate(nested, states(State.failure)), Truth.false);
  });
});
