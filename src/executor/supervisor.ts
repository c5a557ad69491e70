/**
 * How a local program's exit status comes to outlive its executor (docs/architecture.md §6):
 * the process that waits for the program records its status in DATA/exits (exit-records.ts)
 * the moment it ends, before the executor hears of it. A restarted executor reads there how
 * the tasks that ended while it was down ended (task-service.ts).
 *
 * Where posix_spawn is available (Linux with glibc), that process is one `Supervisor` per
 * executor (supervisor-process.ts): a small Node process in its own process group, parent of
 * every local program, started with the executor. The executor keeps the read ends of each
 * program's stdout and stderr pipes; the program opens the write ends itself, through /proc,
 * so output flows to the executor as before and the supervisor only starts, waits and
 * records, in the task's slot of the exit table. Should the supervisor die under a live
 * executor, the programs it watched can no longer be waited for: they are killed, and their
 * tasks fail with SUPERVISOR_DIED (their outcome unknown); the next program starts a new one.
 *
 * Elsewhere (`spawner: 'node'`), each program runs under a `/bin/sh` wrapper that writes its
 * status to DATA/exits/<task> (`wrappedSpawn`): one more exec and fork per task, and a file
 * created and removed, which docs/performance.md measures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import { killTaskProcesses, SUPERVISOR_VARIABLE } from './orphans.ts';
import {
  type ExitStatus,
  type OutputPipes,
  posixSupervision,
  type Spawned,
  type Spawner,
  type SpawnSpec,
} from './spawn.ts';

export const SUPERVISOR_DIED =
  "outcome unknown: the executor's process supervisor died while the task was running; " +
  'the task was stopped';

const SCRIPT = fileURLToPath(new URL('./supervisor-process.ts', import.meta.url));

/** What the supervisor answers about one request (supervisor-process.ts). */
interface Answer {
  id?: string;
  pid?: number;
  exited?: { code: number | null; signal: NodeJS.Signals | null };
  error?: string;
  errno?: string;
}

interface Task {
  pipes: OutputPipes;
  /** known once the supervisor has started the program */
  pid?: number;
  started(pid: number): void;
  failed(err: Error): void;
  ended(status: ExitStatus): void;
}

interface Connection {
  child: ChildProcess;
  tasks: Map<string, Task>;
  /** the end of its stderr, told when it dies */
  stderr: string;
}

export class Supervisor {
  readonly #exitsDir: string;
  readonly #logger: FastifyBaseLogger;
  #connection: Connection | undefined;
  /** exit table slots (exit-records.ts) by task id, held until `release` */
  readonly #slots = new Map<string, number>();
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;

  /** `exitsDir` must be absolute: it tags the supervisor (orphans.ts killSupervisors). */
  constructor(exitsDir: string, logger: FastifyBaseLogger) {
    this.#exitsDir = exitsDir;
    this.#logger = logger;
  }

  /** Starts the supervisor process, unless it runs; programs would start it otherwise. */
  start(): void {
    this.#connect();
  }

