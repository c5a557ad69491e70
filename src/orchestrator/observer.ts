/**
 * The run loop's observability hooks: log lines, metrics (the `RunMetrics` sink of
 * metrics.ts) and trace spans (the `RunTracer` sink of tracing.ts) about runs, nodes and
 * attempts. Reporting only: nothing here changes a run or what is stored.
 */
import { performance } from 'node:perf_hooks';
import type { Level, Logger } from 'pino';
import type { Graph } from '../graph/model.ts';
import { isFinal, State, stateName } from '../graph/states.ts';
import type { ActiveRun } from './active-run.ts';
import type { RunLoad, RunMetrics } from './metrics.ts';
import type { RunTracer } from './tracing.ts';

export interface ObserverOptions {
  logger: Logger;
  metrics: RunMetrics;
  tracer: RunTracer;
  now: () => number;
}

export class RunObserver {
  readonly #o: ObserverOptions;

  constructor(options: ObserverOptions) {
    this.#o = options;
  }

  /** Levels read when metrics are scraped; O(active runs). */
  load(engines: Iterable<string>, runs: ReadonlyMap<string, ActiveRun>): RunLoad {
    const inFlight = new Map<string, number>();
    for (const engine of engines) inFlight.set(engine, 0);
    let dispatchQueue = 0;
    for (const run of runs.values()) {
      dispatchQueue += run.readyAt.size;
      for (const node of run.attempts.keys()) {
        const { engine } = run.graph.nodes[node];
        inFlight.set(engine, (inFlight.get(engine) ?? 0) + 1);
      }
    }
    return { activeRuns: runs.size, dispatchQueue, inFlight };
  }

  /** A logger for lines about one node (run id, node id, node name), if `level` is on. */
  nodeLog(run: ActiveRun, node: number, level: Level): Logger | undefined {
    const { logger } = this.#o;
    if (!logger.isLevelEnabled(level)) return undefined;
    return logger.child({ run: run.id, node, name: run.graph.nodes[node].name });
  }

  runState(run: ActiveRun, state: number, now: number): void {
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

  /** A run this replica began driving while it was already running (a restart, a takeover). */
  runResumed(run: ActiveRun, startedAt: number): void {
    // a new run span on this replica: spans are not continuous across a takeover
    this.#o.tracer.runStarted({
      id: run.id,
      name: run.graph.name,
      nodes: run.graph.nodes.length,
      startedAt,
      resumed: true,
    });
  }

  /** This replica stopped driving a run that goes on elsewhere. */
  runLeft(id: string): void {
    this.#o.tracer.runLeft(id);
  }

  /** A run failed inside the orchestrator (a poison run): its span ends here. */
  runPoisoned(id: string): void {
    this.#o.tracer.runEnded(id, 'failure');
  }

  /** A run was failed by the orchestrator (poison, refused by the store, cannot resume). */
  runFailed(id: string, reason: string): void {
    this.#o.metrics.runState('failure');
    this.#o.logger.error({ run: id, error: reason }, 'run failed');
  }

  nodeState(run: ActiveRun, node: number, state: number, attempt: number, error?: string): void {
    this.#o.metrics.nodeState(run.graph.nodes[node].engine, stateName(state), 1);
    // a ready node that will not be dispatched (cancel, graph timeout) leaves the queue
    if (isFinal(state)) run.readyAt.delete(node);
    // A cancel or a graph timeout stops the attempts in flight: this state is their end.
    if ((state === State.canceled || state === State.timeout) && run.attempts.has(node)) {
      this.attemptEnd(run, node, attempt, state, error);
    } else if (state === State.notrunnable) {
      this.nodeLog(run, node, 'debug')?.debug({ state: 'notrunnable', error }, 'node not runnable');
    }
  }

  /** The engine moved every node to `state` (it does so only at run start, all initial). */
  bulkNodes(run: ActiveRun, state: number): void {
    for (const [engine, count] of countByEngine(run.graph)) {
      this.#o.metrics.nodeState(engine, stateName(state), count);
    }
  }

  /** A node became ready: dispatch latency is counted from here. */
  ready(run: ActiveRun, node: number): void {
    run.readyAt.set(node, performance.now());
  }

  retrying(run: ActiveRun, node: number, attempt: number, delayMs: number): void {
    this.nodeLog(run, node, 'info')?.info(
      { attempt: attempt + 1, delay_ms: Math.round(delayMs) },
      'retrying after backoff',
    );
  }

  dispatch(
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
    this.nodeLog(run, nodeId, 'debug')?.debug(
      { engine, target, attempt, latency_ms: Math.round(latencyMs * 1000) / 1000 },
      reattach ? 're-attaching to a running attempt' : 'dispatching',
    );
  }

  attemptEnd(run: ActiveRun, nodeId: number, attempt: number, state: number, error?: string): void {
    const name = stateName(state);
    const durationMs = this.#o.now() - run.started[nodeId];
    this.#o.metrics.attemptEnded(run.graph.nodes[nodeId].engine, name, durationMs);
    this.#o.tracer.attemptEnded(run.id, nodeId, name, error);
    const level = state === State.success || state === State.canceled ? 'info' : 'warn';
    this.nodeLog(run, nodeId, level)?.[level](
      { attempt, state: name, duration_ms: durationMs, ...(error === undefined ? {} : { error }) },
      'attempt ended',
    );
  }
}

/** How many nodes each engine has in a graph. */
function countByEngine(graph: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { engine } of graph.nodes) counts.set(engine, (counts.get(engine) ?? 0) + 1);
  return counts;
}
