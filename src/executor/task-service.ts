/**
 * The executor's task lifecycle, in one place:
 *
 *   submit ─> torun(1) queued ─slot free─> running(2) ─driver done─> success(3) | failure(4)
 *                 │                            ├─ node.timeout passed ─> timeout(10)
 *                 └──── DELETE ────────────────┴─ DELETE ─> canceled(11)
 *
 * At most `concurrency` tasks run at once; the rest wait in FIFO order. A task starts only
 * within the start horizon, a seq the store has fsynced (see #advance): after any crash or
 * power cut, the tasks within it that had not finished may have started and are failed, and
 * those beyond it never started and run. So no key ever runs twice, and the fsync is made
 * ahead of need, off the event loop, for several tasks at once. Stopping a running
 * task aborts its driver's AbortSignal (the reason carries the final state) and the driver
 * kills what it started. Waiters for `GET ?wait=S` sit in a per-task list that completion
 * resolves, so a long poll answers the moment the task ends.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { GorchNode } from '../graph/model.ts';
import { isFinal, State } from '../graph/states.ts';
import { LogBuffer } from './log-buffer.ts';
import { killTaskProcesses } from './orphans.ts';
import type { Spawner } from './spawn.ts';
import type { TaskRecord, TaskStore } from './task-store.ts';
import type { Driver, TaskResult, TaskStatus } from './types.ts';

export interface TaskServiceOptions {
  store: TaskStore;
  drivers: ReadonlyMap<string, Driver>;
  artifactRoot: string;
  sshConfig?: string;
  concurrency: number;
  killGraceMs: number;
  spawn: Spawner;
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

export const RESTARTED_ERROR = 'executor restarted while the task was running';
export const RESTARTED_QUEUED_ERROR =
  'executor restarted as the task was due to start: it may have started, so it is not run again';

export class TaskService {
  readonly #o: TaskServiceOptions;
  /** accepted, waiting for a slot (FIFO) */
  readonly #queue: TaskRecord[] = [];
  /**
   * The start horizon: no task with a greater seq has started, and the store says so durably
   * (fsynced). A task starts at once when its seq is within it; otherwise the horizon first
   * moves past it and a few queued tasks more, with one fsync (see #advance).
   */
  #horizon: number;
  #advancing = false;
  /** seq of the last task started, which a graceful shutdown brings the horizon back to */
  #lastStarted = 0;
  readonly #live = new Map<string, LiveTask>();
  /** long polls by task; woken with the final status, or with nothing (timeout, shutdown) */
  readonly #waiters = new Map<string, Set<(status?: TaskStatus) => void>>();
  #closing = false;

  constructor(options: TaskServiceOptions) {
    this.#o = options;
    // A task that may have started before the executor died (running, or queued within the
    // start horizon) is marked failed. That is the honest answer: its process was orphaned
    // or killed, its output pipe is gone, so we cannot know whether it finished or what it
    // printed. Claiming success could hide a half-done change; running it again could do it
    // twice, which the idempotency key promises never happens. Failure lets the
    // orchestrator's retry policy (or a human) decide. Local programs the dead executor left
    // running are killed first: a retry must not run beside them.
    const store = options.store;
    this.#horizon = store.startHorizon();
    this.#lastStarted = this.#horizon;
    const killed = killTaskProcesses(new Set(store.maybeStartedIds(this.#horizon)));
    if (killed.length > 0)
      options.logger.warn({ pids: killed }, 'killed task processes left running by a crash');
    const failed = store.failMaybeStarted(
      this.#horizon,
      RESTARTED_ERROR,
      RESTARTED_QUEUED_ERROR,
      Date.now(),
    );
    if (failed > 0)
      options.logger.warn({ failed }, 'marked tasks interrupted by a restart as failed');
    // Queued tasks beyond the horizon never started: running them now runs them once.
    for (const id of store.queued()) this.#queue.push(store.get(id)!);
    this.#startQueued();
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
   * Moves the start horizon past the next queued tasks (as many as can run at once, twice
   * over), durably: the new value is committed, then one fsync of the log, on a pool thread,
   * makes it and every earlier write (those tasks' acceptance included) survive a power cut.
   * Done ahead of need, so a task whose slot frees up usually starts at once.
   */
  #advance(): void {
    // after the current turn, so that the tasks submitted in it share the fsync
    if (this.#advancing) return;
    this.#advancing = true;
    setImmediate(() => this.#advanceNow());
  }

  #advanceNow(): void {
    const ahead = this.#queue[Math.min(this.#queue.length, 2 * this.#o.concurrency) - 1];
    if (this.#closing || ahead === undefined || ahead.seq <= this.#horizon) {
      this.#advancing = false;
      return;
    }
    const target = ahead.seq;
    this.#o.store.setStartHorizon(target);
    this.#o.store.sync().then(
      () => {
        this.#advancing = false;
        this.#horizon = Math.max(this.#horizon, target);
        this.#startQueued();
      },
      (err: Error) => {
        this.#advancing = false;
        if (this.#closing) return; // the store is closing
        // nothing is known to be durable: the tasks waiting on it fail, unrun
        this.#o.logger.error({ err }, 'could not make task records durable');
        const unrun = this.#queue.filter((t) => t.seq <= target);
        this.#queue.splice(0, unrun.length);
        for (const task of unrun) {
          this.#end(task, {
            state: State.failure,
            output: {},
            exitCode: null,
            error: `not started: the executor could not make its record durable (${err.message})`,
            log: '',
          });
        }
        this.#startQueued();
      },
    );
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
   * waiter so long polls answer, and leaves queued tasks queued for the next start: the
   * start horizon comes back to the last task started, since no other has.
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
    try {
      this.#o.store.setStartHorizon(this.#lastStarted);
      await this.#o.store.sync();
    } catch (err) {
      this.#o.logger.error({ err }, 'could not record which queued tasks never started');
    }
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
      if (this.#queue[0].seq > this.#horizon) break; // not yet durably allowed to start
      this.#start(this.#queue.shift()!);
    }
    this.#advance();
  }

  #start(task: TaskRecord): void {
    const controller = new AbortController();
    const log = new LogBuffer();
    const live: LiveTask = { controller, log, done: Promise.resolve() };
    this.#live.set(task.id, live);
    task.startedAt = Date.now();
    this.#lastStarted = Math.max(this.#lastStarted, task.seq);
    this.#o.store.markRunning(task.id, task.startedAt);
    live.done = this.#execute(task, live).catch((err: Error) => {
      this.#o.logger.error({ err, task: task.id }, 'recording the end of a task failed');
    });
  }

  async #execute(task: TaskRecord, live: LiveTask): Promise<void> {
    const { node } = task;
    const signal = live.controller.signal;
    const timeout = node.timeout ?? 0;
    // beyond setTimeout's limit (about 24.8 days) Node would fire at once: treat as no limit
    const timer =
      timeout > 0 && timeout * 1000 <= MAX_TIMER_MS
        ? setTimeout(
            () => this.#stop(live, { state: State.timeout, error: `timed out after ${timeout} s` }),
            timeout * 1000,
          )
        : undefined;
    let result: TaskResult = { ok: false, output: {}, exitCode: null, error: null };
    try {
      const driver = this.#o.drivers.get(node.engine);
      // canceled (or the executor stopping) while waiting for the fsync: it never starts
      if (signal.aborted) throw signal.reason;
      if (driver === undefined) throw new Error(`unknown engine ${JSON.stringify(node.engine)}`);
      result = await driver.run({
        taskId: task.id,
        node,
        signal,
        log: live.log,
        artifactRoot: this.#o.artifactRoot,
        sshConfig: this.#o.sshConfig,
        killGraceMs: this.#o.killGraceMs,
        spawn: this.#o.spawn,
      });
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
    const waiters = this.#waiters.get(task.id);
    if (waiters === undefined) return;
    // what the store now holds, built here rather than read back
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const status: TaskStatus = {
      id: task.id,
      name: task.node.name,
      state: end.state,
      output: end.output,
      exit_code: end.exitCode,
      error: end.error,
      started_at: iso(task.startedAt),
      stopped_at: iso(stoppedAt),
    };
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
