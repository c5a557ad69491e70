/**
 * Poison pills against a real `baton serve` (SQLite, then PostgreSQL replicas): one run or
 * schedule that throws inside the orchestrator fails alone, with its error recorded; the
 * process stays up and every other run and schedule goes on. Broken state is written into
 * the real store with SQL, as a bug, a disk or an operator would leave it:
 *   - a run whose stored document is not JSON, and one whose engine is no longer configured,
 *     resumed after a crash (kill -9): both fail with "cannot resume the run", retry is a 409;
 *   - a running run whose node rows were deleted: the store refuses its changes for good
 *     (this used to stop the whole process with exit code 70, on every replica in turn);
 *   - a schedule whose stored document is corrupt: paused with its error, the others fire;
 *   - on PostgreSQL, a run whose resume killed 3 replicas in a row (each resume is counted in
 *     the store before it starts) is failed as poison by the next one instead of being handed
 *     on forever, while a run that resumed fine beside it is not counted against.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import pg from 'pg';
import { State } from '../../src/graph/states.ts';
import { freshDatabase } from '../support/postgres.ts';
import { type BatonProcess, call, eventually, Processes } from '../support/processes.ts';
import { doc, tempDir } from '../support/server.ts';

interface RunView {
  state: number;
  error: string | null;
  nodes: Array<{ state: number }>;
}

async function submit(url: string, document: unknown): Promise<string> {
  const res = await call(`${url}/v1/tasks`, { method: 'POST', body: JSON.stringify(document) });
  assert.equal(res.status, 202, res.text);
  return (res.json as { id: string }).id;
}

async function runState(url: string, id: string): Promise<RunView> {
  const res = await call(`${url}/v1/tasks/${id}`);
  assert.equal(res.status, 200, res.text);
  return res.json as RunView;
}

/** The run as the list shows it (which does not parse its document). */
async function listed(url: string, id: string) {
  const res = await call(`${url}/v1/tasks?limit=1000`);
  assert.equal(res.status, 200, res.text);
  const tasks = (res.json as { tasks: Array<{ id: string; state_code: number; error: string }> })
    .tasks;
  return tasks.find((task) => task.id === id);
}

async function healthy(server: BatonProcess): Promise<void> {
  assert.ok(server.alive(), `the server is up:\n${server.output().slice(-3000)}`);
  assert.equal((await call(`${server.url}/healthz`)).status, 200);
}

const finished = (url: string, id: string, ms = 30_000) =>
  eventually(
    `run ${id} to finish`,
    async () => {
      const run = await runState(url, id);
      return run.state >= State.success ? run : undefined;
    },
    ms,
  );

