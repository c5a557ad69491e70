/**
 * The scheduler of one run as a deterministic state machine: events in, commands out.
 * No I/O, no clock, no timers, no randomness of its own (jitter comes from `random`).
 * The orchestrator persists and carries out the commands and feeds results back as events.
 *
 * Node lifecycle (codes in graph/states.ts):
 *   initial ─start─> torun; a torun node is dispatched (running) once all its predecessors are
 *   final and its condition holds: by default all_success (every predecessor succeeded), or
 *   its `depends` expression. As soon as the condition can no longer hold it becomes
 *   notrunnable, which is final too and is decided on in turn for its successors: without
 *   `depends`, a failure makes every descendant notrunnable while independent branches carry
 *   on. An attempt ends as success, failure or timeout. A failed or timed-out attempt with
 *   retries left goes back to torun and asks for a `wake` after its backoff; the wake
 *   dispatches the next attempt. The last failure (or timeout) is final.
 *   A node that may start is first `ready` (still torun, queued for admission: pools, limits,
 *   priorities are the orchestrator's business); `admit` starts its attempt (running).
 * Run lifecycle:
 *   initial ─start─> running ─> when nothing is torun or running: failure if a node failed or
 *   timed out, else success (so without `depends`: success iff every node succeeded);
 *   running ─cancel─> canceled, ─graphTimeout─> timeout: every unfinished node takes the run's
 *   state and running nodes get an `abort`. A finished run can be retried: its failure,
 *   notrunnable, timeout and canceled nodes go back to torun and it runs again.
 *
 * Cost: each node is dispatched once per attempt and each edge is looked at once when its
 * source reaches a final state, so a whole run is O(V+E) (times the size of the `depends`
 * expressions, which are evaluated when one of their predecessors ends).
 */
import type { Graph } from '../graph/model.ts';
import { State, type StateCode } from '../graph/states.ts';
import { evaluate, Truth, type TruthValue } from './condition.ts';
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

