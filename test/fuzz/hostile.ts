/**
 * A corpus of hostile requests for the orchestrator's API, shared by the fuzz suite and its
 * smoke test. Each entry says what a correct server answers: `reject` (a 4xx), or `any` (the
 * document is valid after all, so 202 or a 4xx), never a 5xx, always within `timeoutMs`.
 * Entries a known bug makes fail carry `bug` (with the stores it fails on): the suites run
 * them as `todo` tests so they stay visible without turning the suite red.
 *
 * Bodies are built lazily (`make`), the 100 MB ones as generators written with back-pressure.
 */

export type Store = 'sqlite' | 'postgres';

export interface Hostile {
  group: string;
  name: string;
  method?: string;
  /** default /v1/tasks */
  path?: string;
  headers?: Record<string, string | number>;
  make?: () => Buffer | (() => Generator<Buffer>);
  expect: 'reject' | 'any';
  /** when set, the answer must be one of these */
  statuses?: number[];
  timeoutMs?: number;
  pauseBeforeBodyMs?: number;
  /** the answer's body must match (what is refused is said, not just refused) */
  says?: RegExp;
  /** the whole body must not have been read: the answer came before `maxBytesSent` */
  maxBytesSent?: number;
  bug?: { stores: Store[]; why: string };
}

const JSON_TYPE = { 'content-type': 'application/json' };
const text = (s: string) => () => Buffer.from(s);

/** A small valid document, as text, for truncation and mutation. */
export const VALID = JSON.stringify({
  name: 'deploy',
  digraph: [0, 1, 0, 0, 0, 1, 0, 0, 0],
  nodes: [
    { id: 0, name: 'vm', engine: 'nil', args: ['size=small'], output: { ip: '' } },
    {
      id: 1,
      name: 'app',
      engine: 'sleep',
      args: ['0.01'],
      timeout: 10,
      retries: { count: 1, backoff_s: 0.1 },
    },
    { id: 2, name: 'check', engine: 'nil', args: ['addr=get_attribute vm:ip'] },
  ],
});

/** `{"name":"x","edges":[],"nodes":[{"id":0,"name":"a"<node>}]<doc>}` */
const docWith = (node: string, doc = '') =>
  `{"name":"x","edges":[],"nodes":[{"id":0,"name":"a","engine":"nil"${node}}]${doc}}`;

const DEPTH = 100_000;
const arrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

function deepNesting(): Hostile[] {
  const group = 'deep nesting (100,000 levels)';
  const entry = (
    name: string,
    body: () => string,
    expect: Hostile['expect'] = 'reject',
  ): Hostile => ({
    group,
    name,
    headers: JSON_TYPE,
    make: () => Buffer.from(body()),
    expect,
  });
  return [
    entry('the body: arrays', () => arrays(DEPTH)),
    entry('the body: objects', () => objects(DEPTH)),
    entry('the body: arrays of objects', () => `${'[{"a":'.repeat(DEPTH)}1${'}]'.repeat(DEPTH)}`),
    entry('the body: never closed', () => '['.repeat(DEPTH)),
    entry('nodes', () => `{"name":"x","edges":[],"nodes":${arrays(DEPTH)}}`),
    entry('a node', () => `{"name":"x","edges":[],"nodes":[${objects(DEPTH)}]}`),
    entry('args', () => docWith(`,"args":${arrays(DEPTH)}`)),
    entry('output', () => docWith(`,"output":${objects(DEPTH)}`)),
    entry('retries', () => docWith(`,"retries":${objects(DEPTH)}`)),
    entry('timeout', () => docWith(`,"timeout":${arrays(DEPTH)}`)),
    entry('name', () => `{"name":${arrays(DEPTH)},"edges":[],"nodes":[]}`),
    entry('edges', () => `{"name":"x","edges":${arrays(DEPTH)},"nodes":[{"id":0,"name":"a"}]}`),
    entry('digraph', () => `{"name":"x","digraph":${arrays(DEPTH)},"nodes":[{"id":0,"name":"a"}]}`),
    entry(
      'an edge endpoint',
      () =>
        `{"name":"x","edges":[[0,${arrays(DEPTH)}]],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}`,
    ),
    // an unknown field is ignored: the document is valid
    entry('an unknown field', () => docWith('', `,"extra":${arrays(DEPTH)}`), 'any'),
  ];
}

