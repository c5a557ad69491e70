/**
 * Errors of gorch documents: a `DocumentError` says what is wrong, where (a field path such as
 * `nodes[3].args[1]`), what was expected and what came, so that a person can fix the document
 * from the message alone. The API answers it as HTTP 400; `kind` lets it map each class of
 * problem to a coded error of its catalogue.
 */

export type DocumentErrorKind =
  /** the text is not JSON */
  | 'json'
  /** a `depends` expression does not parse or names a node that is not upstream */
  | 'depends'
  /** a field has the wrong type or range (from the schema check) */
  | 'type'
  /** document-level structure: not an object, both or neither of digraph/edges */
  | 'shape'
  /** over a size limit (nodes, edges, args, lengths) */
  | 'limit'
  /** ids are not 0..N-1 in order */
  | 'id'
  /** duplicate node names */
  | 'name'
  /** unknown or missing engine */
  | 'engine'
  /** digraph or edges malformed: wrong length, bad entry, endpoint out of range */
  | 'edge'
  | 'self-loop'
  | 'cycle'
  /** a `KEY=get_attribute NODE:ATTR` argument that is malformed or names no upstream node */
  | 'get-attribute';

export interface DocumentIssue {
  /** field path, '' for the document itself */
  path: string;
  /** complete message, starting with the path */
  message: string;
}

export class DocumentError extends Error {
  override readonly name = 'DocumentError';
  readonly kind: DocumentErrorKind;
  /** path of the (first) offending field: `nodes[2].id`, `digraph[27]`, '' for the document */
  readonly path: string;
  /** every problem reported; one except for schema errors, which report the first few */
  readonly issues: readonly DocumentIssue[];
  /** for kind 'cycle': the node ids around the cycle, first id repeated at the end */
  declare readonly cycle?: readonly number[];

  constructor(
    kind: DocumentErrorKind,
    path: string,
    message: string,
    extra: { issues?: readonly DocumentIssue[]; cycle?: readonly number[] } = {},
  ) {
    super(message);
    this.kind = kind;
    this.path = path;
    this.issues = extra.issues ?? [{ path, message }];
    if (extra.cycle !== undefined) this.cycle = extra.cycle;
  }

  /** An error whose message is `path: detail` (or just `detail` for the document itself). */
  static at(kind: DocumentErrorKind, path: string, detail: string): DocumentError {
    return new DocumentError(kind, path, path === '' ? detail : `${path}: ${detail}`);
  }
}

