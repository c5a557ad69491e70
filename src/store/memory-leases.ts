/**
 * Leases for a store only one orchestrator process uses (SQLite): the same contract as the
 * shared ones (store.ts `Leases`), kept in memory. After a restart nobody holds anything, so
 * the new process claims every unfinished run: that is how it resumes them.
 */
import type { Leases, RunRecord } from './store.ts';

interface Lease {
  owner: string;
  expiresAt: number;
}

export interface LeaseSource {
  /** ids of initial or running runs, oldest first */
  unfinishedIds(): string[];
  record(id: string): RunRecord | undefined;
}

export class MemoryLeases implements Leases {
  readonly #leases = new Map<string, Lease>();
  readonly #source: LeaseSource;
  readonly #now: () => number;

  constructor(source: LeaseSource, now: () => number = Date.now) {
    this.#source = source;
    this.#now = now;
  }

  /** Records a lease taken at creation (NewRun.owner). */
  hold(id: string, owner: string, leaseMs: number): void {
    this.#leases.set(id, { owner, expiresAt: this.#now() + leaseMs });
  }

  async claimRuns(owner: string, leaseMs: number, limit: number): Promise<RunRecord[]> {
    const claimed: RunRecord[] = [];
    for (const id of this.#source.unfinishedIds()) {
      if (claimed.length >= limit) break;
      if (!this.#free(id)) continue;
      const record = this.#source.record(id);
      if (!record) continue;
      this.hold(id, owner, leaseMs);
      claimed.push(record);
    }
    return claimed;
  }

  async claimRun(owner: string, id: string, leaseMs: number): Promise<boolean> {
    const lease = this.#leases.get(id);
    if (lease && lease.owner !== owner && !this.#free(id)) return false;
    this.hold(id, owner, leaseMs);
    return true;
  }

  async renewLeases(owner: string, ids: string[], leaseMs: number): Promise<string[]> {
    const kept: string[] = [];
    for (const id of ids) {
      if (this.#leases.get(id)?.owner !== owner) continue;
      this.hold(id, owner, leaseMs);
      kept.push(id);
    }
    return kept;
  }

  async releaseRuns(owner: string, ids: string[]): Promise<void> {
    for (const id of ids) if (this.#leases.get(id)?.owner === owner) this.#leases.delete(id);
  }

  #free(id: string): boolean {
    const lease = this.#leases.get(id);
    return lease === undefined || lease.expiresAt <= this.#now();
  }
}
