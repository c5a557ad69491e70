/**
 * The scheduler of one run as a deterministic state machine: events in, commands out.
 * No I/O, no clock, no timers, no randomness of its own (jitter comes from `random`).
 * The orchestrator persists and carries out the commands and feeds results back as events.
 *
 * Node lifecycle (codes in graph/states.ts):
 *   initial ─start─> torun; a torun node whose predecessors have all succeeded is dispatched
 *   (running). An attempt ends as success, failure or timeout. A failed or timed-out attempt
 *   with retries left goes back to torun and asks for a `wake` after its backoff; the wake
 *   dispatches the next attempt. The last failure (or timeout) is final: every descendant
 *   still torun becomes notrunnable. Independent branches carry on.
 * Run lifecycle:
 *   initial ─start─> running ─> success | failure when nothing is torun or running;
 *   running ─cancel─> canceled, ─graphTimeout─> timeout: every unfinished node takes the run's
 *   state and running nodes get an `abort`. A finished run can be retried: its failure,
 *   notrunnable, timeout and canceled nodes go back to torun and it runs again.
 *
 * Cost: each node is dispatched once per attempt and each edge is looked at once when its
 * source succeeds and at most once when a failure spreads, so a whole run is O(V+E).
 */
import type { Graph } from '../graph/model.ts';
import { State, type StateCode } from '../graph/states.ts';
import type { Command, EngineEvent, EventOf, EventType } from './events.ts';

export interface EngineOptions {
  /** uniform [0,1): jitter for retry backoff; inject a fixed function in tests */
  random: () => number;
  /** ceiling of one backoff delay */
  maxBackoffMs?: number;
}

/** What a run looked like when persisted, to rebuild its engine after a restart. */
export interface Snapshot {
  runState: number;
  nodes: ArrayLike<{ state: number; attempts: number }>;
}

type Handlers = {
  [K in EventType]-?: (event: EventOf<K>, out: Command[]) => void;
};

const RETRYABLE_LAST: ReadonlySet<number> = new Set([
  State.failure,
  State.notrunnable,
  State.timeout,
  State.canceled,
]);

export class RunEngine {
  readonly graph: Graph;
  #options: Required<EngineOptions>;
  #runState: StateCode = State.initial;
  readonly #state: Uint8Array;
  /** predecessors of each node that have not succeeded yet */
  readonly #waiting: Uint32Array;
  readonly #attempts: Uint16Array;
  /** nodes in torun or running */
  #unfinished = 0;
  #handlers: Handlers;

