import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { State } from '../../src/graph/states.ts';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.ts';
import { BUSY_TIMEOUT_MS, connOf, openConn } from '../../src/store/sqlite/conn.ts';
import {
  dumpSchema,
  MIGRATIONS_DIR,
  migrate,
  readMigrations,
} from '../../src/store/sqlite/migrate.ts';
import { WalSync } from '../../src/store/sqlite/wal-sync.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { NodeChange } from '../../src/store/store.ts';
import { initialNode, makeRun, storeSuite } from './suite.ts';

const root = mkdtempSync(join(tmpdir(), 'baton-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh, empty directory under this file's temporary root. */
function freshDir(): string {
  const dir = join(root, randomUUID());
  mkdirSync(dir);
  return dir;
}

/** A database path whose parent directories do not exist yet. */
function freshPath(): string {
  return join(freshDir(), 'data', 'baton.db');
}

storeSuite('sqlite', () => openSqliteStore(freshPath()));

const SCHEMA_DUMP = fileURLToPath(new URL('../../src/store/schema/sqlite.sql', import.meta.url));
const STORE_MODULE = new URL('../../src/store/sqlite.ts', import.meta.url).href;

describe('sqlite store', () => {
  test('the schema dump matches the migrations', () => {
    const db = new DatabaseSync(':memory:');
    migrate(connOf(db), readMigrations());
    const dump = dumpSchema(db);
    db.close();
    if (process.env.BATON_UPDATE_SCHEMA === '1') writeFileSync(SCHEMA_DUMP, dump);
    assert.equal(
      dump,
      readFileSync(SCHEMA_DUMP, 'utf8'),
      'src/store/schema/sqlite.sql is stale: regenerate it with ' +
        'BATON_UPDATE_SCHEMA=1 npx node --test test/store/sqlite.test.ts',
    );
  });

  test('the schema dump is valid SQL that recreates the same schema', () => {
    const db = new DatabaseSync(':memory:');
    const dump = readFileSync(SCHEMA_DUMP, 'utf8');
    db.exec(dump);
    assert.equal(dumpSchema(db), dump);
    db.close();
  });

  test('a store file has exactly the dumped schema', async () => {
    const path = freshPath();
    await (await openSqliteStore(path)).close();
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(dumpSchema(db), readFileSync(SCHEMA_DUMP, 'utf8'));
    db.close();
  });

  test('the connection is WAL, synchronous NORMAL, busy timeout, foreign keys', () => {
    const conn = openConn(join(freshDir(), 'baton.db'));
    const pragma = (name: string) =>
      Object.values(conn.db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
    assert.equal(pragma('journal_mode'), 'wal');
    assert.equal(pragma('synchronous'), 1);
    assert.equal(pragma('busy_timeout'), BUSY_TIMEOUT_MS);
    assert.equal(pragma('foreign_keys'), 1);
    conn.db.close();
  });

  test('migrations run once: reopening applies nothing and keeps the records', async () => {
    const path = freshPath();
    await (await openSqliteStore(path)).close();
    const records = () => {
      const db = new DatabaseSync(path, { readOnly: true });
      const rows = db.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all();
      db.close();
      return rows.map((row) => ({ ...row }));
    };
    const first = records();
    assert.deepEqual(
      first.map((row) => row.name),
      readMigrations().map((m) => m.name),
    );
    await (await openSqliteStore(path)).close();
    assert.deepEqual(records(), first);
    const conn = openConn(path);
    assert.deepEqual(migrate(conn, readMigrations()), []);
    conn.db.close();
  });

  test('004 moves the document last and keeps every run, document and node', () => {
    const conn = openConn(join(freshDir(), 'baton.db'));
    const all = readMigrations();
    migrate(conn, all.slice(0, 3));
    const document = JSON.stringify({ name: 'kept', big: 'd'.repeat(100_000) });
    conn.db
      .prepare(
        `INSERT INTO runs (id, name, document, node_count, created_at, idempotency_key)
         VALUES ('r1', 'kept', ?, 3, 1, 'key-1')`,
      )
      .run(document);
    conn.db.exec("INSERT INTO nodes (run_id, node) VALUES ('r1', 0), ('r1', 1), ('r1', 2)");
    assert.deepEqual(migrate(conn, all.slice(0, 4)), [4]);
    const columns = conn.db.prepare('PRAGMA table_info(runs)').all();
    assert.equal(columns.at(-1)?.name, 'document');
    const run = conn.db.prepare('SELECT name, document, idempotency_key FROM runs').get();
    assert.deepEqual({ ...run }, { name: 'kept', document, idempotency_key: 'key-1' });
    const nodes = conn.db.prepare("SELECT count(*) AS n FROM nodes WHERE run_id = 'r1'").get();
    assert.equal(nodes?.n, 3);
    conn.db.close();
  });

  test('005 changes the state CHECKs in place: rows kept, the same codes refused, everywhere', () => {
    const path = join(freshDir(), 'baton.db');
    const conn = openConn(path);
    const all = readMigrations();
    migrate(conn, all.slice(0, 4));
    const states = Object.values(State);
    conn.db
      .prepare(
        `INSERT INTO runs (id, name, document, node_count, created_at)
         VALUES ('r1', 'kept', '{}', ?, 1)`,
      )
      .run(states.length);
    states.forEach((state, node) => {
      conn.db
        .prepare("INSERT INTO nodes (run_id, node, state) VALUES ('r1', ?, ?)")
        .run(node, state);
    });
    // a connection that read the old schema, as another process would have
    const other = new DatabaseSync(path);
    other.prepare('SELECT count(*) FROM nodes').get();
    assert.deepEqual(migrate(conn, all), [5]);
    assert.match(dumpSchema(conn.db), /CHECK \(state BETWEEN 0 AND 5 OR state BETWEEN 10 AND 11\)/);
    assert.doesNotMatch(dumpSchema(conn.db), /state IN \(/);
    const stored = conn.db.prepare("SELECT state FROM nodes WHERE run_id = 'r1' ORDER BY node");
    assert.deepEqual(
      stored.all().map((row) => row.state),
      states,
    );
    for (const db of [conn.db, other]) {
      for (const state of [-1, 6, 7, 8, 9, 12]) {
        assert.throws(
          () =>
            db.prepare("UPDATE nodes SET state = ? WHERE run_id = 'r1' AND node = 0").run(state),
          /CHECK constraint failed: state BETWEEN 0 AND 5 OR state BETWEEN 10 AND 11/,
        );
        assert.throws(
          () => db.prepare("UPDATE runs SET state = ? WHERE id = 'r1'").run(state),
          /CHECK constraint failed/,
        );
      }
    }
    assert.equal(conn.db.prepare('PRAGMA integrity_check').get()?.integrity_check, 'ok');
    assert.throws(
      () => conn.db.exec('PRAGMA writable_schema = ON; DELETE FROM sqlite_schema'),
      /may not be modified/,
      'defensive again after the migrations',
    );
    other.close();
    conn.db.close();
  });

  test('a failing migration leaves nothing behind, neither its changes nor its record', () => {
    const dir = freshDir();
    copyFileSync(
      new URL('001-runs-and-nodes.sql', MIGRATIONS_DIR),
      join(dir, '001-runs-and-nodes.sql'),
    );
    writeFileSync(
      join(dir, '002-broken.sql'),
      'CREATE TABLE half_done (a INTEGER);\nINSERT INTO no_such_table VALUES (1);\n',
    );
    const conn = openConn(join(dir, 'baton.db'));
    assert.throws(
      () => migrate(conn, readMigrations(dir)),
      /migration 002-broken\.sql: no such table/,
    );
    const tables = conn.db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .all()
      .map((row) => row.name);
    assert.deepEqual(tables, ['migrations', 'nodes', 'runs', 'sqlite_sequence']);
    assert.deepEqual(
      conn.db
        .prepare('SELECT id FROM migrations')
        .all()
        .map((row) => row.id),
      [1],
    );
    assert.equal(conn.db.isTransaction, false);
    conn.db.close();
  });

  test('a migration may not end its own transaction', () => {
    const dir = freshDir();
    writeFileSync(join(dir, '001-commits.sql'), 'CREATE TABLE t (a INTEGER); COMMIT;');
    const conn = openConn(join(dir, 'baton.db'));
    assert.throws(() => migrate(conn, readMigrations(dir)), /001-commits\.sql: the file ended/);
    conn.db.close();
  });

  test('migration files must be numbered 001, 002, ... without gaps', () => {
    const dir = freshDir();
    writeFileSync(join(dir, '001-a.sql'), '');
    writeFileSync(join(dir, '003-c.sql'), '');
    assert.throws(() => readMigrations(dir), /003-c\.sql: expected number 002/);
    writeFileSync(join(dir, '2-b.sql'), '');
    assert.throws(() => readMigrations(dir), /expected NNN-lowercase-name\.sql/);
  });

  test('a database migrated by a newer version is refused', async () => {
    const path = freshPath();
    await (await openSqliteStore(path)).close();
    const db = new DatabaseSync(path);
    db.prepare("INSERT INTO migrations VALUES (999, '999-from-the-future.sql', 0)").run();
    db.close();
    await assert.rejects(
      openSqliteStore(path),
      /999-from-the-future\.sql, unknown to this version/,
    );
  });

  test('processes opening a new database at once migrate it once', async () => {
    const path = freshPath();
    const script = `
      import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
      const store = await openSqliteStore(process.env.BATON_TEST_DB);
      await store.close();`;
    const exits = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<number | null>((resolve, reject) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
              env: { ...process.env, BATON_TEST_DB: path },
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            child.on('error', reject);
            child.on('exit', resolve);
          }),
      ),
    );
    assert.deepEqual(exits, [0, 0, 0, 0]);
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(
      db.prepare('SELECT count(*) AS n FROM migrations').get()?.n,
      readMigrations().length,
    );
    db.close();
  });

  test('data survives closing and reopening the file', async () => {
    const path = freshPath();
    let store = await openSqliteStore(path);
    const run = makeRun({ nodeCount: 3, idempotencyKey: 'k' });
    await store.createRun(run);
    await store.apply([
      { runId: run.id, run: { state: State.running }, nodes: [{ node: 2, output: { a: 'b' } }] },
    ]);
    await store.close();
    await store.close(); // closing twice is harmless
    store = await openSqliteStore(path);
    assert.equal((await store.getRun(run.id))?.state, State.running);
    assert.deepEqual((await store.getNodes(run.id))[2].output, { a: 'b' });
    assert.deepEqual(await store.createRun(makeRun({ idempotencyKey: 'k' })), {
      created: false,
      id: run.id,
    });
    await store.close();
    await assert.rejects(store.getRun(run.id), /sqlite store: getRun .*: the store is closed/);
  });

  test('a created run survives the process being killed right after createRun resolves', async () => {
    const path = freshPath();
    const run = makeRun({ nodeCount: 50 });
    const script = `
      import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
      const store = await openSqliteStore(process.env.BATON_TEST_DB);
      await store.createRun(JSON.parse(process.env.BATON_TEST_RUN));
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, BATON_TEST_DB: path, BATON_TEST_RUN: JSON.stringify(run) },
      encoding: 'utf8',
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    const store = await openSqliteStore(path);
    assert.equal((await store.getRun(run.id))?.document, run.document);
    assert.equal((await store.getNodes(run.id)).length, 50);
    await store.close();
  });

  test('WAL syncs are shared: callers during a sync wait for the next one, together', async () => {
    const path = join(freshDir(), 'baton.db');
    const store = await openSqliteStore(path); // the WAL file exists from here on
    const wal = new WalSync(path);
    const first = wal.sync();
    const second = wal.sync();
    const third = wal.sync();
    assert.notEqual(first, second, 'the running sync may predate the second caller');
    assert.equal(second, third, 'callers meanwhile share the next sync');
    await Promise.all([first, second, third]);
    const after = wal.sync();
    assert.notEqual(after, second);
    await after;
    await wal.close();
    await store.close();
  });

  test('a new run is leased to its submitter while its commit is being synced', async () => {
    const store = await openSqliteStore(join(freshDir(), 'baton.db'));
    const run = makeRun({ owner: 'submitter', leaseMs: 5000 });
    // committed at once; the promise waits for the WAL's sync, during which the loop runs on
    const created = store.createRun(run);
    assert.deepEqual(await store.claimRuns('another', 5000, 10), [], 'not an orphan meanwhile');
    assert.deepEqual(await created, { created: true, id: run.id });
    assert.deepEqual(await store.claimRuns('another', 5000, 10), []);
    await store.close();
  });

  test('a new run the disk does not confirm is taken back, and the error is transient', async () => {
    const path = join(freshDir(), 'baton.db');
    const store = await openSqliteStore(path);
    // SQLite keeps writing the WAL it holds open; the store's sync finds no WAL to confirm
    unlinkSync(`${path}-wal`);
    const run = makeRun({ nodeCount: 2 });
    const err = await store.createRun(run).then(
      () => assert.fail('createRun resolved'),
      (e: Error) => e,
    );
    assert.match(err.message, /sqlite store: createRuns: the disk did not confirm the write/);
    assert.ok(store.isTransient(err), 'a 503: try again');
    assert.equal(await store.getRun(run.id), undefined, 'nothing was stored');
    await store.close();
  });

  test('a worker checkpoints the WAL, long before the 1,000 pages of an automatic one', async () => {
    const path = join(freshDir(), 'baton.db');
    const store = await openSqliteStore(path);
    const size = () => statSync(path).size;
    // ~400 KB of runs: 100 pages, a tenth of what would make a commit checkpoint by itself
    for (let i = 0; i < 20; i++) {
      await store.createRuns(
        Array.from({ length: 10 }, () =>
          makeRun({ document: JSON.stringify({ pad: 'p'.repeat(2000) }) }),
        ),
      );
    }
    for (const deadline = Date.now() + 30_000; size() < 300_000; ) {
      assert.ok(Date.now() < deadline, `the database file is still ${size()} bytes`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await store.close();
  });

  test('a checkpointer whose worker fails hands checkpoints back to the connection', async () => {
    const conn = openConn(join(freshDir(), 'baton.db'));
    const autocheckpoint = () =>
      conn.db.prepare('PRAGMA wal_autocheckpoint').get()?.wal_autocheckpoint;
    const working = new Checkpointer(conn, conn.db.location()!);
    assert.equal(autocheckpoint(), 0, 'the worker does them');
    await working.stop();
    assert.equal(autocheckpoint(), 1000, "SQLite's default again once it stopped");
    const failing = new Checkpointer(conn, join(freshDir(), 'missing', 'baton.db'));
    await failing.stop();
    assert.equal(autocheckpoint(), 1000);
    conn.db.close();
  });

  test(':memory: works', async () => {
    const store = await openSqliteStore(':memory:');
    const run = makeRun();
    await store.createRun(run);
    assert.equal((await store.getRun(run.id))?.id, run.id);
    await store.close();
  });

  test('every state code of graph/states.ts can be stored, and nothing else', async () => {
    const store = await openSqliteStore(':memory:');
    const run = makeRun({ nodeCount: 1 });
    await store.createRun(run);
    for (const state of Object.values(State)) {
      await store.apply([{ runId: run.id, run: { state }, nodes: [{ node: 0, state }] }]);
      assert.equal((await store.getNodes(run.id))[0].state, state);
    }
    for (const state of [-1, 6, 12, 1.5]) {
      await assert.rejects(store.apply([{ runId: run.id, nodes: [{ node: 0, state }] }]));
      await assert.rejects(store.apply([{ runId: run.id, run: { state }, nodes: [] }]));
    }
    await store.close();
  });

  test('errors name the operation, the run and the node', async () => {
    const store = await openSqliteStore(':memory:');
    const run = makeRun({ nodeCount: 2 });
    await store.createRun(run);
    await assert.rejects(
      store.apply([{ runId: run.id, nodes: [{ node: 1, startedAt: 1.5 }] }]),
      (err: Error) => {
        assert.match(err.message, /^sqlite store: apply \(1 runs\): run [-0-9a-f]+ node 1: /);
        assert.match(err.message, /cannot store REAL value in INTEGER column nodes\.started_at/);
        assert.ok(err.cause instanceof Error);
        return true;
      },
    );
    await assert.rejects(
      store.apply([{ runId: run.id, nodes: [{ node: 5, state: State.torun }] }]),
      /run [-0-9a-f]+ node 5: no such node/,
    );
    await assert.rejects(store.listRuns({ limit: 0 }), RangeError);
    await store.close();
  });

  test('timings (reported, not asserted)', async (t) => {
    const store = await openSqliteStore(freshPath());
    const sizes = [10_000, 10_000, 10_000];
    for (const nodeCount of sizes) {
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

      t.diagnostic(
        `${nodeCount} nodes: createRun ${created.toFixed(1)} ms, getNodes ${read.toFixed(1)} ms, ` +
          `apply 1000 dispatches ${applied.toFixed(1)} ms, apply 1000 completions ${finished.toFixed(1)} ms`,
      );
      assert.deepEqual((await store.getNodes(run.id))[1000], initialNode(1000));
    }
    await store.close();
  });
});
