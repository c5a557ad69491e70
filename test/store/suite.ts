/**
 * The behaviour every Store must have, whatever its database. An implementation's test file
 * calls `storeSuite(name, open)`, with `open` returning a new, empty store each time:
 *
 *   storeSuite('sqlite', () => openSqliteStore(join(freshDir(), 'baton.db')));
 *
 * Besides the interface, the suite relies on two things a schema must enforce: node and run
 * states are one of graph/states.ts's codes, and attempts are never negative.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { State } from '../../src/graph/states.ts';
import {
  InvalidCursorError,
  type NewRun,
  type NodeRecord,
  type RunChanges,
  type Store,
} from '../../src/store/store.ts';

let clock = 1_700_000_000_000;

/** A new run with a fresh id and a createdAt later than every run made before. */
export function makeRun(fields: Partial<NewRun> = {}): NewRun {
  clock += 1000;
  const nodeCount = fields.nodeCount ?? 3;
  const name = fields.name ?? `run-${clock}`;
  return {
    id: randomUUID(),
    name,
    document: JSON.stringify({ name, state: 0, nodes: [], digraph: [] }),
    nodeCount,
    createdAt: clock,
    ...fields,
  };
}

/** A node as createRun leaves it. */
export function initialNode(node: number): NodeRecord {
  return {
    node,
    state: State.initial,
    attempts: 0,
    startedAt: null,
    stoppedAt: null,
    output: null,
    error: null,
    executor: null,
    taskId: null,
  };
}