/** Node states that make a finished run a failure (notrunnable alone does not). */
const FAILED_NODE: ReadonlySet<number> = new Set([State.failure, State.timeout, State.canceled]);

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
  /** predecessors of each node that are not final yet */
  readonly #pending: Uint32Array;
  readonly #attempts: Uint16Array;
  /** torun nodes announced `ready` and not admitted yet */
  readonly #queued: Uint8Array;
  /** nodes in torun or running */
  #unfinished = 0;
  #handlers: Handlers;

  constructor(graph: Graph, options: EngineOptions) {
    this.graph = graph;
    this.#options = { maxBackoffMs: 3_600_000, ...options };
    const n = graph.nodes.length;
    this.#state = new Uint8Array(n);
    this.#attempts = new Uint16Array(n);
    this.#queued = new Uint8Array(n);
    this.#pending = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.#pending[i] = graph.predStart[i + 1] - graph.predStart[i];
    this.#handlers = {
      start: (_e, out) => this.#onStart(out),
      resume: (_e, out) => this.#onResume(out),
      attemptEnded: (e, out) => this.#onAttemptEnded(e, out),
      wake: (e, out) => this.#onWake(e, out),
      admit: (e, out) => this.#onAdmit(e, out),
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
    for (let i = 0; i < n; i++) if (this.#pending[i] === 0) this.#decideAfresh(i, out);
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
      // A torun node was between attempts, about to start, or still waiting.
      else if (s === State.torun) this.#decideAfresh(i, out);
    }
    this.#finishIfDone(out);
  }

  #onAttemptEnded(e: EventOf<'attemptEnded'>, out: Command[]): void {
    const { node, attempt } = e;
    // Late or duplicate results (after cancel, or from a superseded attempt) change nothing.
    if (this.#state[node] !== State.running || this.#attempts[node] !== attempt) return;
    if (e.state === State.success) {
      this.#finishNode(node, State.success, out, e.error);
      this.#settle(node, out);
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
      this.#settle(node, out);
    }
    this.#finishIfDone(out);
  }

  #onWake(e: EventOf<'wake'>, out: Command[]): void {
    if (this.#state[e.node] !== State.torun || this.#attempts[e.node] !== e.attempt) return;
    this.#ready(e.node, out);
  }

  #onAdmit(e: EventOf<'admit'>, out: Command[]): void {
    const { node } = e;
    if (this.#state[node] !== State.torun || !this.#queued[node]) return;
    if (this.#attempts[node] + 1 !== e.attempt) return;
    this.#queued[node] = 0;
    this.#dispatch(node, out);
  }

  /** Whether a torun node waits for admission. */
  isQueued(node: number): boolean {
    return this.#queued[node] === 1;
  }

  #stopAll(state: typeof State.canceled | typeof State.timeout, out: Command[]): void {
    if (this.finished) return;
    const n = this.graph.nodes.length;
    for (let i = 0; i < n; i++) {
      const s = this.#state[i];
      if (s === State.running) out.push({ type: 'abort', node: i, attempt: this.#attempts[i] });
      if (s === State.running || s === State.torun || s === State.initial) {
        this.#state[i] = state;
        this.#queued[i] = 0;
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
    this.#recountPending();
    this.#setRun(State.running, out);
    for (let i = 0; i < n; i++) if (this.#state[i] === State.torun) this.#decideAfresh(i, out);
    this.#finishIfDone(out);
  }

  /** Asks for the admission of the node's next attempt. */
  #ready(node: number, out: Command[]): void {
    if (this.#queued[node]) return;
    this.#queued[node] = 1;
    out.push({ type: 'ready', node, attempt: this.#attempts[node] + 1 });
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

  /**
   * `node` just reached a final state: each successor has one predecessor less to wait for,
   * and is decided on. Notrunnable verdicts spread the same way, with a stack, not recursion.
   */
  #settle(node: number, out: Command[]): void {
    const { succStart, succ } = this.graph;
    const stack = [node];
    while (stack.length > 0) {
      const done = stack.pop()!;
      for (let k = succStart[done]; k < succStart[done + 1]; k++) {
        const next = succ[k];
        this.#pending[next]--;
        if (this.#state[next] === State.torun && this.#decide(next, done, out) === Truth.false) {
          stack.push(next);
        }
      }
    }
  }

  /**
   * Dispatches a torun node whose predecessors are all final and whose condition holds, or
   * makes it notrunnable once its condition cannot hold. `changed` is the predecessor that
   * just ended (-1 when deciding afresh). Returns the condition's value.
   */
  #decide(node: number, changed: number, out: Command[]): TruthValue {
    if (this.#attempts[node] > 0 && this.#pending[node] === 0) {
      // between attempts after a restart: its condition held when it first started
      this.#ready(node, out);
      return Truth.true;
    }
    const condition = this.graph.conditions.get(node);
    let value: TruthValue;
    let blame = changed;
    if (condition) {
      value = evaluate(condition, (i) => this.#state[i]);
    } else if (changed >= 0) {
      value = this.#state[changed] !== State.success ? Truth.false : this.#allDone(node);
    } else {
      blame = this.#firstUnsuccessful(node);
      value = blame >= 0 ? Truth.false : this.#allDone(node);
    }
    if (value === Truth.false) {
      const error = condition
        ? `condition ${JSON.stringify(this.graph.nodes[node].depends)} is false`
        : `upstream node "${this.graph.nodes[blame].name}" did not succeed`;
      this.#finishNode(node, State.notrunnable, out, error);
    } else if (this.#pending[node] === 0) {
      if (value === Truth.true) this.#ready(node, out);
    }
    return value;
  }

  /** Decides a node with no predecessor just ended (start, resume, retry) and spreads a no. */
  #decideAfresh(node: number, out: Command[]): void {
    // an earlier decision in the same pass may have settled it already
    if (this.#state[node] !== State.torun) return;
    if (this.#decide(node, -1, out) === Truth.false) this.#settle(node, out);
  }

  #allDone(node: number): TruthValue {
    return this.#pending[node] === 0 ? Truth.true : Truth.unknown;
  }

  /** A final, unsuccessful predecessor (for the default condition after a restart), or -1. */
  #firstUnsuccessful(node: number): number {
    const { predStart, pred } = this.graph;
    for (let k = predStart[node]; k < predStart[node + 1]; k++) {
      const s = this.#state[pred[k]];
      if (s >= State.success && s !== State.success) return pred[k];
    }
    return -1;
  }

  #finishIfDone(out: Command[]): void {
    if (this.#unfinished > 0 || this.#runState !== State.running) return;
    const n = this.graph.nodes.length;
    let failed = false;
    for (let i = 0; i < n && !failed; i++) failed = FAILED_NODE.has(this.#state[i]);
    this.#setRun(failed ? State.failure : State.success, out);
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
    this.#recountPending();
  }

  #recountPending(): void {
    const { predStart, pred } = this.graph;
    for (let i = 0; i < this.graph.nodes.length; i++) {
      let pending = 0;
      for (let k = predStart[i]; k < predStart[i + 1]; k++) {
        if (this.#state[pred[k]] < State.success) pending++;
      }
      this.#pending[i] = pending;
    }
  }
}
