/**
 * The NODE of a `KEY=get_attribute NODE:ATTR` arg as a full-match test of node names, and as
 * the unanchored test gorchestrator made (`regexp.MatchString`: the name contains a match),
 * which resolution falls back to when no upstream name matches the whole pattern; and the
 * budget of regular-expression work a document may spend on such tests (MAX_PATTERN_WORK).
 * A plain name is compared as a string; a regular expression runs on V8's linear-time engine.
 */

import v8 from 'node:v8';
import { fail } from './errors.ts';

/** Longest accepted NODE regular expression of a get_attribute arg. */
export const MAX_PATTERN_LENGTH = 256;

// get_attribute patterns run on V8's linear-time regexp engine (the `l` flag needs this)
v8.setFlagsFromString('--enable-experimental-regexp-engine');

export interface Pattern {
  source: string;
  matches: (name: string) => boolean;
  /**
   * the one name the pattern matches when it is a plain name (no regex metacharacter, or
   * each escaped: `db\.primary`, as TOSCA conversion writes names)
   */
  name: string | undefined;
  /** how many get_attribute args use it */
  uses: number;
  /** whether a name contains a match: set by `searchPattern`, on the first need */
  contains?: (name: string) => boolean;
}

/**
 * Regular-expression work allowed for get_attribute NODE patterns, in steps of V8's
 * linear-time engine, whose cost grows with pattern length × name length: compiling a
 * pattern is charged 400 + 16 × its length, testing it against a name (pattern length + 1) ×
 * (name length + 16). Every charge is made before the work is done. Measured on 2 vCPUs, a
 * step costs 20-35 ns for the costliest 250-character patterns and far less for plain ones,
 * so 3M steps hold the event loop for ~100 ms at most; 2,000 upstream 200-character names
 * tried against one 250-character pattern need 108M. Plain names cost nothing here.
 */
export const MAX_PATTERN_WORK = 3_000_000;
const REGEX_SYNTAX = /[\\^$.|?*+()[\]{}]/;

/**
 * NODE `source` as a `Pattern`, its compilation charged to `budget` first when it is a
 * regular expression; refused at `path` when it is too long or cannot compile.
 */
export function compilePattern(source: string, path: string, budget: PatternBudget): Pattern {
  const name = literalName(source);
  if (name === undefined)
    budget.spend(400 + 16 * Math.min(source.length, MAX_PATTERN_LENGTH), path);
  return { source, matches: compileNodePattern(source, path, name), name, uses: 0 };
}

/**
 * The unanchored test of `pattern` (a name contains a match, as Go's `regexp.MatchString`),
 * made once and kept on it; a regular expression's compilation is charged to `budget` first,
 * as in `compilePattern`. Its tests are the caller's to charge, as the full-match ones are.
 */
export function searchPattern(
  pattern: Pattern,
  path: string,
  budget: PatternBudget,
): (name: string) => boolean {
  if (pattern.contains !== undefined) return pattern.contains;
  const { name, source } = pattern;
  if (name !== undefined) {
    pattern.contains = (other) => other.includes(name);
  } else {
    budget.spend(400 + 16 * source.length, path);
    let re: RegExp;
    try {
      re = new RegExp(source, 'l');
    } catch (error) {
      // compilePattern compiled it wrapped on the same engine: not expected, said all the same
      fail(
        'get-attribute',
        path,
        `get_attribute node pattern ${JSON.stringify(source)} cannot be matched in linear time ` +
          `(${(error as Error).message})`,
      );
    }
    pattern.contains = (other) => re.test(other);
  }
  return pattern.contains;
}

/** The regular-expression work left of MAX_PATTERN_WORK (see there). */
export class PatternBudget {
  #left = MAX_PATTERN_WORK;

  /** Takes `cost` steps, or refuses the document at `path`. */
  spend(cost: number, path: string, pattern?: string, names?: number): void {
    this.#left -= cost;
    if (this.#left >= 0) return;
    const what =
      pattern === undefined
        ? 'compiling the get_attribute node patterns'
        : `matching the get_attribute node pattern ${JSON.stringify(pattern.length > 60 ? `${pattern.slice(0, 60)}…` : pattern)} against the names of its ${names} upstream nodes`;
    fail(
      'limit',
      path,
      `${what} exceeds the budget of ${MAX_PATTERN_WORK} regular-expression steps for a ` +
        'document (a test costs about pattern length × name length); use plain node names, ' +
        'or fewer and shorter patterns',
    );
  }

  /** Takes `cost` steps if they are left. */
  afford(cost: number): boolean {
    if (cost > this.#left) return false;
    this.#left -= cost;
    return true;
  }
}

/**
 * The one name `pattern` fully matches when it is a plain name: no regex metacharacter, or
 * each one escaped (`db\.primary` is `db.primary`); undefined for a real regex (`\d`, `.*`).
 */
function literalName(pattern: string): string | undefined {
  if (!REGEX_SYNTAX.test(pattern)) return pattern;
  let name = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || !REGEX_SYNTAX.test(next)) return undefined;
      name += next;
      i++;
    } else if (REGEX_SYNTAX.test(c)) return undefined;
    else name += c;
  }
  return name;
}

/**
 * NODE of a get_attribute as a full-match test of node names. A plain name (no regex syntax,
 * the usual case) is compared as a string, sparing 100k RegExp compilations when every node
 * reads its own upstream node. A regex must compile on its own first (so that an unbalanced
 * `)` cannot escape the `^(?:…)$` wrapper), be at most MAX_PATTERN_LENGTH long, and not nest
 * unbounded quantifiers (`(a+)+`), the usual exponential-backtracking shape.
 */
function compileNodePattern(
  pattern: string,
  path: string,
  name: string | undefined,
): (name: string) => boolean {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    fail(
      'get-attribute',
      path,
      `get_attribute node pattern of ${pattern.length} characters is over the limit of ${MAX_PATTERN_LENGTH}`,
    );
  }
  if (name !== undefined) return (other) => other === name; // as the regex would
  try {
    new RegExp(pattern);
  } catch (error) {
    fail(
      'get-attribute',
      path,
      `get_attribute node pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`,
    );
  }
  // V8's linear-time engine: no pattern can backtrack exponentially (`(a|aa)*b` against 60
  // a's froze the server for hours with the backtracking one); it has no backreferences or
  // lookarounds, which a node-name pattern does not need.
  try {
    const re = new RegExp(`^(?:${pattern})$`, 'l');
    return (name) => re.test(name);
  } catch (error) {
    fail(
      'get-attribute',
      path,
      `get_attribute node pattern ${JSON.stringify(pattern)} cannot be matched in linear time ` +
        `(${(error as Error).message}); use no backreferences or lookarounds`,
    );
  }
}
