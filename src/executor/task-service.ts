/**
 * The executor's task lifecycle, in one place:
 *
 *   submit ─> torun(1) queued ─slot free─> running(2) ─driver done─> success(3) | failure(4)
 *                 │                            ├─ node.timeout passed ─> timeout(10)
 *                 └──── DELETE ────────────────┴─ DELETE ─> canceled(11)
 *
 * At most `concurrency` tasks run at once; the rest wait in FIFO order. A task's driver starts
 * only once its `running` record is fsynced (see #durable), so no power cut can make the
 * executor forget a task it started and run its key again. Stopping a running
 * task aborts its driver's AbortSignal (the reason carries the final state) and the driver
 * kills what it started. Waiters for `GET ?wait=S` sit in a per-task list that completion
 * resolves, so a long poll answers the moment the task ends.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { GorchNode } from '../graph/model.ts';
import { isFinal, State } from '../graph/states.ts';
import { recordedExits } from './exit-records.ts';
import { LogBuffer } from './log-buffer.ts';
import { killSupervisors, killTaskProcesses } from './orphans.ts';
import { nodeSpawn, type SpawnSpec } from './spawn.ts';
import { Supervisor, wrappedSpawn } from './supervisor.ts';
import { type TaskRecord, type TaskStore, taskStatus } from './task-store.ts';
import type { Driver, HttpPolicy, TaskResult, TaskStatus } from './types.ts';

export interface TaskServiceOptions {
  store: TaskStore;
  drivers: ReadonlyMap<string, Driver>;
  artifactRoot: string;
  sshConfig?: string;
  concurrency: number;
  killGraceMs: number;
  /**
   * how local programs start (spawn.ts): `posix`, through the supervisor, or `node`, under a
   * wrapper (supervisor.ts)
   */
  spawner: 'posix' | 'node';
  /** the environment local programs start with (task-env.ts) */
  env: Readonly<Record<string, string>>;
  /** where the http engine may connect */
  http: HttpPolicy;
  logger: FastifyBaseLogger;
}

/** Why a driver's signal was aborted: the state and error the task ends with. */
interface StopReason {
  state: number;
  error: string;
}

interface LiveTask {
  controller: AbortController;
  log: LogBuffer;
  done: Promise<void>;
}

export type SubmitResult =
  | { kind: 'accepted'; id: string; created: boolean }
  | { kind: 'conflict'; id: string };

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Engines whose programs' exit statuses are recorded (exit-records.ts). */
const LOCAL_ENGINES = new Set(['shell', 'ansible']);

export const RESTARTED_ERROR = 'executor restarted while the task was running';

/** A task whose end nobody saw: not a failure known to have happened. */
export const UNKNOWN_OUTCOME_ERROR =
  'outcome unknown: the executor restarted while the task was running and no exit status ' +
  'was recorded; it may have completed';

/** The log of a task whose end only its exit record tells. */
const LOST_LOG =
  '(the executor restarted while this task ran: its log and outputs were lost; its exit ' +
  'status was recorded by its supervisor)\n';

export class TaskService {
  readonly #o: TaskServiceOptions;
  /** accepted, waiting for a slot (FIFO) */
  readonly #queue: TaskRecord[] = [];
  /** the fsync running now, and the next one, which covers every write made meanwhile */
  #syncing: Promise<void> | null = null;
  #nextSync: Promise<void> | null = null;
  readonly #live = new Map<string, LiveTask>();
  /** long polls by task; woken with the final status, or with nothing (timeout, shutdown) */
  readonly #waiters = new Map<string, Set<(status?: TaskStatus) => void>>();
  #closing = false;
  /** where local programs' exit statuses are recorded (exit-records.ts) */
  readonly #exits: string;
  /** starts local programs and records their exits, with `spawner: 'posix'` */
  readonly #supervisor: Supervisor | undefined;

