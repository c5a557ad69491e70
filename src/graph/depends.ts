/**
 * `depends`: a node's start condition as a boolean expression over its predecessors' results,
 * in the spirit of Argo Workflows' `depends`:
 *
 *   expr   := or
 *   or     := and ('||' and)*
 *   and    := unary ('&&' unary)*
 *   unary  := '!' unary | '(' expr ')' | NODE '.' RESULT | RULE
 *   RESULT := success | failure | done | notrunnable | timeout | canceled
 *   RULE   := all_success | all_done | one_success | one_failed | none_failed
 *
 * NODE is a node name (the text before the last '.' of the term, so names may contain dots)
 * and must be a predecessor. `done` is any final state; "failed" in the rules means failure or
 * timeout; none_failed accepts success and notrunnable (a node skipped by its own condition).
 * Rules range over all predecessors. A node starts once all its predecessors are final and
 * its condition holds; as soon as the condition can no longer hold, it becomes notrunnable.
 * `compileConditions` compiles the conditions of a document's nodes once its edges are read;
 * a problem refuses the document, naming the node and the column.
 */
import { fail } from './errors.ts';
import type { Condition, GorchNode } from './model.ts';
import type { NodePath } from './node-fields.ts';
import { State } from './states.ts';

const bit = (...codes: number[]) => codes.reduce((mask, code) => mask | (1 << code), 0);

export const RESULTS: Readonly<Record<string, number>> = {
  success: bit(State.success),
  failure: bit(State.failure),
  timeout: bit(State.timeout),
  notrunnable: bit(State.notrunnable),
  canceled: bit(State.canceled),
  done: bit(State.success, State.failure, State.notrunnable, State.timeout, State.canceled),
};

const FAILED = bit(State.failure, State.timeout);

export const RULES: Readonly<Record<string, (preds: number[]) => Condition>> = {
  all_success: (preds) => all(preds, RESULTS.success),
  all_done: (preds) => all(preds, RESULTS.done),
  one_success: (preds) => ({ op: 'or', args: preds.map((node) => state(node, RESULTS.success)) }),
  one_failed: (preds) => ({ op: 'or', args: preds.map((node) => state(node, FAILED)) }),
  none_failed: (preds) => all(preds, RESULTS.success | RESULTS.notrunnable),
};

const state = (node: number, states: number): Condition => ({ op: 'state', node, states });
const all = (preds: number[], states: number): Condition => ({
  op: 'and',
  args: preds.map((node) => state(node, states)),
});

/** A problem in an expression, at a 1-based column. */
export class DependsError extends Error {
  readonly column: number;
  constructor(column: number, message: string) {
    super(`column ${column}: ${message}`);
    this.column = column;
  }
}

interface Token {
  kind: '(' | ')' | '&&' | '||' | '!' | 'term' | 'end';
  text: string;
  column: number;
}

const MAX_LENGTH = 4096;
/**
 * Deepest nesting of `!` and `(` accepted. Real conditions nest a few levels; the bound keeps
 * the parser's recursion (and anything walking the compiled tree) far from the stack limit.
 */
export const MAX_NESTING = 64;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
    } else if (c === '(' || c === ')' || c === '!') {
      tokens.push({ kind: c, text: c, column: i + 1 });
      i++;
    } else if (source.startsWith('&&', i) || source.startsWith('||', i)) {
      tokens.push({
        kind: source.slice(i, i + 2) as '&&' | '||',
        text: source.slice(i, i + 2),
        column: i + 1,
      });
      i += 2;
    } else {
      const start = i;
      while (i < source.length && !' \t\n()!&|'.includes(source[i])) i++;
      if (i === start) throw new DependsError(i + 1, `unexpected "${c}"; expected && or ||`);
      tokens.push({ kind: 'term', text: source.slice(start, i), column: start + 1 });
    }
  }
  tokens.push({ kind: 'end', text: '', column: source.length + 1 });
  return tokens;
}

/**
 * Compiles `source` for the node whose predecessors are `preds` (ids), naming nodes through
 * `idOf`. Throws DependsError with the column of the problem.
 */
