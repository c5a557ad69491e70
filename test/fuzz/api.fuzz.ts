/**
 * API fuzz (`npm run test:fuzz`): the hostile corpus (hostile.ts) and fast-check's hostile
 * requests (api.ts) against real `baton serve` processes, one on SQLite and one on
 * PostgreSQL: always a 4xx (or 202 for a document valid after all), never a 5xx, a crash or a
 * hang, and /healthz answers after every group. Known bugs are `todo` tests, each with its
 * reproduction. BATON_SUITE_SCALE=short cuts the truncation points and fast-check runs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { State } from '../../src/graph/states.ts';
import { type RefusingExecutor, startRefusingExecutor } from '../support/failing-task.ts';
import { freshDatabase } from '../support/postgres.ts';
import {
  type BatonProcess,
  call,
  eventually,
  Processes,
  suiteScale,
} from '../support/processes.ts';
import { tempDir } from '../support/server.ts';
import { corpusTests, HOSTILE_HTTP_FLAGS, healthy, hostileHttpTests, propertyFuzz } from './api.ts';
import { backtrackingDocuments } from './giants.ts';
import { hostileCorpus } from './hostile.ts';

const scale = suiteScale();
const corpus = hostileCorpus(scale);
const runs = scale === 'full' ? 3000 : 200;
const tried = { count: 0 };
after(() => {
  console.log(JSON.stringify({ fuzz: 'api', hostile_requests: tried.count }));
});

describe('API fuzz on SQLite', () => {
  const dir = tempDir();
  const processes = new Processes();
  let server: BatonProcess;
  let executor: RefusingExecutor;
  before(async () => {
    executor = await startRefusingExecutor();
    server = await processes.serve(join(dir.path, 'sqlite'), executor.flags, {
      env: { BATON_LOG_LEVEL: 'warn' },
    });
  });
  after(async () => {
    await processes.killAll();
    await executor.close();
    dir.remove();
  });
  corpusTests(corpus, 'sqlite', () => server, tried);
  it(`fast-check: ${runs} hostile requests`, async (t) => {
    const { requests } = await propertyFuzz(t, server, { runs, seed: 7, avoidNul: false });
    tried.count += requests;
  });

  it('huge timeouts do not fire at once', async () => {
    const post = async (document: unknown) => {
      const answer = await call(`${server.url}/v1/tasks`, {
        method: 'POST',
        body: JSON.stringify(document),
      });
      assert.equal(answer.status, 202, answer.text);
      return (answer.json as { id: string }).id;
    };
    const node = (extra: Record<string, unknown>, args = ['1']) => ({
      name: 'huge-timeout',
      edges: [],
      nodes: [{ id: 0, name: 'n', engine: 'sleep', args, ...extra }],
    });
    const ids = [
      await post(node({ timeout: 1e10 })),
      await post({ ...node({}), timeout: 1e10 }),
      await post(node({}, ['1e10'])),
    ];
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ids) {
      const run = (await call(`${server.url}/v1/tasks/${id}`)).json as {
        state: number;
        nodes: Array<{ state: number }>;
      };
      assert.equal(
        run.state,
        State.running,
        `run ${id} ended after 0.5 s: ${JSON.stringify(run.nodes)}`,
      );
    }
  });
});

describe('API fuzz on PostgreSQL', () => {
  const dir = tempDir();
  const processes = new Processes();
  let server: BatonProcess;
  let executor: RefusingExecutor;
  let drop: () => Promise<void> = async () => {};
  before(async () => {
    executor = await startRefusingExecutor();
    const db = await freshDatabase();
    drop = db.drop;
    server = await processes.serve(dir.path, ['--db', db.url, ...executor.flags], {
      env: { BATON_LOG_LEVEL: 'warn' },
    });
  });
  after(async () => {
    await processes.killAll();
    await executor.close();
    await drop();
    dir.remove();
  });
  corpusTests(corpus, 'postgres', () => server, tried);
  it(`fast-check: ${runs} hostile requests (U+0000 kept out: known bugs)`, async (t) => {
    const { requests } = await propertyFuzz(t, server, { runs, seed: 11, avoidNul: true });
    tried.count += requests;
  });

  it('a document PostgreSQL cannot store fails alone, not the documents submitted with it', async () => {
    const valid = { name: 'innocent', edges: [], nodes: [{ id: 0, name: 'a', engine: 'nil' }] };
    const poison = { ...valid, name: 'nul\u0000name' };
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, () =>
        call(`${server.url}/v1/tasks`, { method: 'POST', body: JSON.stringify(valid) }),
      ),
      call(`${server.url}/v1/tasks`, { method: 'POST', body: JSON.stringify(poison) }),
    ]);
    const innocent = answers.slice(0, 10).map((a) => a.status);
    assert.deepEqual(innocent, new Array(10).fill(202), `valid documents answered ${innocent}`);
  });
});

describe('a node name with U+0000 on PostgreSQL', () => {
  const dir = tempDir();
  const processes = new Processes();
  let drop: () => Promise<void> = async () => {};
  after(async () => {
    await processes.killAll();
    await drop();
    dir.remove();
  });
  it('a node named with U+0000 is refused at submission; the replica lives', async () => {
    const db = await freshDatabase();
    drop = db.drop;
    const document = {
      name: 'poison',
      edges: [[0, 1]],
      nodes: [
        { id: 0, name: 'bad\u0000name', engine: 'sleep', args: ['not a number'] },
        { id: 1, name: 'after', engine: 'nil' },
      ],
    };
    const server = await processes.serve(dir.path, ['--db', db.url]);
    const answer = await call(`${server.url}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify(document),
    });
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.text, /nodes\[0\]\.name: must not contain NUL/);
    assert.equal((await call(`${server.url}/healthz`, {}, 2000)).status, 200);
  });
});

describe('a get_attribute pattern that backtracks', () => {
  const dir = tempDir();
  const processes = new Processes();
  after(async () => {
    await processes.killAll();
    dir.remove();
  });
  it('is refused (or matched) quickly and the server keeps answering', async () => {
    const server = await processes.serve(join(dir.path, 'redos'));
    const [, make] = backtrackingDocuments()[0];
    const answer = await call(
      `${server.url}/v1/tasks`,
      { method: 'POST', body: JSON.stringify(make()) },
      5000,
    );
    assert.ok(answer.status >= 400 && answer.status < 500, `POST: ${answer.status} ${answer.text}`);
    await eventually(
      '/healthz',
      async () =>
        (await call(`${server.url}/healthz`, {}, 1000)).status === 200 ? true : undefined,
      3000,
    );
    await healthy(server, 'the backtracking pattern');
  });
});

describe('hostile HTTP clients', () => {
  const dir = tempDir();
  const processes = new Processes();
  let server: BatonProcess;
  before(async () => {
    server = await processes.serve(join(dir.path, 'clients'), HOSTILE_HTTP_FLAGS, {
      env: { BATON_LOG_LEVEL: 'warn' },
    });
  });
  after(async () => {
    await processes.killAll();
    dir.remove();
  });
  hostileHttpTests(() => server);
});
