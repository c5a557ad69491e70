/**
 * Property tests of parseDocument on random graphs: random DAGs (edges only from earlier to
 * later in a random permutation) always parse into consistent CSR arrays, the same in matrix
 * and edges form; a planted cycle is always found and the named cycle is real; get_attribute
 * agrees with a naive model; toDocument round-trips.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DocumentError } from '../../src/graph/errors.ts';
import type { Graph } from '../../src/graph/model.ts';
import { parseDocument, parseDocumentText, toDocument } from '../../src/graph/parse.ts';
import type { NormalizedDocument } from '../../src/graph/schema.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Dag {
  n: number;
  /** may contain duplicates */
  edges: [number, number][];
}

const dagArbitrary: fc.Arbitrary<Dag> = fc
  .integer({ min: 1, max: 24 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      order: fc.shuffledSubarray(range(n), { minLength: n, maxLength: n }),
      pairs: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 4 * n }),
    }),
  )
  .map(({ n, order, pairs }) => {
    const rank = new Array<number>(n);
    order.forEach((id, r) => {
      rank[id] = r;
    });
    const edges = pairs
      .filter(([a, b]) => a !== b)
      .map(([a, b]): [number, number] => (rank[a] < rank[b] ? [a, b] : [b, a]));
    return { n, edges };
  });

const simpleNodes = (n: number) => range(n).map((id) => ({ id, name: `n${id}`, engine: 'nil' }));

function matrixOf(n: number, edges: readonly [number, number][]): number[] {
  const m = new Array<number>(n * n).fill(0);
  for (const [a, b] of edges) m[a * n + b] = 1;
  return m;
}

const key = (a: number, b: number) => `${a},${b}`;

/** CSR rows sorted and duplicate-free, succ and pred inverse, edge set = the input's. */
function assertCsr(g: Graph, edges: readonly [number, number][]): void {
  const n = g.nodes.length;
  assert.equal(g.succStart.length, n + 1);
  assert.equal(g.predStart.length, n + 1);
  assert.equal(g.succ.length, g.pred.length);
  const fromSucc = new Set<string>();
  const fromPred = new Set<string>();
  for (let i = 0; i < n; i++) {
    for (let p = g.succStart[i]; p < g.succStart[i + 1]; p++) {
      if (p > g.succStart[i]) assert.ok(g.succ[p - 1] < g.succ[p], 'succ rows strictly sorted');
      fromSucc.add(key(i, g.succ[p]));
    }
    for (let p = g.predStart[i]; p < g.predStart[i + 1]; p++) {
      if (p > g.predStart[i]) assert.ok(g.pred[p - 1] < g.pred[p], 'pred rows strictly sorted');
      fromPred.add(key(g.pred[p], i));
    }
  }
  assert.deepEqual(fromPred, fromSucc);
  assert.deepEqual(fromSucc, new Set(edges.map(([a, b]) => key(a, b))));
  assert.equal(g.succ.length, fromSucc.size);
}

/** Naive ancestors by repeated DFS over a predecessor map. */
function ancestorsOf(n: number, edges: readonly [number, number][]): Set<number>[] {
  const preds = range(n).map(() => [] as number[]);
  for (const [a, b] of edges) preds[b].push(a);
  return range(n).map((v) => {
    const seen = new Set<number>();
    const todo = [...preds[v]];
    while (todo.length > 0) {
      const u = todo.pop()!;
      if (seen.has(u)) continue;
      seen.add(u);
      todo.push(...preds[u]);
    }
    return seen;
  });
}

