/**
 * fast-check arbitraries of hostile gorch documents, for the parser and API fuzz tests.
 *
 * Values are built so that `__proto__`, `constructor` and `prototype` become own keys, as
 * JSON.parse makes them, and numbers can be written as raw literals JSON.stringify never
 * produces (`1e400`, `-0`, 400 digits): `Raw` holds such a literal, `toJsonText` writes it,
 * `toValue` turns it into what JSON.parse would give. Documents are mostly shaped like gorch
 * documents (a chain or random edges over nodes with ids 0..N-1), with hostile values
 * sprinkled over any field, so that checks deep in the parser are reached, not just the first.
 */
import fc from 'fast-check';
import { VALID } from './hostile.ts';

/** A number literal as written in the JSON text. */
export class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** An object whose keys are own properties whatever they are (`__proto__` included). */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '',
    '\u0000',
    '\ud800',
    'id',
    'name',
    'nodes',
    'edges',
    'digraph',
    'engine',
    'args',
    'output',
    'outputs',
    'timeout',
    'retries',
    'count',
    'backoff_s',
  ),
  fc.string({ maxLength: 8 }),
);

export const hostileNumber: fc.Arbitrary<number | Raw> = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    2,
    0.5,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    Number.MAX_SAFE_INTEGER + 2,
    1e308,
    -1e308,
    5e-324,
    Number.MAX_VALUE,
  ),
  fc.constantFrom(
    new Raw('1e400'),
    new Raw('-1e400'),
    new Raw('1e-400'),
    new Raw('-0'),
    new Raw('-0.0'),
    new Raw('0e0'),
    new Raw('9'.repeat(400)),
    new Raw(`0.${'0'.repeat(400)}1`),
  ),
  fc.integer({ min: -3, max: 8 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Hostile contents within the size limits. */
const hostileContent: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '',
      '\u0000',
      'a\u0000b',
      '\ud800',
      '\udfff\ud800',
      '\u2028\u2029',
      '\ufeff',
      'nil',
      'sleep',
      'shell',
      'x=get_attribute n0:ip',
      'x=get_attribute n.*:ip',
      'x=get_attribute (a+)+:ip',
      'x=get_attribute [:ip',
      'x=get_attribute n9:ip',
      'x=get_attribute :',
      'get_attribute',
      '__proto__',
      'constructor',
      '0.01',
      '-1',
      '1e400',
      'NaN',
    ),
  },
);

/** Odd characters, but no get_attribute: what most args of an accepted document look like. */
const plainContent: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }).filter((s) => !s.includes('get_attribute')),
  fc.constantFrom('', '\u0000', 'a\u0000b', '\ud800', '\udfff\ud800', '\u2028', 'k=v', '__proto__'),
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: hostileContent },
  // over the name (256) and arg (64 Ki) limits
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(300), 'x'.repeat(65 * 1024)) },
);

const { value: hostileValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileNumber,
    hostileString,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(objectOf),
  ),
}));

export { hostileValue };

/** Sometimes the field's right type, sometimes anything hostile, sometimes absent. */
function field<T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: hostileValue });
}

const hostileNode = (id: number) =>
  fc
    .record(
      {
        id: field(fc.constant(id)),
        name: field(fc.oneof(fc.constant(`n${id}`), hostileString)),
        engine: field(fc.constantFrom('nil', 'sleep', 'shell', 'bogus', '')),
        target: field(hostileString),
        artifact: field(hostileString),
        args: field(fc.array(hostileString, { maxLength: 4 })),
        output: field(
          fc.array(fc.tuple(hostileKey, fc.constant('')), { maxLength: 3 }).map(objectOf),
        ),
        timeout: field(hostileNumber),
        retries: field(
          fc.record({
            count: field(fc.integer({ min: 0, max: 3 })),
            backoff_s: field(hostileNumber),
          }),
        ),
      },
      { requiredKeys: ['id', 'name'] },
    )
    .chain((node) =>
      // hostile extra keys on the node
      fc
        .array(fc.tuple(hostileKey, hostileValue), { maxLength: 2 })
        .map((extra) =>
          objectOf([
            ...Object.entries(node),
            ...extra.filter(([key]) => !Object.hasOwn(node, key)),
          ]),
        ),
    )
    .map((node) => {
      // sleep nodes: short, unless the args were made hostile
      if (node.engine === 'sleep' && Array.isArray(node.args) && node.args.length === 0) {
        node.args = ['0.01'];
      }
      return node;
    });

/** A gorch document, shaped right most of the time, with hostile values in some fields. */
export const hostileDocument: fc.Arbitrary<unknown> = fc
  .integer({ min: 0, max: 6 })
  .chain((n) =>
    fc.record(
      {
        name: field(hostileString),
        nodes: field(
          n === 0
            ? fc.constant<Record<string, unknown>[]>([])
            : fc.tuple(...Array.from({ length: n }, (_, id) => hostileNode(id))),
        ),
        links: fc.oneof(
          fc.record({
            edges: field(
              fc.array(fc.tuple(fc.integer({ min: -1, max: n }), fc.integer({ min: -1, max: n })), {
                maxLength: 8,
              }),
            ),
          }),
          fc.record({
            digraph: field(
              fc.array(fc.constantFrom(0, 0, 0, 1, -1, 0.5), {
                minLength: n * n,
                maxLength: n * n,
              }),
            ),
          }),
          fc.constant({}),
        ),
        timeout: field(hostileNumber),
        extra: fc.array(fc.tuple(hostileKey, hostileValue), { maxLength: 2 }),
      },
      { requiredKeys: ['nodes', 'links', 'extra'] },
    ),
  )
  .map(({ links, extra, ...rest }) =>
    objectOf([
      ...Object.entries(rest),
      ...Object.entries(links as Record<string, unknown>),
      ...(extra as Array<[string, unknown]>).filter(
        ([key]) => !Object.hasOwn(rest, key) && !Object.hasOwn(links as object, key),
      ),
    ]),
  );