function numbers(): Hostile[] {
  const group = 'huge and odd numbers';
  const entry = (name: string, body: string, expect: Hostile['expect'] = 'reject'): Hostile => ({
    group,
    name,
    headers: JSON_TYPE,
    make: text(body),
    expect,
  });
  const digits = '9'.repeat(400);
  return [
    entry('id 1e400', docWith('').replace('"id":0', '"id":1e400')),
    entry('id -1e400', docWith('').replace('"id":0', '"id":-1e400')),
    entry('id 400 digits', docWith('').replace('"id":0', `"id":${digits}`)),
    entry('id 0.0 written 1e-400', docWith('').replace('"id":0', '"id":1e-400'), 'any'),
    entry('id -0', docWith('').replace('"id":0', '"id":-0'), 'any'),
    entry('id 0.5', docWith('').replace('"id":0', '"id":0.5')),
    entry('id as a string', docWith('').replace('"id":0', '"id":"0"')),
    entry('timeout 1e400', docWith(',"timeout":1e400')),
    entry('timeout -0', docWith(',"timeout":-0')),
    entry('timeout 1e-400', docWith(',"timeout":1e-400')),
    entry('timeout -1', docWith(',"timeout":-1')),
    entry('timeout "NaN"', docWith(',"timeout":"NaN"')),
    entry('graph timeout -1e400', docWith('', ',"timeout":-1e400')),
    entry('retries count 1e400', docWith(',"retries":{"count":1e400,"backoff_s":1}')),
    entry('retries count -0', docWith(',"retries":{"count":-0,"backoff_s":1}'), 'any'),
    entry('retries backoff 1e400', docWith(',"retries":{"count":1,"backoff_s":1e400}')),
    entry('retries count 2^53+1', docWith(`,"retries":{"count":${2 ** 53 + 1},"backoff_s":1}`)),
    entry('edge endpoint 1e400', '{"name":"x","edges":[[0,1e400]],"nodes":[{"id":0,"name":"a"}]}'),
    entry(
      'edge endpoint -0',
      '{"name":"x","edges":[[-0,1]],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}',
      'any',
    ),
    entry(
      'edge endpoint 4294967296',
      '{"name":"x","edges":[[0,4294967296]],"nodes":[{"id":0,"name":"a"}]}',
    ),
    entry(
      'digraph entry 1e400',
      '{"name":"x","digraph":[0,1e400,0,0],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}',
    ),
    entry(
      'digraph entry -0',
      '{"name":"x","digraph":[-0,0,-0,0],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}',
      'any',
    ),
    entry(
      'digraph entry "1"',
      '{"name":"x","digraph":[0,"1",0,0],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}',
    ),
    entry('name 1e400', '{"name":1e400,"edges":[],"nodes":[]}'),
    ...['NaN', 'Infinity', '-Infinity', '+1', '0x10', '.5', '1.', '01', '1e', '--1', '1_000'].map(
      (literal) =>
        entry(`the literal ${literal}`, docWith('').replace('"id":0', `"id":${literal}`)),
    ),
  ];
}

