/**
 * Run events for live views (SSE, the CLI's --watch, the UI). In-process for now; with
 * several replicas the PostgreSQL store relays them with LISTEN/NOTIFY into the same bus.
 * Events are published only after the change they describe is committed.
 */
export interface RunEvent {
  run: string;
  /** absent for a change of the run itself */
  node?: number;
  name?: string;
  state: number;
  attempt?: number;
  error?: string;
  time: number;
}

export type Listener = (event: RunEvent) => void;

export class EventBus {
  #byRun = new Map<string, Set<Listener>>();
  #all = new Set<Listener>();

  /** Listens to one run, or to every run with '*'. Returns the unsubscribe function. */
  subscribe(run: string, listener: Listener): () => void {
    if (run === '*') {
      this.#all.add(listener);
      return () => this.#all.delete(listener);
    }
    let set = this.#byRun.get(run);
    if (!set) {
      set = new Set();
      this.#byRun.set(run, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#byRun.delete(run);
    };
  }

  publish(event: RunEvent): void {
    for (const listener of this.#byRun.get(event.run) ?? []) listener(event);
    for (const listener of this.#all) listener(event);
  }
}
