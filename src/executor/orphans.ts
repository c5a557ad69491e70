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

/** Names the exits directory of the executor a supervisor works for (supervisor.ts). */
export const SUPERVISOR_VARIABLE = 'BATON_SUPERVISOR';

/** The value of `variable` in a process's environment, if it has one. */
function variableOf(pid: number, variable: string): string | undefined {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined; // gone, or another user's: not ours to stop either way
  }
  const prefix = Buffer.from(`${variable}=`);
  for (let at = 0; at < environ.length; ) {
    const end = environ.indexOf(0, at);
    const stop = end === -1 ? environ.length : end;
    if (environ.subarray(at, at + prefix.length).equals(prefix)) {
      return environ.subarray(at + prefix.length, stop).toString();
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
  if (taskIds.size === 0) return [];
  return killTagged(TASK_ID_VARIABLE, (id) => taskIds.has(id), onKill);
}

/**
 * SIGKILLs the supervisors (and their process groups) working for the executor whose exits
 * directory is `exitsDir` (supervisor.ts), and waits, a few seconds at most, until they have
 * died, so that none records an exit after this returns. Returns the pids killed.
 */
export function killSupervisors(exitsDir: string): number[] {
  const killed = killTagged(SUPERVISOR_VARIABLE, (dir) => dir === exitsDir);
  const deadline = Date.now() + 5000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (killed.some(running) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 5);
  return killed;
}

/** Whether a process still runs: a zombie has stopped (its parent may never reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function killTagged(
  variable: string,
  matches: (value: string) => boolean,
  onKill?: (pid: number, value: string) => void,
): number[] {
  const killed = new Set<number>();
  for (let pass = 0; pass < 5; pass++) {
    // a process killed in an earlier pass may not have died yet: only new ones count
    const found = pids().flatMap((pid) => {
      if (killed.has(pid)) return [];
      const id = variableOf(pid, variable);
      return id !== undefined && matches(id) ? [[pid, id] as const] : [];
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
