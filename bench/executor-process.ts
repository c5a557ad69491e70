/**
 * An executor in its own process for bench/executor.ts, as in a real deployment, with its
 * shell driver wrapped to stamp when each task starts and ends (this process's clock, so the
 * dispatch latency it yields needs no clock agreement between processes).
 * Talks to its parent over IPC: sends {url} when listening; answers 'stamps' (with the CPU
 * time used since the last 'clear' by this process, by its process supervisor, and by the
 * tasks' programs) and 'clear'.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadTls } from '../src/cli/certs.ts';
import { drivers } from '../src/executor/drivers/index.ts';
import { startExecutor } from '../src/executor/server.ts';
import type { Driver } from '../src/executor/types.ts';

const [certs, dataDir, artifactRoot, concurrency] = process.argv.slice(2);
const start = new Map<string, number>();
const end = new Map<string, number>();
const shell = drivers.get('shell')!;
const timedShell: Driver = {
  async run(task) {
    start.set(task.node.name, performance.now());
    try {
      return await shell.run(task);
    } finally {
      end.set(task.node.name, performance.now());
    }
  },
};

const executor = await startExecutor({
  host: '127.0.0.1',
  port: 0,
  name: 'default',
  dataDir,
  artifactRoot,
  tls: loadTls(certs, 'executor'),
  concurrency: Number(concurrency),
  drivers: new Map([...drivers, ['shell', timedShell]]),
});

/** CPU ms of a process (`self` or a pid): its own, and that of its children it has reaped. */
function cpuOf(pid: string): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // utime, stime, cutime, cstime (fields 14 to 17), in clock ticks of 10 ms
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .slice(11, 15)
    .map(Number);
  return { own: (f[0] + f[1]) * 10, children: (f[2] + f[3]) * 10 };
}

/** The supervisor (src/executor/supervisor.ts), found by its tag, if one runs. */
function supervisorPid(): string | undefined {
  const tag = Buffer.from(`BATON_SUPERVISOR=${path.resolve(dataDir, 'exits')}\0`);
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`).includes(tag);
      } catch {
        return false;
      }
    });
}

/**
 * CPU ms so far of the supervisor itself, and of the tasks' programs (with the /bin/sh
 * wrappers where there are any): the reaped children of this process and of the supervisor.
 */
function otherCpu(): { supervisor: number; programs: number } {
  const pid = supervisorPid();
  const supervisor = pid === undefined ? { own: 0, children: 0 } : cpuOf(pid);
  return { supervisor: supervisor.own, programs: supervisor.children + cpuOf('self').children };
}

let cpuSince = process.cpuUsage();
let otherSince = otherCpu();
process.on('message', (message) => {
  if (message === 'stamps') {
    const cpu = process.cpuUsage(cpuSince);
    const other = otherCpu();
    process.send!({
      start: [...start],
      end: [...end],
      cpuMs: (cpu.user + cpu.system) / 1000,
      supervisorCpuMs: other.supervisor - otherSince.supervisor,
      programsCpuMs: other.programs - otherSince.programs,
    });
  }
  if (message === 'clear') {
    start.clear();
    end.clear();
    cpuSince = process.cpuUsage();
    otherSince = otherCpu();
    process.send!({ cleared: true });
  }
});
process.on('disconnect', () => executor.close().then(() => process.exit(0)));
process.send!({ url: executor.url });
