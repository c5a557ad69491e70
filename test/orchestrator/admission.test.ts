/** Admission alone: pools, limits, run parallelism, priorities and turns between runs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission, type Demand } from '../../src/orchestrator/admission.ts';

function harness(limits: {
  pools?: Record<string, number>;
  perExecutor?: number;
  perTarget?: number;
}) {
  const admission = new Admission({
    pools: new Map(Object.entries(limits.pools ?? {})),
    perExecutor: limits.perExecutor ?? 0,
    perTarget: limits.perTarget ?? 0,
  });
  const started: string[] = [];
  const demand = (run: string, node: number, extra: Partial<Demand> = {}): Demand => ({
    run,
    node,
    priority: 50,
    parallelism: 0,
    target: '',
    executor: '',
    start: () => {
      started.push(`${run}/${node}`);
      return true;
    },
    ...extra,
  });
  return { admission, started, demand };
}

describe('Admission', () => {
  it('starts at once without limits', () => {
    const { admission, started, demand } = harness({});
    admission.request(demand('a', 0));
    admission.request(demand('a', 1));
    assert.deepEqual(started, ['a/0', 'a/1']);
    assert.equal(admission.queued, 0);
  });

  it('a pool admits as many as it has slots and says why the rest wait', () => {
    const { admission, started, demand } = harness({ pools: { gpu: 2 } });
    const d = [0, 1, 2, 3].map((n) => demand('a', n, { pool: 'gpu' }));
    for (const x of d) admission.request(x);
    assert.deepEqual(started, ['a/0', 'a/1']);
    assert.deepEqual(
      admission.waiting('a'),
      new Map([
        [2, 'pool gpu: 2/2 slots in use'],
        [3, 'pool gpu: 2/2 slots in use'],
      ]),
    );
    admission.release(d[0]);
    assert.deepEqual(started, ['a/0', 'a/1', 'a/2']);
  });

  it('higher priority goes first; equal priorities take turns', () => {
    const { admission, started, demand } = harness({ pools: { one: 1 } });
    const first = demand('low', 0, { pool: 'one', priority: 10 });
    admission.request(first);
    for (const n of [1, 2]) admission.request(demand('low', n, { pool: 'one', priority: 10 }));
    for (const n of [0, 1]) admission.request(demand('b', n, { pool: 'one', priority: 50 }));
    for (const n of [0, 1]) admission.request(demand('c', n, { pool: 'one', priority: 50 }));
    admission.release(first);
    assert.equal(started.at(-1), 'b/0', 'the high-priority runs before the low one');
    // each release admits one: b and c alternate, then low
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const last = started.at(-1)!;
      const [run, node] = last.split('/');
      admission.release(demand(run, Number(node), { pool: 'one' }));
      order.push(started.at(-1)!);
    }
    assert.deepEqual(order, ['c/0', 'b/1', 'c/1', 'low/1', 'low/2']);
  });

  it('run parallelism, executor and target limits', () => {
    const { admission, started, demand } = harness({ perExecutor: 1, perTarget: 2 });
    admission.request(demand('p', 0, { parallelism: 1 }));
    admission.request(demand('p', 1, { parallelism: 1 }));
    assert.deepEqual(
      admission.waiting('p'),
      new Map([[1, 'run parallelism: 1/1 nodes in flight']]),
    );
    admission.request(demand('e', 0, { executor: 'x' }));
    admission.request(demand('f', 0, { executor: 'x' }));
    assert.match(admission.waiting('f').get(0)!, /executor x: 1\/1 in flight/);
    admission.request(demand('t', 0, { target: 'web' }));
    admission.request(demand('t', 1, { target: 'web' }));
    admission.request(demand('t', 2, { target: 'web' }));
    assert.match(admission.waiting('t').get(2)!, /target web: 2\/2 in flight/);
    assert.deepEqual(started, ['p/0', 'e/0', 't/0', 't/1']);
  });

  it('a demand whose node was canceled meanwhile takes no capacity; drop forgets a run', () => {
    const { admission, started, demand } = harness({ pools: { one: 1 } });
    const holder = demand('a', 0, { pool: 'one' });
    admission.request(holder);
    admission.request({ ...demand('a', 1, { pool: 'one' }), start: () => false });
    admission.request(demand('b', 0, { pool: 'one' }));
    admission.request(demand('c', 0, { pool: 'one' }));
    admission.drop('c');
    admission.release(holder);
    assert.deepEqual(started, ['a/0', 'b/0'], 'the canceled one took no slot; c was dropped');
    assert.equal(admission.queued, 0);
  });
});
