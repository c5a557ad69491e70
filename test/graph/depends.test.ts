/** `depends` expressions: parsing, checking against the graph, errors with the column. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DocumentError } from '../../src/graph/errors.ts';
import { parseDocument, toDocument } from '../../src/graph/parse.ts';

// build -> test, build -> lint, test -> deploy, lint -> deploy
const doc = (depends: string, node = 3) => ({
  edges: [
    [0, 1],
    [0, 2],
    [1, 3],
    [2, 3],
  ],
  nodes: ['build', 'test', 'lint', 'deploy'].map((name, id) => ({
    id,
    name,
    engine: 'nil',
    ...(id === node ? { depends } : {}),
  })),
});

function rejects(depends: string, message: RegExp, node = 3) {
  assert.throws(
    () => parseDocument(doc(depends, node)),
    (err: unknown) => {
      assert.ok(err instanceof DocumentError);
      assert.equal(err.path, `nodes[${node}].depends`);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('depends', () => {
  it('compiles expressions and rules, and round-trips through toDocument', () => {
    for (const depends of [
      'test.success && (lint.failure || lint.done)',
      '!test.failure',
      'all_done',
      'one_success || none_failed',
      '  test.timeout||lint.canceled  ',
    ]) {
      const graph = parseDocument(doc(depends));
      assert.ok(graph.conditions.has(3), depends);
      assert.equal(toDocument(graph).nodes[3].depends, depends);
      assert.ok(parseDocument(toDocument(graph)).conditions.has(3));
    }
    assert.equal(parseDocument(doc('all_success')).conditions.size, 1);
    assert.equal(
      parseDocument({ ...doc(''), nodes: doc('').nodes.map(({ depends, ...n }) => n) }).conditions
        .size,
      0,
    );
  });

  it('names nodes with dots in them by the last dot', () => {
    const graph = parseDocument({
      edges: [[0, 1]],
      nodes: [
        { id: 0, name: 'db.primary', engine: 'nil' },
        { id: 1, name: 'app', engine: 'nil', depends: 'db.primary.failure' },
      ],
    });
    assert.deepEqual(graph.conditions.get(1), { op: 'state', node: 0, states: 1 << 4 });
  });

  it('rejects with the column: syntax, unknown node, node not upstream, unknown result', () => {
    rejects('test.success &&', /column 16: expected a NODE.RESULT term.*got the end/);
    rejects('(test.success', /column 14: expected "\)"/);
    rejects('test.success lint.done', /column 14: expected &&, \|\| or the end, got "lint.done"/);
    rejects('tset.success', /column 1: no node is named "tset"/);
    rejects(
      'build.success',
      /column 1: "build" is not upstream of this node \(its predecessors: test, lint\)/,
    );
    rejects('test.succeeded', /column 6: unknown result "succeeded"/);
    rejects('everything', /column 1: "everything" is neither NODE.RESULT nor a rule/);
    rejects('test.success & lint.done', /column 14: unexpected "&"/);
    rejects('x'.repeat(5000), /over the limit/);
  });

  it('refuses nesting deeper than 64 levels, naming the field and the column', () => {
    rejects(`${'!'.repeat(4000)}test.success`, /column 65: nesting deeper than 64 levels/);
    rejects(`${'('.repeat(65)}test.success${')'.repeat(65)}`, /column 65: nesting deeper than 64/);
    rejects(`${'!('.repeat(33)}test.success${')'.repeat(33)}`, /column 65: nesting deeper/);
    // 64 levels are fine, and the long message does not echo the whole expression
    const ok = `${'!('.repeat(32)}test.success${')'.repeat(32)} && lint.done`;
    assert.ok(parseDocument(doc(ok)).conditions.has(3));
    assert.throws(
      () => parseDocument(doc(`${'!'.repeat(4000)}test.success`)),
      (err: DocumentError) => err.message.length < 400,
    );
  });

  it('compiles a run of "!" to at most one not', () => {
    const compiled = (depends: string) => parseDocument(doc(depends)).conditions.get(3);
    const plain = compiled('test.success');
    assert.deepEqual(compiled('!!test.success'), plain);
    assert.deepEqual(compiled('!!!!test.success'), plain);
    assert.deepEqual(compiled('!(!test.success)'), plain);
    assert.deepEqual(compiled('!!!test.success'), { op: 'not', arg: plain });
  });
});
