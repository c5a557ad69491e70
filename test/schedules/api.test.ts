/**
 * `/v1/schedules` against a real server on loopback (SQLite store): create, list, read, pause,
 * resume, delete, the 400s that name their field, and a real every-second schedule whose runs
 * appear in `/v1/tasks`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { doc, startTestServer, tempDir, waitForRun } from '../support/server.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('schedules API', () => {
  const dir = tempDir();
  let server: RunningServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ dataDir: dir.path });
    url = server.url;
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : JSON.parse(text) };
  }

  const nightly = {
    name: 'nightly backup',
    cron: '0 3 * * *',
    timezone: 'Europe/Paris',
    catchup: 'last',
    document: doc([['dump', 'nil']]),
  };

  it('creates, lists, reads, pauses, resumes and deletes a schedule', async () => {
    const before = Date.now();
    const created = await call('POST', '/v1/schedules', nightly);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, next_fire_at } = created.body as { id: string; next_fire_at: string };
    assert.match(id, /^[0-9a-f-]{36}$/);
    const next = Date.parse(next_fire_at);
    assert.ok(next > before && next <= before + 25 * 3600_000, next_fire_at);
    assert.equal(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Paris',
        hour: '2-digit',
        minute: '2-digit',
      }).format(next),
      '03:00',
    );
    assert.deepEqual(
      { ...created.body, id: undefined, next_fire_at: undefined, created_at: undefined },
      {
        id: undefined,
        name: 'nightly backup',
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        catchup: 'last',
        paused: false,
        next_fire_at: undefined,
        last_fire_at: null,
        created_at: undefined,
        error: null,
      },
    );

    const list = await call('GET', '/v1/schedules');
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body.schedules as Array<{ id: string }>).find((s) => s.id === id),
      created.body,
    );

    const one = await call('GET', `/v1/schedules/${id}`);
    assert.equal(one.status, 200);
    const document = one.body.document as { name: string; nodes: Array<{ name: string }> };
    assert.equal(document.name, 'nightly backup', 'the stored document is named after it');
    assert.deepEqual(
      document.nodes.map((node) => node.name),
      ['dump'],
    );

    const paused = await call('POST', `/v1/schedules/${id}/pause`);
    assert.equal(paused.status, 200);
    assert.equal(paused.body.paused, true);
    const resumed = await call('POST', `/v1/schedules/${id}/resume`);
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body.paused, false);
    assert.equal(resumed.body.next_fire_at, next_fire_at);

    const deleted = await call('DELETE', `/v1/schedules/${id}`);
    assert.equal(deleted.status, 204);
    for (const [method, path] of [
      ['GET', `/v1/schedules/${id}`],
      ['DELETE', `/v1/schedules/${id}`],
      ['POST', `/v1/schedules/${id}/pause`],
      ['POST', `/v1/schedules/${id}/resume`],
    ]) {
      const gone = await call(method, path);
      assert.equal(gone.status, 404, `${method} ${path}`);
      assert.deepEqual(gone.body, {
        code: 404,
        error: 'BATON_ERR_SCHEDULE_NOT_FOUND',
        message: `no schedule with id ${id}`,
      });
    }
  });

  it('defaults: UTC, catchup none, the document’s name', async () => {
    const created = await call('POST', '/v1/schedules', {
      cron: '@hourly',
      document: doc([['a', 'nil']]),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.timezone, 'UTC');
    assert.equal(created.body.catchup, 'none');
    assert.equal(created.body.name, 'test');
    assert.equal(new Date(created.body.next_fire_at as string).getUTCMinutes(), 0);
    await call('DELETE', `/v1/schedules/${created.body.id}`);
  });

  it('refuses a bad schedule with a 400 that names the field', async () => {
    const refused = async (
      body: unknown,
      error: string,
      path: string | undefined,
      message: RegExp,
    ) => {
      const answer = await call('POST', '/v1/schedules', body);
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, error);
      assert.equal(answer.body.path, path);
      assert.match(answer.body.message as string, message);
    };
    await refused(
      { ...nightly, cron: '61 * * * *' },
      'BATON_ERR_BAD_REQUEST',
      'cron',
      /^cron: CronPattern: Invalid value for minute: 61$/,
    );
    await refused(
      { ...nightly, cron: 'every day' },
      'BATON_ERR_BAD_REQUEST',
      'cron',
      /^cron: .*exactly five, six, or seven space separated parts/,
    );
    await refused(
      { ...nightly, cron: '0 0 0 1 1 * 2001' },
      'BATON_ERR_BAD_REQUEST',
      'cron',
      /^cron: "0 0 0 1 1 \* 2001" has no occurrence after /,
    );
    await refused(
      { ...nightly, cron: undefined },
      'BATON_ERR_BAD_REQUEST',
      'cron',
      /^cron: required/,
    );
    await refused({ ...nightly, cron: 5 }, 'BATON_ERR_BAD_REQUEST', 'cron', /^cron: expected/);
    await refused(
      { ...nightly, timezone: 'Europe/Atlantis' },
      'BATON_ERR_BAD_REQUEST',
      'timezone',
      /^timezone: unknown time zone "Europe\/Atlantis"/,
    );
    await refused(
      { ...nightly, catchup: 'some' },
      'BATON_ERR_BAD_REQUEST',
      'catchup',
      /^catchup: expected one of none, last, all, got "some"$/,
    );
    await refused(
      { ...nightly, timeZone: 'UTC' },
      'BATON_ERR_BAD_REQUEST',
      'timeZone',
      /^timeZone: unknown field; expected name, cron, timezone, catchup, document$/,
    );
    await refused(
      { ...nightly, name: 'x'.repeat(300) },
      'BATON_ERR_BAD_REQUEST',
      'name',
      /^name: expected a string/,
    );
    await refused(
      { ...nightly, document: undefined },
      'BATON_ERR_BAD_REQUEST',
      'document',
      /^document: required/,
    );
    await refused(
      [],
      'BATON_ERR_BAD_REQUEST',
      undefined,
      /^body: expected a JSON object with "cron" and "document"$/,
    );
    await refused(
      { ...nightly, document: doc([['a', 'teleport']]) },
      'BATON_ERR_INVALID_DOCUMENT',
      'document.nodes[0].engine',
      /^document\.nodes\[0\]\.engine: .*"teleport"/,
    );
    await refused(
      {
        ...nightly,
        document: doc(
          [
            ['a', 'nil'],
            ['b', 'nil'],
          ],
          [
            [0, 1],
            [1, 0],
          ],
        ),
      },
      'BATON_ERR_INVALID_DOCUMENT',
      'document.edges',
      /^document\.edges: cycle: a -> b -> a$/,
    );
    await refused('{"cron": ', 'BATON_ERR_INVALID_JSON', 'cron', /^body is not valid JSON: line 1/);
    // nothing was stored
    const list = await call('GET', '/v1/schedules');
    assert.deepEqual(list.body.schedules, []);
  });

  it('is in the OpenAPI document', async () => {
    const spec = (await call('GET', '/openapi.json')).body as { paths: Record<string, unknown> };
    for (const path of [
      '/v1/schedules',
      '/v1/schedules/{id}',
      '/v1/schedules/{id}/pause',
      '/v1/schedules/{id}/resume',
    ]) {
      assert.ok(spec.paths[path], path);
    }
  });

  it('an every-second schedule makes ordinary runs within a few seconds, until deleted', async () => {
    const created = await call('POST', '/v1/schedules', {
      name: 'heartbeat',
      cron: '* * * * * *',
      document: doc([
        ['a', 'nil'],
        ['b', 'nil'],
      ]),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const mine = async () => {
      const { body } = await call('GET', '/v1/tasks?limit=1000');
      return (body.tasks as Array<{ id: string; name: string }>).filter(
        (task) => task.name === 'heartbeat',
      );
    };
    const deadline = Date.now() + 3000;
    let runs = await mine();
    while (runs.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      runs = await mine();
    }
    assert.ok(runs.length >= 2, `${runs.length} runs after 3 s`);
    const done = await waitForRun(url, runs[0].id);
    assert.equal(done.state, State.success);
    assert.equal(done.name, 'heartbeat');
    const schedule = await call('GET', `/v1/schedules/${created.body.id}`);
    assert.ok(schedule.body.last_fire_at !== null);

    assert.equal((await call('DELETE', `/v1/schedules/${created.body.id}`)).status, 204);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const settled = (await mine()).length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await mine()).length, settled, 'no run after the schedule was deleted');
  });
});
