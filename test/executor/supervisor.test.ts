/**
 * The process supervisor (src/executor/supervisor.ts), with real processes: it is the parent
 * of every local program, it records their exits in the exit table, it dies with nothing
 * left to watch once its executor has gone, and a restarted executor kills the one its
 * predecessor left before it kills the programs, so none of those kills is recorded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createExecutorClient } from '../../src/executor/client.ts';
import { recordedExits } from '../../src/executor/exit-records.ts';
import { SUPERVISOR_DIED } from '../../src/executor/supervisor.ts';
import { RESTARTED_ERROR } from '../../src/executor/task-service.ts';
import { State } from '../../src/graph/states.ts';
import {
  freshKey,
  harness,
  isAlive,
  node,
  readPids,
  SCRIPTS,
  tempDir,
  until,
  writeScripts,
} from './helpers.ts';

/** The parent, process group and session of a process, from /proc. */
function idsOf(pid: number): { parent: number; group: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [parent, group, session] = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .slice(1, 4)
    .map(Number);
  return { parent, group, session };
}
const parentOf = (pid: number) => idsOf(pid).parent;

/** The supervisor's command line names its script. */
function isSupervisor(pid: number): boolean {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('supervisor-process.ts');
}

test('the supervisor starts the programs, records their exits and leaves when its executor does', async (t) => {
  const h = await harness(t, { spawner: 'posix' });
  await writeScripts(h.root, SCRIPTS);
  const pidFile = path.join(await tempDir(t), 'pids');
  const { id } = await h.client.submit(
    node({ engine: 'shell', artifact: 'forever.sh', args: [pidFile] }),
    freshKey(),
  );
  await until(() => readPids(pidFile, 2).length === 2, 'the task to start');
  const [program] = readPids(pidFile, 2);
  const supervisor = parentOf(program);
  assert.ok(isSupervisor(supervisor), `the program's parent ${supervisor} is the supervisor`);
  assert.notEqual(supervisor, process.pid);
  // a process group of its own (signals to the executor's spare it), in the executor's session
  assert.equal(idsOf(supervisor).group, supervisor);
  assert.equal(idsOf(supervisor).session, idsOf(process.pid).session);
  // the program leads a session of its own, as it did when the executor started it
  assert.equal(idsOf(program).session, program);
  // a stop signalling every process of the service leaves it to the executor
  process.kill(supervisor, 'SIGTERM');
  // its exit is recorded in the table before the executor hears of it
  const failed = await h.run(node({ engine: 'shell', artifact: 'fail.sh' }));
  assert.equal(failed.exit_code, 3);
  assert.equal(recordedExits(path.join(h.dataDir, 'exits')).get(failed.id), 3);
  assert.equal((await h.client.cancel(id)).state, State.canceled);
  await h.executor.close();
  await until(() => !isAlive(supervisor), 'the supervisor to leave after its executor', 10_000);
});

test('a supervisor dying under a live executor: its task is stopped as "outcome unknown", the next runs', async (t) => {
  const h = await harness(t, { spawner: 'posix' });
  await writeScripts(h.root, SCRIPTS);
  const pidFile = path.join(await tempDir(t), 'pids');
  const { id } = await h.client.submit(
    node({ engine: 'shell', artifact: 'forever.sh', args: [pidFile] }),
    freshKey(),
  );
  await until(() => readPids(pidFile, 2).length === 2, 'the task to start');
  const pids = readPids(pidFile, 2);
  t.after(() => {
    try {
      process.kill(-pids[0], 'SIGKILL');
    } catch {}
  });
  const supervisor = parentOf(pids[0]);
  assert.ok(isSupervisor(supervisor));
  process.kill(supervisor, 'SIGKILL');
  const status = await h.client.wait(id, 30);
  assert.equal(status.state, State.failure);
  assert.equal(status.error, SUPERVISOR_DIED);
  assert.equal(status.exit_code, null);
  // a program nobody can wait for any more is not left running
  await until(() => !pids.some(isAlive), 'the task’s processes to be killed', 10_000);
  const next = await h.run(node({ engine: 'shell', artifact: 'outputs.sh', output: { ip: '' } }));
  assert.equal(next.state, State.success, next.error ?? '');
  assert.deepEqual(next.output, { ip: '10.1.2.4' });
});

test('a restarted executor kills the supervisor a crash left before the programs it watched', async (t) => {
  const root = await tempDir(t);
  const dataDir = await tempDir(t);
  await writeScripts(root, SCRIPTS);
  const pidFile = path.join(await tempDir(t), 'pids');
  const fixture = fileURLToPath(new URL('fixtures/run-executor.ts', import.meta.url));
  const child = spawn(process.execPath, [fixture, dataDir, root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`executor exited with ${code}`)));
  });
  const first = createExecutorClient({ url });
  const { id } = await first.submit(
    node({ engine: 'shell', artifact: 'forever.sh', args: [pidFile] }),
    freshKey(),
  );
  await until(() => readPids(pidFile, 2).length === 2, 'the task to start');
  const pids = readPids(pidFile, 2);
  const supervisor = parentOf(pids[0]);
  t.after(() => {
    for (const pid of [-pids[0], supervisor]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });
  await first.close();
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(
    isAlive(supervisor) && pids.every(isAlive),
    'the supervisor and its program outlive it',
  );

  const h = await harness(t, { root, dataDir });
  // gone by the time the executor is up, before it killed the program: it recorded nothing
  assert.ok(!isAlive(supervisor), 'the old supervisor was killed at start-up');
  const status = await h.client.wait(id, 0);
  assert.equal(status.state, State.failure);
  assert.equal(status.error, RESTARTED_ERROR);
  await until(() => !pids.some(isAlive), 'the orphaned program to be killed', 3000);
});
