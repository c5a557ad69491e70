/**
 * gorchestrator's clients against a real `baton serve` (issue 13, items 5, 6, 7 and 10): each
 * request is one a gorchestrator user's browser, script or web client sends, replayed on the
 * real process; DELETE on SQLite and on PostgreSQL, with the store's rows checked directly.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { State } from '../../src/graph/states.ts';
import { freshDatabase } from '../support/postgres.ts';
import {
  type Answer,
  type BatonProcess,
  call,
  eventually,
  Processes,
  rawRequest,
} from '../support/processes.ts';
import { doc, tempDir } from '../support/server.ts';

/** Hang bound of each wait: generous for a loaded 2-core machine, never a timing window. */
const HANG_MS = 60_000;

interface Run {
  id: string;
  name: string;
  state: number;
  nodes: Array<{ id: number; name: string; state: number }>;
}

const json = <T>(answer: Answer): T => {
  assert.ok(answer.json !== undefined, `${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.json as T;
};

async function submit(url: string, body: unknown, headers: Record<string, string> = {}) {
  const answer = await call(`${url}/v1/tasks`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers,
  });
  assert.equal(answer.status, 202, answer.text);
  return json<{ id: string }>(answer).id;
}

function waitFor(url: string, id: string, until: (run: Run) => boolean): Promise<Run> {
  return eventually(
    `run ${id}`,
    async () => {
      const answer = await call(`${url}/v1/tasks/${id}`);
      if (answer.status !== 200) return undefined;
      const run = answer.json as Run;
      return until(run) ? run : undefined;
    },
    HANG_MS,
  );
}

const finished = (run: Run) => run.state !== State.initial && run.state !== State.running;
const slow = () =>
  doc(
    [
      ['wait', 'sleep', ['60']],
      ['then', 'nil'],
    ],
    [[0, 1]],
  );

describe('gorchestrator clients against baton serve', () => {
  const procs = new Processes();
  const dir = tempDir('baton-compat-api-');
  let server: BatonProcess;
  before(async () => {
    server = await procs.serve(dir.path);
  });
  after(async () => {
    await procs.killAll();
    dir.remove();
  });

  it('reads a text/plain body as JSON, in any case, with or without a charset', async () => {
    const body = doc([['from-a-browser', 'nil']]);
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'TEXT/PLAIN; charset=utf-8',
      'Text/Plain; Charset="UTF-8"',
    ]) {
      const id = await submit(server.url, body, { 'content-type': type });
      const run = await waitFor(server.url, id, finished);
      assert.equal(run.state, State.success, type);
      assert.equal(run.nodes[0].name, 'from-a-browser');
    }
    // fetch('/v1/tasks', {method: 'POST', body: JSON.stringify(doc)}): what a browser sends
    const browser = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    assert.equal(browser.status, 202);
    assert.match(browser.headers.get('content-type') ?? '', /^application\/json/);
  });

  it('a text/plain body is checked as application/json is: position, path, __proto__', async () => {
    const cases: Array<[string, RegExp, string | undefined]> = [
      [
        '{"name": "x", "nodes": [{"id": 0,}]}',
        /^body is not valid JSON: line 1 column 34 \(offset 33\): .*\(trailing comma\?\)$/,
        'nodes[0]',
      ],
      ['', /^body is not valid JSON: the body is empty$/, undefined],
      ['{"__proto__": {"polluted": 1}}', /"__proto__" is not allowed as a key/, '__proto__'],
      [
        '{"nodes": [{"constructor": {"prototype": {}}}]}',
        /"constructor" holding "prototype" is not allowed as a key/,
        'nodes[0].constructor',
      ],
    ];
    for (const [text, message, path] of cases) {
      for (const type of ['text/plain; charset=utf-8', 'application/json']) {
        const answer = await call(`${server.url}/v1/tasks`, {
          method: 'POST',
          body: text,
          headers: { 'content-type': type },
        });
        assert.equal(answer.status, 400, `${type} ${text}`);
        const error = json<{ error: string; message: string; path?: string }>(answer);
        assert.equal(error.error, 'BATON_ERR_INVALID_JSON');
        assert.match(error.message, message);
        assert.equal(error.path, path, `${type} ${text}`);
      }
    }
    // a document error is a document error, whatever the type said
    const bad = await call(`${server.url}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify({ name: 'x', digraph: [0], nodes: [] }),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(bad.status, 400);
    assert.equal(json<{ error: string }>(bad).error, 'BATON_ERR_INVALID_DOCUMENT');
  });

  it('serves paths with a trailing slash or doubled slashes as the cleaned path', async () => {
    const posted = await call(`${server.url}/v1/tasks/`, {
      method: 'POST',
      body: JSON.stringify(doc([['slashes', 'nil']])),
    });
    assert.equal(posted.status, 202, posted.text);
    const { id } = json<{ id: string }>(posted);
    const run = await waitFor(server.url, id, finished);
    for (const path of [
      `/v1/tasks/${id}/`,
      `/v1/tasks//${id}`,
      `//v1/tasks/${id}`,
      `/v1//tasks/${id}//`,
    ]) {
      const answer = await call(`${server.url}${path}`);
      assert.equal(answer.status, 200, `GET ${path}: ${answer.text}`);
      assert.deepEqual(json<Run>(answer), run, path);
    }
    for (const path of ['/v1/tasks/', '/v1//tasks', '//v1/tasks/?limit=5']) {
      const answer = await call(`${server.url}${path}`);
      assert.equal(answer.status, 200, `GET ${path}`);
      assert.ok(
        json<{ tasks: Run[] }>(answer).tasks.some((t) => t.id === id),
        path,
      );
    }
    const retry = await call(`${server.url}/v1/tasks//${id}/retry/`, { method: 'POST' });
    assert.equal(retry.status, 409, 'the retry route, reached: a successful run is not retried');
    // the raw request line, as a client that does not normalize sends it
    const raw = await rawRequest(server.url, {
      method: 'GET',
      path: `/v1/tasks//${id}/`,
      timeoutMs: HANG_MS,
    });
    assert.equal(raw.status, 200);
    // still 404 for what is not a route, JSON as ever
    const missing = await call(`${server.url}/v1/tasks//${id}/nowhere/`);
    assert.equal(missing.status, 404);
    assert.equal(json<{ error: string }>(missing).error, 'BATON_ERR_NOT_FOUND');
  });

  it("shows Baton's runs to gorchestrator's web client started with -orchestrator .../v1/tasks/", async () => {
    const id = await submit(
      server.url,
      doc(
        [
          ['create', 'nil'],
          ['start', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    await waitFor(server.url, id, finished);
    // the web client lists GET <base> and reads each graph from GET <base>/<id>
    for (const base of [`${server.url}/v1/tasks/`, `${server.url}/v1/tasks`]) {
      const list = await call(base);
      assert.equal(list.status, 200, base);
      assert.ok(json<{ tasks: Array<{ id: string }> }>(list).tasks.some((t) => t.id === id));
      const graph = await call(`${base}/${id}`);
      assert.equal(graph.status, 200, `${base}/${id}`);
      const run = json<Run & { digraph?: number[]; edges?: unknown }>(graph);
      assert.equal(run.id, id);
      assert.deepEqual(
        run.nodes.map((n) => [n.id, n.name, n.state]),
        [
          [0, 'create', State.success],
          [1, 'start', State.success],
        ],
      );
    }
  });

  it('DELETE cancels a running run and keeps it; DELETE of a finished run deletes it', async () => {
    const id = await submit(server.url, slow());
    await waitFor(server.url, id, (run) => run.nodes[0].state === State.running);
    const cancel = await call(`${server.url}/v1/tasks/${id}`, { method: 'DELETE' });
    assert.equal(cancel.status, 202, cancel.text);
    assert.equal(json<Run>(cancel).state, State.canceled);
    const kept = await call(`${server.url}/v1/tasks/${id}`);
    assert.equal(kept.status, 200, 'a canceled run is kept for inspection and retry');
    assert.deepEqual(
      json<Run>(kept).nodes.map((n) => n.state),
      [State.canceled, State.canceled],
    );

    // finished now: gorchestrator's answer, 200 and an empty body, and it is gone
    const gone = await call(`${server.url}/v1/tasks/${id}`, { method: 'DELETE' });
    assert.equal(gone.status, 200);
    assert.equal(gone.text, '');
    await assertGone(server.url, id);

    const done = await submit(server.url, doc([['quick', 'nil']]));
    await waitFor(server.url, done, finished);
    const deleted = await call(`${server.url}/v1/tasks/${done}/`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    await assertGone(server.url, done);
    const again = await call(`${server.url}/v1/tasks/${done}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(json<{ error: string }>(again).error, 'BATON_ERR_RUN_NOT_FOUND');

    // POST .../cancel only ever cancels: a finished run is refused, not deleted
    const kept2 = await submit(server.url, doc([['quick', 'nil']]));
    await waitFor(server.url, kept2, finished);
    const refused = await call(`${server.url}/v1/tasks/${kept2}/cancel`, { method: 'POST' });
    assert.equal(refused.status, 409);
    assert.equal(json<{ error: string }>(refused).error, 'BATON_ERR_RUN_STATE');
    assert.equal((await call(`${server.url}/v1/tasks/${kept2}`)).status, 200);
  });

  it('a deleted run leaves no row in the SQLite store, and frees its idempotency key', async () => {
    const key = { 'idempotency-key': 'clean-up-after-myself' };
    const id = await submit(server.url, doc([['keyed', 'nil']]), key);
    await waitFor(server.url, id, finished);
    assert.equal((await call(`${server.url}/v1/tasks/${id}`, { method: 'DELETE' })).status, 200);
    const db = new DatabaseSync(join(dir.path, 'baton.db'), { readOnly: true });
    try {
      const count = (sql: string) => (db.prepare(sql).get(id) as { n: number }).n;
      assert.equal(count('SELECT count(*) AS n FROM runs WHERE id = ?'), 0);
      assert.equal(count('SELECT count(*) AS n FROM nodes WHERE run_id = ?'), 0);
    } finally {
      db.close();
    }
    const next = await submit(server.url, doc([['keyed', 'nil']]), key);
    assert.notEqual(next, id, 'the same key after a delete makes a new run');
  });
});

/** GET, the events stream, a node's log and the list all say the run is gone. */
async function assertGone(url: string, id: string): Promise<void> {
  for (const path of [`/v1/tasks/${id}`, `/v1/tasks/${id}/events`, `/v1/tasks/${id}/nodes/0/log`]) {
    const answer = await call(`${url}${path}`);
    assert.equal(answer.status, 404, path);
    assert.equal(json<{ error: string }>(answer).error, 'BATON_ERR_RUN_NOT_FOUND', path);
  }
  const list = json<{ tasks: Array<{ id: string }> }>(await call(`${url}/v1/tasks`));
  assert.ok(!list.tasks.some((t) => t.id === id), 'not listed');
}

describe('DELETE on PostgreSQL', () => {
  const procs = new Processes();
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let server: BatonProcess;
  before(async () => {
    database = await freshDatabase();
    server = await procs.serve('', ['--db', database.url]);
  });
  after(async () => {
    await procs.killAll();
    await database.drop();
  });

  it('cancels a running run, then deletes it and every row it owns; frees its key', async () => {
    const key = { 'idempotency-key': 'pg-clean-up' };
    const id = await submit(server.url, slow(), key);
    await waitFor(server.url, id, (run) => run.nodes[0].state === State.running);
    const cancel = await call(`${server.url}/v1/tasks/${id}`, { method: 'DELETE' });
    assert.equal(cancel.status, 202, cancel.text);
    assert.equal(json<Run>(cancel).state, State.canceled);
    assert.equal((await call(`${server.url}/v1/tasks/${id}`)).status, 200);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const rows = async () => {
        const runs = await client.query('SELECT 1 FROM runs WHERE id = $1', [id]);
        const nodes = await client.query('SELECT 1 FROM nodes WHERE run_id = $1', [id]);
        return [runs.rowCount, nodes.rowCount];
      };
      assert.deepEqual(await rows(), [1, 2]);
      const gone = await call(`${server.url}/v1/tasks/${id}`, { method: 'DELETE' });
      assert.equal(gone.status, 200, gone.text);
      assert.equal(gone.text, '');
      assert.deepEqual(await rows(), [0, 0]);
    } finally {
      await client.end();
    }
    await assertGone(server.url, id);
    const next = await submit(server.url, doc([['keyed', 'nil']]), key);
    assert.notEqual(next, id);

    const done = await submit(server.url, doc([['quick', 'nil']]));
    await waitFor(server.url, done, finished);
    assert.equal((await call(`${server.url}/v1/tasks/${done}`, { method: 'DELETE' })).status, 200);
    await assertGone(server.url, done);
    assert.equal((await call(`${server.url}/v1/tasks/${done}`, { method: 'DELETE' })).status, 404);
  });
});

describe('the list without limit', () => {
  const procs = new Processes();
  const dir = tempDir('baton-compat-list-');
  let server: BatonProcess;
  before(async () => {
    server = await procs.serve(dir.path);
  });
  after(async () => {
    await procs.killAll();
    dir.remove();
  });

  it('answers up to 1,000 runs at once, then pages with next_cursor', async () => {
    const total = 1001;
    const ids: string[] = [];
    // submitted a few at a time, in order: the list is newest first
    for (let i = 0; i < total; i += 20) {
      const batch = Array.from({ length: Math.min(20, total - i) }, (_, j) =>
        submit(server.url, doc([[`run-${i + j}`, 'nil']])),
      );
      ids.push(...(await Promise.all(batch)));
    }
    const first = await call(`${server.url}/v1/tasks`);
    assert.equal(first.status, 200);
    const page = json<{ tasks: Array<{ id: string }>; next_cursor?: string }>(first);
    assert.equal(page.tasks.length, 1000, 'a client that sends no limit gets 1,000');
    assert.ok(page.next_cursor, 'and a cursor, as more follow');
    const rest = json<{ tasks: Array<{ id: string }>; next_cursor?: string }>(
      await call(`${server.url}/v1/tasks?cursor=${encodeURIComponent(page.next_cursor)}`),
    );
    assert.equal(rest.tasks.length, 1);
    assert.equal(rest.next_cursor, undefined);
    assert.deepEqual(
      new Set([...page.tasks, ...rest.tasks].map((t) => t.id)),
      new Set(ids),
      'every run once',
    );
    // smaller pages still follow the cursor to the end
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const answer = json<{ tasks: Array<{ id: string }>; next_cursor?: string }>(
        await call(
          `${server.url}/v1/tasks?limit=300${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        ),
      );
      assert.ok(answer.tasks.length <= 300);
      seen.push(...answer.tasks.map((t) => t.id));
      cursor = answer.next_cursor;
    } while (cursor !== undefined);
    assert.deepEqual(
      seen,
      [...page.tasks, ...rest.tasks].map((t) => t.id),
    );
    const over = await call(`${server.url}/v1/tasks?limit=1001`);
    assert.equal(over.status, 400);
  });
});