describe('random DAGs', () => {
  it('always parse, with consistent succ/pred CSR', () => {
    fc.assert(
      fc.property(dagArbitrary, ({ n, edges }) => {
        const g = parseDocument({ edges, nodes: simpleNodes(n) });
        assertCsr(g, edges);
        assert.equal(g.matrix, false);
      }),
      { numRuns: 300 },
    );
  });

  it('give identical CSR arrays in matrix and edges form', () => {
    fc.assert(
      fc.property(dagArbitrary, ({ n, edges }) => {
        const fromEdges = parseDocument({ edges, nodes: simpleNodes(n) });
        const fromMatrix = parseDocument({ digraph: matrixOf(n, edges), nodes: simpleNodes(n) });
        assert.equal(fromMatrix.matrix, true);
        assert.deepEqual({ ...fromMatrix, matrix: false }, fromEdges);
      }),
      { numRuns: 300 },
    );
  });

  it('with a planted cycle are rejected, naming a real cycle of the input', () => {
    const planted = dagArbitrary.chain((dag) =>
      fc.record({
        dag: fc.constant(dag),
        cycle: fc.shuffledSubarray(range(dag.n), { minLength: Math.min(2, dag.n) }),
        matrix: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(
        planted.filter(({ dag }) => dag.n >= 2),
        ({ dag, cycle, matrix }) => {
          const edges = [...dag.edges];
          cycle.forEach((v, i) => {
            edges.push([v, cycle[(i + 1) % cycle.length]]);
          });
          const nodes = simpleNodes(dag.n);
          const input = matrix ? { digraph: matrixOf(dag.n, edges), nodes } : { edges, nodes };
          let caught: unknown;
          try {
            parseDocument(input);
          } catch (error) {
            caught = error;
          }
          assert.ok(caught instanceof DocumentError);
          assert.equal(caught.kind, 'cycle');
          assert.equal(caught.path, matrix ? 'digraph' : 'edges');
          const named = caught.cycle!;
          assert.ok(named.length >= 3);
          assert.equal(named[0], named[named.length - 1]);
          assert.equal(new Set(named).size, named.length - 1, 'no node twice inside the cycle');
          const input_ = new Set(edges.map(([a, b]) => key(a, b)));
          for (let i = 0; i + 1 < named.length; i++) {
            assert.ok(input_.has(key(named[i], named[i + 1])), 'each step is an input edge');
          }
          assert.equal(caught.message, `cycle: ${named.map((id) => `n${id}`).join(' -> ')}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('get_attribute on random DAGs', () => {
  const patterns = (n: number) =>
    fc.oneof(
      fc.nat(n - 1).map((w) => `n${w}`),
      fc.constant('.*'),
      fc.constant('n[0-4]'),
      fc.constant('n1\\d*'),
      // no name matches these whole: they bind by gorchestrator's unanchored match
      fc.nat(n - 1).map((w) => String(w)),
      fc.constant('n2*'),
      fc.constant('[3-5]'),
    );

  it('resolves to the lowest-id matching ancestor (whole name, else unanchored), or rejects the first arg without one', () => {
    const scenario = dagArbitrary.chain((dag) =>
      fc.record({
        dag: fc.constant(dag),
        args: fc.array(fc.option(patterns(dag.n), { nil: undefined }), {
          minLength: dag.n,
          maxLength: dag.n,
        }),
        // most of the time only nodes that have ancestors read outputs, else every
        // scenario with many args would stop at the first root that has one
        onlyBelow: fc.boolean(),
        // one pattern for every node: many uses, resolved in one pass over the graph
        shared: fc.option(patterns(dag.n), { nil: undefined }),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ dag, args: wanted, onlyBelow, shared }) => {
        const ancestors = ancestorsOf(dag.n, dag.edges);
        const args = wanted.map((p, id) =>
          onlyBelow && ancestors[id].size === 0 ? undefined : (shared ?? p),
        );
        const nodes = simpleNodes(dag.n).map((node, id) => ({
          ...node,
          args: args[id] === undefined ? ['plain=1'] : ['plain=1', `v=get_attribute ${args[id]}:x`],
        }));
        let firstMissing = -1;
        const expected = new Map<number, { source: number; unanchored: boolean }>();
        for (let id = 0; id < dag.n; id++) {
          const pattern = args[id];
          if (pattern === undefined) continue;
          const whole = new RegExp(`^(?:${pattern})$`);
          const anywhere = new RegExp(pattern);
          const full = [...ancestors[id]].filter((u) => whole.test(`n${u}`));
          const partial = [...ancestors[id]].filter((u) => anywhere.test(`n${u}`));
          if (full.length > 0) expected.set(id, { source: Math.min(...full), unanchored: false });
          else if (partial.length > 0) {
            expected.set(id, { source: Math.min(...partial), unanchored: true });
          } else if (firstMissing < 0) firstMissing = id;
        }
        let graph: Graph | undefined;
        let caught: unknown;
        try {
          graph = parseDocument({ edges: dag.edges, nodes });
        } catch (error) {
          caught = error;
        }
        if (firstMissing >= 0) {
          assert.ok(caught instanceof DocumentError, String(caught));
          assert.equal(caught.kind, 'get-attribute');
          assert.equal(caught.path, `nodes[${firstMissing}].args[1]`);
          return;
        }
        assert.ok(graph !== undefined, String(caught));
        assert.equal(graph.refs.size, expected.size);
        const doc: NormalizedDocument = toDocument(graph);
        for (const [id, { source, unanchored }] of expected) {
          assert.deepEqual(graph.refs.get(id), [
            { arg: 1, key: 'v', source, attribute: 'x', ...(unanchored ? { unanchored } : {}) },
          ]);
          assert.deepEqual(doc.nodes[id].get_attribute, [
            { arg: 1, node: source, name: `n${source}`, match: unanchored ? 'unanchored' : 'full' },
          ]);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('toDocument', () => {
  const text = fc.string({ maxLength: 12 }).filter((s) => !s.includes('get_attribute'));
  const node = (id: number) =>
    fc
      .record(
        {
          name: fc.string({ maxLength: 10 }).map((s) => `${s}#${id}`),
          target: text,
          engine: fc.constantFrom('nil', 'sleep', 'shell', 'ssh', 'toscassh', 'ansible', 'http'),
          artifact: text,
          args: fc.option(fc.array(text, { maxLength: 4 })),
          output: fc.option(fc.dictionary(text, text, { maxKeys: 3 })),
          timeout: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
          retries: fc.record({
            count: fc.integer({ min: 0, max: 100 }),
            backoff_s: fc.double({ min: 0, max: 1e3, noNaN: true }),
          }),
        },
        { requiredKeys: ['name', 'engine'] },
      )
      // a sleep node's args[0] is its seconds (anything else is refused at submission)
      .map((n) =>
        n.engine === 'sleep' && Array.isArray(n.args) && n.args.length > 0
          ? { ...n, args: [String(n.args[0].length / 4), ...n.args.slice(1)] }
          : n,
      );

  it('parseDocument(toDocument(g)) gives g back, in both forms, also through JSON text', () => {
    const scenario = dagArbitrary.chain((dag) =>
      fc.record({
        dag: fc.constant(dag),
        nodes: fc.tuple(...range(dag.n).map(node)),
        name: fc.string({ maxLength: 20 }),
        timeout: fc.option(fc.integer({ min: 1, max: 86_400 }), { nil: undefined }),
        matrix: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ dag, nodes, name, timeout, matrix }) => {
        const input: Record<string, unknown> = {
          name,
          nodes: nodes.map((fields, id) => ({ id, ...fields })),
          ...(matrix ? { digraph: matrixOf(dag.n, dag.edges) } : { edges: dag.edges }),
        };
        if (timeout !== undefined) input.timeout = timeout;
        const g = parseDocument(input);
        const doc = toDocument(g);
        assert.equal(matrix ? doc.edges : doc.digraph, undefined);
        assert.deepEqual(parseDocument(doc), g);
        assert.deepEqual(parseDocumentText(JSON.stringify(doc)), g);
      }),
      { numRuns: 200 },
    );
  });
});
