/**
 * The run loop. Each active run has a RunEngine; events from runners, timers and the API are
 * fed to it and its commands are carried out here, in two halves:
 *   1. state changes are queued into the current tick's batch (one store transaction);
 *   2. side effects (dispatch, abort, timers) wait until that batch is committed, so nothing
 *      is ever started on the strength of a state that could still be lost.
 * Events for live views are published after the commit too.
 *
 * Every change is written under the run's lease (owner and epoch, see store.ts `Lease`): a
 * commit that finds the lease taken by another replica (this one was frozen, or cut off,
 * past its lease) drops that run here, with its queued events and side effects, and tells
 * its executors nothing: the new owner drives it.
 *
 * Poison runs: whatever one run does (its document no longer parses, its engine or a side
 * effect throws, the store refuses its changes for good), it fails alone, with the error
 * recorded, and every other run goes on. A throw is caught; a crash of the whole process is
 * not, so each resume is counted in the store before it starts and the count reset once the
 * resumed run committed: a run whose resume killed `maxResumes` replicas in a row is failed
 * by the next one instead of handed on forever.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Level, Logger } from 'pino';
import { RunEngine } from '../engine/engine.ts';
import {
  type AttemptResult,
  admit,
  attemptEnded,
  type Command,
  type EngineEvent,
  graphTimeout,
  resume,
  start,
  wake,
} from '../engine/events.ts';
import type { GorchNode, Graph } from '../graph/model.ts';
import { parseDocument, toDocument } from '../graph/parse.ts';
import { isFinal, State, stateName } from '../graph/states.ts';
import type {
  ClaimedRun,
  CreateResult,
  Lease,
  NewRun,
  NodeChange,
  RunChanges,
  RunRecord,
  Store,
} from '../store/store.ts';
import { Admission, type Demand } from './admission.ts';
import { resolveArgs } from './attributes.ts';
import type { EventBus, RunEvent } from './bus.ts';
import { noMetrics, type RunLoad, type RunMetrics } from './metrics.ts';
import type { AttemptOutcome, TaskRunner } from './runners.ts';
import { noTracer, type RunTracer } from './tracing.ts';

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
  scrubAttemptError?: (
    graph: Graph,
    node: GorchNode,
    outputs: ReadonlyArray<Readonly<Record<string, string>> | undefined>,
    error: string,
  ) => string;
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

interface ActiveRun {
  id: string;
  /** what this replica writes the run's changes under */
  lease: Lease;
  /** why it failed inside the orchestrator, once it did */
  poisoned?: string;
  graph: Graph;
  engine: RunEngine;
  startedAt: number | null;
  outputs: Array<Record<string, string> | undefined>;
  /**
   * When each node's current attempt started (epoch ms, strictly increasing per node). With the
   * attempt number it makes the executor idempotency key: stable across a restart (it is
   * stored with the running state) and new for every attempt of every retry round.
   */
  started: Float64Array;
  /** abort handle of each node's current attempt */
  attempts: Map<number, AbortController>;
  timers: Set<ReturnType<typeof setTimeout>>;
  /** observability: when each node became ready (performance.now()), until it is dispatched */
  readyAt: Map<number, number>;
  /** the admission of each node's current attempt, released when it ends */
  admitted: Map<number, Demand>;
}

export interface Submitted {
  id: string;
  created: boolean;
  /** the run failed as it started: why */
  error?: string;
}

interface Submission {
  graph: Graph;
  idempotencyKey?: string;
  resolve: (result: Submitted) => void;
  reject: (err: unknown) => void;
}

interface Batch {
  changes: Map<string, RunChanges>;
  events: RunEvent[];
  /** side effects, each of one run, carried out once the batch is committed */
  effects: Array<{ run: string; fn: () => void }>;
}

/** setTimeout's longest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** NUL cannot be stored in PostgreSQL text: an executor's error or output may carry one. */
const clean = (text: string): string => text.replaceAll('\u0000', '\uFFFD');

function cleanOutputs(output: Record<string, string>): Record<string, string> {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(output)) cleaned[clean(key)] = clean(String(value));
  return cleaned;
}

const newBatch = (): Batch => ({ changes: new Map(), events: [], effects: [] });

