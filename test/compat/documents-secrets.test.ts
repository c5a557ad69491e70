/**
 * A run's secret values are found in a document whose nodes come in any order and whose
 * get_attribute patterns are gorchestrator's (`db*`): live records are read by node id, and a
 * secret arg's value is the output of the node it was bound to at submission.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detailOf } from '../../src/api/detail.ts';
import { RunSecrets } from '../../src/api/secrets.ts';
import { parseDocument, toDocument } from '../../src/graph/parse.ts';
import { State } from '../../src/graph/states.ts';
import type { NodeRecord, RunRecord } from '../../src/store/store.ts';

// db:create (id 0) -> use (id 1), listed use first
const document = JSON.stringify(
  toDocument(
    parseDocument({
      edges: [[0, 1]],
      nodes: [
        { id: 1, name: 'use', engine: 'nil', args: ['password=get_attribute db*:pw', 'n=1'] },
        { id: 0, name: 'db:create', engine: 'nil', output: { pw: '' } },
      ],
    }),
  ),
);

const live = (node: number, output: Record<string, string>, error: string | null): NodeRecord =>
  ({
    node,
    state: State.success,
    attempts: 1,
    startedAt: 1,
    stoppedAt: 2,
    output,
    error,
    executor: null,
    taskId: null,
  }) as NodeRecord;

describe('secrets of a document in any order', () => {
  const records = [live(0, { pw: 'hunter2-secret' }, null), live(1, {}, 'login as hunter2-secret')];

  it('the value a secret arg reads through an unanchored pattern is scrubbed', () => {
    const scrubbed = new RunSecrets(document, records).scrubber().scrub('x hunter2-secret y');
    assert.equal(scrubbed, 'x *** y');
  });

  it('each node of the answer carries its own live record, whatever its place', () => {
    const run = {
      id: 'r',
      name: '',
      state: State.success,
      document,
      createdAt: 0,
      startedAt: 1,
      stoppedAt: 2,
      error: null,
    } as unknown as RunRecord;
    const detail = detailOf(run, records);
    assert.deepEqual(
      detail.nodes.map((node) => [node.id, node.name, node.error]),
      [
        [1, 'use', 'login as ***'],
        [0, 'db:create', null],
      ],
    );
    assert.deepEqual(detail.nodes[1].output, { pw: '***' });
    assert.deepEqual(detail.nodes[0].get_attribute, [
      { arg: 0, node: 0, name: 'db:create', match: 'unanchored' },
    ]);
  });
});