export function storeSuite(name: string, open: () => Promise<Store>): void {
  /** Runs `body` on a new store and closes the store afterwards, even on failure. */
  function withStore(body: (store: Store) => Promise<void>): () => Promise<void> {
    return async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    };
  }

  async function create(store: Store, fields: Partial<NewRun> = {}): Promise<NewRun> {
    const run = makeRun(fields);
    assert.deepEqual(await store.createRun(run), { created: true, id: run.id });
    return run;
  }

  /** Every run, newest first, by following the cursors. */
  async function listAll(store: Store, limit: number, states?: number[]): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRuns({ limit, cursor, states });
      assert.ok(page.runs.length <= limit);
      ids.push(...page.runs.map((run) => run.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return ids;
  }

  describe(`Store: ${name}`, () => {
    test(
      'createRun then getRun returns the run as stored, in state initial',
      withStore(async (store) => {
        const run = await create(store, { nodeCount: 4 });
        assert.deepEqual(await store.getRun(run.id), {
          id: run.id,
          name: run.name,
          state: State.initial,
          document: run.document,
          nodeCount: 4,
          createdAt: run.createdAt,
          startedAt: null,
          stoppedAt: null,
          error: null,
        });
        assert.equal(await store.getRun(randomUUID()), undefined);
      }),
    );

    test(
      'createRun stores every node, initial, and getNodes returns them in node order',
      withStore(async (store) => {
        const run = await create(store, { nodeCount: 12 });
        const expected = Array.from({ length: 12 }, (_, node) => initialNode(node));
        assert.deepEqual(await store.getNodes(run.id), expected);
        const empty = await create(store, { nodeCount: 0 });
        assert.deepEqual(await store.getNodes(empty.id), []);
        assert.deepEqual(await store.getNodes(randomUUID()), []);
      }),
    );

    test(
      'a used idempotency key returns the first id and stores nothing',
      withStore(async (store) => {
        const first = await create(store, { idempotencyKey: 'key-1', nodeCount: 2 });
        const again = makeRun({ idempotencyKey: 'key-1', nodeCount: 5 });
        assert.deepEqual(await store.createRun(again), { created: false, id: first.id });
        assert.equal(await store.getRun(again.id), undefined);
        assert.deepEqual(await store.getNodes(again.id), []);
        assert.equal((await store.getNodes(first.id)).length, 2);
        // runs without a key, or with another key, never conflict
        await create(store);
        await create(store);
        await create(store, { idempotencyKey: 'key-2' });
        assert.equal((await listAll(store, 100)).length, 4);
      }),
    );

    test(
      'createRun with an id already used rejects and stores nothing',
      withStore(async (store) => {
        const run = await create(store, { nodeCount: 2 });
        await assert.rejects(store.createRun(makeRun({ id: run.id, nodeCount: 5 })));
        assert.equal((await store.getNodes(run.id)).length, 2);
        assert.deepEqual(await listAll(store, 10), [run.id]);
      }),
    );

    test(
      'listRuns pages through every run once, newest first, while runs are added',
      withStore(async (store) => {
        const runs: NewRun[] = [];
        for (let i = 0; i < 25; i++) runs.push(await create(store, { nodeCount: 1 }));
        const ids: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listRuns({ limit: 10, cursor });
          sizes.push(page.runs.length);
          ids.push(...page.runs.map((run) => run.id));
          cursor = page.nextCursor;
          // newer runs arrive between pages; they belong before the first page, not in this walk
          await create(store);
          await create(store);
        } while (cursor !== undefined);
        assert.deepEqual(sizes, [10, 10, 5]);
        assert.deepEqual(ids, runs.map((run) => run.id).reverse());
        const first = await store.listRuns({ limit: 1 });
        const newest = runs.at(-1)!;
        assert.equal(first.runs.length, 1);
        assert.notEqual(first.runs[0].id, newest.id);
      }),
    );

    test(
      'listRuns returns summaries without documents, and no cursor after a full last page',
      withStore(async (store) => {
        const runs: NewRun[] = [];
        for (let i = 0; i < 4; i++) runs.push(await create(store, { nodeCount: i }));
        const page = await store.listRuns({ limit: 2 });
        assert.deepEqual(page.runs[0], {
          id: runs[3].id,
          name: runs[3].name,
          state: State.initial,
          nodeCount: 3,
          createdAt: runs[3].createdAt,
          startedAt: null,
          stoppedAt: null,
          error: null,
        });
        assert.ok(page.nextCursor !== undefined);
        const last = await store.listRuns({ limit: 2, cursor: page.nextCursor });
        assert.deepEqual(
          last.runs.map((run) => run.id),
          [runs[1].id, runs[0].id],
        );
        assert.equal(last.nextCursor, undefined);
        const whole = await store.listRuns({ limit: 5 });
        assert.equal(whole.runs.length, 4);
        assert.equal(whole.nextCursor, undefined);
      }),
    );

    test(
      'listRuns filters by state',
      withStore(async (store) => {
        const byState = new Map<number, string[]>();
        const states = [State.initial, State.running, State.success, State.failure];
        for (let i = 0; i < 12; i++) {
          const state = states[i % states.length];
          const run = await create(store);
          if (state !== State.initial) {
            await store.apply([{ runId: run.id, run: { state }, nodes: [] }]);
          }
          byState.set(state, [run.id, ...(byState.get(state) ?? [])]);
        }
        assert.deepEqual(await listAll(store, 2, [State.running]), byState.get(State.running));
        const finished = await listAll(store, 2, [State.failure, State.success, State.failure]);
        assert.equal(finished.length, 6);
        assert.deepEqual(
          new Set(finished),
          new Set([...byState.get(State.success)!, ...byState.get(State.failure)!]),
        );
        const all = await listAll(store, 100);
        assert.deepEqual(
          finished,
          all.filter((id) => finished.includes(id)),
          'newest first',
        );
        assert.deepEqual(await listAll(store, 5, [State.canceled]), []);
        assert.deepEqual(await store.listRuns({ limit: 5, states: [] }), { runs: [] });
      }),
    );

    test(
      'listRuns rejects a cursor it did not issue',
      withStore(async (store) => {
        await create(store);
        for (const cursor of ['', 'nope', '!!!', Buffer.from('42').toString('base64url')]) {
          await assert.rejects(store.listRuns({ limit: 5, cursor }), InvalidCursorError, cursor);
        }
      }),
    );

    test(
      'apply changes only the fields a change carries, and null clears a field',
      withStore(async (store) => {
        const run = await create(store, { nodeCount: 3 });
        await store.apply([
          {
            runId: run.id,
            run: { state: State.running, startedAt: 10 },
            nodes: [
              {
                node: 1,
                state: State.running,
                attempts: 1,
                startedAt: 11,
                executor: 'exec-a',
                taskId: 'task-1',
              },
            ],
          },
        ]);
        await store.apply([
          {
            runId: run.id,
            run: { error: 'boom' },
            nodes: [{ node: 1, state: State.success, stoppedAt: 12, output: { ip: '10.0.0.1' } }],
          },
        ]);
        const node1: NodeRecord = {
          node: 1,
          state: State.success,
          attempts: 1,
          startedAt: 11,
          stoppedAt: 12,
          output: { ip: '10.0.0.1' },
          error: null,
          executor: 'exec-a',
          taskId: 'task-1',
        };
        assert.deepEqual(await store.getNodes(run.id), [initialNode(0), node1, initialNode(2)]);
        let stored = await store.getRun(run.id);
        assert.equal(stored?.state, State.running);
        assert.equal(stored?.startedAt, 10);
        assert.equal(stored?.error, 'boom');

        await store.apply([
          {
            runId: run.id,
            run: { error: null, stoppedAt: 13 },
            nodes: [{ node: 1, output: null, executor: null, taskId: null, error: 'late' }],
          },
        ]);
        assert.deepEqual((await store.getNodes(run.id))[1], {
          ...node1,
          output: null,
          executor: null,
          taskId: null,
          error: 'late',
        });
        stored = await store.getRun(run.id);
        assert.deepEqual(
          [stored?.state, stored?.startedAt, stored?.stoppedAt, stored?.error],
          [State.running, 10, 13, null],
        );
        assert.equal(stored?.document, run.document);
      }),
    );

    test(
      'apply: the bulk change moves the nodes in `from` to `to`, before the node changes',
      withStore(async (store) => {
        const run = await create(store, { nodeCount: 6 });
        await store.apply([
          {
            runId: run.id,
            nodes: [
              { node: 0, state: State.success },
              { node: 1, state: State.failure },
              { node: 2, state: State.notrunnable },
              { node: 3, state: State.canceled },
            ],
          },
        ]);
        await store.apply([
          {
            runId: run.id,
            bulk: { from: [State.failure, State.notrunnable, State.canceled], to: State.torun },
            nodes: [{ node: 2, state: State.running }],
          },
        ]);
        assert.deepEqual(
          (await store.getNodes(run.id)).map((node) => node.state),
          [State.success, State.torun, State.running, State.torun, State.initial, State.initial],
        );
        // only this run's nodes move
        const other = await create(store, { nodeCount: 2 });
        await store.apply([
          { runId: run.id, bulk: { from: [State.initial], to: State.torun }, nodes: [] },
        ]);
        assert.deepEqual(
          (await store.getNodes(run.id)).map((node) => node.state),
          [State.success, State.torun, State.running, State.torun, State.torun, State.torun],
        );
        assert.deepEqual(await store.getNodes(other.id), [initialNode(0), initialNode(1)]);
      }),
    );

    test(
      'apply writes many runs at once, and nothing at all when one change is invalid',
      withStore(async (store) => {
        const a = await create(store, { nodeCount: 2 });
        const b = await create(store, { nodeCount: 2 });
        const valid: RunChanges = {
          runId: a.id,
          run: { state: State.running, startedAt: 5 },
          bulk: { from: [State.initial], to: State.torun },
          nodes: [{ node: 0, state: State.running, executor: 'e', taskId: 't' }],
        };
        const invalid: RunChanges[] = [
          {
            runId: b.id,
            nodes: [
              { node: 0, state: State.torun },
              { node: 1, state: 99 },
            ],
          },
          {
            runId: b.id,
            nodes: [
              { node: 0, state: State.torun },
              { node: 7, state: State.torun },
            ],
          },
          { runId: b.id, nodes: [{ node: 0, attempts: -1 }] },
          { runId: b.id, run: { state: 42 }, nodes: [] },
          { runId: randomUUID(), run: { state: State.running }, nodes: [] },
          { runId: randomUUID(), nodes: [] },
        ];
        for (const bad of invalid) {
          await assert.rejects(store.apply([valid, bad]), JSON.stringify(bad));
          assert.deepEqual(await store.getNodes(a.id), [initialNode(0), initialNode(1)]);
          assert.deepEqual(await store.getNodes(b.id), [initialNode(0), initialNode(1)]);
          assert.equal((await store.getRun(a.id))?.state, State.initial);
          assert.equal((await store.getRun(a.id))?.startedAt, null);
          assert.equal((await store.getRun(b.id))?.state, State.initial);
        }
        // the store still works after the rollbacks
        await store.apply([valid, { runId: b.id, nodes: [{ node: 1, state: State.torun }] }]);
        assert.deepEqual(
          (await store.getNodes(a.id)).map((node) => [node.state, node.taskId]),
          [
            [State.running, 't'],
            [State.torun, null],
          ],
        );
        assert.equal((await store.getNodes(b.id))[1].state, State.torun);
        await store.apply([]);
      }),
    );

    test(
      'unfinishedRuns returns the initial and running runs, oldest first',
      withStore(async (store) => {
        const unfinished: string[] = [];
        const states = [
          State.initial,
          State.running,
          State.success,
          State.failure,
          State.timeout,
          State.canceled,
          State.running,
          State.initial,
        ];
        for (const state of states) {
          const run = await create(store);
          if (state !== State.initial) {
            await store.apply([{ runId: run.id, run: { state }, nodes: [] }]);
          }
          if (state === State.initial || state === State.running) unfinished.push(run.id);
        }
        const found = await store.unfinishedRuns();
        assert.deepEqual(
          found.map((run) => run.id),
          unfinished,
        );
        assert.deepEqual(found[1], await store.getRun(unfinished[1]));
        // a run that finishes leaves the list
        await store.apply([{ runId: unfinished[0], run: { state: State.success }, nodes: [] }]);
        assert.deepEqual(
          (await store.unfinishedRuns()).map((run) => run.id),
          unfinished.slice(1),
        );
      }),
    );
  });

  describe(`${name} store: retention`, () => {
    test(
      'deletes finished runs stopped before the cutoff, with their nodes, and nothing else',
      withStore(async (store) => {
        const old = await create(store);
        const recent = await create(store);
        const running = await create(store);
        await store.apply([
          { runId: old.id, run: { state: State.success, stoppedAt: 1000 }, nodes: [] },
          { runId: recent.id, run: { state: State.failure, stoppedAt: 5000 }, nodes: [] },
          { runId: running.id, run: { state: State.running, startedAt: 500 }, nodes: [] },
        ]);
        assert.equal(await store.deleteFinishedBefore(2000, 100), 1);
        assert.equal(await store.getRun(old.id), undefined);
        assert.deepEqual(await store.getNodes(old.id), []);
        assert.ok(await store.getRun(recent.id));
        assert.ok(await store.getRun(running.id));
        assert.equal(await store.deleteFinishedBefore(2000, 100), 0);
      }),
    );
  });

  describe(`${name} store: group commit`, () => {
    test(
      'createRuns stores a batch in order; a key repeated in the batch maps to its first run',
      withStore(async (store) => {
        const first = makeRun({ idempotencyKey: 'same' });
        const other = makeRun();
        const again = makeRun({ idempotencyKey: 'same' });
        assert.deepEqual(await store.createRuns([first, other, again]), [
          { created: true, id: first.id },
          { created: true, id: other.id },
          { created: false, id: first.id },
        ]);
        assert.equal((await store.getNodes(other.id)).length, other.nodeCount);
        assert.equal(await store.getRun(again.id), undefined);
      }),
    );
  });

  describe(`${name} store: leases`, () => {
    test(
      'claims unfinished unheld runs once, renews, releases, and claims a given run',
      withStore(async (store) => {
        const owned = await create(store, { owner: 'a', leaseMs: 60_000 });
        const free = await create(store);
        const done = await create(store);
        await store.apply([{ runId: done.id, run: { state: State.success }, nodes: [] }]);
        // a created run is held by its submitter; b claims only the free unfinished one
        const claimed = await store.claimRuns('b', 60_000, 10);
        assert.deepEqual(
          claimed.map((run) => run.id),
          [free.id],
        );
        assert.deepEqual(await store.claimRuns('c', 60_000, 10), [], 'nothing left to claim');
        assert.deepEqual(await store.renewLeases('a', [owned.id, free.id], 60_000), [owned.id]);
        // a specific run: not while another replica holds it; yes when free or finished
        assert.equal(await store.claimRun('c', owned.id, 60_000), false);
        assert.equal(await store.claimRun('c', done.id, 60_000), true);
        assert.equal(await store.claimRun('a', owned.id, 60_000), true, 'the holder may re-claim');
        await store.releaseRuns('b', [free.id]);
        assert.deepEqual(
          (await store.claimRuns('c', 60_000, 10)).map((run) => run.id),
          [free.id],
        );
      }),
    );

    test(
      'an expired lease is taken over',
      withStore(async (store) => {
        const run = await create(store, { owner: 'a', leaseMs: 1 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(
          (await store.claimRuns('b', 60_000, 10)).map((r) => r.id),
          [run.id],
        );
        assert.deepEqual(await store.renewLeases('a', [run.id], 60_000), [], 'a lost it');
      }),
    );
  });
}