function prototypeKeys(): Hostile[] {
  const group = '__proto__, constructor and prototype keys';
  const entry = (name: string, body: string, expect: Hostile['expect'] = 'reject'): Hostile => ({
    group,
    name,
    headers: JSON_TYPE,
    make: text(body),
    expect,
    // a refused key is named, with its path, not called "not valid JSON"
    ...(expect === 'reject' ? { statuses: [400], says: /is not allowed as a key","path":"/ } : {}),
  });
  const proto = '"__proto__":{"polluted":"yes","engine":"shell"}';
  const ctor = '"constructor":{"prototype":{"polluted":"yes"}}';
  const out: Hostile[] = [];
  for (const [label, key] of [
    ['__proto__', proto],
    ['constructor.prototype', ctor],
    ['escaped \\u005f_proto__', proto.replace('__proto__', '\\u005f_proto__')],
  ] as const) {
    out.push(
      entry(`${label} in the document`, docWith('', `,${key}`)),
      entry(`${label} in a node`, docWith(`,${key}`)),
      entry(`${label} in output`, docWith(`,"output":{${key}}`)),
      entry(`${label} in retries`, docWith(`,"retries":{"count":1,"backoff_s":1,${key}}`)),
      entry(`${label} in an arg`, docWith(`,"args":[{${key}}]`)),
      entry(`${label} in an edge`, `{"name":"x","edges":[{${key}}],"nodes":[{"id":0,"name":"a"}]}`),
      entry(
        `${label} at every level`,
        `{${key},"name":"x","edges":[],"nodes":[{${key},"id":0,"name":"a","output":{${key}},"retries":{${key},"count":1,"backoff_s":1}}]}`,
      ),
      entry(
        `${label} 1,000 levels down`,
        `{"name":"x","edges":[],"nodes":[],"extra":${'{"a":'.repeat(1000)}{${key}}${'}'.repeat(1000)}}`,
      ),
    );
  }
  out.push(
    entry('prototype as a plain key', docWith('', ',"prototype":{"polluted":"yes"}'), 'any'),
    entry('constructor as a string', docWith('', ',"constructor":"x"'), 'any'),
    entry(
      'toString and hasOwnProperty keys',
      docWith(',"toString":1', ',"hasOwnProperty":{}'),
      'any',
    ),
    entry('node named __proto__', docWith('').replace('"name":"a"', '"name":"__proto__"'), 'any'),
    entry(
      'output named constructor',
      docWith(',"output":{"constructor":"","prototype":""}'),
      'any',
    ),
    entry(
      'node named __proto__ with get_attribute',
      '{"name":"x","edges":[[0,1]],"nodes":[{"id":0,"name":"__proto__","output":{"ip":""}},{"id":1,"name":"b","args":["x=get_attribute __proto__:ip"]}]}',
      'any',
    ),
  );
  return out;
}

function invalidUtf8(): Hostile[] {
  const group = 'invalid UTF-8 and other encodings';
  const lenient = {
    stores: ['sqlite', 'postgres'] as Store[],
    why:
      'invalid UTF-8 inside a JSON string is decoded leniently (each bad byte becomes U+FFFD) ' +
      'and the run is accepted with a name the client never sent; RFC 8259 requires UTF-8, ' +
      'so a 400 naming the byte offset would be the honest answer',
  };
  const inName = (bytes: number[]) => () =>
    Buffer.concat([
      Buffer.from('{"name":"x'),
      Buffer.from(bytes),
      Buffer.from(docWith('').slice(10)),
    ]);
  const entry = (name: string, make: () => Buffer, extra: Partial<Hostile> = {}): Hostile => ({
    group,
    name,
    headers: JSON_TYPE,
    make,
    expect: 'reject',
    ...extra,
  });
  const doc = Buffer.from(docWith(''));
  return [
    entry('0xff 0xfe in a string', inName([0xff, 0xfe]), { bug: lenient }),
    entry('a lone continuation byte in a string', inName([0x80]), { bug: lenient }),
    entry('overlong "/" (0xc0 0xaf) in a string', inName([0xc0, 0xaf]), { bug: lenient }),
    entry('an encoded surrogate (0xed 0xa0 0x80) in a string', inName([0xed, 0xa0, 0x80]), {
      bug: lenient,
    }),
    entry('a code point above U+10FFFF in a string', inName([0xf4, 0x90, 0x80, 0x80]), {
      bug: lenient,
    }),
    entry('0xff between tokens', () =>
      Buffer.concat([Buffer.from('{"name":"x",'), Buffer.from([0xff]), doc.subarray(12)]),
    ),
    entry('a truncated sequence at the end', () => Buffer.concat([doc, Buffer.from([0xe2, 0x82])])),
    entry('UTF-16LE with a BOM', () =>
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(docWith(''), 'utf16le')]),
    ),
    entry('UTF-32 with a BOM', () =>
      Buffer.concat([Buffer.from([0, 0, 0xfe, 0xff]), Buffer.from(docWith(''), 'utf16le')]),
    ),
    entry(
      'a UTF-8 BOM before a valid document',
      () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), doc]),
      {
        expect: 'any',
      },
    ),
    entry(
      'latin1 declared, latin1 sent',
      () => Buffer.from(docWith('').replace('"a"', '"é"'), 'latin1'),
      {
        headers: { 'content-type': 'application/json; charset=latin1' },
        bug: lenient,
      },
    ),
  ];
}

