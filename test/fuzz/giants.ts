/**
 * Inputs too big or too slow for the corpus files: values built directly (100,000 levels deep,
 * a million elements) for the parser fuzz, and get_attribute patterns that backtrack.
 */

/**
 * get_attribute patterns without nested quantifiers (so the parser's guard lets them through)
 * that still backtrack exponentially on a long node name: a known bug (see parser.fuzz.ts).
 */
export function backtrackingDocuments(): Array<[string, () => unknown]> {
  const against = (pattern: string, name: string) => () => ({
    name: 'x',
    edges: [[0, 1]],
    nodes: [
      { id: 0, name, output: { ip: '' } },
      { id: 1, name: 'b', args: [`k=get_attribute ${pattern}:ip`] },
    ],
  });
  return [
    ['(a|aa)*b against 60 a', against('(a|aa)*b', 'a'.repeat(60))],
    ['(a|a)? 40 times against 40 a', against(`${'(a|a)?'.repeat(40)}b`, 'a'.repeat(40))],
  ];
}

export function giantValues(): Array<[string, () => unknown]> {
  const deep = (depth: number, leaf: unknown, wrap: (inner: unknown) => unknown) => {
    let v = leaf;
    for (let i = 0; i < depth; i++) v = wrap(v);
    return v;
  };
  const D = 100_000;
  const M = 1_000_000;
  const node = (extra: Record<string, unknown>) => ({
    name: 'x',
    edges: [],
    nodes: [{ id: 0, name: 'a', engine: 'nil', ...extra }],
  });
  return [
    ['deep arrays', () => deep(D, 1, (v) => [v])],
    ['deep objects', () => deep(D, 1, (v) => ({ a: v }))],
    ['deep nodes', () => ({ name: 'x', edges: [], nodes: deep(D, [], (v) => [v]) })],
    ['deep args', () => node({ args: deep(D, 'a', (v) => [v]) })],
    ['deep output', () => node({ output: deep(D, 'a', (v) => ({ k: v })) })],
    ['deep edges', () => ({ name: 'x', edges: deep(D, 0, (v) => [v]), nodes: [] })],
    ['deep unknown field', () => ({ ...node({}), extra: deep(D, 0, (v) => [v]) })],
    ['1M empty nodes', () => ({ name: 'x', edges: [], nodes: new Array(M).fill({}) })],
    [
      '1M edges',
      () => ({
        name: 'x',
        edges: new Array(M).fill([0, 1]),
        nodes: [
          { id: 0, name: 'a' },
          { id: 1, name: 'b' },
        ],
      }),
    ],
    ['1M+1 edges', () => ({ name: 'x', edges: new Array(M + 1).fill([0, 1]), nodes: [] })],
    ['1M sparse edges', () => ({ name: 'x', edges: new Array(M), nodes: [{ id: 0, name: 'a' }] })],
    [
      '1M digraph',
      () => ({
        name: 'x',
        digraph: new Array(M).fill(0),
        nodes: Array.from({ length: 1000 }, (_, id) => ({ id, name: `n${id}` })),
      }),
    ],
    ['1M args', () => node({ args: new Array(M).fill('a') })],
    [
      '1M output keys',
      () =>
        node({ output: Object.fromEntries(Array.from({ length: M }, (_, i) => [`k${i}`, ''])) }),
    ],
    [
      'a 10,000-node chain',
      () => ({
        name: 'x',
        edges: Array.from({ length: 9999 }, (_, i) => [i, i + 1]),
        nodes: Array.from({ length: 10_000 }, (_, id) => ({ id, name: `n${id}` })),
      }),
    ],
    [
      'a 10,000-node cycle',
      () => ({
        name: 'x',
        edges: Array.from({ length: 10_000 }, (_, i) => [i, (i + 1) % 10_000]),
        nodes: Array.from({ length: 10_000 }, (_, id) => ({ id, name: `n${id}` })),
      }),
    ],
    [
      'get_attribute over 2,000 upstream nodes',
      () => ({
        name: 'x',
        edges: Array.from({ length: 2000 }, (_, i) => [i, 2000]),
        nodes: [
          ...Array.from({ length: 2000 }, (_, id) => ({ id, name: `n${id}`, output: { ip: '' } })),
          {
            id: 2000,
            name: 'last',
            args: Array.from(
              { length: 1000 },
              (_, i) => `k${i}=get_attribute n.*${'a?'.repeat(8)}:ip`,
            ),
          },
        ],
      }),
    ],
    ['a null-prototype document', () => Object.assign(Object.create(null), node({}))],
  ];
}

/** Arrays with holes where nodes and args are read: JSON never makes them (a known bug). */
export function sparseArrays(): Array<[string, () => unknown]> {
  return [
    ['nodes with holes', () => ({ name: 'x', edges: [], nodes: new Array(2) })],
    [
      'args with holes',
      () => ({ name: 'x', edges: [], nodes: [{ id: 0, name: 'a', args: new Array(2) }] }),
    ],
  ];
}
