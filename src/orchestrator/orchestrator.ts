/**
 * The orchestrator: what the API, the CLI, the replica and the scheduler call. It keeps no
 * state of its own beyond its options; its parts are:
 *   - run-loop.ts: the runs this replica drives, events in, commands carried out in two halves
 *     (state changes committed first, side effects after), poison runs;
 *   - commit-batcher.ts: one store transaction per tick, fenced by each run's lease;
 *   - submissions.ts: one store transaction for the runs submitted in the same tick;
 *   - attempts.ts: admission, dispatch to a runner, a node's timeout, its outcome;
 *   - timers.ts, observer.ts, active-run.ts, errors.ts: timers, logs/metrics/traces, what is
 *     kept of a run in memory, what is thrown.
 *
 * Leases (docs/architecture.md §5): a submitted run is created under this replica's lease; a
 * run is adopted when the replica (replica.ts) claimed its lease, at start-up or from a
 * replica that died; a cancel or retry of a run nobody drives claims it here. A crash of the
 * whole process while resuming a run is not caught, so each resume is counted in the store
 * before it starts and the count reset once the resumed run committed: a run whose resume
 * killed `maxResumes` replicas in a row is failed by the next one instead of handed on forever.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { resume } from '../engine/events.ts';
import type { GorchNode, Graph } from '../graph/model.ts';
import { isFinal, State, stateName } from '../graph/states.ts';
import type { ClaimedRun, Lease, RunRecord, Store } from '../store/store.ts';
import type { ActiveRun } from './active-run.ts';
import { Admission } from './admission.ts';
import type { AttemptErrorScrubber } from './attempts.ts';
import type { EventBus } from './bus.ts';
import { messageOf, NodeNotFoundError, RunNotFoundError, RunStateError } from './errors.ts';
import { noMetrics, type RunLoad, type RunMetrics } from './metrics.ts';
import { RunLoop } from './run-loop.ts';
import type { TaskRunner } from './runners.ts';
import { Submissions, type Submitted } from './submissions.ts';
import { noTracer, type RunTracer } from './tracing.ts';

export {
  Detached,
  NodeNotFoundError,
  ReplicaUnavailableError,
  RunNotFoundError,
  RunStateError,
} from './errors.ts';
export type { Submitted } from './submissions.ts';

export interface OrchestratorOptions {
  store: Store;
  bus: EventBus;
  /** runner per engine name; the keys are the engines documents may use */
  runners: ReadonlyMap<string, TaskRunner>;
  logger: Logger;
  /** graph timeout in seconds for documents that set none; 0 means none */
  defaultGraphTimeout?: number;
  now?: () => number;
  random?: () => number;
  newId?: () => string;
  /** how long to wait before retrying a failed store commit */
  commitRetryMs?: number;
  /**
   * A run whose resume did not get as far as a commit this many times in a row (the process
   * died while resuming it) is failed as a poison run instead of resumed again.
   */
  maxResumes?: number;
  /**
   * Takes the secrets a node was given or produced out of its attempt's error before that is
   * recorded, published or logged (`baton serve` passes api/secrets.ts `attemptErrorScrubbed`;
   * the API, which knows the secret-name rules, lives above this layer).
   */
  scrubAttemptError?: AttemptErrorScrubber;
  /** reads the log of a task an executor ran (see TaskRunner.log) */
  readLog?: (executor: string, taskId: string) => Promise<string>;
  /** this replica's name in run leases */
  replicaId?: string;
  /** how long a lease lasts without renewal: a dead replica's runs move after about this */
  leaseMs?: number;
  /** observability: metrics and trace sinks (no-ops by default) */
  metrics?: RunMetrics;
  tracer?: RunTracer;
  /** pools and in-flight limits (none by default) */
  admission?: Admission;
  /** the executor a node would run on ('' for engines run in the orchestrator) */
  executorOf?: (node: GorchNode) => string;
}

/** `options` over `defaults`, where an option explicitly `undefined` keeps the default. */
export function withDefaults<O extends object, D extends Partial<O>>(
  options: O,
  defaults: D,
): Required<O> {
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
  return merged as Required<O>;
}