/**
 * A document of the right shape and types whose contents are hostile: odd strings (NUL, lone
 * surrogates, `__proto__`), odd output names, retries, timeouts, forward edges (sometimes a
 * backward one, so a cycle) and get_attribute args naming upstream nodes. Many are accepted.
 */
export const validishDocument: fc.Arbitrary<unknown> = fc
  .integer({ min: 1, max: 8 })
  .chain((n) =>
    fc.record({
      name: hostileContent,
      matrix: fc.boolean(),
      nodes: fc.tuple(
        ...Array.from({ length: n }, (_, id) =>
          fc.record(
            {
              id: fc.constant(id),
              name: fc.oneof(
                fc.constant(`n${id}`),
                hostileContent.map((s) => `${s}#${id}`),
              ),
              engine: fc.constantFrom('nil', 'nil', 'sleep'),
              target: hostileContent,
              args: fc.array(
                fc.oneof(
                  { weight: 6, arbitrary: plainContent },
                  { weight: 1, arbitrary: hostileContent },
                ),
                { maxLength: 3 },
              ),
              output: fc
                .array(fc.tuple(hostileKey, fc.constant('')), { maxLength: 3 })
                .map(objectOf),
              timeout: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
              retries: fc.record({
                count: fc.integer({ min: 0, max: 3 }),
                backoff_s: fc.double({ min: 0, max: 0.5, noNaN: true }),
              }),
            },
            { requiredKeys: ['id', 'name', 'engine'] },
          ),
        ),
      ),
      edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 2 * n }),
      backward: fc.boolean(),
      references: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 2 }),
    }),
  )
  .map(({ name, matrix, nodes, edges, backward, references }) => {
    const n = nodes.length;
    // forward edges only (acyclic), plus one backward edge now and then
    const pairs = edges.filter(([a, b]) => a < b);
    if (backward && edges.length > 0 && edges[0][0] > edges[0][1]) pairs.push(edges[0]);
    for (const node of nodes) {
      if (node.engine === 'sleep') node.args = ['0.01', ...(node.args ?? [])];
    }
    // get_attribute args naming a node that runs before (or not: rejected)
    for (const [from, to] of references) {
      const target = nodes[to];
      target.args = [
        ...(target.args ?? []),
        `ref=get_attribute ${nodes[from].name.replace(/[^\w#]/g, '.')}:ip`,
      ];
      if (from < to) pairs.push([from, to]);
    }
    const doc: Record<string, unknown> = { name, nodes };
    if (matrix) {
      const digraph = new Array<number>(n * n).fill(0);
      for (const [a, b] of pairs) if (a !== b) digraph[a * n + b] = 1;
      doc.digraph = digraph;
    } else {
      doc.edges = pairs.filter(([a, b]) => a !== b);
    }
    return doc;
  });

/** Anything at all, documents or not. */
export const hostileInput: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: validishDocument },
  { weight: 6, arbitrary: hostileDocument },
  { weight: 1, arbitrary: hostileValue },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
);

/** The JSON text of a value with `Raw` literals written as they are. */
export function toJsonText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, v]) => `${JSON.stringify(key)}:${toJsonText(v)}`)
      .join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value) ?? 'null';
}

/** What JSON.parse would make of `toJsonText(value)`. */
export function toValue(value: unknown): unknown {
  if (value instanceof Raw) return JSON.parse(value.text);
  if (Array.isArray(value)) return value.map(toValue);
  if (value !== null && typeof value === 'object') {
    return objectOf(Object.entries(value).map(([key, v]) => [key, toValue(v)]));
  }
  return value;
}

/** JSON text mutated byte by byte: cut, dropped, doubled or replaced characters. */
export const mutatedText: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(fc.constant(VALID), validishDocument.map(toJsonText), hostileDocument.map(toJsonText)),
    fc.array(
      fc.tuple(
        fc.constantFrom('cut', 'drop', 'double', 'replace', 'insert'),
        fc.nat(),
        fc.constantFrom(
          '{',
          '}',
          '[',
          ']',
          '"',
          ',',
          ':',
          '\\',
          '0',
          '-',
          'e',
          ' ',
          '\u0000',
          '\ud800',
          'n',
          't',
        ),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([text, edits]) => {
    let s = text;
    for (const [edit, at, char] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (edit === 'cut') s = s.slice(0, i);
      else if (edit === 'drop') s = s.slice(0, i) + s.slice(i + 1);
      else if (edit === 'double') s = s.slice(0, i) + s.slice(i, i + 8) + s.slice(i);
      else if (edit === 'replace') s = s.slice(0, i) + char + s.slice(i + 1);
      else s = s.slice(0, i) + char + s.slice(i);
    }
    return s;
  });
