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
import { SCHEDULE_CLAIM_MS } from '../../src/store/cron.ts';
import {
  InvalidCursorError,
  type NewRun,
  type NewSchedule,
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

/** 2030-01-01T00:00:00Z: schedules' times are whole seconds, minutes, hours from here. */
const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;

/** A new schedule firing every minute, created at T0 (first occurrence T0 + 1 min). */
export function makeSchedule(fields: Partial<NewSchedule> = {}): NewSchedule {
  return {
    id: randomUUID(),
    name: 'nightly',
    cron: '* * * * *',
    timezone: 'UTC',
    catchup: 'none',
    document: JSON.stringify({ name: 'nightly', edges: [], nodes: [] }),
    createdAt: T0,
    ...fields,
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

    test(
      'deleteRun deletes one finished run with its nodes and frees its key; never an unfinished one',
      withStore(async (store) => {
        const done = await create(store, { idempotencyKey: 'clean-up' });
        const other = await create(store);
        const initial = await create(store);
        const running = await create(store);
        await store.apply([
          { runId: done.id, run: { state: State.canceled, stoppedAt: 9000 }, nodes: [] },
          { runId: other.id, run: { state: State.success, stoppedAt: 9000 }, nodes: [] },
          { runId: running.id, run: { state: State.running, startedAt: 500 }, nodes: [] },
        ]);
        assert.equal(await store.deleteRun(done.id), 'deleted');
        assert.equal(await store.getRun(done.id), undefined);
        assert.deepEqual(await store.getNodes(done.id), []);
        assert.equal(await store.deleteRun(done.id), 'missing');
        assert.equal(await store.deleteRun('no-such-run'), 'missing');
        assert.equal(await store.deleteRun(initial.id), 'unfinished');
        assert.equal(await store.deleteRun(running.id), 'unfinished');
        assert.ok(await store.getRun(other.id), 'only the run named');
        assert.equal((await store.getNodes(running.id)).length, 3);
        const listed = (await store.listRuns({ limit: 10 })).runs.map((run) => run.id);
        assert.ok(!listed.includes(done.id));
        // the key went with the run: the same key makes a new run
        const reused = makeRun({ idempotencyKey: 'clean-up' });
        assert.deepEqual(await store.createRun(reused), { created: true, id: reused.id });
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
        assert.equal(await store.claimRun('c', owned.id, 60_000), undefined);
        assert.equal(typeof (await store.claimRun('c', done.id, 60_000)), 'number');
        assert.equal(await store.claimRun('a', owned.id, 60_000), 0, 'the holder re-claims at 0');
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

    test(
      'apply writes under a lease only while it holds the run: a taken-over run is fenced',
      withStore(async (store) => {
        const run = await create(store, { owner: 'a', leaseMs: 1, nodeCount: 2 });
        const other = await create(store, { owner: 'a', leaseMs: 60_000, nodeCount: 1 });
        const asA = { owner: 'a', epoch: 0 };
        assert.deepEqual(
          await store.apply([
            { runId: run.id, lease: asA, run: { state: State.running }, nodes: [] },
          ]),
          [],
          'a holds it (expired, but nobody took it)',
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
        const [claimed] = await store.claimRuns('b', 60_000, 10);
        assert.equal(claimed.id, run.id);
        assert.ok(claimed.epoch > 0, 'a new owner, a new epoch');
        const asB = { owner: 'b', epoch: claimed.epoch };
        await store.apply([
          { runId: run.id, lease: asB, nodes: [{ node: 0, state: State.success, attempts: 1 }] },
        ]);
        // a, back from a pause, commits what it had in memory: dropped; its other run applies
        const lost = await store.apply([
          {
            runId: run.id,
            lease: asA,
            run: { state: State.success },
            nodes: [{ node: 0, state: State.running, attempts: 2 }],
          },
          { runId: other.id, lease: asA, nodes: [{ node: 0, state: State.running }] },
        ]);
        assert.deepEqual(lost, [run.id]);
        assert.equal((await store.getRun(run.id))?.state, State.running);
        assert.deepEqual(
          (await store.getNodes(run.id)).map((n) => [n.state, n.attempts]),
          [
            [State.success, 1],
            [State.initial, 0],
          ],
        );
        assert.equal((await store.getNodes(other.id))[0].state, State.running);
        // same owner again after a release: still a new epoch, so a's old one stays fenced
        await store.releaseRuns('b', [run.id]);
        const [again] = await store.claimRuns('a', 60_000, 10);
        assert.ok(again.epoch !== 0 && again.epoch !== claimed.epoch, `epoch ${again.epoch}`);
        assert.deepEqual(
          await store.apply([
            { runId: run.id, lease: asA, run: { state: State.failure }, nodes: [] },
          ]),
          [run.id],
        );
        // changes without a lease are not fenced
        assert.deepEqual(
          await store.apply([{ runId: run.id, run: { state: State.running }, nodes: [] }]),
          [],
        );
      }),
    );

    test(
      'claims return the count of resumes that apply writes',
      withStore(async (store) => {
        const run = await create(store, { owner: 'a', leaseMs: 1 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        const [claimed] = await store.claimRuns('b', 1, 10);
        assert.equal(claimed.resumes, 0);
        await store.apply([
          {
            runId: run.id,
            lease: { owner: 'b', epoch: claimed.epoch },
            run: { resumes: 2 },
            nodes: [],
          },
        ]);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const [again] = await store.claimRuns('c', 60_000, 10);
        assert.equal(again.resumes, 2);
      }),
    );
  });

  describe(`${name} store: schedules`, () => {
    test(
      'createSchedule stores it with its first occurrence after createdAt; get and list read it',
      withStore(async (store) => {
        const schedule = makeSchedule({ timezone: 'Europe/Paris', catchup: 'all' });
        const created = await store.createSchedule(schedule);
        const expected = {
          ...schedule,
          paused: false,
          nextFireAt: T0 + MINUTE,
          lastFireAt: null,
          error: null,
        };
        assert.deepEqual(created, expected);
        assert.deepEqual(await store.getSchedule(schedule.id), expected);
        assert.equal(await store.getSchedule(randomUUID()), undefined);
        // 02:30 in Paris is 01:30 UTC in winter
        const daily = await store.createSchedule(
          makeSchedule({ cron: '30 2 * * *', timezone: 'Europe/Paris', createdAt: T0 + 1 }),
        );
        assert.equal(daily.nextFireAt, T0 + 90 * MINUTE);
        const never = await store.createSchedule(
          makeSchedule({ cron: '0 0 0 1 1 * 2001', createdAt: T0 + 2 }),
        );
        assert.equal(never.nextFireAt, null, 'a pattern without a future occurrence');
        assert.deepEqual(
          (await store.listSchedules()).map((s) => s.id),
          [schedule.id, daily.id, never.id],
          'oldest first',
        );
        await assert.rejects(store.createSchedule(makeSchedule({ id: schedule.id })));
      }),
    );

    test(
      'claimDueSchedules takes due schedules once, earliest first, up to the limit',
      withStore(async (store) => {
        const minutely = await store.createSchedule(makeSchedule());
        const hourly = await store.createSchedule(makeSchedule({ cron: '0 * * * *' }));
        const never = await store.createSchedule(makeSchedule({ cron: '0 0 0 1 1 * 2001' }));
        assert.deepEqual(await store.claimDueSchedules(T0 + MINUTE - 1, 10), [], 'not yet due');

        const [due, ...rest] = await store.claimDueSchedules(T0 + MINUTE, 10);
        assert.deepEqual(rest, []);
        assert.deepEqual(due, {
          schedule: minutely,
          occurrences: [T0 + MINUTE],
          nextFireAt: T0 + 2 * MINUTE,
        });
        assert.deepEqual(await store.claimDueSchedules(T0 + MINUTE, 10), [], 'claimed');

        assert.equal(await store.advanceSchedule(due), true);
        const advanced = await store.getSchedule(minutely.id);
        assert.equal(advanced?.nextFireAt, T0 + 2 * MINUTE);
        assert.equal(advanced?.lastFireAt, T0 + MINUTE);
        assert.equal(await store.advanceSchedule(due), false, 'a claim advances once');

        // at T0 + 1 h both are due: the one due earlier comes first, and the limit holds
        const first = await store.claimDueSchedules(T0 + 60 * MINUTE, 1);
        assert.deepEqual(
          first.map((d) => d.schedule.id),
          [minutely.id],
        );
        const second = await store.claimDueSchedules(T0 + 60 * MINUTE, 5);
        assert.deepEqual(
          second.map((d) => [d.schedule.id, d.occurrences, d.nextFireAt]),
          [[hourly.id, [T0 + 60 * MINUTE], T0 + 120 * MINUTE]],
        );
        assert.equal((await store.getSchedule(never.id))?.nextFireAt, null);
        await assert.rejects(store.claimDueSchedules(T0, 0), RangeError);
      }),
    );

    test(
      'a claim that is never advanced expires, and the same occurrences are claimed again',
      withStore(async (store) => {
        const schedule = await store.createSchedule(makeSchedule({ catchup: 'all' }));
        const now = T0 + 3 * MINUTE;
        const [claim] = await store.claimDueSchedules(now, 10);
        assert.deepEqual(claim.occurrences, [T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
        assert.deepEqual(await store.claimDueSchedules(now + SCHEDULE_CLAIM_MS - 1, 10), []);
        const [again] = await store.claimDueSchedules(now + SCHEDULE_CLAIM_MS, 10);
        assert.equal(again.schedule.id, schedule.id);
        assert.deepEqual(again.occurrences.slice(0, 3), claim.occurrences);
        // whichever advances first wins; the other changes nothing
        assert.equal(await store.advanceSchedule(again), true);
        assert.equal(await store.advanceSchedule(claim), false);
        assert.equal((await store.getSchedule(schedule.id))?.nextFireAt, again.nextFireAt);
      }),
    );

    test(
      'catchup after downtime: none skips, last fires the latest, all fires every one (bounded)',
      withStore(async (store) => {
        const none = await store.createSchedule(makeSchedule({ catchup: 'none' }));
        const last = await store.createSchedule(makeSchedule({ catchup: 'last' }));
        const all = await store.createSchedule(makeSchedule({ catchup: 'all' }));
        // down for 3 h 30 s: 210 occurrences missed, the latest at T0 + 210 min
        const now = T0 + 210 * MINUTE + 30_000;
        const claims = new Map(
          (await store.claimDueSchedules(now, 10)).map((d) => [d.schedule.id, d]),
        );
        assert.equal(claims.size, 3);
        for (const claim of claims.values()) assert.equal(claim.nextFireAt, T0 + 211 * MINUTE);
        assert.deepEqual(claims.get(last.id)?.occurrences, [T0 + 210 * MINUTE]);
        // the latest is only 30 s late: on time, so `none` fires it too
        assert.deepEqual(claims.get(none.id)?.occurrences, [T0 + 210 * MINUTE]);
        const fired = claims.get(all.id)?.occurrences ?? [];
        assert.equal(fired.length, 100);
        assert.equal(fired[0], T0 + 111 * MINUTE);
        assert.equal(fired[99], T0 + 210 * MINUTE);
      }),
    );

    test(
      'a paused schedule is not claimed; resuming skips what was missed and clears the error',
      withStore(async (store) => {
        const schedule = await store.createSchedule(makeSchedule({ catchup: 'all' }));
        const paused = await store.setSchedulePaused(schedule.id, true, T0, 'document: broken');
        assert.equal(paused?.paused, true);
        assert.equal(paused?.error, 'document: broken');
        assert.equal(paused?.nextFireAt, T0 + MINUTE, 'pausing keeps the next occurrence');
        assert.deepEqual(await store.claimDueSchedules(T0 + 10 * MINUTE, 10), []);

        const resumed = await store.setSchedulePaused(schedule.id, false, T0 + 10 * MINUTE + 1);
        assert.equal(resumed?.paused, false);
        assert.equal(resumed?.error, null);
        assert.equal(resumed?.nextFireAt, T0 + 11 * MINUTE);
        assert.deepEqual(await store.getSchedule(schedule.id), resumed);
        assert.deepEqual(await store.claimDueSchedules(T0 + 10 * MINUTE + 2, 10), []);
        const [due] = await store.claimDueSchedules(T0 + 11 * MINUTE, 10);
        assert.deepEqual(due.occurrences, [T0 + 11 * MINUTE]);
        assert.equal(await store.setSchedulePaused(randomUUID(), true, T0), undefined);
      }),
    );

    test(
      'deleteSchedule removes it; its claim can no longer advance it',
      withStore(async (store) => {
        const schedule = await store.createSchedule(makeSchedule());
        const kept = await store.createSchedule(makeSchedule());
        const [claim] = await store.claimDueSchedules(T0 + MINUTE, 1);
        assert.equal(claim.schedule.id, schedule.id);
        assert.equal(await store.deleteSchedule(schedule.id), true);
        assert.equal(await store.deleteSchedule(schedule.id), false);
        assert.equal(await store.getSchedule(schedule.id), undefined);
        assert.equal(await store.advanceSchedule(claim), false);
        assert.deepEqual(
          (await store.listSchedules()).map((s) => s.id),
          [kept.id],
        );
      }),
    );
  });
}
