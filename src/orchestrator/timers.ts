/**
 * The run loop's timers: a node's own timeout, a retry's backoff, the run's graph timeout
 * (docs/architecture.md §4). Each run keeps its pending timers so that they can all be
 * cleared when it stops being driven here (finished, failed, handed over, or the orchestrator
 * stops); the deadlines themselves are counted from the start times stored with the run, so a
 * run resumed elsewhere keeps them.
 */

/** setTimeout's longest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The pending timers of one run. */
export class RunTimers {
  readonly #pending = new Set<ReturnType<typeof setTimeout>>();
  /** true once the orchestrator has stopped: no timer is set any more */
  readonly #halted: () => boolean;

  constructor(halted: () => boolean) {
    this.#halted = halted;
  }

  /** Calls `fn` after `ms`, unless the timers are cleared first. */
  after(ms: number, fn: () => void): void {
    if (this.#halted()) return;
    // setTimeout fires at once past 2^31-1 ms (~24.8 days): longer waits go in steps
    const step = Math.min(ms, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      if (ms > MAX_TIMER_MS) this.after(ms - MAX_TIMER_MS, fn);
      else fn();
    }, step);
    this.#pending.add(timer);
  }

  /** Cancels every pending timer. */
  clear(): void {
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
  }
}
