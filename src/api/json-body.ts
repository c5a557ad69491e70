/**
 * Request bodies as JSON, with errors that say what and where: a syntax error gives its line,
 * column and offset and the `path` of the value being read (`nodes[2].args`); a `__proto__`
 * key (or `constructor` holding `prototype`), which could change the prototype of objects
 * built from the body, is refused at its path instead of being called "not valid JSON".
 * Iterative throughout: nesting depth is no issue.
 */
import { locateJsonError } from '../graph/errors.ts';
import { Errors } from './errors.ts';

/** A body error with the place in the document it is about. */
function bodyError(message: string, path: string) {
  return Object.assign(new Errors.INVALID_JSON(message), { path: path || '(top level)' });
}

export function parseJsonBody(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    throw new Errors.INVALID_JSON('body is not valid JSON: the body is empty');
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const where = locateJsonError(body);
    if (where === undefined) {
      throw new Errors.INVALID_JSON(`body is not valid JSON: ${(err as Error).message}`);
    }
    throw bodyError(
      `body is not valid JSON: line ${where.line} column ${where.column} (offset ${where.offset}): ${where.reason}`,
      pathAt(body, where.offset),
    );
  }
  // only a body that may spell one of the keys is walked (escapes could spell any)
  if (body.includes('__proto__') || body.includes('constructor') || body.includes('\\u')) {
    const found = forbiddenKey(value);
    if (found) throw bodyError(`${found.what} is not allowed as a key`, found.path);
  }
  return value;
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/** `.key`, or `["key"]` when it is not a plain name. */
function step(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function joinPath(steps: Array<string | number>): string {
  return steps.map(step).join('').replace(/^\./, '');
}

/**
 * The path of the value being read at `offset` of `text`, whose text before `offset` is
 * valid JSON so far (the first error is at `offset`).
 */
export function pathAt(text: string, offset: number): string {
  const steps: Array<string | number> = [];
  const containers: Array<'array' | 'object'> = [];
  /** the last string read: an object's key once a ':' follows it */
  let lastString = '';
  /** each object's step is only pushed once its key's ':' is read */
  let keyed: boolean[] = [];
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < offset && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      lastString = i < offset ? (JSON.parse(text.slice(start, i + 1)) as string) : '';
    } else if (c === '{') {
      containers.push('object');
      keyed.push(false);
    } else if (c === '[') {
      containers.push('array');
      keyed.push(true);
      steps.push(0);
    } else if (c === ':') {
      steps.push(lastString);
      keyed[keyed.length - 1] = true;
    } else if (c === ',') {
      if (containers.at(-1) === 'array') {
        steps[steps.length - 1] = (steps.at(-1) as number) + 1;
      } else if (keyed.at(-1)) {
        steps.pop();
        keyed[keyed.length - 1] = false;
      }
    } else if (c === '}' || c === ']') {
      if (keyed.at(-1)) steps.pop();
      containers.pop();
      keyed = keyed.slice(0, -1);
    }
  }
  return joinPath(steps);
}

interface Visit {
  value: unknown;
  parent: Visit | undefined;
  key: string | number;
}

/** The first `__proto__` key, or `constructor` holding `prototype`, breadth first. */
function forbiddenKey(root: unknown): { what: string; path: string } | undefined {
  const queue: Visit[] = [{ value: root, parent: undefined, key: '' }];
  const pathOf = (visit: Visit, last: string): string => {
    const steps: Array<string | number> = [last];
    for (let v: Visit | undefined = visit; v?.parent !== undefined; v = v.parent) {
      steps.push(v.key);
    }
    return joinPath(steps.reverse());
  };
  for (let head = 0; head < queue.length; head++) {
    const visit = queue[head];
    const { value } = visit;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (item !== null && typeof item === 'object') {
          queue.push({ value: item, parent: visit, key: i });
        }
      }
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (key === '__proto__') return { what: '"__proto__"', path: pathOf(visit, key) };
        if (
          key === 'constructor' &&
          item !== null &&
          typeof item === 'object' &&
          Object.hasOwn(item, 'prototype')
        ) {
          return { what: '"constructor" holding "prototype"', path: pathOf(visit, key) };
        }
        if (item !== null && typeof item === 'object') {
          queue.push({ value: item, parent: visit, key });
        }
      }
    }
  }
  return undefined;
}
