/**
 * An executor in its own process for bench/executor.ts, as in a real deployment, with its
 * shell driver wrapped to stamp when each task starts and ends (this process's clock, so the
 * dispatch latency it yields needs no clock agreement between processes).
 * Talks to its parent over IPC: sends {url} when listening; answers 'stamps' (with the CPU
 * time used since the last 'clear', by this process and by its process supervisor, which
 * starts the tasks' programs) and 'clear'.
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

/** CPU ms of the supervisor (src/executor/supervisor.ts), found by its tag; 0 if none runs. */
function supervisorCpuMs(): number {
  const tag = Buffer.from(`BATON_SUPERVISOR=${path.resolve(dataDir, 'exits')}\0`);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`).includes(tag)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime (fields 14 and 15), in clock ticks of 10 ms
      return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {}
  }
  return 0;
}

let cpuSince = process.cpuUsage();
let supervisorSince = supervisorCpuMs();
process.on('message', (message) => {
  if (message === 'stamps') {
    const cpu = process.cpuUsage(cpuSince);
    process.send!({
      start: [...start],
      end: [...end],
      cpuMs: (cpu.user + cpu.system) / 1000,
      supervisorCpuMs: supervisorCpuMs() - supervisorSince,
    });
  }
  if (message === 'clear') {
    start.clear();
    end.clear();
    cpuSince = process.cpuUsage();
    supervisorSince = supervisorCpuMs();
    process.send!({ cleared: true });
  }
});
process.on('disconnect', () => executor.close().then(() => process.exit(0)));
process.send!({ url: executor.url });
