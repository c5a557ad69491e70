/**
 * The PostgreSQL store against a real server: BATON_TEST_PG_URL, or a local PostgreSQL with
 * trust authentication (`postgres://postgres@127.0.0.1:5432/test`). Each test works in its own
 * new schema, dropped afterwards, so tests (and test files run in parallel) never see each
 * other's data. Without a server the whole file fails: it never skips.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Client, Pool } from 'pg';
import { State } from '../../src/graph/states.ts';
import { MIGRATIONS_DIR, migrate, readMigrations } from '../../src/store/postgres/migrate.ts';
import { dumpSchema } from '../../src/store/postgres/schema.ts';
import { isTransient, openPostgresStore, type PostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { NodeChange, RunChanges } from '../../src/store/store.ts';
import { initialNode, makeRun, storeSuite } from './suite.ts';

const PG_URL = process.env.BATON_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const admin = new Pool({ connectionString: PG_URL, max: 2, connectionTimeoutMillis: 5000 });
admin.on('error', () => {});
try {
  await admin.query('SELECT 1');
} catch (err) {
  await admin.end();
  throw new Error(
    `PostgreSQL is not reachable at ${PG_URL} (${(err as Error).message}): start it, or point ` +
      'BATON_TEST_PG_URL at one; these tests never skip',
    { cause: err },
  );
}

/** Schemas created by this file and not dropped yet. */
const schemas = new Set<string>();
const tempDirs: string[] = [];

