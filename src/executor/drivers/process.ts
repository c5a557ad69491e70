/**
 * Runs a local program for a task (shell and ansible drivers), started by the executor's
 * spawner (spawn.ts) as a session leader with its own process group, so stopping a task stops
 * everything it started: SIGTERM to the group, SIGKILL once the leader has exited or the
 * grace period has passed. A task that ends normally keeps the daemons it started. Each
 * program gets BATON_TASK_ID, by which a restarted executor finds what a crash left running.
 *
 * The task's spawner records the program's exit status where a restarted executor finds it,
 * should the executor die meanwhile (supervisor.ts). The program is found (PATH) and checked
 * executable here first, so a missing or non-executable program fails with its errno.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TASK_ID_VARIABLE } from '../orphans.ts';
import { type LineParser, OutputCollector } from '../outputs.ts';
import type { Spawned, SpawnSpec } from '../spawn.ts';
import type { TaskContext, TaskResult } from '../types.ts';

export interface ProcessSpec extends SpawnSpec {
  /** how stdout lines map to outputs (default `KEY=VALUE`) */
  parse?: LineParser;
}

/** After the leader exits, how long orphans holding stdout/stderr may delay the result. */
const PIPE_DRAIN_MS = 1000;

/** The program's path (searched in PATH when it has no slash), or an error like spawn's. */
function executable(command: string, cwd: string, pathVar: string | undefined): string {
  const candidates = command.includes('/')
    ? [path.resolve(cwd, command)]
    : (pathVar ?? '/usr/local/bin:/usr/bin:/bin')
        .split(':')
        .map((dir) => path.resolve(cwd, dir || '.', command));
  let code = 'ENOENT';
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
      code = 'EACCES';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') code = 'EACCES';
    }
  }
  throw Object.assign(new Error(`spawn ${command} ${code}`), { code });
}

export async function runProcess(task: TaskContext, spec: ProcessSpec): Promise<TaskResult> {
  let child: Spawned;
  try {
    // the allowlisted environment (task-env.ts), never the executor's whole one
    const env: NodeJS.ProcessEnv = { ...(spec.env ?? task.env), [TASK_ID_VARIABLE]: task.taskId };
    const program = executable(spec.command, spec.cwd, env.PATH);
    const nul = spec.args.findIndex((a) => a.includes('\0'));
    if (nul !== -1) throw new TypeError(`args[${nul}] must not contain NUL bytes`);
    child = await task.spawn({ command: program, args: spec.args, cwd: spec.cwd, env });
  } catch (err) {
    // ENOENT, EACCES, a NUL byte in an argument: nothing started
    return {
      ok: false,
      output: {},
      exitCode: null,
      error: `cannot run ${spec.command}: ${(err as Error).message}`,
    };
  }
  const outputs = new OutputCollector(Object.keys(task.node.output), spec.parse);
  const stderr = new LastLine();
  child.stdout.on('data', (chunk: Buffer) => {
    task.log.write(chunk);
    outputs.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    task.log.write(chunk);
    stderr.write(chunk);
  });
  const pipesClosed = Promise.all([closed(child.stdout), closed(child.stderr)]);

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), task.killGraceMs);
  };
  if (task.signal.aborted) onAbort();
  else task.signal.addEventListener('abort', onAbort, { once: true });

  const { code, signal, unknown } = await child.exited;
  // the leader is gone; when stopping, whatever is left of its group is killed now
  if (task.signal.aborted) killGroup(child.pid, 'SIGKILL');
  task.signal.removeEventListener('abort', onAbort);
  clearTimeout(killTimer);
  const drain = setTimeout(() => {
    child.stdout.destroy();
    child.stderr.destroy();
  }, PIPE_DRAIN_MS);
  await pipesClosed;
  clearTimeout(drain);
  outputs.end();
  if (unknown !== undefined)
    return { ok: false, output: outputs.output, exitCode: null, error: unknown };
  if (code === 0) return { ok: true, output: outputs.output, exitCode: 0, error: null };
  const why = code !== null ? `exited with code ${code}` : `killed by ${signal}`;
  const last = stderr.line();
  return {
    ok: false,
    output: outputs.output,
    exitCode: code,
    error: last ? `${why}: ${last}` : why,
  };
}

function closed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) resolve();
    else stream.once('close', () => resolve());
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the whole group is already gone
  }
}

/** Keeps the last non-empty line of a stream (for error messages), in bounded memory. */
export class LastLine {
  static readonly MAX = 1024;
  #tail = '';

  write(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.subarray(-2 * LastLine.MAX).toString();
    this.#tail = (this.#tail + text).slice(-2 * LastLine.MAX);
  }

  line(): string {
    const lines = this.#tail.split('\n').map((l) => l.trim());
    const last = lines.findLast((l) => l !== '') ?? '';
    return last.length > 200 ? `${last.slice(0, 200)}...` : last;
  }
}