  constructor(options: TaskServiceOptions) {
    this.#o = options;
    this.#exits = path.resolve(options.store.dir, 'exits');
    mkdirSync(this.#exits, { recursive: true, mode: 0o700 });
    this.#supervisor =
      options.spawner === 'posix' ? new Supervisor(this.#exits, options.logger) : undefined;
    // containers run on without their executor: those tasks resume (#resumeTasks); the others
    // a crash interrupted are ended as well as can be known (#recoverRunning)
    this.#resumeTasks();
    this.#recoverRunning();
    // started now rather than with the first program, which would wait for it (and its
    // timeout run) meanwhile; after #recoverRunning, which kills a dead executor's
    this.#supervisor?.start();
    // Queued tasks never started, so running them now still runs them exactly once.
    this.#queue.push(...options.store.queued());
    this.#startQueued();
  }

  /**
   * Ends the tasks a dead executor left `running`. Local programs it left running are killed
   * first: a retry must not run beside them, and they are failures (RESTARTED_ERROR). Before
   * them, the dead executor's supervisor (supervisor.ts) is killed, so that it records none of
   * those kills as the program's own end. A local program that ended while the executor was
   * down had its exit status recorded (exit-records.ts): exit 0 is a success (its log and outputs,
   * which went to the dead executor, are lost), another a failure with that code. Without
   * either, nobody knows how the task ended (an in-process engine, or its supervisor or
   * wrapper gone too): a failure whose error says the outcome is unknown, so that the
   * orchestrator's retry policy or a human decides.
   * Claiming success could hide a half-done change; running it again here could do it twice,
   * which the idempotency key promises never happens.
   */
  #recoverRunning(): void {
    const { store, logger } = this.#o;
    // tasks resumed by their driver are live again: not this method's to end
    const running = store.runningIds().filter((id) => !this.#live.has(id));
    if (running.length > 0) {
      const supervisors = killSupervisors(this.#exits);
      if (supervisors.length > 0)
        logger.warn({ pids: supervisors }, 'killed the process supervisor a crash left running');
    }
    const killedTasks = new Set<string>();
    const killed = killTaskProcesses(new Set(running), (_pid, id) => killedTasks.add(id));
    if (killed.length > 0)
      logger.warn({ pids: killed }, 'killed task processes left running by a crash');
    const now = Date.now();
    // read after the kills: a wrapper found alive may have been writing; a recorded exit
    // stands even when daemons the program left were killed
    const recorded = running.length > 0 ? recordedExits(this.#exits) : new Map<string, number>();
    for (const id of running) {
      const code = recorded.get(id);
      const end =
        code === 0
          ? { state: State.success, exitCode: 0, error: null, log: LOST_LOG }
          : code !== undefined
            ? {
                state: State.failure,
                exitCode: code,
                error: `exited with code ${code} while the executor was down (its log was lost)`,
                log: LOST_LOG,
              }
            : {
                state: State.failure,
                exitCode: null,
                error: killedTasks.has(id) ? RESTARTED_ERROR : UNKNOWN_OUTCOME_ERROR,
                log: '',
              };
      store.finish(id, { ...end, output: {}, stoppedAt: now });
      logger.warn(
        { task: id, state: end.state, error: end.error },
        'ended a task a restart interrupted',
      );
    }
    // every exit recorded is of a task recorded as ended (or just handled)
    for (const name of readdirSync(this.#exits))
      rmSync(path.join(this.#exits, name), { force: true });
  }

  /**
   * Running tasks whose driver can re-attach to what the dead executor left (`Driver.resume`:
   * a container) go on where they were: the driver reports their outcome as if no crash had
   * happened, or fails them when nothing is left. They keep their slots and start time.
   */
  #resumeTasks(): void {
    for (const task of this.#o.store.running()) {
      if (this.#o.drivers.get(task.node.engine)?.resume === undefined) continue;
      this.#o.logger.warn({ task: task.id }, 'resuming a task a restart interrupted');
      this.#start(task, true);
    }
  }

  get engines(): string[] {
    return [...this.#o.drivers.keys()];
  }

  submit(node: GorchNode, key: string): SubmitResult {
    const { task, created } = this.#o.store.insert(randomUUID(), key, node, Date.now());
    if (!created && canonicalJson(task.node) !== canonicalJson(node)) {
      return { kind: 'conflict', id: task.id };
    }
    if (created) {
      this.#queue.push(task);
      this.#startQueued();
    }
    return { kind: 'accepted', id: task.id, created };
  }

  /**
   * Resolves once every write made so far would survive a power cut. Writes are committed
   * without an fsync (they survive a crash of this process); one fsync of the log, on a pool
   * thread, then covers all writes made before it began, and writes made while it runs wait
   * for the next one (group commit).
   */
  #durable(): Promise<void> {
    this.#nextSync ??= (async () => {
      await this.#syncing?.catch(() => {});
      this.#nextSync = null; // writes from here on need the fsync after this one
      const sync = this.#o.store.sync();
      this.#syncing = sync;
      try {
        await sync;
      } finally {
        if (this.#syncing === sync) this.#syncing = null;
      }
    })();
    return this.#nextSync;
  }

  status(id: string): TaskStatus | undefined {
    return this.#o.store.status(id);
  }

  /** The status once final, or after `ms`, or when `signal` aborts (client went away). */
  async wait(id: string, ms: number, signal?: AbortSignal): Promise<TaskStatus | undefined> {
    const first = this.status(id);
    if (
      first === undefined ||
      isFinal(first.state) ||
      ms <= 0 ||
      this.#closing ||
      signal?.aborted
    ) {
      return first;
    }
    const ended = await new Promise<TaskStatus | undefined>((resolve) => {
      const waiters = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, waiters);
      const wake = (status?: TaskStatus) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', gone);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
        resolve(status);
      };
      const gone = () => wake();
      const timer = setTimeout(gone, ms);
      signal?.addEventListener('abort', gone, { once: true });
      waiters.add(wake);
    });
    return ended ?? this.status(id);
  }

  log(id: string): string | undefined {
    const live = this.#live.get(id);
    if (live !== undefined) return live.log.toString();
    const task = this.#o.store.get(id);
    return task && (task.log ?? '');
  }

  /** Stops a queued or running task; returns its final status (unchanged when already final). */
  async cancel(id: string): Promise<TaskStatus | undefined> {
    const live = this.#live.get(id);
    if (live !== undefined) {
      this.#stop(live, { state: State.canceled, error: 'canceled' });
      await live.done;
      return this.status(id);
    }
    const queuedAt = this.#queue.findIndex((t) => t.id === id);
    if (queuedAt !== -1) {
      const [task] = this.#queue.splice(queuedAt, 1);
      this.#end(task, {
        state: State.canceled,
        output: {},
        exitCode: null,
        error: 'canceled before it started',
        log: '',
      });
    }
    return this.status(id);
  }

  /**
   * Stops running tasks (recorded as failed: the executor is going away), wakes every
   * waiter so long polls answer, and leaves queued tasks queued for the next start.
   */
  async shutdown(): Promise<void> {
    this.#closing = true;
    const live = [...this.#live.values()];
    for (const task of live)
      this.#stop(task, {
        state: State.failure,
        error: 'executor shut down while the task was running',
      });
    await Promise.all(live.map((t) => t.done));
    this.#supervisor?.close();
    for (const waiters of this.#waiters.values()) for (const wake of [...waiters]) wake();
  }

  get closing(): boolean {
    return this.#closing;
  }

  #stop(live: LiveTask, reason: StopReason): void {
    if (!live.controller.signal.aborted) live.controller.abort(reason);
  }

  #startQueued(): void {
    while (!this.#closing && this.#live.size < this.#o.concurrency && this.#queue.length > 0) {
      this.#start(this.#queue.shift()!);
    }
  }

  #start(task: TaskRecord, resumed = false): void {
    const controller = new AbortController();
    const log = new LogBuffer();
    const live: LiveTask = { controller, log, done: Promise.resolve() };
    this.#live.set(task.id, live);
    if (!resumed) {
      task.startedAt = Date.now();
      this.#o.store.markRunning(task.id, task.startedAt);
    }
    live.done = this.#execute(task, live, resumed).catch((err: Error) => {
      this.#o.logger.error({ err, task: task.id }, 'recording the end of a task failed');
    });
  }

  async #execute(task: TaskRecord, live: LiveTask, resumed: boolean): Promise<void> {
    const { node } = task;
    const signal = live.controller.signal;
    // The task runs only once the record that it is running would survive a power cut (the
    // same fsync makes its acceptance durable). Otherwise a restart after a power cut could
    // find it queued, or not at all, and run its key a second time.
    try {
      await this.#durable();
    } catch (err) {
      this.#o.logger.error({ err }, 'could not make task records durable');
      this.#live.delete(task.id);
      this.#end(task, {
        state: State.failure,
        output: {},
        exitCode: null,
        error: `not started: the executor could not make its record durable (${(err as Error).message})`,
        log: '',
      });
      this.#startQueued();
      return;
    }
    const timeout = node.timeout ?? 0;
    // a resumed task has already used part of its time
    const used = resumed ? Date.now() - (task.startedAt ?? Date.now()) : 0;
    // beyond setTimeout's limit (about 24.8 days) Node would fire at once: treat as no limit
    const timer =
      timeout > 0 && timeout * 1000 <= MAX_TIMER_MS
        ? setTimeout(
            () => this.#stop(live, { state: State.timeout, error: `timed out after ${timeout} s` }),
            Math.max(0, timeout * 1000 - used),
          )
        : undefined;
    let result: TaskResult = { ok: false, output: {}, exitCode: null, error: null };
    try {
      const driver = this.#o.drivers.get(node.engine);
      // canceled (or the executor stopping) while waiting for the fsync: it never starts
      if (signal.aborted) throw signal.reason;
      if (driver === undefined) throw new Error(`unknown engine ${JSON.stringify(node.engine)}`);
      const context = {
        taskId: task.id,
        key: task.key,
        node,
        signal,
        log: live.log,
        artifactRoot: this.#o.artifactRoot,
        sshConfig: this.#o.sshConfig,
        killGraceMs: this.#o.killGraceMs,
        spawn: (spec: SpawnSpec) => this.#spawn(spec, task.id),
        env: this.#o.env,
        http: this.#o.http,
      };
      result = await (resumed && driver.resume ? driver.resume(context) : driver.run(context));
    } catch (err) {
      if (!signal.aborted)
        result = {
          ok: false,
          output: {},
          exitCode: null,
          error: `${node.engine} driver error: ${(err as Error).message}`,
        };
    } finally {
      clearTimeout(timer);
    }
    const stop = signal.aborted ? (signal.reason as StopReason) : undefined;
    this.#live.delete(task.id);
    this.#end(task, {
      state: stop ? stop.state : result.ok ? State.success : State.failure,
      output: result.output,
      exitCode: result.exitCode,
      error: stop ? stop.error : result.error,
      log: live.log.toString(),
    });
    this.#startQueued();
  }

  /** Starts a task's local program, whose exit status will be recorded when it ends. */
  #spawn(spec: SpawnSpec, taskId: string) {
    return this.#supervisor
      ? this.#supervisor.spawn(spec, taskId)
      : wrappedSpawn(nodeSpawn, spec, path.join(this.#exits, taskId));
  }

  #end(
    task: TaskRecord,
    end: {
      state: number;
      output: Record<string, string>;
      exitCode: number | null;
      error: string | null;
      log: string;
    },
  ): void {
    const stoppedAt = Date.now();
    this.#o.store.finish(task.id, { ...end, stoppedAt });
    // recorded: its exit record (when a local program left one) is not needed any more
    if (LOCAL_ENGINES.has(task.node.engine)) {
      if (this.#supervisor) this.#supervisor.release(task.id);
      else unlink(path.join(this.#exits, task.id)).catch(() => {});
    }
    const waiters = this.#waiters.get(task.id);
    if (waiters === undefined) return;
    // what the store now holds, built here rather than read back
    const status = taskStatus({ ...task, ...end, name: task.node.name, stoppedAt });
    for (const wake of [...waiters]) wake(status);
  }
}

/** JSON with object keys sorted, so two equal nodes compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