function nulAndSurrogates(): Hostile[] {
  const group = 'NUL characters and lone surrogates';
  const entry = (
    name: string,
    body: string,
    expect: Hostile['expect'] = 'any',
    bug?: Hostile['bug'],
  ): Hostile => ({
    group,
    name,
    headers: JSON_TYPE,
    make: text(body),
    expect,
    ...(bug ? { bug } : {}),
  });
  return [
    entry(
      'graph name with \\u0000',
      docWith('').replace('"name":"x"', '"name":"x\\u0000y"'),
      'reject',
    ),
    entry('node name with \\u0000', docWith('').replace('"name":"a"', '"name":"a\\u0000"')),
    entry('arg with \\u0000', docWith(',"args":["k=\\u0000"]')),
    entry('output name \\u0000', docWith(',"output":{"\\u0000":""}')),
    entry('target with \\u0000', docWith(',"target":"\\u0000"')),
    entry(
      'engine nil\\u0000',
      docWith('').replace('"engine":"nil"', '"engine":"nil\\u0000"'),
      'reject',
    ),
    entry('graph name lone high surrogate', docWith('').replace('"name":"x"', '"name":"\\ud800"')),
    entry('node name lone low surrogate', docWith('').replace('"name":"a"', '"name":"\\udfff"')),
    entry('reversed surrogate pair in an arg', docWith(',"args":["\\udc00\\ud800"]')),
    entry(
      'get_attribute naming a NUL node',
      '{"name":"x","edges":[[0,1]],"nodes":[{"id":0,"name":"\\u0000","output":{"ip":""}},{"id":1,"name":"b","args":["x=get_attribute \\u0000:ip"]}]}',
    ),
    entry(
      'get_attribute with a surrogate pattern',
      '{"name":"x","edges":[[0,1]],"nodes":[{"id":0,"name":"a","output":{"ip":""}},{"id":1,"name":"b","args":["x=get_attribute \\ud800+:ip"]}]}',
    ),
    entry(
      'a raw NUL byte inside a string',
      docWith('').replace('"name":"a"', '"name":"a\u0000"'),
      'reject',
    ),
    entry(
      'a raw NUL byte between tokens',
      docWith('').replace(',"nodes"', ',\u0000"nodes"'),
      'reject',
    ),
    entry(
      'raw control characters inside a string',
      docWith('').replace('"name":"a"', '"name":"a\u0001\u001f\n"'),
      'reject',
    ),
  ];
}

const MiB = 1024 * 1024;

/** `total` bytes of JSON whitespace in 64 KiB chunks (chunked framing when asked). */
function* whitespace(total: number, chunked: boolean): Generator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const framed = Buffer.concat([
    Buffer.from(`${chunk.length.toString(16)}\r\n`),
    chunk,
    Buffer.from('\r\n'),
  ]);
  for (let sent = 0; sent < total; sent += chunk.length) yield chunked ? framed : chunk;
  if (chunked) yield Buffer.from('0\r\n\r\n');
}

function bigBodies(): Hostile[] {
  const group = 'bodies over the 64 MiB limit';
  const total = 100 * MiB;
  return [
    {
      group,
      name: '100 MB with Content-Length: 413 from the headers',
      headers: { ...JSON_TYPE, 'content-length': total },
      make: () => () => whitespace(total, false),
      // a client that waits for an early answer, as with Expect: 100-continue
      pauseBeforeBodyMs: 200,
      expect: 'reject',
      statuses: [413],
      timeoutMs: 10_000,
      maxBytesSent: 8 * MiB,
    },
    {
      group,
      name: '100 MB chunked: 413 once 64 MiB came',
      headers: { ...JSON_TYPE, 'transfer-encoding': 'chunked' },
      make: () => () => whitespace(total, true),
      expect: 'reject',
      statuses: [413],
      timeoutMs: 30_000,
      maxBytesSent: 90 * MiB,
    },
    {
      group,
      name: '100 MB chunked without a content type',
      headers: { 'transfer-encoding': 'chunked' },
      make: () => () => whitespace(total, true),
      expect: 'reject',
      statuses: [413],
      timeoutMs: 30_000,
      maxBytesSent: 90 * MiB,
    },
    {
      group,
      name: 'Content-Length 10^20',
      headers: { ...JSON_TYPE, 'content-length': '100000000000000000000' },
      make: text('{}'),
      expect: 'reject',
      timeoutMs: 5_000,
    },
    {
      group,
      name: 'Content-Length shorter than the body',
      headers: { ...JSON_TYPE, 'content-length': 10 },
      make: text(VALID),
      expect: 'reject',
    },
    {
      group,
      name: 'Content-Length -1',
      headers: { ...JSON_TYPE, 'content-length': -1 },
      make: text(VALID),
      expect: 'reject',
    },
    {
      group,
      name: 'Content-Length and chunked at once',
      headers: { ...JSON_TYPE, 'content-length': 5, 'transfer-encoding': 'chunked' },
      make: text(`${VALID.length.toString(16)}\r\n${VALID}\r\n0\r\n\r\n`),
      expect: 'reject',
    },
    {
      group,
      name: 'malformed chunk size',
      headers: { ...JSON_TYPE, 'transfer-encoding': 'chunked' },
      make: text(`zz\r\n${VALID}\r\n0\r\n\r\n`),
      expect: 'reject',
    },
  ];
}