/** Refuses the document: throws `DocumentError.at(kind, path, detail)`. */
export function fail(kind: DocumentErrorKind, path: string, detail: string): never {
  throw DocumentError.at(kind, path, detail);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `['nodes', 3, 'args', 1]` → `nodes[3].args[1]`; odd keys are quoted: `output["a b"]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The value a JSON pointer designates, undefined when the path does not exist. */
export function valueAtPointer(value: unknown, pointer: string): unknown {
  let node = value;
  for (const key of pointerSegments(pointer)) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A JSON pointer (`/nodes/3/args/1`) as a field path (`nodes[3].args[1]`). */
export function formatPointer(value: unknown, pointer: string): string {
  const segments: (string | number)[] = [];
  let node = value;
  for (const key of pointerSegments(pointer)) {
    segments.push(Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key);
    node =
      node !== null && typeof node === 'object' && Object.hasOwn(node, key)
        ? (node as Record<string, unknown>)[key]
        : undefined;
  }
  return formatPath(segments);
}

/** What came, in words: `number 5`, `string "abc"`, `null`, `an array of 3 items`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  }
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

export interface JsonSyntaxProblem {
  /** UTF-16 offset of the offending character (text.length at an unexpected end) */
  offset: number;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  reason: string;
}

/**
 * Finds the first JSON syntax error of `text` and where it is. V8's JSON.parse messages give
 * no position for some errors ("Unexpected token ']', "[1,2,]" is not valid JSON"), so this
 * re-scans the text, only after JSON.parse has failed. Iterative: nesting depth is no issue.
 */
export function locateJsonError(text: string): JsonSyntaxProblem | undefined {
  const ARRAY = 0;
  const OBJECT = 1;
  const stack: number[] = [];
  const n = text.length;
  let i = 0;
  type Expect = 'value' | 'valueOrEnd' | 'key' | 'keyOrEnd' | 'colon' | 'commaOrEnd' | 'done';
  let expect: Expect = 'value';

  const problem = (offset: number, reason: string): JsonSyntaxProblem => {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < offset && k < n; k++) {
      if (text.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    }
    return { offset, line, column: offset - lineStart + 1, reason };
  };
  const show = (offset: number): string => {
    if (offset >= n) return 'the end of the text';
    const c = text.charCodeAt(offset);
    return c < 0x20 || c === 0x7f
      ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}`
      : `'${text[offset]}'`;
  };
  const isDigit = (offset: number): boolean => {
    const c = text.charCodeAt(offset);
    return c >= 48 && c <= 57;
  };
  const afterValue = (): Expect => (stack.length === 0 ? 'done' : 'commaOrEnd');
  /** Scans a string starting at the quote at i; returns a problem or advances i past it. */
  const scanString = (): JsonSyntaxProblem | undefined => {
    const start = i;
    i++;
    for (;;) {
      if (i >= n) return problem(start, 'string is not closed');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return undefined;
      }
      if (c < 0x20) return problem(i, `control character ${show(i)} inside a string (escape it)`);
      if (c === 92) {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else return problem(i, 'invalid escape sequence in a string');
      } else i++;
    }
  };
  const scanNumber = (): JsonSyntaxProblem | undefined => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (isDigit(i)) while (isDigit(i)) i++;
    else return problem(i, `expected a digit, got ${show(i)}`);
    if (text[i] === '.') {
      i++;
      if (!isDigit(i)) return problem(i, `expected a digit after '.', got ${show(i)}`);
      while (isDigit(i)) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!isDigit(i)) return problem(i, `expected a digit in the exponent, got ${show(i)}`);
      while (isDigit(i)) i++;
    }
    return undefined;
  };

  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      i++;
    }
    if (i >= n) {
      if (expect === 'done') return undefined;
      if (stack.length === 0) return problem(i, 'the text is empty');
      return problem(
        i,
        `unexpected end of the text: ${stack.length} ${stack.length === 1 ? 'object or array is' : 'objects or arrays are'} not closed`,
      );
    }
    const c = text[i];
    switch (expect) {
      case 'done':
        return problem(i, `unexpected ${show(i)} after the end of the JSON value`);
      case 'value':
      case 'valueOrEnd': {
        if (expect === 'valueOrEnd' && c === ']') {
          stack.pop();
          i++;
          expect = afterValue();
          continue;
        }
        if (c === '{') {
          stack.push(OBJECT);
          i++;
          expect = 'keyOrEnd';
          continue;
        }
        if (c === '[') {
          stack.push(ARRAY);
          i++;
          expect = 'valueOrEnd';
          continue;
        }
        let bad: JsonSyntaxProblem | undefined;
        if (c === '"') bad = scanString();
        else if (c === '-' || isDigit(i)) bad = scanNumber();
        else if (c === 't' || c === 'f' || c === 'n') {
          const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
          for (let k = 0; k < word.length; k++, i++) {
            if (text[i] !== word[k]) return problem(i, `invalid literal (expected ${word})`);
          }
        } else {
          const closing = c === ']' || c === '}';
          return problem(
            i,
            closing && stack.length > 0
              ? `expected a value, got ${show(i)} (trailing comma?)`
              : `expected a value, got ${show(i)}`,
          );
        }
        if (bad !== undefined) return bad;
        expect = afterValue();
        continue;
      }
      case 'key':
      case 'keyOrEnd': {
        if (expect === 'keyOrEnd' && c === '}') {
          stack.pop();
          i++;
          expect = afterValue();
          continue;
        }
        if (c !== '"') {
          return problem(
            i,
            c === '}'
              ? `expected a double-quoted property name, got ${show(i)} (trailing comma?)`
              : `expected a double-quoted property name, got ${show(i)}`,
          );
        }
        const bad = scanString();
        if (bad !== undefined) return bad;
        expect = 'colon';
        continue;
      }
      case 'colon':
        if (c !== ':') return problem(i, `expected ':' after a property name, got ${show(i)}`);
        i++;
        expect = 'value';
        continue;
      case 'commaOrEnd': {
        const top = stack[stack.length - 1];
        if (c === ',') {
          i++;
          expect = top === OBJECT ? 'key' : 'value';
          continue;
        }
        if ((top === OBJECT && c === '}') || (top === ARRAY && c === ']')) {
          stack.pop();
          i++;
          expect = afterValue();
          continue;
        }
        return problem(
          i,
          top === OBJECT
            ? `expected ',' or '}' after a property value, got ${show(i)}`
            : `expected ',' or ']' after an array element, got ${show(i)}`,
        );
      }
    }
  }
}
