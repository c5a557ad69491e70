/**
 * Executor faults, shared by the full suite (executors.fault.ts) and the smoke test: a real
 * `baton serve` and real `baton executor` processes talking mutual TLS on loopback, or fake
 * executors (fakes.ts) that hang or answer garbage.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { writeCerts } from '../../src/cli/certs.ts';
import { recordedExits } from '../../src/executor/exit-records.ts';
import { isFinal, State } from '../../src/graph/states.ts';
import { writeScripts } from '../executor/helpers.ts';
import { type BatonProcess, call, eventually, Processes } from '../support/processes.ts';
import { type LiveRun, tempDir } from '../support/server.ts';

export const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

/** GET a run (bounded); throws on anything but 200. */
export async function run(url: string, id: string): Promise<LiveRun> {
  const answer = await call(`${url}/v1/tasks/${id}`);
  if (answer.status !== 200) throw new Error(`GET run ${id}: ${answer.status} ${answer.text}`);
  return answer.json as LiveRun;
}

export function finished(url: string, id: string, timeoutMs: number): Promise<LiveRun> {
  return eventually(
    `run ${id} to finish`,
    async () => {
      const r = await run(url, id);
      return isFinal(r.state) ? r : undefined;
    },
    timeoutMs,
    100,
  );
}

export async function submit(url: string, document: unknown): Promise<string> {
  const answer = await call(`${url}/v1/tasks`, { method: 'POST', body: JSON.stringify(document) });
  assert.equal(answer.status, 202, answer.text);
  return (answer.json as { id: string }).id;
}

/** Seconds a node ran, from its recorded start and stop. */
export function duration(node: LiveRun['nodes'][number]): number {
  if (!node.start_date || !node.stop_date) return Number.NaN;
  return (Date.parse(node.stop_date) - Date.parse(node.start_date)) / 1000;
}

interface Stack {
  dir: string;
  certs: string;
  processes: Processes;
  executor: BatonProcess;
  server: BatonProcess;
  startExecutor(): Promise<BatonProcess>;
}

/** certs, an artifact root with `work.sh`, an executor on a fixed port and an orchestrator. */
async function stack(t: TestContext): Promise<Stack> {
  const tmp = tempDir();
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    tmp.remove();
  });
  const dir = tmp.path;
  const certs = join(dir, 'certs');
  const artifacts = join(dir, 'artifacts');
  await writeCerts(certs);
  mkdirSync(artifacts);
  // work.sh ID DIR SECONDS: notes its start, works, notes its end
  await writeScripts(artifacts, {
    'work.sh': '#!/bin/sh\necho "$1" >> "$2/started"\nsleep "$3"\necho "$1" >> "$2/finished"\n',
  });
  let port: number | undefined;
  const startExecutor = async () => {
    const executor = await processes.start(
      [
        'executor',
        '--tls',
        certs,
        '--artifacts',
        artifacts,
        '--data',
        join(dir, 'executor'),
        '--concurrency',
        '32',
      ],
      { port },
    );
    port = executor.port;
    return executor;
  };
  const executor = await startExecutor();
  const server = await processes.serve(join(dir, 'orchestrator'), [
    '--executor',
    `default=${executor.url}`,
    '--tls',
    certs,
  ]);
  return { dir, certs, processes, executor, server, startExecutor };
}

export interface KillOptions {
  /** shell tasks running when the executor dies */
  tasks: number;
  /** start the executor again on the same port and data directory after this many ms */
  restartAfterMs?: number;
  /**
   * start it again once every task has ended and its exit status has been recorded,
   * all while the executor was down
   */
  restartAfterTasksEnd?: boolean;
  retries?: { count: number; backoff_s: number };
  /** how long each task runs (default 3 s) */
  taskSeconds?: number;
  /**
   * kill the instant every task has written its start mark, instead of 300 ms later (when
   * the executor has surely recorded their process groups)
   */
  killAtOnce?: boolean;
  /** bound for the run to end */
  finishMs: number;
}

/**
 * `tasks` shell nodes run (each followed by a `nil` node) beside an independent `nil` branch;
 * once every task runs, the executor process is SIGKILLed, and restarted or not. The run must
 * end in the state the options imply, with a clear error on every node that failed.
 */