after(async () => {
  for (const schema of schemas) await dropSchema(schema);
  await admin.end();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A new schema name (the schema itself is created by whoever uses it first). */
function freshSchema(): string {
  const schema = `baton_t_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

async function dropSchema(schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  schemas.delete(schema);
}

/** A store on a new schema, which its close() drops. */
async function openFresh(schema = freshSchema()): Promise<PostgresStore> {
  const store = await openPostgresStore(PG_URL, { schema, poolSize: 3 });
  const close = store.close;
  store.close = async () => {
    await close();
    await dropSchema(schema);
  };
  return store;
}

/** Runs `body` with a client whose search_path is `schema`, then closes it. */
async function inSchema<T>(schema: string, body: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-pg-'));
  tempDirs.push(dir);
  return dir;
}

storeSuite('postgres', () => openFresh());

const SCHEMA_DUMP = fileURLToPath(new URL('../../src/store/schema/postgres.sql', import.meta.url));

describe('postgres store: schema and migrations', () => {
  test('the schema dump matches the migrations', async () => {
    const schema = freshSchema();
    const store = await openFresh(schema);
    const dump = await inSchema(schema, dumpSchema);
    await store.close();
    assert.ok(!dump.includes(schema), 'the dump names no schema');
    if (process.env.BATON_UPDATE_SCHEMA === '1') writeFileSync(SCHEMA_DUMP, dump);
    assert.equal(
      dump,
      readFileSync(SCHEMA_DUMP, 'utf8'),
      'src/store/schema/postgres.sql is stale: regenerate it with ' +
        'BATON_UPDATE_SCHEMA=1 npx node --test test/store/postgres.test.ts',
    );
  });

  test('the schema dump is valid SQL that recreates the same schema', async () => {
    const schema = freshSchema();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const dump = readFileSync(SCHEMA_DUMP, 'utf8');
    const again = await inSchema(schema, async (client) => {
      await client.query(dump);
      return dumpSchema(client);
    });
    await dropSchema(schema);
    assert.equal(again, dump);
  });

  test('stores opened at once on a new schema migrate it once', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => openPostgresStore(PG_URL, { schema, poolSize: 1 })),
    );
    const { rows } = await admin.query(`SELECT id, name FROM ${schema}.baton_migrations`);
    assert.deepEqual(
      rows.map((row) => row.name),
      readMigrations().map((m) => m.name),
    );
    // and every store works
    for (const store of stores) assert.equal((await store.listRuns({ limit: 1 })).runs.length, 0);
    for (const store of stores) await store.close();
    await dropSchema(schema);
  });

  test('concurrent migrators apply each file exactly once, in order', async () => {
    const dir = tempDir();
    copyFileSync(
      new URL('001-runs-and-nodes.sql', MIGRATIONS_DIR),
      join(dir, '001-runs-and-nodes.sql'),
    );
    writeFileSync(join(dir, '002-second.sql'), 'CREATE TABLE second (a integer);\n');
    // fails unless 002 is there: proves the order
    writeFileSync(join(dir, '003-third.sql'), 'ALTER TABLE second ADD COLUMN b integer;\n');
    const migrations = readMigrations(dir);
    const schema = freshSchema();
    const applied = await Promise.all(
      Array.from({ length: 6 }, () =>
        inSchema(schema, (client) => migrate(client, migrations, schema)),
      ),
    );
    assert.deepEqual(applied.flat().sort(), [1, 2, 3]);
    const { rows } = await admin.query(`SELECT id FROM ${schema}.baton_migrations ORDER BY id`);
    assert.deepEqual(
      rows.map((row) => row.id),
      [1, 2, 3],
    );
    await dropSchema(schema);
  });

  test('migrations run once: reopening applies nothing and keeps the records', async () => {
    const schema = freshSchema();
    await (await openPostgresStore(PG_URL, { schema })).close();
    const records = async () =>
      (await admin.query(`SELECT id, name, applied_at FROM ${schema}.baton_migrations ORDER BY id`))
        .rows;
    const first = await records();
    await (await openPostgresStore(PG_URL, { schema })).close();
    assert.deepEqual(await records(), first);
    assert.deepEqual(await inSchema(schema, (client) => migrate(client, readMigrations())), []);
    await dropSchema(schema);
  });

  test('a failing migration leaves nothing behind, neither its changes nor its record', async () => {
    const dir = tempDir();
    copyFileSync(
      new URL('001-runs-and-nodes.sql', MIGRATIONS_DIR),
      join(dir, '001-runs-and-nodes.sql'),
    );
    writeFileSync(
      join(dir, '002-broken.sql'),
      'CREATE TABLE half_done (a integer);\nINSERT INTO no_such_table VALUES (1);\n',
    );
    const schema = freshSchema();
    await inSchema(schema, async (client) => {
      await assert.rejects(
        migrate(client, readMigrations(dir), schema),
        /migration 002-broken\.sql: relation "no_such_table" does not exist/,
      );
      assert.equal(client.getTransactionStatus(), 'I');
    });
    const tables = await admin.query(
      'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename',
      [schema],
    );
    assert.deepEqual(
      tables.rows.map((row) => row.tablename),
      ['baton_migrations', 'nodes', 'runs'],
    );
    const ids = await admin.query(`SELECT id FROM ${schema}.baton_migrations`);
    assert.deepEqual(
      ids.rows.map((row) => row.id),
      [1],
    );
    await dropSchema(schema);
  });

  test('a migration may not end its own transaction', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '001-commits.sql'), 'CREATE TABLE t (a integer); COMMIT;');
    const schema = freshSchema();
    await inSchema(schema, (client) =>
      assert.rejects(
        migrate(client, readMigrations(dir), schema),
        /001-commits\.sql: the file ended the transaction itself/,
      ),
    );
    await dropSchema(schema);
  });

  test('a schema migrated by a newer version is refused', async () => {
    const schema = freshSchema();
    await (await openPostgresStore(PG_URL, { schema })).close();
    await admin.query(
      `INSERT INTO ${schema}.baton_migrations VALUES (999, '999-from-the-future.sql', 0)`,
    );
    await assert.rejects(
      openPostgresStore(PG_URL, { schema }),
      /postgres store: open .* schema baton_t_\w+: database has migration 999-from-the-future\.sql, unknown to this version/,
    );
    await dropSchema(schema);
  });

  test('a bad schema name or pool size is refused before connecting', async () => {
    await assert.rejects(openPostgresStore(PG_URL, { schema: 'Robert"); DROP' }), RangeError);
    await assert.rejects(openPostgresStore(PG_URL, { poolSize: 0 }), RangeError);
  });

  test('an unreachable server fails the open, with a transient error', async () => {
    const err = await openPostgresStore('postgres://postgres:secret@127.0.0.1:1/test').then(
      () => assert.fail('opened'),
      (err: Error) => err,
    );
    assert.match(err.message, /^postgres store: open 127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
    assert.doesNotMatch(err.message, /secret/);
    assert.equal(isTransient(err), true);
  });
});

describe('postgres store: behaviour', () => {
  test('every state code of graph/states.ts can be stored, and nothing else', async () => {
    const store = await openFresh();
    try {
      const run = makeRun({ nodeCount: 1 });
      await store.createRun(run);
      for (const state of Object.values(State)) {
        await store.apply([{ runId: run.id, run: { state }, nodes: [{ node: 0, state }] }]);
        assert.equal((await store.getNodes(run.id))[0].state, state);
        assert.equal((await store.getRun(run.id))?.state, state);
      }
      for (const state of [-1, 6, 12, 1.5, 70_000]) {
        await assert.rejects(store.apply([{ runId: run.id, nodes: [{ node: 0, state }] }]));
        await assert.rejects(store.apply([{ runId: run.id, run: { state }, nodes: [] }]));
      }
    } finally {
      await store.close();
    }
  });

  test('errors name the operation, the run and the node', async () => {
    const store = await openFresh();
    try {
      const run = makeRun({ nodeCount: 2 });
      await store.createRun(run);
      await assert.rejects(
        store.apply([{ runId: run.id, nodes: [{ node: 1, startedAt: 1.5 }] }]),
        (err: Error) => {
          assert.match(
            err.message,
            /^postgres store: apply \(1 runs\): update nodes \(startedAt\): invalid input syntax for type bigint: "1\.5"/,
          );
          assert.ok(err.cause instanceof Error);
          assert.equal(isTransient(err), false);
          return true;
        },
      );
      await assert.rejects(
        store.apply([{ runId: run.id, nodes: [{ node: 0, attempts: -1 }] }]),
        /update nodes \(attempts\): new row for relation "nodes" violates check constraint "nodes_attempts_check" \(Failing row contains \(/,
      );
      await assert.rejects(
        store.apply([{ runId: run.id, nodes: [{ node: 5, state: State.torun }] }]),
        new RegExp(`run ${run.id} node 5: no such node`),
      );
      await assert.rejects(
        store.apply([{ runId: run.id, nodes: [{ node: 1 }, { node: 6 }] }]),
        new RegExp(`run ${run.id} node 6: no such node`),
      );
      const unknown = randomUUID();
      for (const changes of [
        { runId: unknown, nodes: [{ node: 0, state: State.torun }] },
        { runId: unknown, run: { state: State.running }, nodes: [] },
        { runId: unknown, run: {}, nodes: [] },
        { runId: unknown, bulk: { from: [State.initial], to: State.torun }, nodes: [] },
      ]) {
        await assert.rejects(
          store.apply([changes]),
          new RegExp(`postgres store: apply \\(1 runs\\): run ${unknown}: no such run$`),
        );
      }
      await assert.rejects(store.listRuns({ limit: 0 }), RangeError);
      await assert.rejects(store.claimRuns('r', 0, 1), RangeError);
    } finally {
      await store.close();
    }
    await assert.rejects(store.getRun('x'), /postgres store: getRun x: the store is closed$/);
    await store.close(); // closing twice is harmless
  });

  test('a malformed id is simply not found', async () => {
    const store = await openFresh();
    try {
      assert.equal(await store.getRun('not-a-uuid'), undefined);
      assert.deepEqual(await store.getNodes('not-a-uuid'), []);
    } finally {
      await store.close();
    }
  });

  test('concurrent createRun with one idempotency key stores one run', async () => {
    const store = await openFresh();
    try {
      const runs = Array.from({ length: 8 }, () => makeRun({ idempotencyKey: 'same' }));
      const results = await Promise.all(runs.map((run) => store.createRun(run)));
      assert.equal(results.filter((result) => result.created).length, 1);
      assert.equal(new Set(results.map((result) => result.id)).size, 1);
      assert.equal((await store.listRuns({ limit: 10 })).runs.length, 1);
    } finally {
      await store.close();
    }
  });

  test('apply gives the same result as the SQLite store, for any sequence of changes', async () => {
    const postgres = await openFresh();
    const sqlite = await openSqliteStore(':memory:');
    const states = Object.values(State);
    const nodeChange = fc.record(
      {
        node: fc.nat(3),
        state: fc.constantFrom(...states),
        attempts: fc.nat(3),
        startedAt: fc.option(fc.nat(100)),
        output: fc.option(fc.dictionary(fc.constantFrom('a', 'b'), fc.string({ maxLength: 3 }))),
        error: fc.option(fc.constantFrom('x', 'y', '"\\{}')),
        taskId: fc.option(fc.constantFrom('t1', 't2')),
      },
      { requiredKeys: ['node'] },
    ) as fc.Arbitrary<NodeChange>;
    const runChanges = (runs: number) =>
      fc.array(
        fc.record(
          {
            run: fc.nat(runs - 1),
            change: fc.record(
              { state: fc.constantFrom(...states), error: fc.option(fc.string()) },
              {
                requiredKeys: [],
              },
            ),
            bulk: fc.record({
              from: fc.array(fc.constantFrom(...states), { maxLength: 3 }),
              to: fc.constantFrom(...states),
            }),
            nodes: fc.array(nodeChange, { maxLength: 5 }),
          },
          { requiredKeys: ['run', 'nodes'] },
        ),
        { maxLength: 6 },
      );
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(runChanges(2), { minLength: 1, maxLength: 3 }), async (ticks) => {
          const runs = [makeRun({ nodeCount: 4 }), makeRun({ nodeCount: 4 })];
          for (const run of runs) {
            await postgres.createRun(run);
            await sqlite.createRun(run);
          }
          for (const tick of ticks) {
            const changes: RunChanges[] = tick.map(({ run, change, bulk, nodes }) => ({
              runId: runs[run].id,
              run: change,
              bulk,
              nodes,
            }));
            await postgres.apply(changes);
            await sqlite.apply(changes);
          }
          for (const run of runs) {
            assert.deepEqual(await postgres.getNodes(run.id), await sqlite.getNodes(run.id));
            assert.deepEqual(await postgres.getRun(run.id), await sqlite.getRun(run.id));
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      await postgres.close();
      await sqlite.close();
    }
  });

  test('isTransient: connection, resource and concurrency failures only', () => {
    const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });
    const wrapped = (err: Error) => new Error('postgres store: apply (1 runs)', { cause: err });
    for (const code of ['08006', '08001', '53100', '53300', '57P01', '57P03', '40001', '40P01']) {
      assert.equal(isTransient(wrapped(pgError(code))), true, code);
    }
    for (const code of ['23505', '23514', '42P01', '22P02', '0A000', '57014']) {
      assert.equal(isTransient(wrapped(pgError(code))), false, code);
    }
    assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true);
    assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ENOENT' })), false);
    assert.equal(isTransient(wrapped(new Error('Connection terminated unexpectedly'))), true);
    assert.equal(isTransient(new Error('run x: no such run')), false);
    assert.equal(isTransient(undefined), false);
    assert.equal(isTransient('ECONNRESET'), false);
  });
});

describe('postgres store: leases', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test('claimRuns takes unfinished, unheld runs, oldest first, up to the limit', async () => {
    const store = await openFresh();
    try {
      const ids: string[] = [];
      for (const state of [State.initial, State.success, State.running, State.initial]) {
        const run = makeRun();
        await store.createRun(run);
        if (state !== State.initial)
          await store.apply([{ runId: run.id, run: { state }, nodes: [] }]);
        if (state !== State.success) ids.push(run.id);
      }
      const first = await store.claimRuns('a', 60_000, 2);
      assert.deepEqual(
        first.map((run) => run.id),
        ids.slice(0, 2),
      );
      assert.deepEqual(first[0], { ...(await store.getRun(ids[0])), epoch: 1, resumes: 0 });
      assert.deepEqual(
        (await store.claimRuns('b', 60_000, 10)).map((run) => run.id),
        ids.slice(2),
      );
      assert.deepEqual(await store.claimRuns('c', 60_000, 10), []);
      assert.deepEqual(
        await store.claimRuns('a', 60_000, 10),
        [],
        'held runs are not returned again',
      );
    } finally {
      await store.close();
    }
  });

  test('concurrent claims never return the same run', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => openPostgresStore(PG_URL, { schema, poolSize: 2 })),
    );
    try {
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const run = makeRun({ nodeCount: 1 });
        await stores[0].createRun(run);
        ids.add(run.id);
      }
      const claims = await Promise.all(
        stores.flatMap((store, i) => [
          store.claimRuns(`r${i}`, 60_000, 5),
          store.claimRuns(`r${i}`, 60_000, 5),
        ]),
      );
      const claimed = claims.flat().map((run) => run.id);
      assert.equal(claimed.length, 30);
      assert.deepEqual(new Set(claimed), ids);
    } finally {
      for (const store of stores) await store.close();
      await dropSchema(schema);
    }
  });

  test('renewLeases extends the owner’s leases and returns the runs it still holds', async () => {
    const store = await openFresh();
    try {
      const runs = [makeRun(), makeRun()];
      for (const run of runs) await store.createRun(run);
      const ids = runs.map((run) => run.id);
      await store.claimRuns('a', 30, 1);
      await sleep(60);
      // run 0's lease expired but nobody took it: still a's
      assert.deepEqual(await store.renewLeases('a', ids, 30), [ids[0]]);
      assert.deepEqual(await store.renewLeases('b', ids, 30), []);
      await sleep(60);
      assert.deepEqual(
        (await store.claimRuns('b', 60_000, 5)).map((run) => run.id),
        ids,
        'expired leases are taken over',
      );
      assert.deepEqual(await store.renewLeases('a', ids, 60_000), []);
      assert.deepEqual((await store.renewLeases('b', ids, 60_000)).sort(), [...ids].sort());
      assert.deepEqual(await store.renewLeases('b', [], 60_000), []);
    } finally {
      await store.close();
    }
  });

  test('releaseRuns frees the owner’s runs at once, and only the owner’s', async () => {
    const store = await openFresh();
    try {
      const run = makeRun();
      await store.createRun(run);
      await store.claimRuns('a', 60_000, 1);
      await store.releaseRuns('b', [run.id]);
      assert.deepEqual(await store.claimRuns('b', 60_000, 1), []);
      await store.releaseRuns('a', [run.id]);
      assert.deepEqual(
        (await store.claimRuns('b', 60_000, 1)).map((claimed) => claimed.id),
        [run.id],
      );
      // a finished run is never claimed again, even released
      await store.apply([{ runId: run.id, run: { state: State.success }, nodes: [] }]);
      await store.releaseRuns('b', [run.id]);
      assert.deepEqual(await store.claimRuns('c', 60_000, 1), []);
    } finally {
      await store.close();
    }
  });
});

describe('postgres store: notifications', () => {
  /** Resolves with the payloads received once `count` arrived; rejects after 5 s. */
  function collect(count: number) {
    const payloads: string[] = [];
    let done: (value: string[]) => void = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const received = new Promise<string[]>((resolve, reject) => {
      done = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
      timer = setTimeout(
        () => reject(new Error(`received only ${JSON.stringify(payloads)}`)),
        5000,
      );
      timer.unref();
    });
    // a collector nobody awaits (one that must stay empty) must not reject unobserved
    received.catch(() => {});
    return {
      payloads,
      received,
      onPayload(payload: string) {
        payloads.push(payload);
        if (payloads.length === count) done(payloads);
      },
    };
  }

  test('a notification from one store reaches the listeners of another', async () => {
    const schema = freshSchema();
    const a = await openPostgresStore(PG_URL, { schema, poolSize: 1 });
    const b = await openPostgresStore(PG_URL, { schema, poolSize: 1 });
    const elsewhere = await openFresh();
    try {
      const onB = collect(2);
      const onA = collect(2);
      const stray = collect(1);
      const stopB = await b.channels.listen('run-events', onB.onPayload);
      await a.channels.listen('run-events', onA.onPayload);
      await elsewhere.channels.listen('run-events', stray.onPayload);
      const big = 'é'.repeat(3999); // 7998 bytes
      await a.channels.notify('run-events', '{"run":"x","state":2}');
      await a.channels.notify('run-events', big);
      assert.deepEqual(await onB.received, ['{"run":"x","state":2}', big]);
      assert.deepEqual(await onA.received, ['{"run":"x","state":2}', big], 'the sender hears too');
      await assert.rejects(a.channels.notify('run-events', `${big}xy`), RangeError);
      await assert.rejects(a.channels.notify('x'.repeat(60), ''), RangeError);

      // after unsubscribing, b hears nothing more on that channel; notifications from one
      // session arrive in order, so `other` arriving proves the first one was not delivered
      await stopB();
      await stopB();
      const other = collect(1);
      await b.channels.listen('other', other.onPayload);
      await a.channels.notify('run-events', 'late');
      await a.channels.notify('other', 'done');
      assert.deepEqual(await other.received, ['done']);
      assert.equal(onB.payloads.length, 2);
      assert.deepEqual(stray.payloads, [], 'another schema hears nothing');
    } finally {
      await a.close();
      await b.close();
      await elsewhere.close();
      await dropSchema(schema);
    }
  });

  test('a lost listening connection is reopened, and onGap says so', async () => {
    const schema = freshSchema();
    const a = await openPostgresStore(PG_URL, { schema, poolSize: 1 });
    try {
      const events = collect(1);
      let gap: () => void = () => {};
      const gapped = new Promise<void>((resolve) => {
        gap = resolve;
      });
      await a.channels.listen('events', events.onPayload, gap);
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'baton' AND query = $1`,
        [`LISTEN "${schema}.events"`],
      );
      assert.equal(killed.rowCount, 1);
      await gapped;
      await a.channels.notify('events', 'after');
      assert.deepEqual(await events.received, ['after']);
    } finally {
      await a.close();
      await dropSchema(schema);
    }
  });
});

