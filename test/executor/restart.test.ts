/**
 * A real `baton executor` SIGKILLed while its tasks run, whose tasks end during the outage:
 * restarted on the same data directory, it reports what was recorded of their ends (success
 * for exit 0), and "outcome unknown" where nothing was, never a plain failure. Once with each
 * spawner: posix_spawn from the supervisor, which records every program's exit, and Node's
 * child_process, a /bin/sh wrapper per program recording its own.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createExecutorClient } from '../../src/executor/client.ts';
import { recordedExits } from '../../src/executor/exit-records.ts';
import { UNKNOWN_OUTCOME_ERROR } from '../../src/executor/task-service.ts';
import { State } from '../../src/graph/states.ts';
import { exited, spawnService } from '../support/cli.ts';
import { isAlive, node, readPids, tempDir, until, writeScripts } from './helpers.ts';

/** gate.sh PIDS GATE CODE: notes its pid and its parent's, waits for GATE, exits CODE. */
const GATE =
  '#!/bin/sh\nprintf \'%s\\n%s\\n\' $$ $PPID > "$1.tmp"\nmv "$1.tmp" "$1"\n' +
  'while [ ! -e "$2" ]; do sleep 0.05; done\nexit "$3"\n';

async function executor(data: string, root: string, spawner: string) {
  const service = await spawnService([
    'executor',
    '--spawner',
    spawner,
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

for (const spawner of ['posix', 'node']) {
  test(`${spawner} spawner: tasks that end while their executor is down are reported as they ended`, async (t) => {
    const root = await tempDir(t);
    const data = await tempDir(t);
    const work = await tempDir(t);
    await writeScripts(root, { 'gate.sh': GATE });
    // the first two tasks end at `gate`, the third at `late`, after what waits for it died
    const gate = path.join(work, 'gate');
    const late = path.join(work, 'late');
    const first = await executor(data, root, spawner);
    t.after(() => first.client.close());
    const tasks = { succeeds: [0, gate], fails: [3, gate], unseen: [0, late] } as const;
    const ids: Record<string, string> = {};
    for (const [name, [code, until]] of Object.entries(tasks)) {
      const n = node({
        name,
        engine: 'shell',
        artifact: 'gate.sh',
        args: [path.join(work, name), until, String(code)],
      });
      ids[name] = (await first.client.submit(n, `restart-${name}`)).id;
    }
    const pids: Record<string, number[]> = {};
    for (const name of Object.keys(tasks)) {
      await until(
        () => readPids(path.join(work, name), 2).length === 2,
        `${name} to start`,
        30_000,
      );
      pids[name] = readPids(path.join(work, name), 2);
    }
    t.after(() => {
      for (const [program, parent] of Object.values(pids)) {
        for (const pid of [program, parent, -parent]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {}
        }
      }
    });

    first.service.child.kill('SIGKILL');
    await exited(first.service.child);
    // during the outage: two tasks end and their exits are recorded (the test reads the
    // executor's exit records to know when); then what waits for the third (its parent: the
    // supervisor, or its wrapper) is killed, and it ends with exit 0 but nobody to see it
    writeFileSync(gate, '');
    const recorded = (name: string) => recordedExits(path.join(data, 'exits')).has(ids[name]);
    await until(() => recorded('succeeds') && recorded('fails'), 'two exits recorded', 30_000);
    process.kill(pids.unseen[1], 'SIGKILL');
    await until(() => !isAlive(pids.unseen[1]), 'the third task’s parent to die', 30_000);
    writeFileSync(late, '');
    await until(
      () => Object.values(pids).every(([program]) => !isAlive(program)),
      'every task to exit',
      30_000,
    );
    assert.ok(!recorded('unseen'), 'nobody was left to record the third exit');

    const second = await executor(data, root, spawner);
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
    // it exited 0, but no record says so: not claimed a success, not called a plain failure
    const unknown = await second.client.wait(ids.unseen, 0);
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
}