  /**
   * Starts a program for the task, whose exit status goes to the task's slot of the exit
   * table when it ends; the slot stays the task's until `release`.
   */
  spawn(spec: SpawnSpec, taskId: string): Promise<Spawned> {
    if (posixSupervision === undefined) throw new Error('posix_spawn is not available');
    let slot = this.#slots.get(taskId);
    if (slot === undefined) {
      slot = this.#freeSlots.pop() ?? this.#nextSlot++;
      this.#slots.set(taskId, slot);
    }
    const connection = this.#connect();
    const pipes = posixSupervision.pipes();
    let ended!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => {
      ended = resolve;
    });
    const spawned = new Promise<Spawned>((resolve, reject) => {
      const task: Task = {
        pipes,
        started: (pid) => {
          task.pid = pid;
          pipes.closeWriteEnds();
          resolve({ pid, stdout: pipes.stdout, stderr: pipes.stderr, exited });
        },
        failed: (err) => {
          pipes.closeWriteEnds();
          pipes.stdout.destroy();
          pipes.stderr.destroy();
          reject(err);
        },
        ended: (status) => {
          forget(connection, taskId);
          ended(status);
        },
      };
      if (connection.tasks.size === 0) ref(connection.child);
      connection.tasks.set(taskId, task);
    });
    const request = {
      id: taskId,
      command: spec.command,
      args: spec.args,
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdout: pipes.paths[0],
      stderr: pipes.paths[1],
      slot,
    };
    connection.child.stdin!.write(`${JSON.stringify(request)}\n`);
    return spawned;
  }

  /**
   * Frees the task's slot, once its end is in the task store: a crash can no longer make the
   * record matter.
   */
  release(taskId: string): void {
    const slot = this.#slots.get(taskId);
    if (slot === undefined) return;
    this.#slots.delete(taskId);
    this.#freeSlots.push(slot);
  }

  /** Lets the supervisor exit once its programs have ended (they are not stopped). */
  close(): void {
    this.#connection?.child.stdin?.end();
    this.#connection = undefined;
  }

  #connect(): Connection {
    if (this.#connection !== undefined) return this.#connection;
    // In the executor's session, not a session of its own (it makes its own process group,
    // which signals to the executor's group spare): on a loaded Linux machine a session is
    // scheduled as one group (autogroup), and the executor waits on the supervisor twice
    // per task. Its own session made the bench's DAG about a third slower at load 15
    // (docs/performance.md).
    const child = spawn(process.execPath, [SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { [SUPERVISOR_VARIABLE]: this.#exitsDir },
    });
    const connection: Connection = { child, tasks: new Map(), stderr: '' };
    this.#connection = connection;
    unref(child);
    child.on('error', (err) => this.#logger.error({ err }, 'the process supervisor failed'));
    child.stdin!.on('error', () => {}); // it died: its stdout's close says so
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      connection.stderr = (connection.stderr + text).slice(-4000);
    });
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      let end = buffered.indexOf('\n');
      while (end !== -1) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        this.#answer(connection, JSON.parse(line) as Answer);
        end = buffered.indexOf('\n');
      }
    });
    // every answer it gave has been read: whatever is still waiting will never be answered
    child.stdout!.once('close', () => this.#died(connection));
    return connection;
  }

  #answer(connection: Connection, answer: Answer): void {
    if (answer.id === undefined) {
      this.#logger.debug({ pid: connection.child.pid }, 'the process supervisor is ready');
      return;
    }
    const task = connection.tasks.get(answer.id);
    if (task === undefined) return;
    if (answer.pid !== undefined) task.started(answer.pid);
    else if (answer.exited !== undefined) task.ended(answer.exited);
    else {
      forget(connection, answer.id);
      const err = Object.assign(new Error(answer.error ?? 'could not start'), {
        code: answer.errno,
      });
      task.failed(err);
    }
  }

  /**
   * The supervisor is gone. Its programs, if still running, can no longer be waited for:
   * they are killed (found by BATON_TASK_ID, so those it was starting too) and their tasks
   * end with SUPERVISOR_DIED. A task it never answered fails to start.
   */
  #died(connection: Connection): void {
    if (this.#connection === connection) this.#connection = undefined;
    if (connection.tasks.size === 0) return;
    this.#logger.error(
      { pid: connection.child.pid, tasks: [...connection.tasks.keys()], stderr: connection.stderr },
      'the process supervisor died: its running tasks were stopped',
    );
    killTaskProcesses(new Set(connection.tasks.keys()));
    for (const task of connection.tasks.values()) {
      if (task.pid === undefined)
        task.failed(new Error('the process supervisor died before it started the program'));
      else task.ended({ code: null, signal: null, unknown: SUPERVISOR_DIED });
    }
    connection.tasks.clear();
  }
}

/** Drops a task that is over (or never started) from those its supervisor answers for. */
function forget(connection: Connection, taskId: string): void {
  connection.tasks.delete(taskId);
  if (connection.tasks.size === 0) unref(connection.child);
}

// the supervisor and its pipes keep the executor alive only while it runs programs for it
function ref(child: ChildProcess): void {
  child.ref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as unknown as { ref(): void }).ref();
}
function unref(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as unknown as { unref(): void }).unref();
}

/**
 * `sh -c WRAPPER EXIT_FILE PROGRAM ARGS...`: runs the program, writes its status ($? : 128+N
 * when killed by signal N) to EXIT_FILE, and ends the same way the program did, re-raising the
 * signals that do not dump core, so the executor still reports "killed by SIGTERM". The
 * traps keep the wrapper alive while the program handles a SIGTERM sent to the whole group
 * (a trapped signal waits for the foreground program; the program, by exec, gets the default
 * action back). The shell's own stderr goes to /dev/null, where its "Terminated" notes about
 * the program go; the program gets the real one (a subshell that execs, so that the shell
 * waits outside the program's redirection: dash prints those notes inside it).
 */
const WRAPPER = `exec 3>&2 2>/dev/null
trap : HUP INT TERM
(exec "$@" 2>&3 3>&-)
s=$?
echo $s > "$0"
case $s in 129|130|137|141|142|143) trap - HUP INT TERM; kill -$((s - 128)) $$;; esac
exit $s`;

/**
 * Starts `spec.command` (a path) under the wrapper, which writes its status to `exitFile` and
 * outlives the executor with the program (it leads the program's session).
 */
export function wrappedSpawn(
  spawner: Spawner,
  spec: SpawnSpec,
  exitFile: string,
): Promise<Spawned> {
  return spawner({
    ...spec,
    command: '/bin/sh',
    args: ['-c', WRAPPER, exitFile, spec.command, ...spec.args],
  });
}
