/**
 * Orchestrator + executor over mutual TLS on loopback, real child processes.
 *
 * 1. Throughput: a 1,000-node layered DAG of `shell` tasks running `true`, through one
 *    executor at parallelism P, against ninja running the same DAG of the same `true` binary
 *    at -jP. Goal: Baton / ninja < 1.5.
 * 2. Dispatch latency: predecessor done at the executor -> successor received by the executor.
 *    Measured on a 300-node chain (each node becomes ready exactly when its predecessor ends,
 *    and nothing queues): the executor's shell driver is wrapped to stamp when a task starts
 *    and ends. Goal: p50 < 2 ms, p99 < 20 ms (gorchestrator polled every 2 s).
 * The executor runs in its own process, as deployed; the orchestrator runs in this one.
 */
import { execFileSync, fork } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCerts } from '../src/cli/certs.ts';
import { BatonClient } from '../src/cli/client.ts';
import { startServer } from '../src/cli/server.ts';
import { State } from '../src/graph/states.ts';
import { layeredEdges } from './generate.ts';

const PARALLELISM = 4;
/** Baton and ninja each run the DAG this many times, taking turns */
const ROUNDS = 7;

interface Stamps {
  start: Map<string, number>;
  end: Map<string, number>;
  /** CPU time of the executor process since the last 'clear' */
  cpuMs: number;
  /** and of its process supervisor, which starts the tasks' programs */
  supervisorCpuMs: number;
  /** and of the tasks' programs (and their /bin/sh wrappers, where there are any) */
  programsCpuMs: number;
}

