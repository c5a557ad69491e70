/**
 * The run loop (docs/architecture.md §4): the runs this replica drives, each with its
 * RunEngine. Events from runners, timers and the API are fed to a run's engine and its
 * commands are carried out here, in two halves:
 *   1. state changes are queued into the current tick's batch (commit-batcher.ts: one store
 *      transaction);
 *   2. side effects (dispatch, abort, timers) wait until that batch is committed, so nothing
 *      is ever started on the strength of a state that could still be lost.
 * Events for live views are published after the commit too.
 *
 * Every change is written under the run's lease (owner and epoch, see store.ts `Lease`): a
 * commit that finds the lease taken by another replica (this one was frozen, or cut off,
 * past its lease) drops that run here, with its queued events and side effects, and tells
 * its executors nothing: the new owner drives it.
 *
 * Poison runs: whatever one run does (its engine or a side effect throws, the store refuses its
 * changes for good), it fails alone, with the error recorded, and every other run goes on.
 */
import type { Logger } from 'pino';
import { RunEngine } from '../engine/engine.ts';
import { type Command, type EngineEvent, graphTimeout, start, wake } from '../engine/events.ts';
import type { GorchNode, Graph } from '../graph/model.ts';
import { parseDocument } from '../graph/parse.ts';
import { isFinal, State, stateName } from '../graph/states.ts';
import type { Lease, NodeChange, RunChanges, RunRecord, Store } from '../store/store.ts';
import { type ActiveRun, newActiveRun } from './active-run.ts';
import type { Admission } from './admission.ts';
import { Attempts, type AttemptsOptions, clean } from './attempts.ts';
import type { EventBus, RunEvent } from './bus.ts';
import { CommitBatcher } from './commit-batcher.ts';
import { Detached, messageOf } from './errors.ts';
import type { RunLoad, RunMetrics } from './metrics.ts';
import { RunObserver } from './observer.ts';
import type { TaskRunner } from './runners.ts';
import { RunTimers } from './timers.ts';
import type { RunTracer } from './tracing.ts';

/** The orchestrator's options the loop uses (see OrchestratorOptions), defaults applied. */
export interface RunLoopOptions {
  store: Store;
  bus: EventBus;
  runners: ReadonlyMap<string, TaskRunner>;
  logger: Logger;
  defaultGraphTimeout: number;
  now: () => number;
  random: () => number;
  commitRetryMs: number;
  metrics: RunMetrics;
  tracer: RunTracer;
  admission: Admission;
  executorOf: (node: GorchNode) => string;
  scrubAttemptError?: AttemptsOptions['scrubAttemptError'];
}

/** Node states a poison run's unfinished nodes leave (to failure). */
const UNFINISHED = [State.initial, State.torun, State.running];

export class RunLoop {
  readonly #o: RunLoopOptions;
  readonly #runs = new Map<string, ActiveRun>();
  readonly #batcher: CommitBatcher;
  readonly #observer: RunObserver;
  readonly #attempts: Attempts;
  /** the changes that fail a run (`fail`): if the store refuses even these, they are dropped */
  readonly #failing = new WeakSet<RunChanges>();
  /** Engine names documents may use: the runners', fixed at construction. */
  readonly engines: ReadonlySet<string>;
  #stopped = false;

