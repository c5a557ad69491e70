/**
 * Evaluates a node's start condition (graph/depends.ts compiles it) against the states of its
 * predecessors. Pure: the engine calls it with its own state array.
 */
import type { Condition } from '../graph/model.ts';
import { State } from '../graph/states.ts';

/** Three-valued result of a condition: known true, known false, or not known yet. */
export const Truth = { false: 0, true: 1, unknown: 2 } as const;
export type TruthValue = (typeof Truth)[keyof typeof Truth];

/**
 * Kleene evaluation: a predecessor that is not final yet is unknown, so a condition is decided
 * as early as its known results allow (`a.failure && b.done` is false once a succeeded).
 */
export function evaluate(condition: Condition, stateOf: (node: number) => number): TruthValue {
  switch (condition.op) {
    case 'state': {
      const s = stateOf(condition.node);
      if (s < State.success) return Truth.unknown;
      return condition.states & (1 << s) ? Truth.true : Truth.false;
    }
    case 'not': {
      const v = evaluate(condition.arg, stateOf);
      return v === Truth.unknown ? v : v === Truth.true ? Truth.false : Truth.true;
    }
    case 'and': {
      let result: TruthValue = Truth.true;
      for (const arg of condition.args) {
        const v = evaluate(arg, stateOf);
        if (v === Truth.false) return Truth.false;
        if (v === Truth.unknown) result = Truth.unknown;
      }
      return result;
    }
    case 'or': {
      let result: TruthValue = Truth.false;
      for (const arg of condition.args) {
        const v = evaluate(arg, stateOf);
        if (v === Truth.true) return Truth.true;
        if (v === Truth.unknown) result = Truth.unknown;
      }
      return result;
    }
  }
}