describe('poison runs and schedules, real baton serve on SQLite', () => {
  it('runs that cannot be resumed fail alone, with their error; retry is a 409', async (t) => {
    const dir = tempDir();
    const processes = new Processes();
    t.after(async () => {
      await processes.killAll();
      dir.remove();
    });
    const first = await processes.serve(dir.path);
    const notJson = await submit(first.url, doc([['long', 'sleep', ['60']]]));
    const noEngine = await submit(first.url, doc([['long', 'sleep', ['60']]]));
    const good = await submit(
      first.url,
      doc(
        [
          ['wait', 'sleep', ['1']],
          ['then', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    for (const id of [notJson, noEngine, good]) {
      await eventually(
        'the runs to start',
        async () =>
          (await runState(first.url, id)).nodes[0].state === State.running ? true : undefined,
        20_000,
      );
    }
    await first.kill();

    const db = new DatabaseSync(join(dir.path, 'baton.db'));
    const stored = db.prepare('SELECT document FROM runs WHERE id = ?').get(noEngine)?.document;
    db.prepare('UPDATE runs SET document = ? WHERE id = ?').run('{"name": "cut', notJson);
    db.prepare('UPDATE runs SET document = ? WHERE id = ?').run(
      String(stored).replace('"sleep"', '"removed-engine"'),
      noEngine,
    );
    db.close();

    const second = await processes.serve(dir.path);
    assert.equal((await finished(second.url, good)).state, State.success, 'the others go on');
    const broken = await finished(second.url, noEngine);
    assert.equal(broken.state, State.failure);
    assert.match(broken.error ?? '', /cannot resume the run: .*removed-engine/);
    assert.deepEqual(
      broken.nodes.map((node) => node.state),
      [State.failure],
      'no node left running',
    );
    const cut = await eventually(
      'the run whose document is not JSON to fail',
      async () => {
        const task = await listed(second.url, notJson);
        return task?.state_code === State.failure ? task : undefined;
      },
      20_000,
    );
    assert.match(cut.error, /cannot resume the run: .*JSON/);
    for (const id of [notJson, noEngine]) {
      const retry = await call(`${second.url}/v1/tasks/${id}/retry`, { method: 'POST' });
      assert.equal(retry.status, 409, retry.text);
      assert.match(retry.text, /cannot resume the run/);
    }
    await healthy(second);
    const after = await submit(second.url, doc([['x', 'nil']]));
    assert.equal((await finished(second.url, after)).state, State.success);
  });

  it('a run whose changes the store refuses for good fails alone; the process lives', async (t) => {
    const dir = tempDir();
    const processes = new Processes();
    t.after(async () => {
      await processes.killAll();
      dir.remove();
    });
    const server = await processes.serve(dir.path);
    const chain = doc(
      [
        ['first', 'sleep', ['1']],
        ['second', 'nil'],
      ],
      [[0, 1]],
    );
    const doomed = await submit(server.url, chain);
    const other = await submit(server.url, chain);
    await eventually(
      'the run to start',
      async () =>
        (await runState(server.url, doomed)).nodes[0].state === State.running ? true : undefined,
      20_000,
    );
    // as if a bug or an operator removed it: the next commit names a node the store lacks
    const db = new DatabaseSync(join(dir.path, 'baton.db'), { timeout: 5000 });
    db.prepare('DELETE FROM nodes WHERE run_id = ? AND node = 1').run(doomed);
    db.close();

    const failed = await eventually(
      'the run to fail',
      async () => {
        const task = await listed(server.url, doomed);
        return task && task.state_code >= State.success ? task : undefined;
      },
      20_000,
    );
    assert.equal(failed.state_code, State.failure);
    assert.match(failed.error, /the store refused its changes: .*no such node/);
    assert.equal((await finished(server.url, other)).state, State.success, 'the other run');
    await healthy(server);
  });

  it('a schedule whose stored document is corrupt is paused with its error; others fire', async (t) => {
    const dir = tempDir();
    const processes = new Processes();
    t.after(async () => {
      await processes.killAll();
      dir.remove();
    });
    const server = await processes.serve(dir.path);
    const create = async (name: string) => {
      const res = await call(`${server.url}/v1/schedules`, {
        method: 'POST',
        body: JSON.stringify({ name, cron: '* * * * * *', document: doc([['x', 'nil']]) }),
      });
      assert.equal(res.status, 201, res.text);
      return (res.json as { id: string }).id;
    };
    const broken = await create('broken');
    const db = new DatabaseSync(join(dir.path, 'baton.db'), { timeout: 5000 });
    db.prepare('UPDATE schedules SET document = ? WHERE id = ?').run('{"nodes": [', broken);
    db.close();
    await create('healthy');

    const paused = await eventually(
      'the broken schedule to be paused',
      async () => {
        // the list (GET of this one schedule shows its document, which is what is corrupt)
        const res = await call(`${server.url}/v1/schedules`);
        const schedules = (
          res.json as { schedules: Array<{ id: string; paused: boolean; error: string | null }> }
        ).schedules;
        const schedule = schedules.find((one) => one.id === broken);
        return schedule?.paused ? schedule : undefined;
      },
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the server said:\n${server.output().slice(-3000)}`);
    });
    assert.match(paused.error ?? '', /^document: .*JSON/);
    await eventually(
      'the healthy schedule to fire twice',
      async () => {
        const res = await call(`${server.url}/v1/tasks?limit=1000`);
        const tasks = (res.json as { tasks: Array<{ name: string }> }).tasks;
        return tasks.filter((task) => task.name === 'healthy').length >= 2 ? true : undefined;
      },
      20_000,
    );
    await healthy(server);
  });
});

describe('poison runs, real baton serve replicas on PostgreSQL', () => {
  it('a run its replicas keep dying on is failed as poison, not handed on forever', async (t) => {
    const dir = tempDir();
    const db = await freshDatabase();
    const processes = new Processes();
    const sql = new pg.Client({ connectionString: db.url });
    t.after(async () => {
      await processes.killAll();
      await sql.end().catch(() => {});
      await db.drop();
      dir.remove();
    });
    const args = ['--db', db.url];
    const env = { BATON_LEASE_MS: '1000' };
    const first = await processes.serve(dir.path, args, { env });
    const poison = await submit(first.url, doc([['long', 'sleep', ['120']]]));
    const other = await submit(first.url, doc([['long', 'sleep', ['120']]]));
    await sql.connect();
    const resumes = async (id: string) =>
      (await sql.query<{ resumes: number }>('SELECT resumes FROM runs WHERE id = $1', [id])).rows[0]
        .resumes;
    // a replica that dies (kill -9: no handover) leaves both runs to the next, which resumes
    // them: each resume is counted before it starts and the count reset once it committed
    await first.kill();
    const second = await processes.serve(dir.path, args, { env });
    await eventually(
      'the next replica to resume both runs',
      async () => {
        const owners = await sql.query<{ n: number }>(
          'SELECT count(*)::integer AS n FROM runs WHERE lease_epoch > 0 AND resumes = 0',
        );
        return owners.rows[0].n === 2 ? true : undefined;
      },
      20_000,
    ).catch(async (err: Error) => {
      const rows = await sql.query('SELECT id, owner, lease_epoch, resumes, state FROM runs');
      throw new Error(
        `${err.message}: ${JSON.stringify(rows.rows)}\n${second.output().slice(-3000)}`,
      );
    });
    await second.kill();
    // as three replicas that died resuming `poison` (a crash no test input reaches) leave it
    await sql.query('UPDATE runs SET resumes = 3 WHERE id = $1', [poison]);
    const next = await processes.serve(dir.path, args, { env });
    const failed = await eventually(
      'the poison run to fail',
      async () => {
        const task = await listed(next.url, poison);
        return task && task.state_code >= State.success ? task : undefined;
      },
      20_000,
    );
    assert.equal(failed.state_code, State.failure);
    assert.match(failed.error, /^poison: .* 3 times in a row/);
    const resumed = await runState(next.url, other);
    assert.equal(resumed.state, State.running, 'the other run was resumed');
    assert.equal(await resumes(other), 0, 'and is not counted against');
    await healthy(next);
  });
});
