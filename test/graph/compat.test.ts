/**
 * What gorchestrator accepted and the parser now accepts too (issue 13, items 1-3): ids in any
 * order (the matrix and edges are indexed by id, the answer keeps the submitted order), nodes
 * without a name, `get_attribute` patterns that match a name only in part (Go's unanchored
 * `regexp.MatchString`), and a graph named after a long TOSCA description.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DocumentError } from '../../src/graph/errors.ts';
import type { Graph } from '../../src/graph/model.ts';
import { parseDocument, parseDocumentText, toDocument } from '../../src/graph/parse.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A DAG over ids 0..n-1 (edges from earlier to later in a random order) and a permutation. */
const scenario = fc
  .integer({ min: 1, max: 20 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      rank: fc.shuffledSubarray(range(n), { minLength: n, maxLength: n }),
      pairs: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 3 * n }),
      /** submitted[k]: the id of the node listed k-th */
      submitted: fc.shuffledSubarray(range(n), { minLength: n, maxLength: n }),
      matrix: fc.boolean(),
      reads: fc.array(fc.option(fc.nat(n - 1), { nil: undefined }), {
        minLength: n,
        maxLength: n,
      }),
    }),
  )
  .map(({ n, rank, pairs, submitted, matrix, reads }) => {
    const order = new Array<number>(n);
    rank.forEach((id, r) => {
      order[id] = r;
    });
    const edges = pairs
      .filter(([a, b]) => a !== b)
      .map(([a, b]): [number, number] => (order[a] < order[b] ? [a, b] : [b, a]));
    return { n, edges, submitted, matrix, reads };
  });

function matrixOf(n: number, edges: readonly [number, number][]): number[] {
  const m = new Array<number>(n * n).fill(0);
  for (const [a, b] of edges) m[a * n + b] = 1;
  return m;
}

/** Node `id`, reading `ip` of the node named `n${reads}` (bound only when it is upstream). */
function node(id: number, reads: number | undefined) {
  return {
    id,
    name: `n${id}`,
    engine: 'nil',
    args: reads === undefined ? [`k=${id}`] : [`k=${id}`, `ip=get_attribute n${reads}:ip`],
    output: { ip: '' },
  };
}

function parsed(input: unknown): Graph | DocumentError {
  try {
    return parseDocument(input);
  } catch (error) {
    if (error instanceof DocumentError) return error;
    throw error;
  }
}