function contentTypes(): Hostile[] {
  const group = 'content types';
  const entry = (
    name: string,
    headers: Record<string, string>,
    body: string,
    expect: Hostile['expect'] = 'reject',
  ): Hostile => ({
    group,
    name,
    headers,
    make: text(body),
    expect,
  });
  return [
    // curl -d without a type sends form encoding: read as JSON (README)
    entry('no content type, a valid document', {}, VALID, 'any'),
    entry(
      'form encoding, a valid document',
      { 'content-type': 'application/x-www-form-urlencoded' },
      VALID,
      'any',
    ),
    entry(
      'form encoding, form data',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'nodes=1&edges=2',
    ),
    entry('text/plain, a valid document', { 'content-type': 'text/plain' }, VALID, 'any'),
    entry(
      'application/xml',
      { 'content-type': 'application/xml' },
      '<graph><node id="0"/></graph>',
    ),
    entry(
      'multipart/form-data',
      { 'content-type': 'multipart/form-data; boundary=x' },
      `--x\r\nContent-Disposition: form-data; name="doc"\r\n\r\n${VALID}\r\n--x--\r\n`,
    ),
    entry(
      'application/octet-stream, binary',
      { 'content-type': 'application/octet-stream' },
      '\u0000\u0001\u0002\u00ff',
    ),
    entry(
      'application/json; charset=utf-16, UTF-8 sent',
      { 'content-type': 'application/json; charset=utf-16' },
      VALID,
      'any',
    ),
    entry(
      'a 10,000-character content type',
      { 'content-type': `application/${'x'.repeat(10_000)}` },
      VALID,
      'any',
    ),
    entry('a malformed content type', { 'content-type': ';;;=/=' }, VALID, 'any'),
    entry('application/json, empty', JSON_TYPE, ''),
    entry('application/json, only whitespace', JSON_TYPE, ' \n\t '),
    entry('application/json, a string', JSON_TYPE, '"hello"'),
    entry('application/json, null', JSON_TYPE, 'null'),
    entry('application/json, an array', JSON_TYPE, '[]'),
    entry('application/json, a number', JSON_TYPE, '42'),
    entry('application/json, true', JSON_TYPE, 'true'),
    entry('application/json, two documents', JSON_TYPE, `${VALID}${VALID}`),
    entry('application/json, a comment', JSON_TYPE, `/* c */${VALID}`),
    entry('application/json, single quotes', JSON_TYPE, VALID.replaceAll('"', "'")),
    entry('application/json, a trailing comma', JSON_TYPE, `${VALID.slice(0, -1)},}`),
  ];
}

/** The valid document cut at `count` places (every place when count >= its length). */
function truncated(count: number): Hostile[] {
  const step = Math.max(1, Math.floor(VALID.length / count));
  const out: Hostile[] = [];
  for (let at = 0; at < VALID.length; at += step) {
    out.push({
      group: `truncated JSON (${Math.ceil(VALID.length / step)} cuts)`,
      name: `cut at byte ${at}`,
      headers: JSON_TYPE,
      make: text(VALID.slice(0, at)),
      expect: 'reject',
    });
  }
  return out;
}

