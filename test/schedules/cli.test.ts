/** `baton schedule ...` as a user runs it: the real binary against a real server. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { baton } from '../cli/helpers.ts';
import { doc, startTestServer, tempDir } from '../support/server.ts';

// the refusals create nothing, so they run beside the life cycle
describe('baton schedule', { concurrency: true }, () => {
  const dir = tempDir();
  let server: RunningServer;
  const file = (name: string, content: unknown) => {
    const path = join(dir.path, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  before(async () => {
    server = await startTestServer({ dataDir: join(dir.path, 'data') });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('create, list, pause, resume, delete', async () => {
    const backup = file('backup.json', doc([['dump', 'nil']]));
    const created = await baton([
      'schedule',
      'create',
      backup,
      '--cron',
      '0 3 * * *',
      '--tz',
      'Europe/Paris',
      '--catchup',
      'last',
      '--name',
      'nightly backup',
      '--server',
      server.url,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(
      created.stderr,
      new RegExp(
        `^schedule ${id} "nightly backup" \\(0 3 \\* \\* \\*, Europe/Paris\\): next \\S+Z \\(in (\\d+h\\d\\dm|\\d+m\\d\\ds|[\\d.]+s|\\d+ms)\\)$`,
        'm',
      ),
    );

    // the client flags also work before the subcommand
    const table = await baton(['schedule', '--server', server.url, 'list']);
    assert.equal(table.code, 0, table.stderr);
    const [header, row] = table.stdout.trim().split('\n');
    assert.match(header, /^ID\s+NAME\s+CRON\s+TIMEZONE\s+CATCHUP\s+STATE\s+NEXT\s+LAST$/);
    assert.match(
      row,
      new RegExp(
        `^${id}\\s+nightly backup\\s+0 3 \\* \\* \\*\\s+Europe/Paris\\s+last\\s+active\\s+\\S+Z \\(in `,
      ),
    );

    const paused = await baton(['schedule', 'pause', id, '--server', server.url]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /: paused$/m);
    const json = await baton(['schedule', 'ls', '-o', 'json', '--server', server.url]);
    const { schedules } = JSON.parse(json.stdout) as {
      schedules: Array<{ id: string; paused: boolean }>;
    };
    assert.deepEqual(
      schedules.map((s) => [s.id, s.paused]),
      [[id, true]],
    );
    const resumed = await baton(['schedule', 'resume', id, '-o', 'json', '--server', server.url]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).paused, false);

    const deleted = await baton(['schedule', 'delete', id, '--server', server.url]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `schedule ${id} deleted\n`);
    const gone = await baton(['schedule', 'pause', id, '--server', server.url]);
    assert.equal(gone.code, 2);
    assert.equal(gone.stderr, `baton: no schedule with id ${id}\n`);
    const empty = await baton(['schedule', 'list', '--server', server.url]);
    assert.equal(empty.code, 0);
    assert.equal(empty.stderr, 'no schedules\n');
  });

  it('refusals exit 2 with the field; an unreachable server exits 3', async () => {
    const ok = file('ok.json', doc([['a', 'nil']]));
    const minute = await baton([
      'schedule',
      'create',
      ok,
      '--cron',
      '61 * * * *',
      '--server',
      server.url,
    ]);
    assert.equal(minute.code, 2);
    assert.equal(minute.stderr, 'baton: cron: CronPattern: Invalid value for minute: 61\n');

    const fields = await baton([
      'schedule',
      'create',
      ok,
      '--cron',
      'daily',
      '--server',
      server.url,
    ]);
    assert.equal(fields.code, 2);
    assert.match(
      fields.stderr,
      /option '--cron <pattern>' argument 'daily' is invalid\. expected 5 to 7 fields/,
    );

    const zone = await baton([
      'schedule',
      'create',
      ok,
      '--cron',
      '@daily',
      '--tz',
      'Nowhere/City',
      '--server',
      server.url,
    ]);
    assert.equal(zone.code, 2);
    assert.match(zone.stderr, /^baton: timezone: unknown time zone "Nowhere\/City"/);

    const engine = file('bad.json', doc([['a', 'warp']]));
    const bad = await baton([
      'schedule',
      'create',
      engine,
      '--cron',
      '@daily',
      '--server',
      server.url,
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^baton: document\.nodes\[0\]\.engine: .*"warp"/);

    const text = file('text.json', '{"nodes": [');
    const notJson = await baton([
      'schedule',
      'create',
      text,
      '--cron',
      '@daily',
      '--server',
      server.url,
    ]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /^baton: .*text\.json: not JSON/);

    const missing = await baton(['schedule', 'create', ok, '--server', server.url]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--cron <pattern>' not specified/);

    const down = await baton(['schedule', 'list', '--server', 'http://127.0.0.1:1']);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach the Baton server/);
  });
});