function checkAction(id: string, action: 'cancel' | 'retry', state: number): void {
  if (action === 'cancel' && isFinal(state)) {
    throw new RunStateError(`run ${id} already finished (${stateName(state)})`);
  }
  if (action === 'retry' && (!isFinal(state) || state === State.success)) {
    throw new RunStateError(
      `run ${id} is ${stateName(state)}: only a finished, unsuccessful run can be retried`,
    );
  }
}

export class Orchestrator {
  readonly #o: Required<OrchestratorOptions>;
  readonly #loop: RunLoop;
  readonly #submissions: Submissions;

  constructor(options: OrchestratorOptions) {
    this.#o = withDefaults(options, {
      defaultGraphTimeout: 0,
      now: Date.now,
      random: Math.random,
      newId: randomUUID,
      commitRetryMs: 1000,
      maxResumes: 3,
      readLog: async () => '',
      replicaId: `replica-${randomUUID()}`,
      leaseMs: 5000,
      metrics: noMetrics,
      tracer: noTracer,
      admission: new Admission({ pools: new Map(), perExecutor: 0, perTarget: 0 }),
      executorOf: () => '',
    });
    this.#loop = new RunLoop(this.#o);
    this.#submissions = new Submissions({
      ...this.#o,
      start: (id, graph) => this.#start(id, graph),
    });
  }

  /** Pool names documents may use. */
  get pools(): ReadonlySet<string> {
    return this.#o.admission.pools;
  }

  /** Why each waiting node of a run this replica drives is not running yet. */
  waiting(id: string): Map<number, string> {
    return this.#loop.has(id) ? this.#o.admission.waiting(id) : new Map();
  }

  /** observability: where this orchestrator reports its metrics */
  get metrics(): RunMetrics {
    return this.#o.metrics;
  }

  /** observability: levels read when metrics are scraped; O(active runs) */
  load(): RunLoad {
    return this.#loop.load();
  }

  /** Engine names documents may use: the runners', fixed at construction. */
  get engines(): ReadonlySet<string> {
    return this.#loop.engines;
  }

  get activeRuns(): number {
    return this.#loop.size;
  }

  get replicaId(): string {
    return this.#o.replicaId;
  }

  get leaseMs(): number {
    return this.#o.leaseMs;
  }

  drives(id: string): boolean {
    return this.#loop.has(id);
  }

  /** Ids of the runs this replica drives. */
  activeIds(): string[] {
    return this.#loop.ids();
  }

  /**
   * Stores the run durably, then starts it; `created` is false for a reused idempotency key,
   * `error` set when the run failed as it started (a poison run).
   * Submissions that arrive in the same tick share one store transaction (submissions.ts).
   */
  submit(graph: Graph, idempotencyKey?: string): Promise<Submitted> {
    return this.#submissions.submit(graph, idempotencyKey);
  }

  /** Starts a run just created; why it failed as it started, if it did. */
  #start(id: string, graph: Graph): string | undefined {
    if (this.#loop.stopped) return undefined;
    // created with its submitter's lease, at epoch 0
    const lease = { owner: this.#o.replicaId, epoch: 0 };
    try {
      return this.#loop.start(id, lease, graph).poisoned;
    } catch (err) {
      return this.#loop.fail(id, lease, `cannot start the run: ${messageOf(err)}`);
    }
  }

  /**
   * Starts driving a run whose lease this replica just claimed (a restart or a takeover). A
   * run that cannot be resumed (its document no longer parses, say), or that was claimed
   * more than `maxResumes` times in a row, is failed with the reason instead; throws only
   * when the store cannot be read (the lease then expires and the run is claimed again).
   */
  async adopt(record: ClaimedRun): Promise<void> {
    const loop = this.#loop;
    if (loop.stopped) return;
    const current = loop.get(record.id);
    if (current) {
      // claimed again by this replica, nobody in between: what is in memory is current
      if (current.lease.epoch === record.epoch) return;
      this.detach(record.id);
    }
    const lease = { owner: this.#o.replicaId, epoch: record.epoch };
    if (record.resumes >= this.#o.maxResumes) {
      loop.fail(
        record.id,
        lease,
        `poison: the replica resuming this run stopped before it committed anything, ` +
          `${record.resumes} times in a row; it may be what crashed them, so it is not resumed again`,
      );
      return;
    }
    // counted before the resume, so that a crash while resuming counts
    const count = { runId: record.id, lease, run: { resumes: record.resumes + 1 }, nodes: [] };
    if ((await this.#o.store.apply([count])).length > 0) return; // another replica has it
    let active: ActiveRun;
    try {
      active = await loop.restore(record, lease);
    } catch (err) {
      // the store is restarting: the lease expires and the run is claimed again
      if (this.#o.store.isTransient(err)) throw err;
      loop.fail(record.id, lease, `cannot resume the run: ${messageOf(err)}`);
      return;
    }
    loop.feed(active, resume());
    // resumed: the count goes with the resume's first commit, and waits for it, so that a
    // crash resuming the next run does not count against this one
    loop.resumed(active);
    await this.flushed();
  }

  /**
   * Stops driving a run without touching its state or its tasks: its lease went to another
   * replica, or this one is handing it over. Executor tasks keep running; the next owner
   * re-attaches to them by their idempotency keys.
   */
  detach(id: string): void {
    this.#loop.detach(id);
  }

  /**
   * Cancels a run. Returns false when another live replica drives it (see `act`), after
   * checking that the run exists and can be canceled.
   */
  cancel(id: string): Promise<boolean> {
    return this.act(id, 'cancel');
  }

  /** Re-runs the unsuccessful nodes of a finished run; false as for `cancel`. */
  retry(id: string): Promise<boolean> {
    return this.act(id, 'retry');
  }

  /**
   * Feeds `action` to the run here if this replica drives it or can take its lease (the run
   * is finished, or its driver is gone); false when another live replica holds it.
   */
  async act(id: string, action: 'cancel' | 'retry'): Promise<boolean> {
    let run = this.#loop.get(id);
    if (!run) {
      const record = await this.#o.store.getRun(id);
      if (!record) throw new RunNotFoundError(`no run with id ${id}`);
      checkAction(id, action, record.state);
      const epoch = await this.#o.store.claimRun(this.#o.replicaId, id, this.#o.leaseMs);
      if (epoch === undefined) return false;
      run =
        this.#loop.get(id) ?? (await this.#resumeToAct(record, { owner: this.replicaId, epoch }));
    }
    checkAction(id, action, run.engine.runState);
    this.#loop.feed(run, { type: action });
    await this.flushed();
    if (run.poisoned !== undefined) throw new RunStateError(`run ${id} failed: ${run.poisoned}`);
    return true;
  }

  /**
   * Restores a run just claimed to cancel or retry it, read again under the lease. One that
   * cannot be restored is a RunStateError (a 409, not a 500), and if it was unfinished it is
   * failed with the reason.
   */
  async #resumeToAct(before: RunRecord, lease: Lease): Promise<ActiveRun> {
    const record = (await this.#o.store.getRun(before.id)) ?? before;
    try {
      return await this.#loop.restore(record, lease);
    } catch (err) {
      if (this.#o.store.isTransient(err)) throw err;
      const reason = `cannot resume the run: ${messageOf(err)}`;
      if (!isFinal(record.state)) {
        this.#loop.fail(record.id, lease, reason);
        await this.flushed();
      }
      throw new RunStateError(`run ${record.id} ${reason}`);
    }
  }

  /** The captured stdout/stderr of a node's last attempt; empty when nothing ran remotely. */
  async nodeLog(id: string, node: number): Promise<string> {
    const nodes = await this.#o.store.getNodes(id);
    if (nodes.length === 0 && !(await this.#o.store.getRun(id))) {
      throw new RunNotFoundError(`no run with id ${id}`);
    }
    const record = nodes[node];
    if (!record)
      throw new NodeNotFoundError(`run ${id} has no node ${node} (it has ${nodes.length})`);
    if (!record.executor || !record.taskId) return '';
    return this.#o.readLog(record.executor, record.taskId);
  }

  /** Resolves once every change queued so far is committed. */
  flushed(): Promise<void> {
    return this.#loop.flushed();
  }

  /** Stops taking work; in-flight runs stay in the store and resume on the next start. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
