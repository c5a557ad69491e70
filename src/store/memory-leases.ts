/**
 * Leases for a store only one orchestrator process uses (SQLite): the same contract as the
 * shared ones (store.ts `Leases`), kept in memory. After a restart nobody holds anything, so
 * the new process claims every unfinished run: that is how it resumes them. Epochs come from
 * one counter, so a run never gets an epoch it had before.
 */
import type { ClaimedRun, Lease, Leases, RunRecord } from './store.ts';

interface Held extends Lease {
  expiresAt: number;
}

export interface LeaseSource {
  /** ids of initial or running runs, oldest first */
  unfinishedIds(): string[];
  /** the run, with its count of resumes */
  record(id: string): (RunRecord & { resumes: number }) | undefined;
}

export class MemoryLeases implements Leases {
  readonly #leases = new Map<string, Held>();
  #epochs = 0;
  readonly #source: LeaseSource;
  readonly #now: () => number;

  constructor(source: LeaseSource, now: () => number = Date.now) {
    this.#source = source;
    this.#now = now;
  }

  /** Records a lease taken at creation (NewRun.owner), at epoch 0. */
  hold(id: string, owner: string, leaseMs: number): void {
    this.#leases.set(id, { owner, epoch: 0, expiresAt: this.#now() + leaseMs });
  }

  /** Drops what is known of a deleted run (a later write for it is then fenced off). */
  forget(id: string): void {
    this.#leases.delete(id);
  }

  /** Whether `lease` still holds run `id` (apply's fence). */
  holds(id: string, lease: Lease): boolean {
    const held = this.#leases.get(id);
    return held !== undefined && held.owner === lease.owner && held.epoch === lease.epoch;
  }

  async claimRuns(owner: string, leaseMs: number, limit: number): Promise<ClaimedRun[]> {
    const claimed: ClaimedRun[] = [];
    for (const id of this.#source.unfinishedIds()) {
      if (claimed.length >= limit) break;
      if (!this.#free(id)) continue;
      const record = this.#source.record(id);
      if (!record) continue;
      claimed.push({ ...record, epoch: this.#take(id, owner, leaseMs) });
    }
    return claimed;
  }

  async claimRun(owner: string, id: string, leaseMs: number): Promise<number | undefined> {
    const lease = this.#leases.get(id);
    if (lease && lease.owner !== owner && !this.#free(id)) return undefined;
    return this.#take(id, owner, leaseMs);
  }

  async renewLeases(owner: string, ids: string[], leaseMs: number): Promise<string[]> {
    const kept: string[] = [];
    for (const id of ids) {
      const held = this.#leases.get(id);
      if (held?.owner !== owner) continue;
      held.expiresAt = this.#now() + leaseMs;
      kept.push(id);
    }
    return kept;
  }

  async releaseRuns(owner: string, ids: string[]): Promise<void> {
    for (const id of ids) if (this.#leases.get(id)?.owner === owner) this.#leases.delete(id);
  }

  /** Gives `owner` the lease; a new owner gets a new epoch. Returns the epoch. */
  #take(id: string, owner: string, leaseMs: number): number {
    const held = this.#leases.get(id);
    const epoch = held?.owner === owner ? held.epoch : ++this.#epochs;
    this.#leases.set(id, { owner, epoch, expiresAt: this.#now() + leaseMs });
    return epoch;
  }

  #free(id: string): boolean {
    const lease = this.#leases.get(id);
    return lease === undefined || lease.expiresAt <= this.#now();
  }
}
