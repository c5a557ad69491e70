/**
 * The scheduler with an injected clock: real orchestrators (nil and sleep runners) on real
 * stores, time moved by hand, one `tick()` at a time. Then two schedulers on one PostgreSQL
 * database ticking at once: no occurrence is ever submitted twice, none is lost.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { parseDocument, toDocument } from '../../src/graph/parse.ts';
import { EventBus } from '../../src/orchestrator/bus.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { nilRunner, sleepRunner, type TaskRunner } from '../../src/orchestrator/runners.ts';
import { occurrenceKey, Scheduler } from '../../src/orchestrator/scheduler.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Catchup, Store } from '../../src/store/store.ts';
import { freshDatabase } from '../support/postgres.ts';
import { doc } from '../support/server.ts';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const silent = pino({ level: 'silent' });

/** A clock the test moves. */
function clock(start = T0) {
  let now = start;
  return {
    now: () => now,
    set(time: number) {
      now = time;
    },
  };
}

interface Harness {
  store: Store;
  scheduler: Scheduler;
  orchestrator: Orchestrator;
  /** idempotency keys this scheduler submitted, in order */
  submitted: string[];
  close(): Promise<void>;
}

function harness(
  store: Store,
  now: () => number,
  engines: Record<string, TaskRunner> = { nil: nilRunner, sleep: sleepRunner(() => 0) },
  batch?: number,
): Harness {
  const orchestrator = new Orchestrator({
    store,
    bus: new EventBus(),
    runners: new Map(Object.entries(engines)),
    logger: silent,
  });
  const submitted: string[] = [];
  const scheduler = new Scheduler({
    orchestrator: {
      get engines() {
        return orchestrator.engines;
      },
      submit(graph, key) {
        submitted.push(key ?? '');
        return orchestrator.submit(graph, key);
      },
    },
    store,
    logger: silent,
    now,
    batch,
  });
  return {
    store,
    scheduler,
    orchestrator,
    submitted,
    async close() {
      await scheduler.stop();
      await orchestrator.stop();
    },
  };
}

const nilDocument = JSON.stringify(
  toDocument(parseDocument(doc([['only', 'nil']], [], { name: 'from the document' }))),
);

async function addSchedule(
  store: Store,
  fields: { cron?: string; catchup?: Catchup; document?: string; name?: string } = {},
) {
  return store.createSchedule({
    id: randomUUID(),
    name: fields.name ?? 'nightly',
    cron: fields.cron ?? '* * * * *',
    timezone: 'UTC',
    catchup: fields.catchup ?? 'none',
    document: fields.document ?? nilDocument,
    createdAt: T0,
  });
}

/** Every run of the store, newest first. */
async function runs(store: Store) {
  return (await store.listRuns({ limit: 1000 })).runs;
}