function millionElements(): Hostile[] {
  const group = 'million-element arrays';
  const M = 1_000_000;
  const entry = (
    name: string,
    make: () => string,
    expect: Hostile['expect'] = 'reject',
  ): Hostile => ({
    group,
    name,
    headers: JSON_TYPE,
    make: () => Buffer.from(make()),
    expect,
    timeoutMs: 30_000,
  });
  const repeat = (item: string, n: number) => new Array(n).fill(item).join(',');
  return [
    entry('1,000,000 empty nodes', () => `{"name":"x","edges":[],"nodes":[${repeat('{}', M)}]}`),
    entry(
      '1,000,000 nulls as nodes',
      () => `{"name":"x","edges":[],"nodes":[${repeat('null', M)}]}`,
    ),
    entry(
      '100,001 valid nodes',
      () =>
        `{"name":"x","edges":[],"nodes":[${Array.from({ length: 100_001 }, (_, i) => `{"id":${i},"name":"n${i}"}`).join(',')}]}`,
    ),
    entry(
      '1,000,000 copies of one edge',
      () =>
        `{"name":"x","edges":[${repeat('[0,1]', M)}],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}`,
      'any',
    ),
    entry(
      '1,000,001 edges',
      () =>
        `{"name":"x","edges":[${repeat('[0,1]', M + 1)}],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}`,
    ),
    entry(
      '1,000,000 edges of three numbers',
      () =>
        `{"name":"x","edges":[${repeat('[0,1,2]', M)}],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"}]}`,
    ),
    entry(
      'a 1000×1000 digraph of zeros (1,000 nodes)',
      () =>
        `{"name":"x","digraph":[${repeat('0', M)}],"nodes":[${Array.from({ length: 1000 }, (_, i) => `{"id":${i},"name":"n${i}"}`).join(',')}]}`,
      'any',
    ),
    entry(
      'a 1,000,000-entry digraph for 3 nodes',
      () =>
        `{"name":"x","digraph":[${repeat('0', M)}],"nodes":[{"id":0,"name":"a"},{"id":1,"name":"b"},{"id":2,"name":"c"}]}`,
    ),
    entry('1,000,000 args', () => docWith(`,"args":[${repeat('"a"', M)}]`)),
    entry('1,000,000 numbers as args', () => docWith(`,"args":[${repeat('1', M)}]`)),
    // over the limit of 1,000 output names per node
    entry('an output of 1,000,000 names', () =>
      docWith(`,"output":{${Array.from({ length: M }, (_, i) => `"k${i}":""`).join(',')}}`),
    ),
    entry('values for 1,000,000 inputs', () =>
      docWith('', `,"values":{${Array.from({ length: M }, (_, i) => `"v${i}":""`).join(',')}}`),
    ),
    entry(
      'an unknown field of 1,000,000 elements',
      () => docWith('', `,"extra":[${repeat('0', M)}]`),
      'any',
    ),
    entry(
      'a name of 1,000,000 characters',
      () => `{"name":"${'n'.repeat(M)}","edges":[],"nodes":[]}`,
    ),
    entry('an arg of 1,000,000 characters', () => docWith(`,"args":["${'a'.repeat(M)}"]`)),
  ];
}

/**
 * Small documents that cost far more than their size: conditions nested past the stack,
 * inputs multiplied by substitution, get_attribute patterns costly to match.
 */