describe('ids in any order', () => {
  it('any permutation of the nodes gives the in-order graph, and is answered in its own order', () => {
    fc.assert(
      fc.property(scenario, ({ n, edges, submitted, matrix, reads }) => {
        const shape = matrix ? { digraph: matrixOf(n, edges) } : { edges };
        const nodes = range(n).map((id) => node(id, reads[id]));
        const inOrder = parsed({ name: 'g', ...shape, nodes });
        const permuted = parsed({ name: 'g', ...shape, nodes: submitted.map((id) => nodes[id]) });
        if (inOrder instanceof DocumentError) {
          // the same refusal, pointing at the node where the permuted document lists it
          assert.ok(permuted instanceof DocumentError, 'the permuted document is refused too');
          assert.equal(permuted.kind, inOrder.kind);
          const at = /^nodes\[(\d+)\]/.exec(inOrder.path);
          assert.ok(at, inOrder.path);
          const id = Number(at[1]);
          assert.equal(
            permuted.path,
            inOrder.path.replace(/^nodes\[\d+\]/, `nodes[${submitted.indexOf(id)}]`),
          );
          return;
        }
        assert.ok(!(permuted instanceof DocumentError), String(permuted));
        const identity = submitted.every((id, k) => id === k);
        assert.deepEqual(permuted.submitted, identity ? undefined : Uint32Array.from(submitted));
        const { submitted: _, ...rest } = permuted;
        assert.deepEqual(rest, inOrder, 'the same nodes by id, edges, refs and conditions');
        // answered in the order submitted, the matrix and edges still by id
        const doc = toDocument(permuted);
        assert.deepEqual(
          doc.nodes.map((x) => x.id),
          submitted,
        );
        const back = toDocument(inOrder);
        assert.deepEqual(doc.digraph, back.digraph);
        assert.deepEqual(doc.edges, back.edges);
        // the stored form parses back to the same graph, order included
        assert.deepEqual(parseDocumentText(JSON.stringify(doc)), permuted);
      }),
      { numRuns: 300 },
    );
  });

  it('the matrix is read by id: row and column of a node are its id, not its place', () => {
    // b (id 1) -> a (id 0) -> c (id 2), listed c, a, b
    const digraph = [0, 0, 1, 1, 0, 0, 0, 0, 0];
    const nodes = [
      { id: 2, name: 'c', engine: 'nil', args: ['x=get_attribute b:ip'] },
      { id: 0, name: 'a', engine: 'nil' },
      { id: 1, name: 'b', engine: 'nil', output: { ip: '' } },
    ];
    const g = parseDocument({ digraph, nodes });
    assert.deepEqual(
      g.nodes.map((x) => x.name),
      ['a', 'b', 'c'],
    );
    assert.deepEqual([...g.succ.subarray(g.succStart[1], g.succStart[2])], [0]);
    assert.deepEqual([...g.succ.subarray(g.succStart[0], g.succStart[1])], [2]);
    assert.deepEqual(g.refs.get(2), [{ arg: 0, key: 'x', source: 1, attribute: 'ip' }]);
    const doc = toDocument(g);
    assert.deepEqual(
      doc.nodes.map((x) => x.name),
      ['c', 'a', 'b'],
    );
    assert.deepEqual(doc.digraph, digraph);
    // a cycle and a depends are said by name and by place in the document too
    assert.throws(
      () => parseDocument({ digraph: [0, 0, 1, 1, 0, 0, 0, 1, 0], nodes }),
      /cycle: (a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)/,
    );
    assert.throws(
      () =>
        parseDocument({
          digraph,
          nodes: [{ ...nodes[0], args: [], depends: 'b.success' }, nodes[1], nodes[2]],
        }),
      (err: DocumentError) =>
        err.path === 'nodes[0].depends' &&
        /"b" is not upstream of this node \(its predecessors: a\)/.test(err.message),
    );
  });

  it('a 100,000-node chain listed backwards parses (one pass to place the nodes)', () => {
    const n = 100_000;
    const nodes = range(n).map((k) => ({ id: n - 1 - k, name: `n${n - 1 - k}`, engine: 'nil' }));
    const edges = range(n - 1).map((i) => [i, i + 1]);
    const g = parseDocument({ edges, nodes });
    assert.equal(g.nodes[0].name, 'n0');
    assert.equal(g.submitted?.[0], n - 1);
    assert.equal(toDocument(g).nodes[0].id, n - 1);
  });
});