export async function executorKilledMidTask(t: TestContext, o: KillOptions): Promise<LiveRun> {
  const s = await stack(t);
  const marks = join(s.dir, 'marks');
  mkdirSync(marks);
  const n = o.tasks;
  const nodes = [
    ...Array.from({ length: n }, (_, i) => ({
      id: i,
      name: `task-${i}`,
      engine: 'shell',
      artifact: 'work.sh',
      args: [String(i), marks, String(o.taskSeconds ?? 3)],
      ...(o.retries ? { retries: o.retries } : {}),
    })),
    ...Array.from({ length: n }, (_, i) => ({ id: n + i, name: `after-${i}`, engine: 'nil' })),
    { id: 2 * n, name: 'independent', engine: 'sleep', args: ['0.1'] },
  ];
  const edges = Array.from({ length: n }, (_, i) => [i, n + i]);
  const id = await submit(s.server.url, { name: 'executor-killed', edges, nodes });
  await eventually(
    'every task to start',
    async () => (lines(join(marks, 'started')).length >= n ? true : undefined),
    30_000,
    o.killAtOnce ? 2 : 50,
  ).catch(async (err) => {
    throw new Error(
      `${err.message}: ${lines(join(marks, 'started')).length} started; run: ${JSON.stringify((await run(s.server.url, id)).nodes.map((x) => [x.state, x.attempts, x.error]))}\n${s.executor.output().slice(-3000)}`,
    );
  });
  if (!o.killAtOnce) await new Promise((r) => setTimeout(r, 300));
  const killedAt = Date.now();
  await s.executor.kill();
  let backAfterMs = Number.POSITIVE_INFINITY;
  if (o.restartAfterTasksEnd) {
    const recorded = () => recordedExits(join(s.dir, 'executor', 'exits')).size;
    await eventually(
      'every task to end with its exit status recorded',
      async () => (recorded() >= n ? true : undefined),
      60_000,
      50,
    );
    await s.startExecutor();
    backAfterMs = Date.now() - killedAt;
  } else if (o.restartAfterMs !== undefined) {
    await new Promise((r) => setTimeout(r, o.restartAfterMs));
    await s.startExecutor();
    backAfterMs = Date.now() - killedAt;
  }
  const done = await finished(s.server.url, id, o.finishMs);
  t.diagnostic(
    `executor SIGKILLed with ${n} tasks running, ${o.restartAfterMs === undefined ? 'not restarted' : `restarted, answering again ${backAfterMs} ms after the kill`}, ` +
      `retries ${o.retries ? o.retries.count : 0}: run ${done.state} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; ` +
      `first error: ${done.nodes.find((x) => x.error)?.error ?? 'none'}`,
  );
  assert.ok(s.server.alive(), `the orchestrator died:\n${s.server.output()}`);
  const independent = done.nodes[2 * n];
  assert.equal(independent.state, State.success, 'the independent branch is unaffected');

  if (o.restartAfterTasksEnd) {
    // the tasks succeeded while nobody watched: their wrappers said so, nothing ran again
    assert.equal(
      done.state,
      State.success,
      JSON.stringify(done.nodes.map((x) => [x.state, x.error])),
    );
    for (const task of done.nodes.slice(0, n)) assert.equal(task.attempts, 1, `task ${task.id}`);
    assert.equal(lines(join(marks, 'finished')).length, n, 'every task finished once');
    return done;
  }

  if (o.restartAfterMs !== undefined && o.retries) {
    assert.equal(
      done.state,
      State.success,
      JSON.stringify(done.nodes.map((x) => [x.state, x.error])),
    );
    // a task that ended during the outage has its recorded success, the others one retry
    for (const task of done.nodes.slice(0, n)) {
      assert.ok(task.attempts === 1 || task.attempts === 2, `task ${task.id}: ${task.attempts}`);
    }
    const ends = lines(join(marks, 'finished'));
    assert.equal(new Set(ends).size, n, 'every task finished');
    // The orphans of the killed executor are killed when it starts again, if they are still
    // running then; those that ended meanwhile did their work and were reported failed (the
    // executor cannot know), so the retry does it again, as TaskService documents.
    if (backAfterMs < (o.taskSeconds ?? 3) * 1000 - 500) {
      assert.equal(ends.length, n, 'no task finished twice: the orphans were stopped');
    }
  } else {
    assert.equal(done.state, State.failure);
    const expected =
      o.restartAfterMs === undefined
        ? /connection refused|could not connect|connection closed/
        : /executor restarted while the task was running/;
    for (const task of done.nodes.slice(0, n)) {
      assert.equal(task.state, State.failure, `task ${task.id}`);
      assert.match(task.error ?? '', expected);
    }
    for (const after of done.nodes.slice(n, 2 * n)) assert.equal(after.state, State.notrunnable);
  }
  return done;
}

/** An orchestrator process whose executors are the given fakes, by name. */
export async function withFakeExecutors(
  t: TestContext,
  executors: Record<string, string>,
): Promise<{ server: BatonProcess }> {
  const tmp = tempDir();
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    tmp.remove();
  });
  const certs = join(tmp.path, 'certs');
  await writeCerts(certs);
  const flags = Object.entries(executors).flatMap(([name, url]) => [
    '--executor',
    `${name}=${url}`,
  ]);
  const server = await processes.serve(join(tmp.path, 'orchestrator'), [...flags, '--tls', certs]);
  return { server };
}

/** One `shell` node per target, in parallel, plus a `nil` node that must succeed. */
export function perTarget(targets: string[], extra: Record<string, unknown> = {}) {
  return {
    name: 'misbehaving-executors',
    edges: [],
    nodes: [
      ...targets.map((target, id) => ({
        id,
        name: target,
        engine: 'shell',
        artifact: 'anything.sh',
        target,
        ...extra,
      })),
      { id: targets.length, name: 'local', engine: 'nil' },
    ],
  };
}