function amplifiers(): Hostile[] {
  const group = 'small documents, costly work';
  const entry = (name: string, make: () => unknown): Hostile => ({
    group,
    name,
    headers: JSON_TYPE,
    make: () => Buffer.from(JSON.stringify(make())),
    expect: 'reject',
    timeoutMs: 30_000,
  });
  const pair = (depends: string) => ({
    name: 'x',
    edges: [[0, 1]],
    nodes: [
      { id: 0, name: 'a', engine: 'nil' },
      { id: 1, name: 'b', engine: 'nil', depends },
    ],
  });
  const amplified = (value: number, references: number, args: number) => ({
    name: 'x',
    inputs: { a: {} },
    values: { a: 'x'.repeat(value) },
    edges: [],
    nodes: [
      {
        id: 0,
        name: 'n',
        engine: 'nil',
        args: new Array(args).fill('{{inputs.a}}'.repeat(references)),
      },
    ],
  });
  const n = 2000;
  return [
    entry('depends: 4,000 "!" before a term', () => pair(`${'!'.repeat(4000)}a.success`)),
    entry('depends: 2,000 nested parentheses', () =>
      pair(`${'('.repeat(2000)}a.success${')'.repeat(2000)}`),
    ),
    entry('depends: 1,300 "!(" pairs', () =>
      pair(`${'!('.repeat(1300)}a.success${')'.repeat(1300)}`),
    ),
    entry('a 1 MiB input referenced 400 times in each of 12 args', () =>
      amplified(1024 * 1024, 400, 12),
    ),
    entry('a 1 MiB input referenced 5,000 times in one arg', () => amplified(1024 * 1024, 5000, 1)),
    entry('a 60 KB input referenced once in each of 1,000 args of 2 nodes', () => {
      const doc = amplified(60_000, 1, 1000);
      return { ...doc, nodes: [doc.nodes[0], { ...doc.nodes[0], id: 1, name: 'm' }] };
    }),
    entry('2,000 200-character names, 20 250-character get_attribute patterns', () => ({
      name: 'x',
      edges: Array.from({ length: n }, (_, i) => [i, n]),
      nodes: [
        ...Array.from({ length: n }, (_, id) => ({
          id,
          name: `${'a'.repeat(195)}${String(id).padStart(5, '0')}`,
          output: { ip: '' },
        })),
        {
          id: n,
          name: 'reader',
          args: Array.from(
            { length: 20 },
            (_, k) => `k${k}=get_attribute ${'a*'.repeat(120)}${String(k).padStart(10, 'b')}:ip`,
          ),
        },
      ],
    })),
    entry('1,000 distinct costly get_attribute patterns', () => ({
      name: 'x',
      edges: [[0, 1]],
      nodes: [
        { id: 0, name: 'a'.repeat(200), output: { ip: '' } },
        {
          id: 1,
          name: 'reader',
          args: Array.from(
            { length: 1000 },
            (_, k) => `k=get_attribute ${'a*'.repeat(100)}${k}:ip`,
          ),
        },
      ],
    })),
  ];
}