/** Node states a poison run's unfinished nodes leave (to failure). */
const UNFINISHED = [State.initial, State.torun, State.running];

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class RunNotFoundError extends Error {}
export class NodeNotFoundError extends Error {}
export class RunStateError extends Error {}
/** The replica that drives a run did not answer a forwarded action in time. */
export class ReplicaUnavailableError extends Error {}

/** Why an attempt's signal aborts when its run is handed over: the task must keep running. */
export class Detached extends Error {
  constructor() {
    super('the run moved to another replica');
  }
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
  readonly #runs = new Map<string, ActiveRun>();
  #batch = newBatch();
  #flushing: Promise<void> | null = null;
  #submissions: Submission[] = [];
  /** the changes that fail a run (`#fail`): if the store refuses even these, they are dropped */
  readonly #failing = new WeakSet<RunChanges>();
  readonly #engines: ReadonlySet<string>;
  #stopped = false;

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
    this.#engines = new Set(this.#o.runners.keys());
  }

  /** Pool names documents may use. */
  get pools(): ReadonlySet<string> {
    return this.#o.admission.pools;
  }

  /** Why each waiting node of a run this replica drives is not running yet. */
  waiting(id: string): Map<number, string> {
    return this.#runs.has(id) ? this.#o.admission.waiting(id) : new Map();
  }

  /** observability: where this orchestrator reports its metrics */
  get metrics(): RunMetrics {
    return this.#o.metrics;
  }

  /** observability: levels read when metrics are scraped; O(active runs) */
  load(): RunLoad {
    const inFlight = new Map<string, number>();
    for (const engine of this.#o.runners.keys()) inFlight.set(engine, 0);
    let dispatchQueue = 0;
    for (const run of this.#runs.values()) {
      dispatchQueue += run.readyAt.size;
      for (const node of run.attempts.keys()) {
        const { engine } = run.graph.nodes[node];
        inFlight.set(engine, (inFlight.get(engine) ?? 0) + 1);
      }
    }
    return { activeRuns: this.#runs.size, dispatchQueue, inFlight };
  }

  /** Engine names documents may use: the runners', fixed at construction. */
  get engines(): ReadonlySet<string> {
    return this.#engines;
  }

  get activeRuns(): number {
    return this.#runs.size;
  }

  /**
   * Stores the run durably, then starts it; `created` is false for a reused idempotency key,
   * `error` set when the run failed as it started (a poison run).
   * Submissions that arrive in the same tick share one store transaction (group commit): under
   * load that is one fsync for dozens of documents instead of one each.
   */
  submit(graph: Graph, idempotencyKey?: string): Promise<Submitted> {
    return new Promise((resolve, reject) => {
      if (this.#submissions.length === 0) setImmediate(() => this.#createSubmitted());
      this.#submissions.push({ graph, idempotencyKey, resolve, reject });
    });
  }

  #createSubmitted(): Promise<void> {
    const batch = this.#submissions;
    this.#submissions = [];
    return this.#create(batch);
  }

  async #create(batch: Submission[]): Promise<void> {
    const runs: NewRun[] = batch.map(({ graph, idempotencyKey }) => ({
      id: this.#o.newId(),
      name: graph.name,
      document: JSON.stringify(toDocument(graph)),
      nodeCount: graph.nodes.length,
      createdAt: this.#o.now(),
      idempotencyKey,
      owner: this.#o.replicaId,
      leaseMs: this.#o.leaseMs,
    }));
    let results: CreateResult[];
    try {
      results = await this.#o.store.createRuns(runs);
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // one bad document must not fail the others it shared a transaction with
      for (const submission of batch) await this.#create([submission]);
      return;
    }
    batch.forEach(({ graph, resolve }, i) => {
      const result: Submitted = results[i];
      if (result.created && !this.#stopped) {
        // created with its submitter's lease, at epoch 0
        const lease = { owner: this.#o.replicaId, epoch: 0 };
        try {
          const engine = new RunEngine(graph, this.#engineOptions());
          const active = this.#activate(result.id, lease, graph, engine);
          this.#feed(active, start());
          if (active.poisoned !== undefined) result.error = active.poisoned;
        } catch (err) {
          result.error = this.#fail(result.id, lease, `cannot start the run: ${messageOf(err)}`);
        }
      }
      resolve(result);
    });
  }

  get replicaId(): string {
    return this.#o.replicaId;
  }

  get leaseMs(): number {
    return this.#o.leaseMs;
  }

  drives(id: string): boolean {
    return this.#runs.has(id);
  }

  /** Ids of the runs this replica drives. */
  activeIds(): string[] {
    return [...this.#runs.keys()];
  }

  /**
   * Starts driving a run whose lease this replica just claimed (a restart or a takeover). A
   * run that cannot be resumed (its document no longer parses, say), or that was claimed
   * more than `maxResumes` times in a row, is failed with the reason instead; throws only
   * when the store cannot be read (the lease then expires and the run is claimed again).
   */
  async adopt(record: ClaimedRun): Promise<void> {
    if (this.#stopped) return;
    const current = this.#runs.get(record.id);
    if (current) {
      // claimed again by this replica, nobody in between: what is in memory is current
      if (current.lease.epoch === record.epoch) return;
      this.detach(record.id);
    }
    const lease = { owner: this.#o.replicaId, epoch: record.epoch };
    if (record.resumes >= this.#o.maxResumes) {
      this.#fail(
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
      active = await this.#restore(record, lease);
    } catch (err) {
      // the store is restarting: the lease expires and the run is claimed again
      if (this.#o.store.isTransient(err)) throw err;
      this.#fail(record.id, lease, `cannot resume the run: ${messageOf(err)}`);
      return;
    }
    this.#feed(active, resume());
    // resumed: the count goes with the resume's first commit, and waits for it, so that a
    // crash resuming the next run does not count against this one
    if (this.#runs.get(record.id) === active) {
      const changes = changesOf(this.#batch, active);
      changes.run = { ...changes.run, resumes: 0 };
      this.#scheduleFlush();
    }
    await this.flushed();
  }

  /**
   * Stops driving a run without touching its state or its tasks: its lease went to another
   * replica, or this one is handing it over. Executor tasks keep running; the next owner
   * re-attaches to them by their idempotency keys.
   */
  detach(id: string): void {
    const run = this.#runs.get(id);
    if (!run) return;
    this.#runs.delete(id);
    this.#batch.changes.delete(id);
    for (const timer of run.timers) clearTimeout(timer);
    for (const controller of run.attempts.values()) controller.abort(new Detached());
    this.#releaseAll(run);
    this.#o.tracer.runLeft(id); // observability
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
    let run = this.#runs.get(id);
    if (!run) {
      const record = await this.#o.store.getRun(id);
      if (!record) throw new RunNotFoundError(`no run with id ${id}`);
      checkAction(id, action, record.state);
      const epoch = await this.#o.store.claimRun(this.#o.replicaId, id, this.#o.leaseMs);
      if (epoch === undefined) return false;
      run =
        this.#runs.get(id) ?? (await this.#resumeToAct(record, { owner: this.replicaId, epoch }));
    }
    checkAction(id, action, run.engine.runState);
    this.#feed(run, { type: action });
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
      return await this.#restore(record, lease);
    } catch (err) {
      if (this.#o.store.isTransient(err)) throw err;
      const reason = `cannot resume the run: ${messageOf(err)}`;
      if (!isFinal(record.state)) {
        this.#fail(record.id, lease, reason);
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
  async flushed(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  /** Stops taking work; in-flight runs stay in the store and resume on the next start. */
  async stop(): Promise<void> {
    this.#halt();
    await this.flushed();
    this.#runs.clear();
  }

  /** Stops timers and attempts; what is committed stays, to be resumed by the next process. */
  #halt(): void {
    this.#stopped = true;
    for (const run of this.#runs.values()) {
      for (const timer of run.timers) clearTimeout(timer);
      for (const controller of run.attempts.values()) controller.abort(new Error('shutting down'));
    }
  }

  async #restore(record: RunRecord, lease: Lease): Promise<ActiveRun> {
    const { id, document, state: runState, startedAt } = record;
    const graph = parseDocument(JSON.parse(document), { engines: this.engines });
    const nodes = await this.#o.store.getNodes(id);
    const engine = RunEngine.restore(graph, { runState, nodes }, this.#engineOptions());
    const active = this.#activate(id, lease, graph, engine);
    active.startedAt = startedAt;
    for (const n of nodes) {
      if (n.output) active.outputs[n.node] = n.output;
      active.started[n.node] = n.startedAt ?? 0;
    }
    if (runState === State.running) {
      this.#armGraphTimeout(active);
      // observability: a new run span on this replica (not continuous across a takeover)
      this.#o.tracer.runStarted({
        id,
        name: graph.name,
        nodes: graph.nodes.length,
        startedAt: startedAt ?? this.#o.now(),
        resumed: true,
      });
    }
    return active;
  }

  #activate(id: string, lease: Lease, graph: Graph, engine: RunEngine): ActiveRun {
    const active: ActiveRun = {
      id,
      lease,
      graph,
      engine,
      startedAt: null,
      outputs: new Array(graph.nodes.length),
      started: new Float64Array(graph.nodes.length),
      attempts: new Map(),
      timers: new Set(),
      readyAt: new Map(),
      admitted: new Map(),
    };
    this.#runs.set(id, active);
    return active;
  }

  #engineOptions() {
    return { random: this.#o.random };
  }

  #feed(run: ActiveRun, event: EngineEvent): void {
    // a run handed over (or retired) takes no more events here
    if (this.#runs.get(run.id) !== run) return;
    try {
      for (const command of run.engine.handle(event)) this.#carryOut(run, command);
    } catch (err) {
      this.#poison(run, err);
    }
    this.#scheduleFlush();
  }

  /**
   * Fails a run that threw inside the orchestrator (its engine, a side effect, a commit the
   * store refuses for good): it stops being driven here, its unfinished nodes and the run
   * become failure with the error, and its attempts are aborted once that is committed.
   */
  #poison(run: ActiveRun, err: unknown): void {
    if (this.#runs.get(run.id) !== run) return;
    const reason = `failed inside the orchestrator: ${messageOf(err)}`;
    this.#o.logger.error({ err, run: run.id }, 'a run failed inside the orchestrator');
    run.poisoned = reason;
    this.#runs.delete(run.id);
    for (const timer of run.timers) clearTimeout(timer);
    run.timers.clear();
    this.#releaseAll(run);
    this.#o.tracer.runEnded(run.id, 'failure'); // observability
    this.#fail(run.id, run.lease, reason);
    const stop = new Error(`the run ${reason}`);
    this.#batch.effects.push({
      run: run.id,
      fn: () => {
        for (const controller of run.attempts.values()) controller.abort(stop);
      },
    });
  }

  /**
   * Queues the write that fails run `id` (not driven here, or no longer): the run and its
   * unfinished nodes become failure, with `reason` as the run's error, replacing whatever
   * was queued for it. Returns `reason`.
   */
  #fail(id: string, lease: Lease, reason: string): string {
    const batch = this.#batch;
    const now = this.#o.now();
    const failure: RunChanges = {
      runId: id,
      lease,
      run: { state: State.failure, stoppedAt: now, error: clean(reason) },
      bulk: { from: UNFINISHED, to: State.failure },
      nodes: [],
    };
    this.#failing.add(failure);
    batch.changes.set(id, failure);
    batch.events = batch.events.filter((event) => event.run !== id);
    batch.events.push({ run: id, state: State.failure, time: now, error: reason });
    batch.effects = batch.effects.filter((effect) => effect.run !== id);
    this.#o.metrics.runState('failure'); // observability
    this.#o.logger.error({ run: id, error: reason }, 'run failed');
    this.#scheduleFlush();
    return reason;
  }

  #carryOut(run: ActiveRun, c: Command): void {
    const batch = this.#batch;
    const now = this.#o.now();
    switch (c.type) {
      case 'nodeState': {
        const change: NodeChange = { node: c.node, state: c.state, attempts: c.attempt };
        if (c.state === State.running) {
          const startedAt = Math.max(now, run.started[c.node] + 1);
          run.started[c.node] = startedAt;
          Object.assign(change, { startedAt, stoppedAt: null, error: null });
        } else if (isFinal(c.state)) {
          change.stoppedAt = now;
        }
        if (c.error !== undefined) change.error = c.error;
        if (c.state === State.success) change.output = run.outputs[c.node] ?? null;
        changesOf(batch, run).nodes.push(change);
        batch.events.push(eventOf(run, now, c.state, c.node, c.attempt, c.error));
        this.#observeNodeState(run, c.node, c.state, c.attempt, c.error);
        return;
      }
      case 'bulkNodes':
        changesOf(batch, run).bulk = { from: c.from, to: c.to };
        // observability: the engine moves nodes in bulk only at run start, when all are initial
        for (const [engine, count] of countByEngine(run.graph)) {
          this.#o.metrics.nodeState(engine, stateName(c.to), count);
        }
        return;
      case 'runState': {
        const changes = changesOf(batch, run);
        changes.run ??= {};
        const change = changes.run;
        change.state = c.state;
        if (c.state === State.running) {
          run.startedAt ??= now;
          change.startedAt = run.startedAt;
          change.stoppedAt = null;
          batch.effects.push({ run: run.id, fn: () => this.#armGraphTimeout(run) });
        } else if (isFinal(c.state)) {
          change.stoppedAt = now;
          batch.effects.push({ run: run.id, fn: () => this.#retire(run) });
        }
        batch.events.push(eventOf(run, now, c.state));
        this.#observeRunState(run, c.state, now);
        return;
      }
      case 'ready': {
        run.readyAt.set(c.node, performance.now()); // observability: dispatch latency from here
        // Admission may start it at once: the engine has returned, so feeding it is safe.
        const demand: Demand = this.#demand(run, c.node, () => {
          if (this.#runs.get(run.id) !== run || !run.engine.isQueued(c.node)) return false;
          run.admitted.set(c.node, demand);
          this.#feed(run, admit(c.node, c.attempt));
          return true;
        });
        this.#o.admission.request(demand);
        return;
      }
      case 'dispatch':
        batch.effects.push({
          run: run.id,
          fn: () => this.#dispatch(run, c.node, c.attempt, c.reattach === true),
        });
        return;
      case 'abort':
        batch.effects.push({
          run: run.id,
          fn: () => run.attempts.get(c.node)?.abort(new Error(stateName(run.engine.runState))),
        });
        return;
      case 'wakeAfter':
        this.#nodeLog(run, c.node, 'info')?.info(
          { attempt: c.attempt + 1, delay_ms: Math.round(c.delayMs) },
          'retrying after backoff',
        );
        batch.effects.push({
          run: run.id,
          fn: () => this.#after(run, c.delayMs, () => this.#feed(run, wake(c.node, c.attempt))),
        });
        return;
    }
  }

  #dispatch(run: ActiveRun, nodeId: number, attempt: number, reattach: boolean): void {
    const readyAt = run.readyAt.get(nodeId); // observability
    run.readyAt.delete(nodeId);
    if (this.#stopped || this.#runs.get(run.id) !== run) return;
    const node = resolveArgs(run.graph, run.graph.nodes[nodeId], run.outputs);
    const runner = this.#o.runners.get(node.engine);
    const controller = new AbortController();
    run.attempts.set(nodeId, controller);
    if (reattach && !run.admitted.has(nodeId)) {
      // running before a restart or takeover: it holds its capacity without queuing again
      const held = this.#demand(run, nodeId, () => true);
      run.admitted.set(nodeId, held);
      this.#o.admission.hold(held);
    }
    // this attempt's admission; a late result of an earlier attempt must not free the next one's
    const demand = run.admitted.get(nodeId);
    const finish = (outcome: AttemptOutcome) => {
      try {
        ended(outcome);
      } catch (err) {
        this.#poison(run, err);
        this.#scheduleFlush();
      }
    };
    const ended = (outcome: AttemptOutcome) => {
      if (run.attempts.get(nodeId) === controller) run.attempts.delete(nodeId);
      if (demand && run.admitted.get(nodeId) === demand) {
        run.admitted.delete(nodeId);
        this.#o.admission.release(demand);
      }
      if (this.#stopped || this.#runs.get(run.id) !== run) return;
      // Only the current attempt of a still-running node may record outputs.
      if (run.engine.nodeState(nodeId) !== State.running || run.engine.attempts(nodeId) !== attempt)
        return;
      if (outcome.output) run.outputs[nodeId] = cleanOutputs(outcome.output);
      // no secret the node was given or produced is recorded, published or logged
      if (outcome.error !== undefined) {
        const error = clean(outcome.error);
        const scrub = this.#o.scrubAttemptError;
        outcome.error = scrub ? scrub(run.graph, node, run.outputs, error) : error;
      }
      this.#observeAttemptEnd(run, nodeId, attempt, outcome.state, outcome.error);
      this.#feed(run, attemptEnded(nodeId, attempt, outcome.state as AttemptResult, outcome.error));
    };
    this.#observeDispatch(run, nodeId, attempt, reattach, readyAt);
    if (!runner) {
      finish({ state: State.failure, error: `no runner for engine "${node.engine}"` });
      return;
    }
    if (node.timeout) {
      // Counted from the attempt's recorded start, so a re-attached attempt keeps its deadline.
      // never more than the whole timeout: a clock set back must not extend it
      const full = node.timeout * 1000;
      const left = Math.min(full, full - (this.#o.now() - run.started[nodeId]));
      this.#after(run, Math.max(0, left), () => {
        if (run.attempts.get(nodeId) !== controller) return;
        controller.abort(new Error('timeout'));
        finish({ state: State.timeout, error: `node timed out after ${node.timeout} s` });
      });
    }
    runner
      .run({
        runId: run.id,
        node,
        attempt,
        key: `${run.id}/${nodeId}/${attempt}/${run.started[nodeId]}`,
        signal: controller.signal,
        reattach,
        onDispatched: (executor, taskId) => {
          if (run.attempts.get(nodeId) !== controller || this.#runs.get(run.id) !== run) return;
          changesOf(this.#batch, run).nodes.push({ node: nodeId, executor, taskId });
          this.#scheduleFlush();
        },
      })
      .then(finish, (err: unknown) =>
        finish({ state: State.failure, error: err instanceof Error ? err.message : String(err) }),
      );
  }

  #armGraphTimeout(run: ActiveRun): void {
    const seconds = run.graph.timeout ?? this.#o.defaultGraphTimeout;
    if (!seconds || run.engine.finished) return;
    const elapsed = Math.max(0, this.#o.now() - (run.startedAt ?? this.#o.now()));
    this.#after(run, Math.max(0, seconds * 1000 - elapsed), () => this.#feed(run, graphTimeout()));
  }

  #after(run: ActiveRun, ms: number, fn: () => void): void {
    if (this.#stopped) return;
    // setTimeout fires at once past 2^31-1 ms (~24.8 days): longer waits go in steps
    const step = Math.min(ms, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      run.timers.delete(timer);
      if (ms > MAX_TIMER_MS) this.#after(run, ms - MAX_TIMER_MS, fn);
      else fn();
    }, step);
    run.timers.add(timer);
  }

  #retire(run: ActiveRun): void {
    for (const timer of run.timers) clearTimeout(timer);
    run.timers.clear();
    if (!run.engine.finished || this.#runs.get(run.id) !== run) return;
    this.#runs.delete(run.id);
    this.#releaseAll(run);
  }

  /** Gives back the capacity of a run that stops being driven here, and its queued demands. */
  #releaseAll(run: ActiveRun): void {
    const admitted = [...run.admitted.values()];
    run.admitted.clear();
    this.#o.admission.drop(run.id);
    for (const demand of admitted) this.#o.admission.release(demand);
  }

  /** What admission needs to know of a node's next attempt; `start` admits it. */
  #demand(run: ActiveRun, nodeId: number, start: () => boolean): Demand {
    const node = run.graph.nodes[nodeId];
    return {
      run: run.id,
      node: nodeId,
      priority: run.graph.priority ?? 50,
      parallelism: run.graph.parallelism ?? 0,
      pool: node.pool,
      target: node.target,
      executor: this.#o.executorOf(node),
      start,
    };
  }

  #scheduleFlush(): void {
    if (this.#flushing) return;
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#flushLoop())
      .finally(() => {
        this.#flushing = null;
        // Work queued between the loop's last check and here must not wait for the next event.
        if (this.#hasPending()) this.#scheduleFlush();
      });
  }

  #hasPending(): boolean {
    return this.#batch.changes.size > 0 || this.#batch.effects.length > 0;
  }

  /**
   * Commits batches until none is left. A commit that fails for a transient reason is retried,
   * never dropped; events and side effects of a run wait for its changes to be committed, and
   * those of a run whose changes were not (lease lost, refused) are dropped.
   */
  async #flushLoop(): Promise<void> {
    while (this.#hasPending()) {
      const batch = this.#batch;
      this.#batch = newBatch();
      const dropped = await this.#commit(batch);
      for (const event of batch.events) if (!dropped.has(event.run)) this.#o.bus.publish(event);
      for (const { run, fn } of batch.effects) {
        if (dropped.has(run)) continue;
        try {
          fn();
        } catch (err) {
          const active = this.#runs.get(run);
          if (active) this.#poison(active, err);
          else this.#o.logger.error({ err, run }, 'a side effect of a run failed');
        }
      }
    }
  }

  /**
   * Writes a batch; returns the runs whose changes were not written. When the store refuses
   * the batch for good (not a transient error), each run's changes are written alone, so
   * that a run the store refuses fails by itself (see `#refused`) and the others go on.
   */
  async #commit(batch: Batch): Promise<Set<string>> {
    const changes = [...batch.changes.values()];
    const dropped = new Set<string>();
    const lost = (ids: string[]) => {
      for (const id of ids) {
        dropped.add(id);
        this.#leaseLost(id, batch.changes.get(id)?.lease);
      }
    };
    try {
      const began = performance.now(); // observability
      lost(await this.#write(changes));
      this.#o.metrics.committed(performance.now() - began, countChanges(batch));
    } catch (err) {
      if (changes.length === 1) {
        dropped.add(changes[0].runId);
        this.#refused(changes[0], err);
        return dropped;
      }
      this.#o.logger.warn({ err }, 'store commit refused; writing run by run');
      for (const change of changes) {
        try {
          lost(await this.#write([change]));
        } catch (err) {
          dropped.add(change.runId);
          this.#refused(change, err);
        }
      }
    }
    return dropped;
  }

  /** `store.apply`, retried while it fails for a transient reason. */
  async #write(changes: RunChanges[]): Promise<string[]> {
    for (;;) {
      try {
        return await this.#o.store.apply(changes);
      } catch (err) {
        if (!this.#o.store.isTransient(err)) throw err;
        this.#o.logger.error({ err }, 'store commit failed; retrying');
        await new Promise((r) => setTimeout(r, this.#o.commitRetryMs));
      }
    }
  }

  /** Another replica took the run over: stop driving it here, telling its executors nothing. */
  #leaseLost(id: string, lease: Lease | undefined): void {
    const active = this.#runs.get(id);
    if (!active || active.lease.epoch !== lease?.epoch) return;
    this.#o.logger.warn({ run: id }, 'lost the lease of a run: another replica drives it now');
    this.detach(id);
  }

  /** The store refused a run's changes for good: the run fails (once; then it is left be). */
  #refused(change: RunChanges, err: unknown): void {
    const { runId: id, lease } = change;
    if (this.#failing.has(change) || !lease) {
      // even its failure cannot be stored: leave the run as stored; it is claimed again
      // once its lease expires, and fails as a poison run if that keeps happening
      this.#o.logger.error({ err, run: id }, 'the store refuses the failure of a run; dropped');
      return;
    }
    const reason = new Error(`the store refused its changes: ${messageOf(err)}`, { cause: err });
    const active = this.#runs.get(id);
    if (active && active.lease.epoch === lease.epoch) this.#poison(active, reason);
    else if (!active) this.#fail(id, lease, reason.message);
  }

  // ---- observability: logs, metrics and trace spans (sinks from OrchestratorOptions) ----

  /** A logger for lines about one node (run id, node id, node name), if `level` is on. */
  #nodeLog(run: ActiveRun, node: number, level: Level): Logger | undefined {
    const { logger } = this.#o;
    if (!logger.isLevelEnabled(level)) return undefined;
    return logger.child({ run: run.id, node, name: run.graph.nodes[node].name });
  }

  #observeRunState(run: ActiveRun, state: number, now: number): void {
    const name = stateName(state);
    this.#o.metrics.runState(name);
    if (state === State.running) {
      this.#o.tracer.runStarted({
        id: run.id,
        name: run.graph.name,
        nodes: run.graph.nodes.length,
        startedAt: now,
        resumed: false,
      });
      this.#o.logger.info({ run: run.id, graph: run.graph.name }, 'run started');
    } else if (isFinal(state)) {
      this.#o.tracer.runEnded(run.id, name);
      const level = state === State.success ? 'info' : 'warn';
      this.#o.logger[level]({ run: run.id, graph: run.graph.name, state: name }, 'run finished');
    }
  }

  #observeNodeState(
    run: ActiveRun,
    node: number,
    state: number,
    attempt: number,
    error?: string,
  ): void {
    this.#o.metrics.nodeState(run.graph.nodes[node].engine, stateName(state), 1);
    // a ready node that will not be dispatched (cancel, graph timeout) leaves the queue
    if (isFinal(state)) run.readyAt.delete(node);
    // A cancel or a graph timeout stops the attempts in flight: this state is their end.
    if ((state === State.canceled || state === State.timeout) && run.attempts.has(node)) {
      this.#observeAttemptEnd(run, node, attempt, state, error);
    } else if (state === State.notrunnable) {
      this.#nodeLog(run, node, 'debug')?.debug(
        { state: 'notrunnable', error },
        'node not runnable',
      );
    }
  }

  #observeDispatch(
    run: ActiveRun,
    nodeId: number,
    attempt: number,
    reattach: boolean,
    readyAt: number | undefined,
  ): void {
    const { name, engine, target } = run.graph.nodes[nodeId];
    const latencyMs = readyAt === undefined ? 0 : performance.now() - readyAt;
    if (readyAt !== undefined && !reattach) this.#o.metrics.dispatched(engine, latencyMs);
    const startedAt = run.started[nodeId];
    this.#o.tracer.attemptStarted(run.id, {
      node: nodeId,
      name,
      engine,
      target,
      attempt,
      startedAt,
      reattach,
    });
    this.#nodeLog(run, nodeId, 'debug')?.debug(
      { engine, target, attempt, latency_ms: Math.round(latencyMs * 1000) / 1000 },
      reattach ? 're-attaching to a running attempt' : 'dispatching',
    );
  }

  #observeAttemptEnd(
    run: ActiveRun,
    nodeId: number,
    attempt: number,
    state: number,
    error?: string,
  ): void {
    const name = stateName(state);
    const durationMs = this.#o.now() - run.started[nodeId];
    this.#o.metrics.attemptEnded(run.graph.nodes[nodeId].engine, name, durationMs);
    this.#o.tracer.attemptEnded(run.id, nodeId, name, error);
    const level = state === State.success || state === State.canceled ? 'info' : 'warn';
    this.#nodeLog(run, nodeId, level)?.[level](
      { attempt, state: name, duration_ms: durationMs, ...(error === undefined ? {} : { error }) },
      'attempt ended',
    );
  }
}

/** observability: how many nodes each engine has in a graph. */
function countByEngine(graph: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { engine } of graph.nodes) counts.set(engine, (counts.get(engine) ?? 0) + 1);
  return counts;
}

/** observability: state changes in one commit (node rows, plus one per run row or bulk move). */
function countChanges(batch: Batch): number {
  let n = 0;
  for (const c of batch.changes.values()) n += c.nodes.length + (c.run ? 1 : 0) + (c.bulk ? 1 : 0);
  return n;
}

function changesOf(batch: Batch, run: ActiveRun): RunChanges {
  let changes = batch.changes.get(run.id);
  if (!changes) {
    changes = { runId: run.id, lease: run.lease, nodes: [] };
    batch.changes.set(run.id, changes);
  }
  return changes;
}

function eventOf(
  run: ActiveRun,
  time: number,
  state: number,
  node?: number,
  attempt?: number,
  error?: string,
): RunEvent {
  const event: RunEvent = { run: run.id, state, time };
  if (node !== undefined) {
    event.node = node;
    event.name = run.graph.nodes[node].name;
    event.attempt = attempt;
  }
  if (error !== undefined) event.error = error;
  return event;
}
