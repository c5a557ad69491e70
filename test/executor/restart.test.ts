/**
 * A real `baton executor` SIGKILLed while its tasks run, whose tasks end during the outage:
 * restarted on the same data directory, it reports what their wrappers recorded (success for
 * exit 0), and "outcome unknown" where nothing was recorded, never a plain failure.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createExecutorClient } from '../../src/executor/client.ts';
import { UNKNOWN_OUTCOME_ERROR } from '../../src/executor/task-service.ts';
import { State } from '../../src/graph/states.ts';
import { exited, spawnService } from '../support/cli.ts';
import { isAlive, node, readPids, tempDir, until, writeScripts } from './helpers.ts';

/** gate.sh PIDS GATE CODE: notes its pid and its parent's, waits for GATE, exits CODE. */
const GATE =
  '#!/bin/sh\nprintf \'%s\\n%s\\n\' $$ $PPID > "$1.tmp"\nmv "$1.tmp" "$1"\n' +
  'while [ ! -e "$2" ]; do sleep 0.05; done\nexit "$3"\n';

async function executor(data: string, root: string) {
  const service = await spawnService([
    'executor',
    '--plain-http',
    '--port',
    '0',
    '--data',
    data,
    '--artifacts',
    root,
  ]);
  const client = createExecutorClient({ url: service.url });
  return { service, client };
}

test('tasks that end while their executor is down are reported as they ended', async (t) => {
  const root = await tempDir(t);
  const data = await tempDir(t);
  const work = await tempDir(t);
  await writeScripts(root, { 'gate.sh': GATE });
  const gate = path.join(work, 'gate');
  const first = await executor(data, root);
  t.after(() => first.client.close());
  const tasks = { succeeds: 0, fails: 3, vanishes: 0 };
  const ids: Record<string, string> = {};
  for (const [name, code] of Object.entries(tasks)) {
    const n = node({
      name,
      engine: 'shell',
      artifact: 'gate.sh',
      args: [path.join(work, name), gate, String(code)],
    });
    ids[name] = (await first.client.submit(n, `restart-${name}`)).id;
  }
  const pids: Record<string, number[]> = {};
  for (const name of Object.keys(tasks)) {
    await until(() => readPids(path.join(work, name), 2).length === 2, `${name} to start`, 30_000);
    pids[name] = readPids(path.join(work, name), 2);
  }
  t.after(() => {
    for (const [program, parent] of Object.values(pids)) {
      for (const pid of [program, -parent]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
  });

  first.service.child.kill('SIGKILL');
  await exited(first.service.child);
  // during the outage: one task is killed with whatever started it, the others end
  for (const pid of pids.vanishes) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {} // gone already
  }
  writeFileSync(gate, '');
  await until(
    () => Object.values(pids).every((p) => !p.some(isAlive)),
    'every task and what started it to exit',
    30_000,
  );

  const second = await executor(data, root);
  t.after(async () => {
    await second.client.close();
    second.service.child.kill('SIGTERM');
    await exited(second.service.child);
  });
  const succeeded = await second.client.wait(ids.succeeds, 0);
  assert.equal(succeeded.state, State.success, succeeded.error ?? '');
  assert.equal(succeeded.exit_code, 0);
  assert.equal(succeeded.error, null);
  assert.match(await second.client.log(ids.succeeds), /its log and outputs were lost/);
  const failed = await second.client.wait(ids.fails, 0);
  assert.equal(failed.state, State.failure);
  assert.equal(failed.exit_code, 3);
  assert.equal(failed.error, 'exited with code 3 while the executor was down (its log was lost)');
  const unknown = await second.client.wait(ids.vanishes, 0);
  assert.equal(unknown.state, State.failure);
  assert.equal(unknown.error, UNKNOWN_OUTCOME_ERROR);
  assert.match(unknown.error ?? '', /^outcome unknown: /);
  // the key still names the task that succeeded: it is not run again
  const again = await second.client.submit(
    node({
      name: 'succeeds',
      engine: 'shell',
      artifact: 'gate.sh',
      args: [path.join(work, 'succeeds'), gate, '0'],
    }),
    'restart-succeeds',
  );
  assert.equal(again.id, ids.succeeds);
  assert.equal((await second.client.wait(ids.succeeds, 0)).state, State.success);
});