describe('nodes without a name', () => {
  it('are named node-ID, never a name another node has', () => {
    const given = fc.constantFrom('a', 'node-0', 'node-1', 'node-1~2', 'node-2~2', 'node-10');
    const arbitrary = fc.integer({ min: 1, max: 12 }).chain((n) =>
      fc.record({
        names: fc.array(fc.oneof(given, fc.constantFrom(undefined, null, '')), {
          minLength: n,
          maxLength: n,
        }),
        submitted: fc.shuffledSubarray(range(n), { minLength: n, maxLength: n }),
      }),
    );
    fc.assert(
      fc.property(arbitrary, ({ names, submitted }) => {
        const nodes = submitted.map((id) => {
          const name = names[id];
          return name === undefined ? { id, engine: 'nil' } : { id, name, engine: 'nil' };
        });
        const seen = new Set<string>();
        let duplicate = false;
        for (const name of names) {
          if (typeof name !== 'string' || name === '') continue;
          if (seen.has(name)) duplicate = true;
          seen.add(name);
        }
        const g = parsed({ edges: [], nodes });
        if (duplicate) {
          assert.ok(g instanceof DocumentError && g.kind === 'name');
          return;
        }
        assert.ok(!(g instanceof DocumentError), String(g));
        const all = g.nodes.map((x) => x.name);
        assert.equal(new Set(all).size, all.length, `unique: ${all.join(', ')}`);
        g.nodes.forEach((x, id) => {
          const name = names[id];
          if (typeof name === 'string' && name !== '') assert.equal(x.name, name);
          else assert.match(x.name, new RegExp(`^node-${id}(~\\d+)?$`));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('keep their name in the answer, and can be read by it', () => {
    const g = parseDocument({
      edges: [[0, 1]],
      nodes: [
        { id: 1, engine: 'nil', args: ['ip=get_attribute node-0:ip'], depends: 'node-0.success' },
        { id: 0, name: null, engine: 'nil', output: { ip: '' } },
      ],
    });
    assert.deepEqual(
      toDocument(g).nodes.map((x) => x.name),
      ['node-1', 'node-0'],
    );
    assert.equal(g.refs.get(1)?.[0].source, 0);
    // a given name wins; the default steps aside
    const taken = parseDocument({
      edges: [],
      nodes: [
        { id: 0, engine: 'nil' },
        { id: 1, name: 'node-0', engine: 'nil' },
      ],
    });
    assert.deepEqual(
      taken.nodes.map((x) => x.name),
      ['node-0~2', 'node-0'],
    );
  });
});

describe('get_attribute: gorchestrator’s unanchored match', () => {
  // tosca2gorch's shape: TEMPLATE:OPERATION names, NODE patterns `TEMPLATE*`
  const tosca = () => ({
    name: 'x',
    edges: [
      [3, 1],
      [1, 2],
      [2, 0],
    ],
    nodes: [
      {
        id: 0,
        name: 'app:configure',
        engine: 'nil',
        args: ['db_ip=get_attribute mongo_server*:private_address', 'port=27017'],
      },
      { id: 1, name: 'mongo_dbms:create', engine: 'nil' },
      {
        id: 2,
        name: 'mongo_dbms:configure',
        engine: 'nil',
        args: ['ip=get_attribute mongo_dbms*:ip', 'ip2=get_attribute mongo_dbms:create:ip'],
      },
      { id: 3, name: 'mongo_server:noop', engine: 'nil' },
    ],
  });

  it('binds the lowest-id upstream node whose name contains a match, and says so', () => {
    const g = parseDocument(tosca());
    assert.deepEqual(g.refs.get(0), [
      { arg: 0, key: 'db_ip', source: 3, attribute: 'private_address', unanchored: true },
    ]);
    assert.deepEqual(g.refs.get(2), [
      { arg: 0, key: 'ip', source: 1, attribute: 'ip', unanchored: true },
      { arg: 1, key: 'ip2', source: 1, attribute: 'ip' },
    ]);
    const doc = toDocument(g);
    assert.deepEqual(doc.nodes[0].get_attribute, [
      { arg: 0, node: 3, name: 'mongo_server:noop', match: 'unanchored' },
    ]);
    assert.deepEqual(doc.nodes[2].get_attribute, [
      { arg: 0, node: 1, name: 'mongo_dbms:create', match: 'unanchored' },
      { arg: 1, node: 1, name: 'mongo_dbms:create', match: 'full' },
    ]);
    assert.equal(doc.nodes[1].get_attribute, undefined);
    // derived: a document carrying it (a GET answer sent back) parses to the same graph
    assert.deepEqual(parseDocument(doc), g);
  });

  it('a whole-name match upstream wins over a lower id that only contains one', () => {
    const g = parseDocument({
      edges: [
        [0, 2],
        [1, 2],
      ],
      nodes: [
        { id: 0, name: 'db:create', engine: 'nil' },
        { id: 1, name: 'db', engine: 'nil' },
        { id: 2, name: 'app', engine: 'nil', args: ['ip=get_attribute db:ip'] },
      ],
    });
    assert.deepEqual(g.refs.get(2), [{ arg: 0, key: 'ip', source: 1, attribute: 'ip' }]);
  });

  it('only upstream nodes count; none: refused, naming those that contain a match', () => {
    const doc = tosca();
    doc.edges = [
      [3, 1],
      [1, 2],
    ];
    assert.throws(
      () => parseDocument(doc),
      (err: DocumentError) =>
        err.path === 'nodes[0].args[0]' &&
        err.message.endsWith('(matching nodes: mongo_server:noop, which is not upstream)'),
    );
  });

  it('runs on the linear-time engine within the same budget', () => {
    // (a|aa)*b searched in 200 long names: charged, and refused once over the budget
    const n = 2000;
    const names = range(n).map((i) => `${'a'.repeat(240)}${String(i).padStart(5, '0')}`);
    const pattern = `(a|aa)*${'(a|aa)*'.repeat(30)}b`;
    assert.throws(
      () =>
        parseDocument({
          edges: range(n).map((i) => [i, n]),
          nodes: [
            ...names.map((name, id) => ({ id, name, engine: 'nil' })),
            { id: n, name: 'r', engine: 'nil', args: [`k=get_attribute ${pattern}:x`] },
          ],
        }),
      /exceeds the budget of \d+ regular-expression steps/,
    );
  });
});

describe('graph name', () => {
  it('takes a TOSCA description of thousands of characters, untruncated', () => {
    const name = `${'This TOSCA simple profile deploys a web application. '.repeat(80)}\n`;
    assert.ok(name.length > 4096);
    const g = parseDocument({ name, edges: [], nodes: [{ id: 0, name: 'a', engine: 'nil' }] });
    assert.equal(g.name, name);
    assert.equal(toDocument(g).name, name);
  });
});