function routes(): Hostile[] {
  const group = 'other routes, methods and parameters';
  const get = (name: string, path: string, method = 'GET', bug?: Hostile['bug']): Hostile => ({
    group,
    name,
    method,
    path,
    expect: 'reject',
    ...(bug ? { bug } : {}),
  });
  return [
    get('PUT /v1/tasks', '/v1/tasks', 'PUT'),
    get('PATCH /v1/tasks', '/v1/tasks', 'PATCH'),
    get('DELETE /v1/tasks', '/v1/tasks', 'DELETE'),
    get('an unknown run', '/v1/tasks/00000000-0000-0000-0000-000000000000'),
    get('a run id of 10,000 characters', `/v1/tasks/${'a'.repeat(10_000)}`),
    get('a run id with ../', '/v1/tasks/..%2F..%2Fetc%2Fpasswd'),
    get('a run id of invalid UTF-8', '/v1/tasks/%ff%fe'),
    get('a run id with a lone surrogate', '/v1/tasks/%ed%a0%80'),
    get('a run id with NUL', '/v1/tasks/%00', 'GET'),
    get('DELETE a run id with NUL', '/v1/tasks/%00', 'DELETE'),
    get('retry a run id with NUL', '/v1/tasks/%00/retry', 'POST'),
    get('the log of a run id with NUL', '/v1/tasks/%00/nodes/0/log', 'GET'),
    get('events of an unknown run', '/v1/tasks/nope/events'),
    get('retry an unknown run', '/v1/tasks/nope/retry', 'POST'),
    get('log of node -1', '/v1/tasks/nope/nodes/-1/log'),
    get('log of node 1e400', '/v1/tasks/nope/nodes/1e400/log'),
    get('log of node abc', '/v1/tasks/nope/nodes/abc/log'),
    get('limit=Infinity', '/v1/tasks?limit=Infinity', 'GET'),
    get('limit=1e400', '/v1/tasks?limit=1e400', 'GET'),
    get('limit=-1', '/v1/tasks?limit=-1'),
    get('limit=0', '/v1/tasks?limit=0'),
    get('limit=1001', '/v1/tasks?limit=1001'),
    get('limit=abc', '/v1/tasks?limit=abc'),
    get('limit twice', '/v1/tasks?limit=1&limit=2&limit=x'),
    get('a garbage cursor', '/v1/tasks?cursor=garbage'),
    get('a cursor with NUL', '/v1/tasks?cursor=%00'),
    get('a cursor of 10,000 characters', `/v1/tasks?cursor=${'A'.repeat(10_000)}`),
    get('an unknown state', '/v1/tasks?state=exploded'),
    get('a state of NUL', '/v1/tasks?state=%00'),
    get('state __proto__', '/v1/tasks?state=__proto__'),
    get('a URL of 100,000 characters', `/v1/tasks?x=${'y'.repeat(100_000)}`),
    {
      group,
      name: '1,000 headers',
      path: '/v1/tasks',
      method: 'GET',
      headers: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-h${i}`, 'v'])),
      expect: 'any',
    },
    {
      group,
      name: 'a header of 100,000 characters',
      path: '/v1/tasks',
      method: 'GET',
      headers: { 'x-big': 'v'.repeat(100_000) },
      expect: 'reject',
    },
    {
      group,
      name: 'an Idempotency-Key of 10,000 characters',
      headers: { ...JSON_TYPE, 'idempotency-key': 'k'.repeat(10_000) },
      make: text(VALID),
      expect: 'reject',
    },
    {
      group,
      name: 'an Idempotency-Key with a control character',
      headers: { ...JSON_TYPE, 'idempotency-key': 'k\u0001k' },
      make: text(VALID),
      expect: 'reject',
    },
    {
      group,
      name: 'an Idempotency-Key of latin1 bytes',
      headers: { ...JSON_TYPE, 'idempotency-key': 'clé-\u00ff' },
      make: text(VALID),
      expect: 'any',
    },
  ];
}

/**
 * A secret value the hostile documents below pass as args and inputs: no answer (checked by
 * `problem`) and no line of the server's own output (checked after each group) may show it.
 */
export const SECRET_MARKER = 's3cr3t-fuzz-7f3a';
const REFUSE = { engine: 'shell', artifact: 'refuse.sh' };

/**
 * Names made of terminal escapes (clear screen, window title, C1, bidi overrides), and
 * secrets in args, URL passwords and `?input=` values, some quoted back by a failing node.
 */
function escapesAndSecrets(): Hostile[] {
  const entry = (name: string, body: unknown, path?: string): Hostile => ({
    group: 'escapes and secrets',
    name,
    path,
    headers: JSON_TYPE,
    make: text(JSON.stringify(body)),
    expect: 'any',
  });
  const names = [
    'evil\u001b]0;pwned\u0007\u001b[2J\u001b[H',
    'fake\nsuccess  all good',
    '\u202egnp.exe\u2066',
    'csi\u009b2J\u007f',
  ];
  return [
    entry('run and node names with terminal escapes', {
      name: names[0],
      edges: [],
      nodes: names.map((name, id) => ({ id, name, engine: 'nil', target: name })),
    }),
    // refuse.sh (test/support/failing-task.ts) prints its args on stderr and exits 1, on the
    // executor the API suites give their servers
    entry('a failing node quoting its secret arg', {
      name: 'secret args',
      edges: [],
      nodes: [
        { id: 0, name: 'a', ...REFUSE, args: [`password=${SECRET_MARKER}`] },
        { id: 1, name: 'b', ...REFUSE, args: [`DB_PWD=${SECRET_MARKER}`] },
        { id: 2, name: 'c', ...REFUSE, args: [`postgres://u:${SECRET_MARKER}@db/x`] },
      ],
    }),
    entry(
      'a secret in an ?input= value, quoted by a failing node',
      {
        name: 'secret input',
        inputs: { account: {} },
        edges: [],
        nodes: [
          { id: 0, name: 'a', ...REFUSE, args: ['key={{inputs.account}}'], secrets: ['key'] },
        ],
      },
      `/v1/tasks?input=account=${SECRET_MARKER}`,
    ),
  ];
}

/** The whole corpus; `scale` short takes fewer truncation points. */
export function hostileCorpus(scale: 'short' | 'full'): Hostile[] {
  return [
    ...deepNesting(),
    ...numbers(),
    ...prototypeKeys(),
    ...invalidUtf8(),
    ...nulAndSurrogates(),
    ...bigBodies(),
    ...contentTypes(),
    ...truncated(scale === 'full' ? Number.POSITIVE_INFINITY : 20),
    ...millionElements(),
    ...amplifiers(),
    ...routes(),
    ...escapesAndSecrets(),
  ];
}
