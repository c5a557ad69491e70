/**
 * The first event of a run's SSE stream, built once and shared by every subscriber of that
 * run until the run changes. A snapshot of a 20,000-node run is ~750 KB of JSON read from
 * the store and serialized on the event loop: built per subscriber, 200 subscribers stalled
 * the server for 10 s and more.
 *
 * Why a shared snapshot is as good as one's own: the events route subscribes to the bus
 * before it asks for the snapshot, and an entry subscribes before it reads the store. Any
 * event after an entry was made marks it stale, and a stale entry is never handed out again.
 * So a subscriber that gets an entry saw no event between the entry's reads and its own
 * subscription: the snapshot and the events it buffered since cover every change (a change
 * may appear in both, which is harmless: states are idempotent).
 */
import type { EventBus, RunEvent } from '../orchestrator/bus.ts';
import type { Store } from '../store/store.ts';
import { eventScrubber } from './secrets.ts';

export interface Snapshot {
  /** the run's state when the snapshot was read */
  state: number;
  /** the whole first SSE event (`id: 1`, `event: snapshot`), the same bytes for everyone */
  frame: Buffer;
  /** scrubs the run's secret values (its document's and its outputs') from its state events */
  scrub: (event: RunEvent) => RunEvent;
}

/** A snapshot in use by a stream; `release` it when the stream ends. */
export interface SnapshotLease {
  /** undefined: no such run */
  snapshot: Snapshot | undefined;
  release(): void;
}

interface Entry {
  snapshot: Promise<Snapshot | undefined>;
  stale: boolean;
  users: number;
  unsubscribe: () => void;
}

export class SnapshotCache {
  readonly #entries = new Map<string, Entry>();
  readonly #store: Pick<Store, 'getRun' | 'getNodes'>;
  readonly #bus: EventBus;
  readonly #built: () => void;

  /** `built` is called once per snapshot read from the store (for /metrics). */
  constructor(store: Pick<Store, 'getRun' | 'getNodes'>, bus: EventBus, built: () => void) {
    this.#store = store;
    this.#bus = bus;
    this.#built = built;
  }

  /** The run's current snapshot: call only once the stream listens to the run's events. */
  async acquire(id: string): Promise<SnapshotLease> {
    let entry = this.#entries.get(id);
    if (entry === undefined || entry.stale) entry = this.#build(id);
    const used = entry;
    used.users++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--used.users === 0) this.#drop(id, used);
    };
    try {
      const snapshot = await used.snapshot;
      if (snapshot === undefined) release();
      return { snapshot, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Runs with a snapshot in use (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #build(id: string): Entry {
    const entry: Entry = {
      snapshot: Promise.resolve(undefined),
      stale: false,
      users: 0,
      unsubscribe: () => {},
    };
    const unsubscribe = this.#bus.subscribe(id, () => {
      entry.stale = true;
      this.#drop(id, entry);
    });
    // the bus's unsubscribe must run once: a second call could drop a newer listener set
    let subscribed = true;
    entry.unsubscribe = () => {
      if (subscribed) unsubscribe();
      subscribed = false;
    };
    this.#entries.set(id, entry);
    entry.snapshot = this.#read(id);
    // a failed read, or a run that does not exist, is not kept for the next subscriber
    entry.snapshot.then(
      (snapshot) => {
        if (snapshot === undefined) entry.stale = true;
      },
      () => {
        entry.stale = true;
      },
    );
    return entry;
  }

  async #read(id: string): Promise<Snapshot | undefined> {
    const run = await this.#store.getRun(id);
    if (run === undefined) return undefined;
    const nodes = await this.#store.getNodes(id);
    const data = JSON.stringify({
      run: id,
      state: run.state,
      nodes: nodes.map((n) => ({ node: n.node, state: n.state, attempts: n.attempts })),
    });
    this.#built();
    return {
      state: run.state,
      frame: Buffer.from(`id: 1\nevent: snapshot\ndata: ${data}\n\n`),
      scrub: eventScrubber(run.document, nodes),
    };
  }

  /** Forgets `entry` (stale, or unused): later subscribers read a new snapshot. */
  #drop(id: string, entry: Entry): void {
    entry.unsubscribe();
    if (this.#entries.get(id) === entry) this.#entries.delete(id);
  }
}
