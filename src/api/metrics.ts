/**
 * The orchestrator's metrics with prom-client, served at /metrics (health.ts). Each server has
 * its own registry (tests run several in one process). The run loop reports through the
 * `RunMetrics` interface it owns (orchestrator/metrics.ts); levels (active runs, dispatch
 * queue, attempts in flight) are read from `Orchestrator.load()` at scrape time.
 *
 * | metric | type | what |
 * |---|---|---|
 * | baton_runs_total{state} | counter | run state transitions |
 * | baton_nodes_total{engine,state} | counter | node state transitions |
 * | baton_dispatch_latency_seconds{engine} | histogram | node ready -> attempt handed to its runner |
 * | baton_node_duration_seconds{engine,state} | histogram | one attempt, start to end, by result |
 * | baton_active_runs | gauge | runs this process drives |
 * | baton_dispatch_queue_depth | gauge | nodes ready, not yet handed to a runner |
 * | baton_attempts_in_flight{engine} | gauge | attempts sent whose end is not known yet |
 * | baton_lease_takeovers_total | counter | runs claimed from a replica whose lease expired |
 * | baton_store_commit_duration_seconds | histogram | one per tick's store transaction |
 * | baton_store_commit_changes | histogram | state changes per tick's transaction |
 * | baton_nodejs_* , baton_process_* | | prom-client's default metrics (event-loop lag, ...) |
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunLoad, RunMetrics } from '../orchestrator/metrics.ts';

const RUN_STATES = ['running', 'success', 'failure', 'timeout', 'canceled'];

export class PrometheusMetrics implements RunMetrics {
  readonly registry = new Registry();
  #load: (() => RunLoad) | undefined;
  /** one scrape reads the orchestrator once, whatever the number of gauges */
  #snapshot: RunLoad | undefined;

  readonly #runs: Counter<'state'>;
  readonly #nodes: Counter<'engine' | 'state'>;
  readonly #latency: Histogram<'engine'>;
  readonly #duration: Histogram<'engine' | 'state'>;
  readonly #takeovers: Counter;
  readonly #commit: Histogram;
  readonly #commitChanges: Histogram;
  readonly #snapshots: Counter;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'baton_' });
    this.#runs = new Counter({
      name: 'baton_runs_total',
      help:
        'Run state transitions on this replica, by the state entered: running (a run started ' +
        'or a finished run was retried), success, failure, timeout, canceled',
      labelNames: ['state'],
      registers,
    });
    for (const state of RUN_STATES) this.#runs.inc({ state }, 0);
    this.#nodes = new Counter({
      name: 'baton_nodes_total',
      help:
        'Node state transitions on this replica, by engine and the state entered: torun ' +
        '(at run start, before a retry attempt, on a run retry), running (one per attempt ' +
        'dispatched), success, failure, notrunnable, timeout, canceled',
      labelNames: ['engine', 'state'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'baton_dispatch_latency_seconds',
      help:
        "Time from a node becoming ready (the orchestrator handled its last predecessor's " +
        'success, the run start, or the end of a retry backoff) to its attempt being handed ' +
        'to its runner (for executor engines: the submit request starts). Includes the wait ' +
        'for admission, for the tick and the store commit of its running state. Re-attached ' +
        'attempts are not counted',
      labelNames: ['engine'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#duration = new Histogram({
      name: 'baton_node_duration_seconds',
      help:
        'Duration of one node attempt, from its recorded start to its end, by engine and ' +
        "the attempt's result: success, failure, timeout (its own or the run's) or " +
        'canceled (the run was canceled while it ran)',
      labelNames: ['engine', 'state'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400],
      registers,
    });
    const active = new Gauge({
      name: 'baton_active_runs',
      help: 'Runs this process is driving',
      registers,
      collect: () => this.#read((load) => active.set(load.activeRuns)),
    });
    const queue = new Gauge({
      name: 'baton_dispatch_queue_depth',
      help:
        'Nodes ready to start whose attempt is not yet handed to a runner: waiting for ' +
        'admission or for the store commit of their running state',
      registers,
      collect: () => this.#read((load) => queue.set(load.dispatchQueue)),
    });
    const inFlight = new Gauge({
      name: 'baton_attempts_in_flight',
      help:
        'Attempts handed to a runner (in the orchestrator or on an executor) whose end has ' +
        'not been seen yet, by engine',
      labelNames: ['engine'],
      registers,
      collect: () =>
        this.#read((load) => {
          for (const [engine, n] of load.inFlight) inFlight.set({ engine }, n);
        }),
    });
    this.#takeovers = new Counter({
      name: 'baton_lease_takeovers_total',
      help:
        'Runs this replica claimed from another one after its lease expired or it handed ' +
        'them over (the claim of every unfinished run at start-up is not counted)',
      registers,
    });
    this.#commit = new Histogram({
      name: 'baton_store_commit_duration_seconds',
      help:
        "Duration of the store transaction that commits one tick's state changes (one per " +
        'tick; failed attempts that are retried are not counted)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#commitChanges = new Histogram({
      name: 'baton_store_commit_changes',
      help: "State changes (node and run rows) in one tick's store transaction",
      buckets: [1, 10, 100, 1000, 10_000, 100_000],
      registers,
    });
    this.#snapshots = new Counter({
      name: 'baton_sse_snapshots_total',
      help:
        'Run snapshots (the first event of GET /v1/tasks/{id}/events) read from the store and ' +
        'serialized; subscribers of a run that did not change since share one',
      registers,
    });
  }

  /** Reads the orchestrator's levels at scrape time. */
  watch(load: () => RunLoad): void {
    this.#load = load;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async scrape(): Promise<string> {
    this.#snapshot = this.#load?.();
    try {
      return await this.registry.metrics();
    } finally {
      this.#snapshot = undefined;
    }
  }

  #read(use: (load: RunLoad) => void): void {
    const load = this.#snapshot ?? this.#load?.();
    if (load) use(load);
  }

  runState(state: string): void {
    this.#runs.inc({ state });
  }

  nodeState(engine: string, state: string, count: number): void {
    this.#nodes.inc({ engine, state }, count);
  }

  dispatched(engine: string, latencyMs: number): void {
    this.#latency.observe({ engine }, latencyMs / 1000);
  }

  attemptEnded(engine: string, state: string, durationMs: number): void {
    this.#duration.observe({ engine, state }, Math.max(0, durationMs) / 1000);
  }

  committed(ms: number, changes: number): void {
    this.#commit.observe(ms / 1000);
    this.#commitChanges.observe(changes);
  }

  snapshotBuilt(): void {
    this.#snapshots.inc();
  }

  takenOver(count: number): void {
    this.#takeovers.inc(count);
  }
}
