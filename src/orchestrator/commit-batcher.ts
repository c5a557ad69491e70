/**
 * Group commit of the run loop's ticks (docs/architecture.md §4, §5). What the loop queues
 * while it handles events (state changes, live events, side effects) joins one batch, written
 * by one `Store.apply` call in one transaction once the loop yields. A run's events are
 * published and its side effects carried out only after its changes are committed, so nothing
 * is ever started on the strength of a state that could still be lost; those of a run whose
 * changes were not written (another replica holds its lease, the store refused them) are
 * dropped, and the loop is told why.
 *
 * A commit that fails for a transient reason is retried, never dropped. One the store refuses
 * for good is split: each run's changes are written alone, so only the run at fault fails.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Lease, RunChanges, Store } from '../store/store.ts';
import type { EventBus, RunEvent } from './bus.ts';
import type { RunMetrics } from './metrics.ts';

export interface CommitBatcherOptions {
  store: Store;
  bus: EventBus;
  logger: Logger;
  metrics: RunMetrics;
  /** how long to wait before retrying a failed store commit */
  commitRetryMs: number;
  /** a run's changes were not written: another replica holds its lease (fencing) */
  leaseLost: (run: string, lease: Lease | undefined) => void;
  /** the store refused a run's changes for good (not a transient error) */
  refused: (changes: RunChanges, err: unknown) => void;
  /** a side effect of a run threw */
  effectFailed: (run: string, err: unknown) => void;
}

interface Batch {
  changes: Map<string, RunChanges>;
  events: RunEvent[];
  /** side effects, each of one run, carried out once the batch is committed */
  effects: Array<{ run: string; fn: () => void }>;
}

const newBatch = (): Batch => ({ changes: new Map(), events: [], effects: [] });

export class CommitBatcher {
  readonly #o: CommitBatcherOptions;
  #batch = newBatch();
  #flushing: Promise<void> | null = null;

  constructor(options: CommitBatcherOptions) {
    this.#o = options;
  }

  /** The changes queued for a run in this batch (created empty, under the run's lease). */
  changesOf(run: { id: string; lease: Lease }): RunChanges {
    let changes = this.#batch.changes.get(run.id);
    if (!changes) {
      changes = { runId: run.id, lease: run.lease, nodes: [] };
      this.#batch.changes.set(run.id, changes);
    }
    return changes;
  }

  /** Publishes `event` on the bus once its run's changes are committed. */
  publish(event: RunEvent): void {
    this.#batch.events.push(event);
  }

  /** Calls `fn` once the changes of `run` are committed. */
  afterCommit(run: string, fn: () => void): void {
    this.#batch.effects.push({ run, fn });
  }

  /** Queues `changes` and `event` for their run instead of whatever was queued for it. */
  replace(changes: RunChanges, event: RunEvent): void {
    const batch = this.#batch;
    const id = changes.runId;
    batch.changes.set(id, changes);
    batch.events = batch.events.filter((e) => e.run !== id);
    batch.events.push(event);
    batch.effects = batch.effects.filter((effect) => effect.run !== id);
  }

  /** Drops the changes queued for a run that is no longer driven here. */
  forget(run: string): void {
    this.#batch.changes.delete(run);
  }

  /** Commits what is queued once the current tick is over (and what is queued meanwhile). */
  schedule(): void {
    if (this.#flushing) return;
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#flushLoop())
      .finally(() => {
        this.#flushing = null;
        // Work queued between the loop's last check and here must not wait for the next event.
        if (this.#hasPending()) this.schedule();
      });
  }

  /** Resolves once every change queued so far is committed. */
  async flushed(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  #hasPending(): boolean {
    return this.#batch.changes.size > 0 || this.#batch.effects.length > 0;
  }

  /** Commits batches until none is left, then publishes and carries out what each allowed. */
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
          this.#o.effectFailed(run, err);
        }
      }
    }
  }

  /**
   * Writes a batch; returns the runs whose changes were not written. When the store refuses
   * the batch for good (not a transient error), each run's changes are written alone, so
   * that a run the store refuses fails by itself and the others go on.
   */
  async #commit(batch: Batch): Promise<Set<string>> {
    const changes = [...batch.changes.values()];
    const dropped = new Set<string>();
    const lost = (ids: string[]) => {
      for (const id of ids) {
        dropped.add(id);
        this.#o.leaseLost(id, batch.changes.get(id)?.lease);
      }
    };
    try {
      const began = performance.now(); // observability
      lost(await this.#write(changes));
      this.#o.metrics.committed(performance.now() - began, countChanges(batch));
    } catch (err) {
      if (changes.length === 1) {
        dropped.add(changes[0].runId);
        this.#o.refused(changes[0], err);
        return dropped;
      }
      this.#o.logger.warn({ err }, 'store commit refused; writing run by run');
      for (const change of changes) {
        try {
          lost(await this.#write([change]));
        } catch (err) {
          dropped.add(change.runId);
          this.#o.refused(change, err);
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
}

/** observability: state changes in one commit (node rows, plus one per run row or bulk move). */
function countChanges(batch: Batch): number {
  let n = 0;
  for (const c of batch.changes.values()) n += c.nodes.length + (c.run ? 1 : 0) + (c.bulk ? 1 : 0);
  return n;
}
