/** What a crashed executor left running is found by BATON_TASK_ID and killed: real processes. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { killTaskProcesses, TASK_ID_VARIABLE } from '../../src/executor/orphans.ts';
import { isAlive, until } from './helpers.ts';

/** A detached shell with the task id in its environment; it starts children and records pids. */
function taskTree(taskId: string, pidFile: string) {
  // a child in the group, and a grandchild that left for its own session (a daemon)
  const script = `sleep 60 & echo $! >> ${pidFile}; setsid sleep 60 & echo $! >> ${pidFile}; echo $$ >> ${pidFile}; wait`;
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [TASK_ID_VARIABLE]: taskId },
  });
  child.unref();
}

const pidsIn = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

test('killTaskProcesses kills every process naming a listed task, daemons included, and no other', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-orphans-'));
  const doomed = path.join(dir, 'doomed');
  const spared = path.join(dir, 'spared');
  taskTree('task-crashed', doomed);
  taskTree('task-finished', spared);
  t.after(() => {
    for (const pid of [...pidsIn(doomed), ...pidsIn(spared)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await until(() => pidsIn(doomed).length === 3 && pidsIn(spared).length === 3, 'both trees');

  const killed = killTaskProcesses(new Set(['task-crashed', 'task-unknown']));
  assert.deepEqual(killed.toSorted(), pidsIn(doomed).toSorted());
  await until(() => !pidsIn(doomed).some(isAlive), 'the crashed task’s processes to die', 3000);
  assert.ok(pidsIn(spared).every(isAlive), 'a process of another task was killed');
  assert.deepEqual(killTaskProcesses(new Set()), []);
});