describe('postgres store: timings', () => {
  test('timings (reported, not asserted)', async (t) => {
    const store = await openFresh();
    try {
      for (let round = 0; round < 3; round++) {
        const nodeCount = 10_000;
        const run = makeRun({ nodeCount });
        let start = performance.now();
        await store.createRun(run);
        const created = performance.now() - start;

        start = performance.now();
        const nodes = await store.getNodes(run.id);
        const read = performance.now() - start;
        assert.equal(nodes.length, nodeCount);

        const tick: NodeChange[] = Array.from({ length: 1000 }, (_, node) => ({
          node,
          state: State.running,
          attempts: 1,
          startedAt: Date.now(),
          executor: 'default',
          taskId: randomUUID(),
        }));
        start = performance.now();
        await store.apply([{ runId: run.id, run: { state: State.running }, nodes: tick }]);
        const applied = performance.now() - start;

        const done: NodeChange[] = tick.map(({ node }) => ({
          node,
          state: State.success,
          stoppedAt: Date.now(),
          output: { ip: '10.0.0.1' },
        }));
        start = performance.now();
        await store.apply([{ runId: run.id, nodes: done }]);
        const finished = performance.now() - start;

        // 100 runs of 10 nodes each changing in one tick
        const small = Array.from({ length: 100 }, () => makeRun({ nodeCount: 10 }));
        for (const each of small) await store.createRun(each);
        start = performance.now();
        await store.apply(
          small.map((each) => ({
            runId: each.id,
            run: { state: State.running, startedAt: Date.now() },
            bulk: { from: [State.initial], to: State.torun },
            nodes: [{ node: 0, state: State.running, attempts: 1, taskId: randomUUID() }],
          })),
        );
        const many = performance.now() - start;

        t.diagnostic(
          `${nodeCount} nodes: createRun ${created.toFixed(1)} ms, getNodes ${read.toFixed(1)} ms, ` +
            `apply 1000 dispatches ${applied.toFixed(1)} ms, apply 1000 completions ${finished.toFixed(1)} ms, ` +
            `apply 100 runs starting ${many.toFixed(1)} ms`,
        );
        assert.deepEqual((await store.getNodes(run.id))[1000], initialNode(1000));
      }
    } finally {
      await store.close();
    }
  });
});
