/**
 * Finding what a dead executor left running. Every local program a task starts gets
 * BATON_TASK_ID=<task id> in its environment, and its descendants inherit it (Jenkins's
 * ProcessTreeKiller finds a build's processes by BUILD_ID the same way). A restarted executor
 * reads /proc/<pid>/environ of every process it may signal and kills those naming a task it
 * had recorded as running. Unlike recording a pid after spawn() returns, this leaves no
 * window in which a crash loses track of a program, and a reused pid cannot be mistaken for
 * one. Without /proc (not Linux) nothing is found and nothing is killed.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const TASK_ID_VARIABLE = 'BATON_TASK_ID';

const PREFIX = Buffer.from(`${TASK_ID_VARIABLE}=`);

/** The task id in a process's environment, if it was started by a task. */
function taskIdOf(pid: number): string | undefined {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined; // gone, or another user's: not ours to stop either way
  }
  for (let at = 0; at < environ.length; ) {
    const end = environ.indexOf(0, at);
    const stop = end === -1 ? environ.length : end;
    if (environ.subarray(at, at + PREFIX.length).equals(PREFIX)) {
      return environ.subarray(at + PREFIX.length, stop).toString();
    }
    at = stop + 1;
  }
  return undefined;
}

function pids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/**
 * SIGKILLs every process (and the process group of every group leader) whose environment
 * names one of `taskIds`. Scans again while it finds some, since a dying tree may fork.
 * Returns the pids killed; `onKill` learns which task each belonged to.
 */
export function killTaskProcesses(
  taskIds: ReadonlySet<string>,
  onKill?: (pid: number, taskId: string) => void,
): number[] {
  const killed = new Set<number>();
  if (taskIds.size === 0) return [];
  for (let pass = 0; pass < 5; pass++) {
    // a process killed in an earlier pass may not have died yet: only new ones count
    const found = pids().flatMap((pid) => {
      if (killed.has(pid)) return [];
      const id = taskIdOf(pid);
      return id !== undefined && taskIds.has(id) ? [[pid, id] as const] : [];
    });
    if (found.length === 0) break;
    for (const [pid, id] of found) {
      onKill?.(pid, id);
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL'); // -pid: its group, when it leads one
        } catch {
          // ESRCH: not a group leader, or already gone
        }
      }
      killed.add(pid);
    }
  }
  return [...killed];
}
