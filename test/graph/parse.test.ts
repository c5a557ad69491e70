import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DocumentError, type DocumentErrorKind } from '../../src/graph/errors.ts';
import {
  DEFAULT_LIMITS,
  MAX_PATTERN_WORK,
  type ParseOptions,
  parseDocument,
  parseDocumentText,
  toDocument,
} from '../../src/graph/parse.ts';
import { sharedDir } from '../support/shared.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const EXAMPLE = join(sharedDir(), 'examples/gorch-example.json');
const exampleText = () => readFileSync(EXAMPLE, 'utf8');
const example = () => JSON.parse(exampleText()) as Record<string, unknown> & { digraph: number[] };

/** A document of nodes named a, b, c, ... on the `nil` engine, with extra fields per node. */
function doc(
  n: number,
  edges: [number, number][],
  extra: Record<number, Record<string, unknown>> = {},
): Record<string, unknown> {
  const nodes = Array.from({ length: n }, (_, id) => ({
    id,
    name: String.fromCharCode(97 + id),
    engine: 'nil',
    ...extra[id],
  }));
  return { name: 'test', edges, nodes };
}

/** Asserts that parsing (JSON text when `input` is a string) throws this DocumentError. */
function rejects(
  input: unknown,
  kind: DocumentErrorKind,
  path: string,
  message: string | RegExp,
  options?: Partial<ParseOptions>,
): DocumentError {
  let caught: unknown;
  try {
    if (typeof input === 'string') parseDocumentText(input, options);
    else parseDocument(input, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DocumentError, `expected a DocumentError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.equal(caught.path, path, caught.message);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

function edgeList(g: ReturnType<typeof parseDocument>): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < g.nodes.length; i++) {
    for (let p = g.succStart[i]; p < g.succStart[i + 1]; p++) out.push([i, g.succ[p]]);
  }
  return out;
}

describe('the gorchestrator example', () => {
  it('parses with its 8 nodes, its edges and get_attribute d:ip_address → node 3', () => {
    const g = parseDocumentText(exampleText());
    assert.equal(g.name, 'Valid');
    assert.equal(g.matrix, true);
    assert.deepEqual(
      g.nodes.map((n) => n.name),
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
    );
    const expected: [number, number][] = [];
    const matrix = example().digraph;
    for (let k = 0; k < matrix.length; k++) if (matrix[k] !== 0) expected.push([k >> 3, k % 8]);
    assert.deepEqual(edgeList(g), expected);
    assert.deepEqual(
      [...g.pred.subarray(g.predStart[6], g.predStart[7])],
      [1, 3, 7],
      'g has predecessors b, d, h',
    );
    assert.deepEqual(g.refs.get(2), [
      { arg: 0, key: 'ip_address', source: 3, attribute: 'ip_address' },
    ]);
    assert.equal(g.refs.size, 1);
  });

  it('normalizes null args and output, keeps declared outputs', () => {
    const g = parseDocument(example());
    assert.deepEqual(g.nodes[0], {
      id: 0,
      name: 'a',
      target: 'test',
      engine: 'toscassh',
      artifact: './sleep.sh',
      args: [],
      output: {},
    });
    assert.deepEqual(g.nodes[3].output, { network: '', ip_address: '' });
  });

  it('round-trips through toDocument in digraph form', () => {
    const g = parseDocument(example());
    const d = toDocument(g);
    assert.deepEqual(d.digraph, example().digraph);
    assert.equal(d.edges, undefined);
    assert.deepEqual(parseDocumentText(JSON.stringify(d)), g);
  });
});

describe('normalization', () => {
  it('defaults target, artifact, args, output; accepts outputs; ignores unknown fields', () => {
    const g = parseDocument({
      state: 2,
      edges: [],
      nodes: [{ id: 0, name: 'x', engine: 'shell', outputs: { ip: '' }, state: 3, extra: [1] }],
    });
    assert.equal(g.name, '');
    assert.deepEqual(g.nodes[0], {
      id: 0,
      name: 'x',
      target: '',
      engine: 'shell',
      artifact: '',
      args: [],
      output: { ip: '' },
    });
  });

  it('a node without engine nor artifact is nil, as in gorchestrator', () => {
    const g = parseDocument({ edges: [], nodes: [{ id: 0, name: 'x' }] });
    assert.equal(g.nodes[0].engine, 'nil');
  });

  it('keeps timeouts and retries', () => {
    const g = parseDocument({
      timeout: 60,
      edges: [],
      nodes: [
        { id: 0, name: 'x', engine: 'nil', timeout: 1.5, retries: { count: 2, backoff_s: 0 } },
      ],
    });
    assert.equal(g.timeout, 60);
    assert.equal(g.nodes[0].timeout, 1.5);
    assert.deepEqual(g.nodes[0].retries, { count: 2, backoff_s: 0 });
  });

  it('an output named __proto__ stays a plain key', () => {
    const g = parseDocumentText(
      '{"edges":[],"nodes":[{"id":0,"name":"x","engine":"nil","output":{"__proto__":"v"}}]}',
    );
    assert.ok(Object.hasOwn(g.nodes[0].output, '__proto__'));
    assert.equal(Object.getPrototypeOf(g.nodes[0].output), Object.prototype);
  });

  it('stores duplicate edges once, rows sorted', () => {
    const g = parseDocument(
      doc(3, [
        [0, 2],
        [0, 1],
        [0, 2],
        [1, 2],
        [0, 1],
      ]),
    );
    assert.deepEqual(edgeList(g), [
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    assert.deepEqual([...g.predStart], [0, 0, 1, 3]);
    assert.deepEqual([...g.pred], [0, 0, 1]);
  });

  it('any non-zero matrix entry is an edge', () => {
    const g = parseDocument({ digraph: [0, 7, -1, 0, 0, 0.5, 0, 0, 0], nodes: doc(3, []).nodes });
    assert.deepEqual(edgeList(g), [
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
  });

  it('accepts an empty graph', () => {
    const g = parseDocument({ digraph: [], nodes: [] });
    assert.equal(g.nodes.length, 0);
    assert.deepEqual([...g.succStart], [0]);
  });

  it('ignores a leading byte order mark', () => {
    assert.equal(parseDocumentText(`\ufeff${exampleText()}`).nodes.length, 8);
  });
});

describe('rejections', () => {
  it('not JSON, with line and column', () => {
    rejects(
      '{"nodes": [],}',
      'json',
      '',
      "not JSON: line 1 column 14 (offset 13): expected a double-quoted property name, got '}' (trailing comma?)",
    );
    rejects(
      '{\n  "edges": [[0, 1]]\n  "nodes": []\n}',
      'json',
      '',
      "not JSON: line 3 column 3 (offset 24): expected ',' or '}' after a property value, got '\"'",
    );
    rejects('[1, 2,]', 'json', '', /^not JSON: line 1 column 7 \(offset 6\): expected a value/);
    rejects('{"a": tru}', 'json', '', /line 1 column 10 .*invalid literal \(expected true\)/);
    rejects('', 'json', '', 'not JSON: line 1 column 1 (offset 0): the text is empty');
    rejects('{"a": [1, 2', 'json', '', /unexpected end of the text: 2 objects or arrays/);
    rejects('{"a": "x\ty"}', 'json', '', /line 1 column 9 .*control character U\+0009/);
  });

  it('not an object', () => {
    for (const input of [null, 5, [1], '"x"']) {
      rejects(input, 'shape', '', /^the document must be a JSON object .*, got /);
    }
    rejects('[]', 'shape', '', /got an array of 0 items$/);
  });

  it('wrong types, with paths and what came', () => {
    rejects(
      doc(1, [], { 0: { args: ['ok', 5] } }),
      'type',
      'nodes[0].args[1]',
      'nodes[0].args[1]: expected a string, got number 5',
    );
    rejects(
      doc(1, [], { 0: { args: 'port=1' } }),
      'type',
      'nodes[0].args',
      'nodes[0].args: expected an array of strings or null, got string "port=1"',
    );
    rejects(
      doc(1, [], { 0: { output: { ip: 1 } } }),
      'type',
      'nodes[0].output.ip',
      'nodes[0].output.ip: expected a string, got number 1',
    );
    rejects(
      doc(1, [], { 0: { output: { 'my ip': null } } }),
      'type',
      'nodes[0].output["my ip"]',
      'nodes[0].output["my ip"]: expected a string, got null',
    );
    rejects(
      { edges: [], nodes: [{ id: 0, name: 7, engine: 'nil' }] },
      'type',
      'nodes[0].name',
      'nodes[0].name: expected a string or null, got number 7',
    );
    rejects(
      { edges: [], nodes: [{ name: 'a', engine: 'nil' }] },
      'type',
      'nodes[0].id',
      'nodes[0].id: expected an integer, got nothing (missing)',
    );
    rejects(
      doc(1, [], { 0: { id: 0.5 } }),
      'type',
      'nodes[0].id',
      'nodes[0].id: expected an integer, got number 0.5',
    );
    rejects(
      doc(1, [], { 0: { timeout: 0 } }),
      'type',
      'nodes[0].timeout',
      'nodes[0].timeout: expected a number > 0, got number 0',
    );
    rejects(
      doc(1, [], { 0: { retries: { count: 101, backoff_s: 1 } } }),
      'type',
      'nodes[0].retries.count',
      'nodes[0].retries.count: expected an integer from 0 to 100, got number 101',
    );
    rejects({ ...doc(1, []), timeout: -1 }, 'type', 'timeout', /expected a number > 0/);
    rejects({ edges: [], nodes: 5 }, 'type', 'nodes', /^nodes: expected an array of objects/);
    rejects({ edges: [] }, 'type', 'nodes', /^nodes: expected an array .*got nothing \(missing\)/);
  });

  it('reports the first few type errors', () => {
    const nodes = Array.from({ length: 10 }, (_, id) => ({ id, name: 'a', target: 7 }));
    const error = rejects({ edges: [], nodes }, 'type', 'nodes[0].target', /^nodes\[0\]\.target: /);
    assert.equal(error.issues.length, 5);
    assert.deepEqual(
      error.issues.map((i) => i.path),
      [
        'nodes[0].target',
        'nodes[1].target',
        'nodes[2].target',
        'nodes[3].target',
        'nodes[4].target',
      ],
    );
    assert.match(error.message, /; nodes\[4\]\.target: expected a string, got number 7$/);
  });

  it('both or neither of digraph and edges', () => {
    rejects(
      { ...doc(1, []), digraph: [0] },
      'shape',
      '',
      'give exactly one of "digraph" (the N×N matrix) or "edges" ([[from, to], ...]), got both',
    );
    rejects({ nodes: [] }, 'shape', '', /, got neither$/);
  });

  it('matrix not N×N', () => {
    rejects(
      { digraph: [0, 1, 0], nodes: doc(2, []).nodes },
      'edge',
      'digraph',
      'digraph: expected N×N = 4 entries for N = 2 nodes, got 3',
    );
    rejects(
      { digraph: [0, 0, 0, 0, 0, 0, 0, 0, 0], nodes: doc(2, []).nodes },
      'edge',
      'digraph',
      'digraph: expected N×N = 4 entries for N = 2 nodes, got 9 (a 3×3 matrix for 2 nodes)',
    );
  });

  it('matrix entries that are not numbers', () => {
    for (const bad of ['1', null, true, [1]]) {
      rejects(
        { digraph: [0, bad, 0, 0], nodes: doc(2, []).nodes },
        'edge',
        'digraph[1]',
        /^digraph\[1\]: expected a number, got /,
      );
    }
    rejects({ digraph: 'x', nodes: doc(2, []).nodes }, 'edge', 'digraph', /expected an array/);
  });

  it('edges out of range, not integers, not pairs', () => {
    rejects(
      doc(3, [
        [0, 1],
        [1, 3],
      ]),
      'edge',
      'edges[1][1]',
      'edges[1][1]: expected a node id, an integer from 0 to 2, got number 3',
    );
    rejects(doc(3, [[-1, 1]]), 'edge', 'edges[0][0]', /got number -1$/);
    rejects(doc(3, [[0.5, 1]]), 'edge', 'edges[0][0]', /got number 0.5$/);
    rejects(doc(3, [[0, '1']] as never), 'edge', 'edges[0][1]', /got string "1"$/);
    rejects(
      doc(3, [[0, 1, 2]] as never),
      'edge',
      'edges[0]',
      'edges[0]: expected a pair [from, to] of node ids, got an array of 3 items',
    );
    rejects(
      { ...doc(3, []), edges: { 0: 1 } },
      'edge',
      'edges',
      /expected an array of \[from, to\]/,
    );
  });

  it('ids not 0..N-1, each once (in any order)', () => {
    rejects(
      doc(3, [], { 2: { id: 5 } }),
      'id',
      'nodes[2].id',
      'nodes[2].id: expected an id from 0 to 2 (the ids of N nodes are 0..N-1, in any order), got 5',
    );
    rejects(
      doc(1, [], { 0: { id: -1 } }),
      'id',
      'nodes[0].id',
      'nodes[0].id: expected 0 (the ids of N nodes are 0..N-1, in any order), got -1',
    );
    rejects(
      doc(3, [], { 0: { id: 2 }, 2: { id: 1 } }),
      'id',
      'nodes[2].id',
      "nodes[2].id: id 1 is already nodes[1]'s (the ids of N nodes are 0..N-1, each once, in any order)",
    );
  });

  it('duplicate names, saying which two ids', () => {
    rejects(
      doc(3, [], { 2: { name: 'a' } }),
      'name',
      'nodes[2].name',
      'nodes[2].name: duplicate name "a": nodes 0 and 2 both have it (names must be unique: get_attribute refers to nodes by name)',
    );
  });

  it('self-loops, in both forms', () => {
    rejects(
      doc(4, [[3, 3]]),
      'self-loop',
      'edges[0]',
      'edges[0]: node 3 "d" has an edge to itself',
    );
    rejects(
      { digraph: [0, 0, 0, 1], nodes: doc(2, []).nodes },
      'self-loop',
      'digraph[3]',
      'digraph[3]: node 1 "b" has an edge to itself',
    );
  });

  it('cycles, named node by node', () => {
    const error = rejects(
      doc(4, [
        [3, 0],
        [0, 1],
        [1, 2],
        [2, 0],
      ]),
      'cycle',
      'edges',
      'cycle: a -> b -> c -> a',
    );
    assert.deepEqual(error.cycle, [0, 1, 2, 0]);
    const matrix = [0, 1, 0, 0, 0, 1, 0, 1, 0];
    rejects({ digraph: matrix, nodes: doc(3, []).nodes }, 'cycle', 'digraph', 'cycle: b -> c -> b');
  });

  it('shortens the message of a long cycle', () => {
    const n = 40;
    const edges: [number, number][] = Array.from({ length: n }, (_, i) => [i, (i + 1) % n]);
    const nodes = Array.from({ length: n }, (_, id) => ({ id, name: `n${id}`, engine: 'nil' }));
    const error = rejects(
      { edges, nodes },
      'cycle',
      'edges',
      /^cycle of 40 nodes: n0 -> n1 -> .* -> n11 -> … -> n29 -> .* -> n39 -> n0$/,
    );
    assert.equal(error.cycle?.length, 41);
  });

  it('unknown engine, missing engine', () => {
    rejects(
      doc(1, [], { 0: { engine: 'bash' } }),
      'engine',
      'nodes[0].engine',
      'nodes[0].engine: unknown engine "bash", expected one of ansible, docker, http, nil, shell, sleep, ssh, toscassh',
    );
    rejects(
      doc(1, [], { 0: { engine: 'shell' } }),
      'engine',
      'nodes[0].engine',
      'nodes[0].engine: unknown engine "shell", expected one of docker, nil',
      { engines: new Set(['nil', 'docker']) },
    );
    rejects(
      { edges: [], nodes: [{ id: 0, name: 'x', artifact: 'run.sh' }] },
      'engine',
      'nodes[0].engine',
      /^nodes\[0\]\.engine: missing: a node with an artifact needs an engine, one of ansible/,
    );
  });

  it('output and outputs together', () => {
    rejects(
      doc(1, [], { 0: { output: {}, outputs: {} } }),
      'shape',
      'nodes[0]',
      'nodes[0]: both "output" and "outputs" are given; "outputs" is an alias of "output", give one',
    );
  });

  it('over the limits', () => {
    rejects(doc(3, []), 'limit', 'nodes', 'nodes: 3 nodes is over the limit of 2', {
      maxNodes: 2,
    });
    rejects(
      doc(3, [
        [0, 1],
        [1, 2],
        [0, 2],
      ]),
      'limit',
      'edges',
      'edges: 3 edges is over the limit of 2',
      { maxEdges: 2 },
    );
    rejects(
      { digraph: [0, 1, 1, 0, 0, 1, 0, 0, 0], nodes: doc(3, []).nodes },
      'limit',
      'digraph',
      'digraph: more than 2 edges (non-zero entries), over the limit of 2',
      { maxEdges: 2 },
    );
    rejects(
      doc(1, [], { 0: { args: ['a', 'b', 'c'] } }),
      'limit',
      'nodes[0].args',
      'nodes[0].args: 3 args is over the limit of 2 per node',
      { maxArgs: 2 },
    );
    rejects(
      doc(1, [], { 0: { args: ['a', 'x'.repeat(DEFAULT_LIMITS.maxArgLength + 1)] } }),
      'limit',
      'nodes[0].args[1]',
      'nodes[0].args[1]: 65537 characters is over the limit of 65536',
    );
    rejects(
      doc(1, [], { 0: { name: 'n'.repeat(257) } }),
      'limit',
      'nodes[0].name',
      'nodes[0].name: 257 characters is over the limit of 256',
    );
    rejects(
      { ...doc(1, []), name: 'g'.repeat(11) },
      'limit',
      'name',
      'name: 11 characters is over the limit of 10',
      { maxGraphNameLength: 10 },
    );
    // a graph's name may be far longer than a node's (a TOSCA template's description)
    assert.equal(parseDocument({ ...doc(1, []), name: 'g'.repeat(4096) }).name.length, 4096);
    rejects(
      { ...doc(1, []), name: 'g'.repeat(DEFAULT_LIMITS.maxGraphNameLength + 1) },
      'limit',
      'name',
      `name: ${DEFAULT_LIMITS.maxGraphNameLength + 1} characters is over the limit of ${DEFAULT_LIMITS.maxGraphNameLength}`,
    );
  });

  it('output names per node and in all, and inputs, are counted before anything reads them', () => {
    const outputs = (count: number) => Object.fromEntries(range(count).map((i) => [`k${i}`, '']));
    rejects(
      doc(2, [], { 1: { output: outputs(1001) } }),
      'limit',
      'nodes[1].output',
      'nodes[1].output: 1001 outputs is over the limit of 1000 per node',
    );
    // counted even where the type check would refuse the values
    rejects(
      doc(1, [], { 0: { outputs: { ...outputs(1001), k0: 5 } } }),
      'limit',
      'nodes[0].outputs',
      'nodes[0].outputs: 1001 outputs is over the limit of 1000 per node',
    );
    assert.equal(
      parseDocument(doc(1, [], { 0: { output: outputs(1000) } })).nodes[0].output.k999,
      '',
    );
    rejects(
      doc(101, [], Object.fromEntries(range(101).map((id) => [id, { output: outputs(1000) }]))),
      'limit',
      'nodes[100].output',
      'nodes[100].output: the nodes up to this one declare 101000 outputs, over the limit of 100000 for a document',
    );
    rejects(
      doc(3, [], { 0: { output: outputs(3) }, 2: { output: outputs(3) } }),
      'limit',
      'nodes[2].output',
      /declare 6 outputs, over the limit of 5 for a document$/,
      { maxOutputsTotal: 5 },
    );
    const inputs = Object.fromEntries(range(1001).map((i) => [`i${i}`, {}]));
    rejects(
      { ...doc(1, []), inputs },
      'limit',
      'inputs',
      'inputs: 1001 inputs are declared, over the limit of 1000',
    );
    const values = Object.fromEntries(range(1001).map((i) => [`i${i}`, '']));
    rejects(
      { ...doc(1, []), values },
      'limit',
      'values',
      'values: 1001 values are given, over the limit of 1000',
    );
    rejects(doc(1, []), 'limit', 'values', /1001 values are given/, { values });
  });
});

describe('get_attribute', () => {
  const arg = (text: string) => ({ args: [text] });

  it('names no upstream node: says what the regex matched', () => {
    const d = example();
    d.digraph[3 * 8 + 2] = 0; // d no longer precedes c
    rejects(
      d,
      'get-attribute',
      'nodes[2].args[0]',
      'nodes[2].args[0]: get_attribute d:ip_address names no upstream node of "c" (matching nodes: d, which is not upstream)',
    );
    rejects(
      doc(3, [[0, 2]], { 2: arg('ip=get_attribute z:ip') }),
      'get-attribute',
      'nodes[2].args[0]',
      'nodes[2].args[0]: get_attribute z:ip names no upstream node of "c" (no node name matches "z", wholly or in part)',
    );
    rejects(
      doc(3, [[0, 2]], { 0: arg('ip=get_attribute [a-c]:ip') }),
      'get-attribute',
      'nodes[0].args[0]',
      /\(matching nodes: a \(the node itself\), b, c, none of which is upstream\)$/,
    );
  });

  it('the pattern is anchored and the lowest-id matching ancestor wins', () => {
    // a -> c -> d, b -> d, ab -> d
    const g = parseDocument(
      doc(
        5,
        [
          [0, 2],
          [2, 3],
          [1, 3],
          [4, 3],
        ],
        {
          3: { args: ['x=get_attribute [bc]:ip', 'y=get_attribute a:port', 'plain=1'] },
          4: { name: 'ab' },
        },
      ),
    );
    assert.deepEqual(g.refs.get(3), [
      { arg: 0, key: 'x', source: 1, attribute: 'ip' },
      { arg: 1, key: 'y', source: 0, attribute: 'port' },
    ]);
  });

  it('NODE runs up to the last colon; transitive ancestors count', () => {
    const nodes = [
      { id: 0, name: 'web:1', engine: 'nil' },
      { id: 1, name: 'mid', engine: 'nil' },
      { id: 2, name: 'app', engine: 'nil', args: ['URL=get_attribute web:\\d:url'] },
    ];
    const g = parseDocument({
      edges: [
        [0, 1],
        [1, 2],
      ],
      nodes,
    });
    assert.deepEqual(g.refs.get(2), [{ arg: 0, key: 'URL', source: 0, attribute: 'url' }]);
  });

  it('resolves a pattern used by many nodes in one pass, same answers', () => {
    // root -> every other node; half the nodes also below node 1
    const n = 50;
    const edges: [number, number][] = [];
    for (let i = 1; i < n; i++) edges.push([0, i]);
    for (let i = 2; i < n; i += 2) edges.push([1, i]);
    const nodes = Array.from({ length: n }, (_, id) => ({
      id,
      name: `n${id}`,
      engine: 'nil',
      args: id >= 2 ? ['a=get_attribute n[01]:x', 'b=get_attribute n1:y'] : [],
    }));
    const evenOnly = nodes.map((node) => ({
      ...node,
      args: node.id >= 2 && node.id % 2 === 0 ? node.args : [],
    }));
    const g = parseDocument({ edges, nodes: evenOnly });
    for (let id = 2; id < n; id += 2) {
      assert.deepEqual(g.refs.get(id), [
        { arg: 0, key: 'a', source: 0, attribute: 'x' },
        { arg: 1, key: 'b', source: 1, attribute: 'y' },
      ]);
    }
    rejects(
      { edges, nodes },
      'get-attribute',
      'nodes[3].args[1]',
      /^nodes\[3\]\.args\[1\]: get_attribute n1:y names no upstream node of "n3" \(matching nodes: n1, n10, n11, n12, n13 and 6 more, none of which is upstream\)$/,
    );
  });

  it('finds transitive ancestors in both strategies (few and many uses)', () => {
    const n = 10;
    const edges: [number, number][] = range(n - 1).map((i) => [i, i + 1]);
    for (const readers of [[5], range(n).slice(2)]) {
      const nodes = range(n).map((id) => ({
        id,
        name: `n${id}`,
        engine: 'nil',
        args: readers.includes(id) ? ['a=get_attribute n0:x', 'b=get_attribute n[01]:y'] : [],
      }));
      const g = parseDocument({ edges, nodes });
      for (const id of readers) {
        assert.deepEqual(g.refs.get(id), [
          { arg: 0, key: 'a', source: 0, attribute: 'x' },
          { arg: 1, key: 'b', source: 0, attribute: 'y' },
        ]);
      }
    }
  });

  it('bounds the regular-expression work, charged before it is done', () => {
    // 2,000 upstream nodes with 200-character names, 20 patterns of 250 characters
    const n = 2000;
    const name = (i: number) => `${'a'.repeat(195)}${String(i).padStart(5, '0')}`;
    const pattern = (k: number) => `${'a*'.repeat(120)}${String(k).padStart(10, 'b')}`;
    const reader = {
      id: n,
      name: 'reader',
      engine: 'nil',
      args: range(20).map((k) => `k${k}=get_attribute ${pattern(k)}:ip`),
    };
    const upstream = range(n).map((id) => ({ id, name: name(id), engine: 'nil' }));
    rejects(
      { edges: range(n).map((i) => [i, n]), nodes: [...upstream, reader] },
      'limit',
      `nodes[${n}].args[0]`,
      new RegExp(
        `^nodes\\[${n}\\]\\.args\\[0\\]: matching the get_attribute node pattern "(a\\*){30}…" ` +
          `against the names of its ${n} upstream nodes exceeds the budget of ${MAX_PATTERN_WORK} ` +
          'regular-expression steps for a document',
      ),
    );
    // only upstream nodes are tried: the same nodes, not upstream of the reader, cost nothing
    const matching = { ...reader, args: [`k=get_attribute ${'a*'.repeat(125)}:ip`] };
    const g = parseDocument({
      edges: [[0, n + 1]],
      nodes: [
        { id: 0, name: 'aaa', engine: 'nil' },
        ...upstream.slice(1),
        { ...matching, id: n, args: [] },
        { ...matching, id: n + 1, name: 'reader2' },
      ],
    });
    assert.deepEqual(g.refs.get(n + 1), [{ arg: 0, key: 'k', source: 0, attribute: 'ip' }]);
    // and a pattern refused for the budget says so even when it fails to match
    assert.throws(
      () =>
        parseDocument({
          edges: [],
          nodes: [...upstream, { ...reader, args: [`k=get_attribute ${pattern(0)}:ip`] }],
        }),
      /names no upstream node of "reader" \(no upstream node matches "/,
    );
  });

  it('a plain name with its regex characters escaped is looked up, not matched', () => {
    const n = 20_000;
    // 10,000 distinct escaped names compiled as regexes would exceed the budget
    const nodes = range(n).map((id) => ({
      id,
      name: id % 2 ? `reader.${id}` : `db.${id}`,
      engine: 'nil',
      args: id % 2 ? [`ip=get_attribute db\\.${id - 1}:ip`] : [],
    }));
    const g = parseDocument({ edges: range(n / 2).map((i) => [2 * i, 2 * i + 1]), nodes });
    assert.deepEqual(g.refs.get(n - 1), [{ arg: 0, key: 'ip', source: n - 2, attribute: 'ip' }]);
    rejects(
      doc(2, [[0, 1]], { 0: { name: 'dbx1' }, 1: arg('ip=get_attribute dbx\\.1:ip') }),
      'get-attribute',
      'nodes[1].args[0]',
      /names no upstream node of "b" \(no node name matches "dbx\\\\.1", wholly or in part\)$/,
    );
  });

  it('malformed or dangerous patterns', () => {
    const bad = (text: string, message: RegExp) =>
      rejects(doc(2, [[0, 1]], { 1: arg(text) }), 'get-attribute', 'nodes[1].args[0]', message);
    bad('ip=get_attribute a', /malformed get_attribute "ip=get_attribute a": expected KEY=/);
    bad('ip=get_attribute a:', /malformed/);
    bad('=get_attribute a:ip', /malformed/);
    bad('ip=get_attribute (:ip', /pattern "\(" is not a valid regular expression: /);
    bad('ip=get_attribute a)|(.*:ip', /is not a valid regular expression/);
    bad(
      `ip=get_attribute ${'a'.repeat(257)}:ip`,
      /pattern of 257 characters is over the limit of 256/,
    );
    bad('ip=get_attribute (a)\\1:ip', /cannot be matched in linear time/);
  });

  it('args that only look alike are plain args', () => {
    const g = parseDocument(
      doc(1, [], {
        0: { args: ['msg=get_attributes a:b', 'get_attribute a:b', 'x=y get_attribute a:b'] },
      }),
    );
    assert.equal(g.refs.size, 0);
  });

  it('backtracking patterns match in linear time instead of freezing the server', () => {
    const name = 'a'.repeat(60);
    const t0 = performance.now();
    const graph = parseDocument({
      edges: [[0, 1]],
      nodes: [
        { id: 0, name, engine: 'nil', output: { ip: '' } },
        {
          id: 1,
          name: 'b',
          engine: 'nil',
          args: ['k=get_attribute (a|aa)*:ip', 'j=get_attribute (a+)+:ip'],
        },
      ],
    });
    assert.equal(graph.refs.get(1)?.length, 2);
    assert.ok(performance.now() - t0 < 5000, 'matched at once');
    assert.throws(
      () =>
        parseDocument({
          edges: [[0, 1]],
          nodes: [
            { id: 0, name: 'aa', engine: 'nil' },
            { id: 1, name: 'b', engine: 'nil', args: ['k=get_attribute (a)\\1:ip'] },
          ],
        }),
      /cannot be matched in linear time/,
    );
  });
});