  constructor(graph: Graph, options: EngineOptions) {
    this.graph = graph;
    this.#options = { maxBackoffMs: 3_600_000, ...options };
    const n = graph.nodes.length;
    this.#state = new Uint8Array(n);
    this.#attempts = new Uint16Array(n);
    this.#waiting = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.#waiting[i] = graph.predStart[i + 1] - graph.predStart[i];
    this.#handlers = {
      start: (_e, out) => this.#onStart(out),
      resume: (_e, out) => this.#onResume(out),
      attemptEnded: (e, out) => this.#onAttemptEnded(e, out),
      wake: (e, out) => this.#onWake(e, out),
      cancel: (_e, out) => this.#stopAll(State.canceled, out),
      graphTimeout: (_e, out) => this.#stopAll(State.timeout, out),
      retry: (_e, out) => this.#onRetry(out),
    };
  }

  /** Rebuilds the engine of a persisted run; follow with a `resume` event. */
  static restore(graph: Graph, snapshot: Snapshot, options: EngineOptions): RunEngine {
    const engine = new RunEngine(graph, options);
    engine.#load(snapshot);
    return engine;
  }

  get runState(): StateCode {
    return this.#runState;
  }

  get finished(): boolean {
    return this.#runState !== State.initial && this.#runState !== State.running;
  }

  nodeState(node: number): StateCode {
    return this.#state[node] as StateCode;
  }

  attempts(node: number): number {
    return this.#attempts[node];
  }

  /** Feeds one event; returns the commands to carry out, in order. */
  handle(event: EngineEvent): Command[] {
    const out: Command[] = [];
    (this.#handlers[event.type] as (e: EngineEvent, out: Command[]) => void)(event, out);
    return out;
  }

  #onStart(out: Command[]): void {
    if (this.#runState !== State.initial) return;
    const n = this.graph.nodes.length;
    this.#state.fill(State.torun);
    this.#unfinished = n;
    this.#setRun(State.running, out);
    out.push({ type: 'bulkNodes', from: [State.initial], to: State.torun });
    for (let i = 0; i < n; i++) if (this.#waiting[i] === 0) this.#dispatch(i, out);
    this.#finishIfDone(out);
  }

  #onResume(out: Command[]): void {
    if (this.#runState === State.initial) {
      this.#onStart(out);
      return;
    }
    if (this.finished) return;
    const n = this.graph.nodes.length;
    for (let i = 0; i < n; i++) {
      const s = this.#state[i];
      // A running node may still be running on its executor: re-attach to that attempt.
      if (s === State.running) {
        out.push({ type: 'dispatch', node: i, attempt: this.#attempts[i], reattach: true });
      }
      // A torun node with nothing to wait for was between attempts or about to start.
      else if (s === State.torun && this.#waiting[i] === 0) this.#dispatch(i, out);
    }
    this.#finishIfDone(out);
  }

  #onAttemptEnded(e: EventOf<'attemptEnded'>, out: Command[]): void {
    const { node, attempt } = e;
    // Late or duplicate results (after cancel, or from a superseded attempt) change nothing.
    if (this.#state[node] !== State.running || this.#attempts[node] !== attempt) return;
    if (e.state === State.success) {
      this.#finishNode(node, State.success, out, e.error);
      const { succStart, succ } = this.graph;
      for (let k = succStart[node]; k < succStart[node + 1]; k++) {
        const next = succ[k];
        if (--this.#waiting[next] === 0 && this.#state[next] === State.torun) {
          this.#dispatch(next, out);
        }
      }
    } else {
      const retries = this.graph.nodes[node].retries;
      if (retries && attempt <= retries.count) {
        this.#state[node] = State.torun;
        out.push({ type: 'nodeState', node, state: State.torun, attempt, error: e.error });
        out.push({
          type: 'wakeAfter',
          node,
          attempt,
          delayMs: this.#backoff(retries.backoff_s, attempt),
        });
        return;
      }
      this.#finishNode(node, e.state, out, e.error);
      this.#markDescendantsNotRunnable(node, out);
    }
    this.#finishIfDone(out);
  }

  #onWake(e: EventOf<'wake'>, out: Command[]): void {
    if (this.#state[e.node] !== State.torun || this.#attempts[e.node] !== e.attempt) return;
    this.#dispatch(e.node, out);
  }

  #stopAll(state: typeof State.canceled | typeof State.timeout, out: Command[]): void {
    if (this.finished) return;
    const n = this.graph.nodes.length;
    for (let i = 0; i < n; i++) {
      const s = this.#state[i];
      if (s === State.running) out.push({ type: 'abort', node: i, attempt: this.#attempts[i] });
      if (s === State.running || s === State.torun || s === State.initial) {
        this.#state[i] = state;
        out.push({ type: 'nodeState', node: i, state, attempt: this.#attempts[i] });
      }
    }
    this.#unfinished = 0;
    this.#setRun(state, out);
  }

  #onRetry(out: Command[]): void {
    if (!this.finished || this.#runState === State.success) return;
    const n = this.graph.nodes.length;
    for (let i = 0; i < n; i++) {
      if (!RETRYABLE_LAST.has(this.#state[i])) continue;
      this.#state[i] = State.torun;
      this.#attempts[i] = 0;
      this.#unfinished++;
      out.push({ type: 'nodeState', node: i, state: State.torun, attempt: 0 });
    }
    this.#recountWaiting();
    this.#setRun(State.running, out);
    for (let i = 0; i < n; i++) {
      if (this.#state[i] === State.torun && this.#waiting[i] === 0) this.#dispatch(i, out);
    }
  }

  #dispatch(node: number, out: Command[]): void {
    const attempt = ++this.#attempts[node];
    this.#state[node] = State.running;
    out.push({ type: 'nodeState', node, state: State.running, attempt });
    out.push({ type: 'dispatch', node, attempt });
  }

  #finishNode(node: number, state: StateCode, out: Command[], error?: string): void {
    this.#state[node] = state;
    this.#unfinished--;
    out.push({ type: 'nodeState', node, state, attempt: this.#attempts[node], error });
  }

  /** Iterative DFS over successors; a node already notrunnable was reached before. */
  #markDescendantsNotRunnable(from: number, out: Command[]): void {
    const { succStart, succ } = this.graph;
    const stack = [from];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (let k = succStart[node]; k < succStart[node + 1]; k++) {
        const next = succ[k];
        if (this.#state[next] !== State.torun) continue;
        this.#state[next] = State.notrunnable;
        this.#unfinished--;
        out.push({
          type: 'nodeState',
          node: next,
          state: State.notrunnable,
          attempt: this.#attempts[next],
          error: `upstream node "${this.graph.nodes[from].name}" did not succeed`,
        });
        stack.push(next);
      }
    }
  }

  #finishIfDone(out: Command[]): void {
    if (this.#unfinished > 0 || this.#runState !== State.running) return;
    const n = this.graph.nodes.length;
    let allSucceeded = true;
    for (let i = 0; i < n && allSucceeded; i++) allSucceeded = this.#state[i] === State.success;
    this.#setRun(allSucceeded ? State.success : State.failure, out);
  }

  #setRun(state: StateCode, out: Command[]): void {
    this.#runState = state;
    out.push({ type: 'runState', state });
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, capped. */
  #backoff(baseSeconds: number, attempt: number): number {
    const full = Math.min(this.#options.maxBackoffMs, baseSeconds * 1000 * 2 ** (attempt - 1));
    return Math.round(full / 2 + (full / 2) * this.#options.random());
  }

  #load(snapshot: Snapshot): void {
    const n = this.graph.nodes.length;
    if (snapshot.nodes.length !== n) {
      throw new RangeError(`snapshot has ${snapshot.nodes.length} nodes, graph has ${n}`);
    }
    this.#runState = snapshot.runState as StateCode;
    for (let i = 0; i < n; i++) {
      const { state, attempts } = snapshot.nodes[i];
      // A run that started but whose nodes were still initial crashed inside its first tick.
      this.#state[i] =
        state === State.initial && this.#runState !== State.initial ? State.torun : state;
      this.#attempts[i] = attempts;
      if (this.#state[i] === State.torun || this.#state[i] === State.running) this.#unfinished++;
    }
    this.#recountWaiting();
  }

  #recountWaiting(): void {
    const { predStart, pred } = this.graph;
    for (let i = 0; i < this.graph.nodes.length; i++) {
      let waiting = 0;
      for (let k = predStart[i]; k < predStart[i + 1]; k++) {
        if (this.#state[pred[k]] !== State.success) waiting++;
      }
      this.#waiting[i] = waiting;
    }
  }
}
