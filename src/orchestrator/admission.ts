/**
 * Admission: which ready nodes may start now. Limits: named pools with slot counts (a node asks
 * for one slot of its `pool`), attempts in flight per executor and per target, and each run's
 * own `parallelism`. Under contention, higher run `priority` (0-99) goes first; runs of equal
 * priority take turns (round robin), so one big run cannot starve the others.
 *
 * A demand that cannot start waits in its run's queue with the reason shown to operators
 * ("pool gpu: 2/2 slots in use"). Every release pumps the queues. A pump scans queued demands
 * in priority and turn order and starts each one that fits, so a demand blocked on one
 * resource never holds back one that needs another: O(queued) per pump.
 */

export interface AdmissionLimits {
  /** slots by pool name */
  pools: ReadonlyMap<string, number>;
  /** attempts in flight per executor; 0: no limit */
  perExecutor: number;
  /** attempts in flight per target; 0: no limit */
  perTarget: number;
}

export interface Demand {
  run: string;
  node: number;
  /** 0-99, higher first */
  priority: number;
  /** the run's limit of attempts in flight; 0: none */
  parallelism: number;
  pool?: string;
  target: string;
  /** executor name; '' for engines that run in the orchestrator (no executor limit) */
  executor: string;
  /** starts the attempt; false when the node no longer wants to start (canceled meanwhile) */
  start: () => boolean;
}

class Counter {
  readonly #counts = new Map<string, number>();
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
  add(key: string, delta: number): void {
    const next = this.get(key) + delta;
    if (next <= 0) this.#counts.delete(key);
    else this.#counts.set(key, next);
  }
}

export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #inPool = new Counter();
  readonly #inExecutor = new Counter();
  readonly #inTarget = new Counter();
  readonly #inRun = new Counter();
  /** queued demands by run, in arrival order */
  readonly #queues = new Map<string, Demand[]>();
  /** runs with queued demands, by priority; the array order is the turn order */
  readonly #turns = new Map<number, string[]>();
  #queued = 0;

  readonly #poolNames: ReadonlySet<string>;

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
    this.#poolNames = new Set(limits.pools.keys());
  }

  get queued(): number {
    return this.#queued;
  }

  get pools(): ReadonlySet<string> {
    return this.#poolNames;
  }

  /** Starts the demand now if it fits and nothing of its run waits before it, else queues it. */
  request(demand: Demand): void {
    if (!this.#queues.has(demand.run) && this.#blocker(demand) === undefined) {
      this.#start(demand);
      return;
    }
    this.#enqueue(demand);
  }

  /** Counts an attempt that is already running (re-attached after a restart). */
  hold(demand: Demand): void {
    this.#count(demand, 1);
  }

  /** The attempt of an admitted demand ended: frees its capacity and starts what now fits. */
  release(demand: Demand): void {
    this.#count(demand, -1);
    this.pump();
  }

  /** Forgets the queued demands of a run (it finished, or moved to another replica). */
  drop(run: string): void {
    const queue = this.#queues.get(run);
    if (!queue) return;
    this.#queued -= queue.length;
    this.#queues.delete(run);
    const turns = this.#turns.get(queue[0].priority);
    if (turns) this.#remove(turns, run, queue[0].priority);
  }

  /** Why each queued node of a run waits. */
  waiting(run: string): Map<number, string> {
    const reasons = new Map<number, string>();
    for (const demand of this.#queues.get(run) ?? []) {
      reasons.set(demand.node, this.#blocker(demand) ?? 'waiting for its turn');
    }
    return reasons;
  }

  /** Starts every queued demand that fits, highest priority first, runs taking turns. */
  pump(): void {
    const priorities = [...this.#turns.keys()].sort((a, b) => b - a);
    for (const priority of priorities) {
      let progress = true;
      while (progress) {
        progress = false;
        const turns = this.#turns.get(priority);
        if (!turns) break;
        // one demand per run per round: equal priorities share capacity
        for (const run of [...turns]) {
          const queue = this.#queues.get(run);
          if (!queue) continue;
          const index = queue.findIndex((demand) => this.#blocker(demand) === undefined);
          if (index < 0) continue;
          const [demand] = queue.splice(index, 1);
          this.#queued--;
          if (queue.length === 0) {
            this.#queues.delete(run);
            this.#remove(turns, run, priority);
          } else {
            // this run had its turn: it goes to the back
            this.#remove(turns, run, priority);
            this.#turns.get(priority)?.push(run) ?? this.#turns.set(priority, [run]);
          }
          this.#start(demand);
          progress = true;
        }
      }
    }
  }

  #start(demand: Demand): void {
    this.#count(demand, 1);
    // a node canceled while it waited: nothing started, nothing to pump for
    if (!demand.start()) this.#count(demand, -1);
  }

  #enqueue(demand: Demand): void {
    let queue = this.#queues.get(demand.run);
    if (!queue) {
      queue = [];
      this.#queues.set(demand.run, queue);
      const turns = this.#turns.get(demand.priority);
      if (turns) turns.push(demand.run);
      else this.#turns.set(demand.priority, [demand.run]);
    }
    queue.push(demand);
    this.#queued++;
  }

  #remove(turns: string[], run: string, priority: number): void {
    const at = turns.indexOf(run);
    if (at >= 0) turns.splice(at, 1);
    if (turns.length === 0) this.#turns.delete(priority);
  }

  #count(demand: Demand, delta: number): void {
    if (demand.pool !== undefined) this.#inPool.add(demand.pool, delta);
    if (demand.executor !== '') this.#inExecutor.add(demand.executor, delta);
    this.#inTarget.add(demand.target, delta);
    this.#inRun.add(demand.run, delta);
  }

  /** Why the demand cannot start now, or undefined when it can. */
  #blocker(demand: Demand): string | undefined {
    const { pools, perExecutor, perTarget } = this.#limits;
    if (demand.parallelism > 0 && this.#inRun.get(demand.run) >= demand.parallelism) {
      return `run parallelism: ${demand.parallelism}/${demand.parallelism} nodes in flight`;
    }
    if (demand.pool !== undefined) {
      const slots = pools.get(demand.pool) ?? 0;
      const used = this.#inPool.get(demand.pool);
      if (used >= slots) return `pool ${demand.pool}: ${used}/${slots} slots in use`;
    }
    if (perExecutor > 0 && demand.executor !== '') {
      const used = this.#inExecutor.get(demand.executor);
      if (used >= perExecutor)
        return `executor ${demand.executor}: ${used}/${perExecutor} in flight`;
    }
    if (perTarget > 0 && demand.target !== '') {
      const used = this.#inTarget.get(demand.target);
      if (used >= perTarget) return `target ${demand.target}: ${used}/${perTarget} in flight`;
    }
    return undefined;
  }
}