describe('scheduler (injected clock, SQLite)', () => {
  const open: Harness[] = [];
  after(async () => {
    for (const h of open) {
      await h.close();
      await h.store.close();
    }
  });
  async function setUp() {
    const time = clock();
    const h = harness(await openSqliteStore(':memory:'), time.now);
    open.push(h);
    return { ...h, time };
  }

  it('fires an occurrence once, as a run named after the schedule, with its key', async () => {
    const { store, scheduler, submitted, time } = await setUp();
    const schedule = await addSchedule(store, { name: 'hourly report' });
    time.set(T0 + MINUTE - 1);
    assert.equal(await scheduler.tick(), 0, 'not yet');
    time.set(T0 + MINUTE);
    assert.equal(await scheduler.tick(), 1);
    assert.equal(await scheduler.tick(), 0, 'the same occurrence never fires again');
    time.set(T0 + MINUTE + 999);
    assert.equal(await scheduler.tick(), 0);
    assert.deepEqual(submitted, [occurrenceKey(schedule.id, T0 + MINUTE)]);
    const [run] = await runs(store);
    assert.equal(run.name, 'hourly report');
    assert.equal(JSON.parse((await store.getRun(run.id))?.document ?? '').name, 'hourly report');
    const after = await store.getSchedule(schedule.id);
    assert.equal(after?.lastFireAt, T0 + MINUTE);
    assert.equal(after?.nextFireAt, T0 + 2 * MINUTE);
    time.set(T0 + 2 * MINUTE);
    assert.equal(await scheduler.tick(), 1);
    assert.equal((await runs(store)).length, 2);
  });

  for (const [catchup, expected] of [
    ['none', []],
    ['last', [T0 + 3 * HOUR]],
    ['all', [1, 2, 3].map((h) => T0 + h * HOUR)],
  ] as const) {
    it(`after downtime, catchup ${catchup} fires ${expected.length} missed occurrence(s)`, async () => {
      const { store, scheduler, submitted, time } = await setUp();
      const schedule = await addSchedule(store, { cron: '0 * * * *', catchup });
      // the server was down from before 01:00 until 03:05: 01:00, 02:00, 03:00 were missed
      time.set(T0 + 3 * HOUR + 5 * MINUTE);
      assert.equal(await scheduler.tick(), expected.length);
      assert.deepEqual(
        submitted,
        expected.map((t) => occurrenceKey(schedule.id, t)),
      );
      assert.equal((await runs(store)).length, expected.length);
      assert.equal((await store.getSchedule(schedule.id))?.nextFireAt, T0 + 4 * HOUR);
      // and then on time again
      time.set(T0 + 4 * HOUR);
      assert.equal(await scheduler.tick(), 1);
    });
  }

  it('a paused schedule fires nothing; resumed, it fires from the next occurrence', async () => {
    const { store, scheduler, submitted, time } = await setUp();
    const schedule = await addSchedule(store, { catchup: 'all' });
    await store.setSchedulePaused(schedule.id, true, T0);
    time.set(T0 + 10 * MINUTE);
    assert.equal(await scheduler.tick(), 0);
    await store.setSchedulePaused(schedule.id, false, time.now());
    assert.equal(await scheduler.tick(), 0, 'what was missed while paused is skipped');
    time.set(T0 + 11 * MINUTE);
    assert.equal(await scheduler.tick(), 1);
    assert.deepEqual(submitted, [occurrenceKey(schedule.id, T0 + 11 * MINUTE)]);
  });

  it('pauses a schedule whose document no longer parses, with the error', async () => {
    const time = clock();
    // this replica has no `sleep` engine any more
    const h = harness(await openSqliteStore(':memory:'), time.now, { nil: nilRunner });
    open.push(h);
    const sleeper = JSON.stringify(toDocument(parseDocument(doc([['nap', 'sleep', ['0']]]))));
    const broken = await addSchedule(h.store, { document: sleeper });
    const fine = await addSchedule(h.store);
    time.set(T0 + MINUTE);
    assert.equal(await h.scheduler.tick(), 1, 'the other schedule still fires');
    const paused = await h.store.getSchedule(broken.id);
    assert.equal(paused?.paused, true);
    assert.match(paused?.error ?? '', /^document\.nodes\[0\]\.engine: .*"sleep"/);
    assert.equal((await h.store.getSchedule(fine.id))?.paused, false);
    time.set(T0 + 2 * MINUTE);
    assert.equal(await h.scheduler.tick(), 1);
    assert.equal(h.submitted.filter((key) => key.includes(broken.id)).length, 0);
  });

  it('a claim whose runs were not submitted fires again once it expires, still one run each', async () => {
    const time = clock();
    const store = await openSqliteStore(':memory:');
    const h = harness(store, time.now);
    open.push(h);
    const schedule = await addSchedule(store, { catchup: 'all' });
    time.set(T0 + 2 * MINUTE);
    // a replica claims, submits the first occurrence's run, and dies before advancing
    const [claim] = await store.claimDueSchedules(time.now(), 10);
    assert.equal(claim.occurrences.length, 2);
    await h.orchestrator.submit(
      parseDocument(JSON.parse(schedule.document)),
      occurrenceKey(schedule.id, claim.occurrences[0]),
    );
    assert.equal(await h.scheduler.tick(), 0, 'claimed by the dead replica');
    time.set(T0 + 2 * MINUTE + 30_000);
    assert.equal(await h.scheduler.tick(), 2, 'its claim expired: both occurrences again');
    assert.equal((await runs(store)).length, 2, 'the occurrence fired twice made one run');
  });

  it('start() ticks on its own every second, and stop() ends it', async () => {
    const store = await openSqliteStore(':memory:');
    const h = harness(store, Date.now);
    open.push(h);
    await store.createSchedule({
      id: randomUUID(),
      name: 'every second',
      cron: '* * * * * *',
      timezone: 'UTC',
      catchup: 'none',
      document: nilDocument,
      createdAt: Date.now(),
    });
    h.scheduler.start();
    const deadline = Date.now() + 3000;
    while (h.submitted.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await h.scheduler.stop();
    const count = h.submitted.length;
    assert.ok(count >= 2, `fired ${count} times in 3 s`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(h.submitted.length, count, 'stopped');
  });
});

describe('two schedulers on one PostgreSQL database', () => {
  it('never submit the same occurrence twice, and miss none', async (t) => {
    const db = await freshDatabase();
    const time = clock();
    const stores = [await openPostgresStore(db.url), await openPostgresStore(db.url)];
    // claims of 2 schedules at a time, so that the replicas' rounds interleave
    const replicas = stores.map((store) => harness(store, time.now, undefined, 2));
    try {
      const schedules = [];
      for (let i = 0; i < 12; i++) {
        schedules.push(
          await addSchedule(stores[i % 2], {
            cron: '* * * * * *',
            catchup: (['none', 'last', 'all'] as const)[i % 3],
          }),
        );
      }
      // 30 seconds, one tick per second on both replicas at once, then a 10 s gap that
      // `all` catches up and `none`/`last` do not (the gap is under ON_TIME_MS: `none` and
      // `last` fire the latest occurrence only)
      const seconds = [...Array.from({ length: 30 }, (_, i) => i + 1), 40];
      for (const second of seconds) {
        time.set(T0 + second * 1000);
        await Promise.all(replicas.map((replica) => replica.scheduler.tick()));
      }
      const submitted = replicas.flatMap((replica) => replica.submitted);
      t.diagnostic(`runs fired per replica: ${replicas.map((r) => r.submitted.length).join(', ')}`);
      assert.equal(new Set(submitted).size, submitted.length, 'no key submitted twice');
      assert.ok(
        replicas.every((replica) => replica.submitted.length > 0),
        `both replicas fired: ${replicas.map((r) => r.submitted.length)}`,
      );
      const expected = schedules.flatMap((schedule, i) => {
        const fired = i % 3 === 2 ? Array.from({ length: 40 }, (_, s) => s + 1) : [...seconds];
        return fired.map((s) => occurrenceKey(schedule.id, T0 + s * 1000));
      });
      assert.deepEqual([...submitted].sort(), expected.sort());

      // the runs table agrees: one run per occurrence
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query<{ key: string; n: string }>(
        `SELECT idempotency_key AS key, count(*) AS n FROM runs
         WHERE idempotency_key LIKE 'schedule:%' GROUP BY idempotency_key`,
      );
      await client.end();
      assert.equal(rows.length, expected.length);
      assert.ok(rows.every((row) => Number(row.n) === 1));
    } finally {
      for (const replica of replicas) await replica.close();
      for (const store of stores) await store.close();
      await db.drop();
    }
  });
});
