/**
 * `baton executor` and `baton serve` as an operator starts them, for what they must keep
 * private: plain HTTP beyond loopback is refused, stored files are the owner's only (0600),
 * and a task's program does not see the executor's environment.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createExecutorClient } from '../../src/executor/client.ts';
import { State } from '../../src/graph/states.ts';
import { exited, serve, spawnService } from '../support/cli.ts';
import { tempDir } from '../support/server.ts';
import { baton } from './helpers.ts';

const dir = tempDir('baton-executor-cli-');
after(() => dir.remove());

// what an executor's service manager may hold; spawned services inherit these
process.env.BATON_TEST_DATABASE_URL = 'postgres://app:hunter2@db.internal/app';
process.env.BATON_TEST_PASSED = 'passed-on-purpose';
process.env.LC_TIME = 'C';
// the usual umask, under which SQLite alone makes its files readable by everyone
process.umask(0o022);

function modes(data: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of readdirSync(data)) {
    if (/\.db(-wal|-shm)?$/.test(name))
      found[name] = (statSync(join(data, name)).mode & 0o777).toString(8);
  }
  return found;
}

describe('stored data and task environments are private', () => {
  it('executor: its task store is 0600 and a task sees only the allowlisted environment', async (t) => {
    const data = join(dir.path, 'exec-data');
    const root = join(dir.path, 'exec-root');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(root);
    writeFileSync(join(root, 'env.sh'), '#!/bin/sh\nenv\n');
    chmodSync(join(root, 'env.sh'), 0o755);
    const executor = await spawnService([
      'executor',
      '--plain-http',
      '--port',
      '0',
      '--data',
      data,
      '--artifacts',
      root,
      '--task-env',
      'BATON_TEST_PASS*',
    ]);
    t.after(async () => {
      executor.child.kill('SIGTERM');
      await exited(executor.child);
    });
    const client = createExecutorClient({ url: executor.url });
    t.after(() => client.close());
    const { id } = await client.submit(
      {
        id: 1,
        name: 'env',
        target: 'local',
        engine: 'shell',
        artifact: 'env.sh',
        args: [],
        output: {},
      },
      'env-1',
    );
    const status = await client.wait(id, 30);
    assert.equal(status.state, State.success, status.error ?? '');
    const vars = new Map(
      (await client.log(id))
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    assert.equal(vars.has('BATON_TEST_DATABASE_URL'), false, 'a secret of the executor leaked');
    assert.equal(vars.get('BATON_TEST_PASSED'), 'passed-on-purpose', '--task-env adds');
    assert.equal(vars.get('BATON_TASK_ID'), id);
    assert.equal(vars.get('PATH'), process.env.PATH);
    assert.equal(vars.get('LC_TIME'), 'C');
    assert.deepEqual(modes(data), {
      'executor.db': '600',
      'executor.db-shm': '600',
      'executor.db-wal': '600',
    });
  });

  it('serve: baton.db and its WAL files are 0600', async (t) => {
    const data = join(dir.path, 'serve-data');
    const server = await serve(data);
    t.after(async () => {
      server.child.kill('SIGTERM');
      await exited(server.child);
    });
    const res = await fetch(`${server.url}/v1/tasks`);
    assert.equal(res.status, 200);
    assert.deepEqual(modes(data), {
      'baton.db': '600',
      'baton.db-shm': '600',
      'baton.db-wal': '600',
    });
  });
});

describe('baton executor --plain-http', () => {
  it('refuses a non-loopback address', async () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      const res = await baton([
        'executor',
        '--plain-http',
        '--host',
        host,
        '--port',
        '0',
        '--data',
        join(dir.path, 'data'),
        '--artifacts',
        dir.path,
      ]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(
        res.stderr,
        new RegExp(
          `refusing to serve plain HTTP on ${host.replaceAll('.', '\\.')}: anyone who can reach it could run programs`,
        ),
      );
      assert.match(res.stderr, /--insecure-plain-http-on-network/);
    }
  });

  it('goes past the refusal with --insecure-plain-http-on-network', async () => {
    // a missing artifact root stops it after the check and before it binds anything
    const res = await baton([
      'executor',
      '--plain-http',
      '--insecure-plain-http-on-network',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--data',
      join(dir.path, 'data'),
      '--artifacts',
      join(dir.path, 'nowhere'),
    ]);
    assert.equal(res.code, 2, res.stderr);
    assert.doesNotMatch(res.stderr, /refusing to serve plain HTTP/);
    assert.match(res.stderr, /artifact root .*nowhere is not a directory/);
  });
});

describe('baton executor --http-allow', () => {
  it('refuses a bad pattern at start-up, naming it', async () => {
    const res = await baton([
      'executor',
      '--plain-http',
      '--port',
      '0',
      '--data',
      join(dir.path, 'data'),
      '--artifacts',
      dir.path,
      '--http-allow',
      'api.example.com:443',
      '--http-allow',
      'a.*.com',
    ]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /http allowlist\[1\]: expected HOST or HOST:PORT \(a name, an IP, \[IPv6\], \*\.domain or \*\), got "a\.\*\.com"/,
    );
  });
});