export function compileDepends(
  source: string,
  preds: number[],
  idOf: (name: string) => number | undefined,
  nameOf: (id: number) => string,
): Condition {
  if (source.length > MAX_LENGTH) {
    throw new DependsError(1, `${source.length} characters is over the limit of ${MAX_LENGTH}`);
  }
  const tokens = tokenize(source);
  const predSet = new Set(preds);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (kind: Token['kind'], what: string) => {
    const token = tokens[at];
    if (token.kind !== kind) {
      const got = token.kind === 'end' ? 'the end' : `"${token.text}"`;
      throw new DependsError(token.column, `expected ${what}, got ${got}`);
    }
    at++;
    return token;
  };
  // Recursion depth is bounded by MAX_NESTING, checked before each level is entered.
  let depth = 0;
  const enter = (token: Token) => {
    if (++depth > MAX_NESTING) {
      throw new DependsError(
        token.column,
        `nesting deeper than ${MAX_NESTING} levels of "!" and "(" is not accepted`,
      );
    }
  };
  const parseOr = (): Condition => {
    const args = [parseAnd()];
    while (peek().kind === '||') {
      at++;
      args.push(parseAnd());
    }
    return args.length === 1 ? args[0] : { op: 'or', args };
  };
  const parseAnd = (): Condition => {
    const args = [parseUnary()];
    while (peek().kind === '&&') {
      at++;
      args.push(parseUnary());
    }
    return args.length === 1 ? args[0] : { op: 'and', args };
  };
  const parseUnary = (): Condition => {
    const outer = depth;
    // a run of '!' is read in a loop and compiles to at most one `not` (`!!x` is x)
    let negations = 0;
    while (peek().kind === '!') {
      enter(peek());
      at++;
      negations++;
    }
    let operand: Condition;
    const token = peek();
    if (token.kind === '(') {
      enter(token);
      at++;
      operand = parseOr();
      expect(')', '")"');
    } else {
      operand = compileTerm(expect('term', 'a NODE.RESULT term, a rule, "!" or "("'));
    }
    depth = outer;
    if (negations % 2 === 0) return operand;
    return operand.op === 'not' ? operand.arg : { op: 'not', arg: operand };
  };
  const compileTerm = (term: Token): Condition => {
    const rule = RULES[term.text];
    if (rule && Object.hasOwn(RULES, term.text)) return rule(preds);
    const dot = term.text.lastIndexOf('.');
    if (dot <= 0) {
      throw new DependsError(
        term.column,
        `"${term.text}" is neither NODE.RESULT nor a rule (${Object.keys(RULES).join(', ')})`,
      );
    }
    const name = term.text.slice(0, dot);
    const result = term.text.slice(dot + 1);
    if (!Object.hasOwn(RESULTS, result)) {
      throw new DependsError(
        term.column + dot + 1,
        `unknown result "${result}"; expected one of ${Object.keys(RESULTS).join(', ')}`,
      );
    }
    const id = idOf(name);
    if (id === undefined) throw new DependsError(term.column, `no node is named "${name}"`);
    if (!predSet.has(id)) {
      const upstream = preds.map(nameOf).join(', ') || 'none';
      throw new DependsError(
        term.column,
        `"${name}" is not upstream of this node (its predecessors: ${upstream})`,
      );
    }
    return state(id, RESULTS[result]);
  };
  const condition = parseOr();
  expect('end', '&&, || or the end');
  return condition;
}

/** Compiles each node's `depends` against its predecessors (errors name the column). */
export function compileConditions(
  nodes: GorchNode[],
  byName: Map<string, number>,
  predStart: Uint32Array,
  pred: Uint32Array,
  at: NodePath,
): Map<number, Condition> {
  const conditions = new Map<number, Condition>();
  for (const node of nodes) {
    if (node.depends === undefined) continue;
    const preds = Array.from(pred.subarray(predStart[node.id], predStart[node.id + 1]));
    try {
      conditions.set(
        node.id,
        compileDepends(
          node.depends,
          preds,
          (name) => byName.get(name),
          (id) => nodes[id].name,
        ),
      );
    } catch (err) {
      if (!(err instanceof DependsError)) throw err;
      fail(
        'depends',
        `${at(node.id)}.depends`,
        `${err.message} in ${JSON.stringify(excerpt(node.depends, err.column))}`,
      );
    }
  }
  return conditions;
}

/** An expression as error messages quote it: whole when short, else around `column`. */
function excerpt(source: string, column: number): string {
  if (source.length <= 120) return source;
  const from = Math.max(0, Math.min(column - 60, source.length - 120));
  return `${from > 0 ? '…' : ''}${source.slice(from, from + 120)}${from + 120 < source.length ? '…' : ''}`;
}
