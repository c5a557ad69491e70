/**
 * Recognising a process across an executor restart. A pid alone is not enough: after a crash
 * (and certainly after a reboot) the number may belong to an unrelated process. Linux gives
 * each process a start time (field 22 of /proc/PID/stat, in clock ticks since boot); the pair
 * (pid, start time) names one process. Elsewhere the start time is unknown, and a group whose
 * identity cannot be checked is left alone.
 */
import { readFileSync } from 'node:fs';

export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which is in parentheses and may contain spaces
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Kills the process group led by `pgid` if its leader is still the process recorded. */
export function killIfSame(pgid: number, start: string | null): boolean {
  if (start === null || processStartTime(pgid) !== start) return false;
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
