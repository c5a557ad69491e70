/**
 * Evaluates a node's start condition (graph/depends.ts compiles it) against the states of its
 * predecessors. Pure: the engine calls it with its own state array.
 */
import type { Condition } from '../graph/model.ts';
import { State } from '../graph/states.ts';

/** Three-valued result of a condition: known true, known false, or not known yet. */
export const Truth = { false: 0, true: 1, unknown: 2 } as const;
export type TruthValue = (typeof Truth)[keyof typeof Truth];

/** A condition being evaluated, with the index of its next argument and the result so far. */
interface Frame {
  condition: Condition;
  next: number;
  result: TruthValue;
}

/**
 * Kleene evaluation: a predecessor that is not final yet is unknown, so a condition is decided
 * as early as its known results allow (`a.failure && b.done` is false once a succeeded).
 * Iterative, with an explicit stack: a condition's depth never reaches the call stack.
 */
export function evaluate(condition: Condition, stateOf: (node: number) => number): TruthValue {
  const stack: Frame[] = [];
  let next: Condition | undefined = condition;
  let value: TruthValue = Truth.unknown;
  for (;;) {
    // descend to the first leaf (or empty and/or), pushing the operators on the way
    while (next !== undefined) {
      const c: Condition = next;
      next = undefined;
      if (c.op === 'state') {
        const s = stateOf(c.node);
        value = s < State.success ? Truth.unknown : c.states & (1 << s) ? Truth.true : Truth.false;
      } else if (c.op === 'not') {
        stack.push({ condition: c, next: 0, result: Truth.unknown });
        next = c.arg;
      } else {
        const empty = c.op === 'and' ? Truth.true : Truth.false;
        if (c.args.length === 0) value = empty;
        else {
          stack.push({ condition: c, next: 1, result: empty });
          next = c.args[0];
        }
      }
    }
    // hand `value` up until an operator needs its next argument
    while (next === undefined) {
      const frame = stack.at(-1);
      if (frame === undefined) return value;
      const c = frame.condition;
      if (c.op === 'not') {
        if (value !== Truth.unknown) value = value === Truth.true ? Truth.false : Truth.true;
        stack.pop();
        continue;
      }
      // and: false decides; or: true decides; unknown leaves the result open
      const decisive = c.op === 'and' ? Truth.false : Truth.true;
      if (value === decisive) {
        stack.pop();
        continue;
      }
      if (value === Truth.unknown) frame.result = Truth.unknown;
      const args = (c as { args: Condition[] }).args;
      if (frame.next < args.length) next = args[frame.next++];
      else {
        value = frame.result;
        stack.pop();
      }
    }
  }
}