  constructor(options: RunLoopOptions) {
    this.#o = options;
    this.engines = new Set(options.runners.keys());
    this.#observer = new RunObserver(options);
    this.#batcher = new CommitBatcher({
      ...options,
      leaseLost: (id, lease) => this.#leaseLost(id, lease),
      refused: (changes, err) => this.#refused(changes, err),
      effectFailed: (id, err) => this.#effectFailed(id, err),
    });
    this.#attempts = new Attempts({
      ...options,
      loop: this,
      batcher: this.#batcher,
      observer: this.#observer,
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get size(): number {
    return this.#runs.size;
  }

  ids(): string[] {
    return [...this.#runs.keys()];
  }

  has(id: string): boolean {
    return this.#runs.has(id);
  }

  get(id: string): ActiveRun | undefined {
    return this.#runs.get(id);
  }

  drives(run: ActiveRun): boolean {
    return this.#runs.get(run.id) === run;
  }

  /** observability: levels read when metrics are scraped; O(active runs) */
  load(): RunLoad {
    return this.#observer.load(this.#o.runners.keys(), this.#runs);
  }

  /** Starts driving a run just created under `lease`. */
  start(id: string, lease: Lease, graph: Graph): ActiveRun {
    const engine = new RunEngine(graph, this.#engineOptions());
    const active = this.#activate(id, lease, graph, engine);
    this.feed(active, start());
    return active;
  }

  /** Starts driving a stored run under `lease`, as the store has it (`resume` not yet fed). */
  async restore(record: RunRecord, lease: Lease): Promise<ActiveRun> {
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
      this.#observer.runResumed(active, startedAt ?? this.#o.now());
    }
    return active;
  }

  feed(run: ActiveRun, event: EngineEvent): void {
    // a run handed over (or retired) takes no more events here
    if (this.#runs.get(run.id) !== run) return;
    try {
      for (const command of run.engine.handle(event)) this.#carryOut(run, command);
    } catch (err) {
      this.poison(run, err);
    }
    this.#batcher.schedule();
  }

  /**
   * Fails a run that threw inside the orchestrator (its engine, a side effect, a commit the
   * store refuses for good): it stops being driven here, its unfinished nodes and the run
   * become failure with the error, and its attempts are aborted once that is committed.
   */
  poison(run: ActiveRun, err: unknown): void {
    if (this.#runs.get(run.id) !== run) return;
    const reason = `failed inside the orchestrator: ${messageOf(err)}`;
    this.#o.logger.error({ err, run: run.id }, 'a run failed inside the orchestrator');
    run.poisoned = reason;
    this.#runs.delete(run.id);
    run.timers.clear();
    this.#attempts.releaseAll(run);
    this.#observer.runPoisoned(run.id);
    this.fail(run.id, run.lease, reason);
    const stop = new Error(`the run ${reason}`);
    this.#batcher.afterCommit(run.id, () => {
      for (const controller of run.attempts.values()) controller.abort(stop);
    });
  }

  /**
   * Queues the write that fails run `id` (not driven here, or no longer): the run and its
   * unfinished nodes become failure, with `reason` as the run's error, replacing whatever
   * was queued for it. Returns `reason`.
   */
  fail(id: string, lease: Lease, reason: string): string {
    const now = this.#o.now();
    const failure: RunChanges = {
      runId: id,
      lease,
      run: { state: State.failure, stoppedAt: now, error: clean(reason) },
      bulk: { from: UNFINISHED, to: State.failure },
      nodes: [],
    };
    this.#failing.add(failure);
    this.#batcher.replace(failure, { run: id, state: State.failure, time: now, error: reason });
    this.#observer.runFailed(id, reason);
    this.#batcher.schedule();
    return reason;
  }

  /** Resets the run's resume count with its next commit (see `Orchestrator.adopt`). */
  resumed(run: ActiveRun): void {
    if (this.#runs.get(run.id) !== run) return;
    const changes = this.#batcher.changesOf(run);
    changes.run = { ...changes.run, resumes: 0 };
    this.#batcher.schedule();
  }

  /** Stops driving a run without touching its state or its tasks (see `Orchestrator.detach`). */
  detach(id: string): void {
    const run = this.#runs.get(id);
    if (!run) return;
    this.#runs.delete(id);
    this.#batcher.forget(id);
    run.timers.clear();
    for (const controller of run.attempts.values()) controller.abort(new Detached());
    this.#attempts.releaseAll(run);
    this.#observer.runLeft(id);
  }

  /** Resolves once every change queued so far is committed. */
  flushed(): Promise<void> {
    return this.#batcher.flushed();
  }

  /** Stops timers and attempts; what is committed stays, to be resumed by the next process. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const run of this.#runs.values()) {
      run.timers.clear();
      for (const controller of run.attempts.values()) controller.abort(new Error('shutting down'));
    }
    await this.flushed();
    this.#runs.clear();
  }

  #activate(id: string, lease: Lease, graph: Graph, engine: RunEngine): ActiveRun {
    const active = newActiveRun(id, lease, graph, engine, new RunTimers(() => this.#stopped));
    this.#runs.set(id, active);
    return active;
  }

  #engineOptions() {
    return { random: this.#o.random };
  }

  #carryOut(run: ActiveRun, c: Command): void {
    const batcher = this.#batcher;
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
        batcher.changesOf(run).nodes.push(change);
        batcher.publish(eventOf(run, now, c.state, c.node, c.attempt, c.error));
        this.#observer.nodeState(run, c.node, c.state, c.attempt, c.error);
        return;
      }
      case 'bulkNodes':
        batcher.changesOf(run).bulk = { from: c.from, to: c.to };
        this.#observer.bulkNodes(run, c.to);
        return;
      case 'runState': {
        const changes = batcher.changesOf(run);
        changes.run ??= {};
        const change = changes.run;
        change.state = c.state;
        if (c.state === State.running) {
          run.startedAt ??= now;
          change.startedAt = run.startedAt;
          change.stoppedAt = null;
          batcher.afterCommit(run.id, () => this.#armGraphTimeout(run));
        } else if (isFinal(c.state)) {
          change.stoppedAt = now;
          batcher.afterCommit(run.id, () => this.#retire(run));
        }
        batcher.publish(eventOf(run, now, c.state));
        this.#observer.runState(run, c.state, now);
        return;
      }
      case 'ready':
        this.#observer.ready(run, c.node);
        this.#attempts.request(run, c.node, c.attempt);
        return;
      case 'dispatch':
        batcher.afterCommit(run.id, () =>
          this.#attempts.dispatch(run, c.node, c.attempt, c.reattach === true),
        );
        return;
      case 'abort':
        batcher.afterCommit(run.id, () =>
          run.attempts.get(c.node)?.abort(new Error(stateName(run.engine.runState))),
        );
        return;
      case 'wakeAfter':
        this.#observer.retrying(run, c.node, c.attempt, c.delayMs);
        batcher.afterCommit(run.id, () =>
          run.timers.after(c.delayMs, () => this.feed(run, wake(c.node, c.attempt))),
        );
        return;
    }
  }

  #armGraphTimeout(run: ActiveRun): void {
    const seconds = run.graph.timeout ?? this.#o.defaultGraphTimeout;
    if (!seconds || run.engine.finished) return;
    const elapsed = Math.max(0, this.#o.now() - (run.startedAt ?? this.#o.now()));
    run.timers.after(Math.max(0, seconds * 1000 - elapsed), () => this.feed(run, graphTimeout()));
  }

  /** A finished run, once its final state is committed: it is no longer driven here. */
  #retire(run: ActiveRun): void {
    run.timers.clear();
    if (!run.engine.finished || this.#runs.get(run.id) !== run) return;
    this.#runs.delete(run.id);
    this.#attempts.releaseAll(run);
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
    if (active && active.lease.epoch === lease.epoch) this.poison(active, reason);
    else if (!active) this.fail(id, lease, reason.message);
  }

  #effectFailed(id: string, err: unknown): void {
    const active = this.#runs.get(id);
    if (active) this.poison(active, err);
    else this.#o.logger.error({ err, run: id }, 'a side effect of a run failed');
  }
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
