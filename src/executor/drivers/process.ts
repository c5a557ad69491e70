/**
 * Runs a local program for a task (shell and ansible drivers). The program gets its own
 * process group (`detached: true` makes it a session leader), so stopping a task stops
 * everything it started: SIGTERM to the group, SIGKILL once the leader has exited or the
 * grace period has passed. A task that ends normally keeps the daemons it started.
 */
import { spawn } from 'node:child_process';
import { type LineParser, OutputCollector } from '../outputs.ts';
import type { TaskContext, TaskResult } from '../types.ts';

export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** how stdout lines map to outputs (default `KEY=VALUE`) */
  parse?: LineParser;
}

/** After the leader exits, how long orphans holding stdout/stderr may delay the result. */
const PIPE_DRAIN_MS = 1000;

export function runProcess(task: TaskContext, spec: ProcessSpec): Promise<TaskResult> {
  const outputs = new OutputCollector(Object.keys(task.node.output), spec.parse);
  const stderr = new LastLine();
  return new Promise((resolve) => {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) task.processStarted(child.pid);
    let killTimer: NodeJS.Timeout | undefined;
    let done = false;
    const onAbort = () => {
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), task.killGraceMs);
    };
    const finish = (result: TaskResult) => {
      if (done) return;
      done = true;
      task.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      outputs.end();
      resolve({ ...result, output: outputs.output });
    };

    child.stdout.on('data', (chunk: Buffer) => {
      task.log.write(chunk);
      outputs.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      task.log.write(chunk);
      stderr.write(chunk);
    });
    child.on('error', (err) => {
      // spawn failures (ENOENT, EACCES) arrive here and no 'exit' follows
      finish({
        ok: false,
        output: {},
        exitCode: null,
        error: `cannot run ${spec.command}: ${err.message}`,
      });
    });
    child.on('exit', (code, signal) => {
      // the leader is gone; when stopping, whatever is left of its group is killed now
      if (task.signal.aborted) killGroup(child.pid, 'SIGKILL');
      const drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_DRAIN_MS);
      child.on('close', () => {
        clearTimeout(drain);
        if (code === 0) {
          finish({ ok: true, output: {}, exitCode: 0, error: null });
          return;
        }
        const why = code !== null ? `exited with code ${code}` : `killed by ${signal}`;
        const last = stderr.line();
        finish({ ok: false, output: {}, exitCode: code, error: last ? `${why}: ${last}` : why });
      });
    });

    if (task.signal.aborted) onAbort();
    else task.signal.addEventListener('abort', onAbort, { once: true });
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