/** Starts bench/executor-process.ts; `ask` sends a message and resolves with the answer. */
async function executorProcess(args: string[]) {
  const child = fork(fileURLToPath(new URL('./executor-process.ts', import.meta.url)), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // BENCH_PROF=DIR writes a CPU profile of the executor process there
    execArgv: process.env.BENCH_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`]
      : [],
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve) => child.once('message', resolve));
  const { url } = (await next()) as { url: string };
  return {
    url,
    async ask(message: string) {
      child.send(message);
      return next();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

function shellDocument(n: number, edges: Array<[number, number]>) {
  return {
    name: `true-${n}`,
    edges,
    nodes: Array.from({ length: n }, (_, id) => ({
      id,
      name: `t${id}`,
      engine: 'shell',
      artifact: 'true',
    })),
  };
}

function ninjaFile(n: number, edges: Array<[number, number]>, trueBinary: string): string {
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) preds[b].push(a);
  const lines = [`rule t\n  command = ${trueBinary}\n`];
  for (let v = 0; v < n; v++) {
    lines.push(
      `build t${v}: t${preds[v].length ? ` | ${preds[v].map((p) => `t${p}`).join(' ')}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** CPU ms of the children this process has reaped (ninja and what it ran), from /proc. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10; // cutime, cstime: clock ticks of 10 ms
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x: number) => Math.round(x * 100) / 100;

export async function benchExecutor(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-exec-'));
  const certs = join(dir, 'certs');
  const artifacts = join(dir, 'artifacts');
  mkdirSync(artifacts);
  const trueBinary = execFileSync('sh', ['-c', 'command -v true || echo /bin/true'])
    .toString()
    .trim();
  copyFileSync(trueBinary.startsWith('/') ? trueBinary : '/bin/true', join(artifacts, 'true'));
  execFileSync('chmod', ['+x', join(artifacts, 'true')]);
  await writeCerts(certs);
  const executor = await executorProcess([
    certs,
    join(dir, 'executor'),
    artifacts,
    String(PARALLELISM),
  ]);
  const stamps = async (): Promise<Stamps> => {
    const raw = (await executor.ask('stamps')) as {
      start: [string, number][];
      end: [string, number][];
      cpuMs: number;
      supervisorCpuMs: number;
      programsCpuMs: number;
    };
    return { ...raw, start: new Map(raw.start), end: new Map(raw.end) };
  };
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'orchestrator'),
    logger: false,
    executors: [{ name: 'default', url: executor.url }],
    tlsDir: certs,
  });
  const client = new BatonClient(server.url);
  const run = async (document: object): Promise<number> => {
    const t0 = performance.now();
    const id = await client.submit(JSON.stringify(document));
    let final = 0;
    await client.follow(id, (type, data) => {
      if (type === 'state' && (data as { node?: number }).node === undefined) final = data.state;
    });
    if (final !== State.success) throw new Error(`bench run ${id} ended in state ${final}`);
    return performance.now() - t0;
  };

  try {
    const n = 1000;
    const edges = layeredEdges(n, 50, 2, 7);
    await run(shellDocument(20, [])); // warm up connections and the JIT
    writeFileSync(join(dir, 'build.ninja'), ninjaFile(n, edges, join(artifacts, 'true')));
    let ninjaCpuMs = 0;
    const ninja = () => {
      rmSync(join(dir, '.ninja_log'), { force: true });
      const cpu0 = childrenCpuMs();
      const t0 = performance.now();
      execFileSync('ninja', ['-C', dir, `-j${PARALLELISM}`, '-f', 'build.ninja'], {
        stdio: 'ignore',
      });
      const ms = performance.now() - t0;
      ninjaCpuMs += childrenCpuMs() - cpu0;
      return ms;
    };
    // Baton and ninja take turns, so a drift in the machine's speed (±20% here, from run to
    // run) weighs on both sides of each ratio alike; the median ratio is the figure.
    await executor.ask('clear');
    const batonMs: number[] = [];
    const ninjaMs: number[] = [];
    const ratios: number[] = [];
    let batonCpuUs = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const cpu0 = process.cpuUsage();
      batonMs.push(await run(shellDocument(n, edges)));
      const cpu = process.cpuUsage(cpu0);
      batonCpuUs += cpu.user + cpu.system;
      ninjaMs.push(ninja());
      ratios.push(batonMs[i] / ninjaMs[i]);
    }
    const dag = await stamps();
    let busy = 0;
    for (const [name, end] of dag.end) busy += end - dag.start.get(name)!;
    const taskMs = busy / dag.end.size;
    for (const list of [batonMs, ninjaMs, ratios]) list.sort((a, b) => a - b);
    const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)];

    const chain = 300;
    await executor.ask('clear');
    await run(
      shellDocument(
        chain,
        Array.from({ length: chain - 1 }, (_, i) => [i, i + 1] as [number, number]),
      ),
    );
    const { start, end } = await stamps();
    const latency: number[] = [];
    for (let i = 1; i < chain; i++) latency.push(start.get(`t${i}`)! - end.get(`t${i - 1}`)!);
    latency.sort((a, b) => a - b);

    return {
      'executor.dag1000.edges': edges.length,
      'executor.dag1000.parallelism': PARALLELISM,
      'executor.dag1000.rounds': ROUNDS,
      'executor.dag1000.baton.ms': Math.round(median(batonMs)),
      'executor.dag1000.ninja.ms': Math.round(median(ninjaMs)),
      'executor.dag1000.ratio': round(median(ratios)),
      'executor.dag1000.ratio.min': round(ratios[0]),
      'executor.dag1000.ratio.max': round(ratios[ratios.length - 1]),
      'executor.dag1000.task_in_driver.ms': round(taskMs),
      // CPU per node of each process (the orchestrator's includes the bench's SSE client)
      'executor.dag1000.cpu_per_node.orchestrator.ms': round(batonCpuUs / 1000 / ROUNDS / n),
      'executor.dag1000.cpu_per_node.executor.ms': round(dag.cpuMs / ROUNDS / n),
      'executor.dag1000.cpu_per_node.supervisor.ms': round(dag.supervisorCpuMs / ROUNDS / n),
      // the `true` programs, and the /bin/sh wrappers where there are any
      'executor.dag1000.cpu_per_node.programs.ms': round(dag.programsCpuMs / ROUNDS / n),
      // all of the above: what the whole DAG cost Baton, beside ninja's
      'executor.dag1000.cpu_per_node.baton.ms': round(
        (batonCpuUs / 1000 + dag.cpuMs + dag.supervisorCpuMs + dag.programsCpuMs) / ROUNDS / n,
      ),
      // ninja, its /bin/sh per command and the `true` programs
      'executor.dag1000.cpu_per_node.ninja.ms': round(ninjaCpuMs / ROUNDS / n),
      'executor.dispatch_latency.p50.ms': round(pct(latency, 50)),
      'executor.dispatch_latency.p90.ms': round(pct(latency, 90)),
      'executor.dispatch_latency.p99.ms': round(pct(latency, 99)),
      'executor.dispatch_latency.samples': latency.length,
    };
  } finally {
    await server.close();
    await executor.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(JSON.stringify(await benchExecutor(), null, 2));
