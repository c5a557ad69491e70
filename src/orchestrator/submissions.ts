/**
 * Group commit of submissions (docs/architecture.md §4, step 1): the runs submitted in the
 * same tick are stored by one `Store.createRuns` transaction, each leased to this replica,
 * then started. Under load that is one fsync for dozens of documents instead of one each.
 */
import type { Graph } from '../graph/model.ts';
import { toDocument } from '../graph/parse.ts';
import type { CreateResult, NewRun, Store } from '../store/store.ts';

export interface Submitted {
  id: string;
  created: boolean;
  /** the run failed as it started: why */
  error?: string;
}

export interface SubmissionsOptions {
  store: Store;
  newId: () => string;
  now: () => number;
  /** the replica whose lease the runs are created under */
  replicaId: string;
  leaseMs: number;
  /** starts a run just stored; returns why it failed as it started, if it did */
  start: (id: string, graph: Graph) => string | undefined;
}

interface Submission {
  graph: Graph;
  idempotencyKey?: string;
  resolve: (result: Submitted) => void;
  reject: (err: unknown) => void;
}

export class Submissions {
  readonly #o: SubmissionsOptions;
  #queued: Submission[] = [];

  constructor(options: SubmissionsOptions) {
    this.#o = options;
  }

  /** Stores the run with those submitted in the same tick, then starts it. */
  submit(graph: Graph, idempotencyKey?: string): Promise<Submitted> {
    return new Promise((resolve, reject) => {
      if (this.#queued.length === 0) setImmediate(() => this.#createQueued());
      this.#queued.push({ graph, idempotencyKey, resolve, reject });
    });
  }

  #createQueued(): Promise<void> {
    const batch = this.#queued;
    this.#queued = [];
    return this.#create(batch);
  }

  async #create(batch: Submission[]): Promise<void> {
    const runs: NewRun[] = batch.map(({ graph, idempotencyKey }) => ({
      id: this.#o.newId(),
      name: graph.name,
      document: JSON.stringify(toDocument(graph)),
      nodeCount: graph.nodes.length,
      createdAt: this.#o.now(),
      idempotencyKey,
      owner: this.#o.replicaId,
      leaseMs: this.#o.leaseMs,
    }));
    let results: CreateResult[];
    try {
      results = await this.#o.store.createRuns(runs);
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // one bad document must not fail the others it shared a transaction with
      for (const submission of batch) await this.#create([submission]);
      return;
    }
    batch.forEach(({ graph, resolve }, i) => {
      const result: Submitted = results[i];
      if (result.created) {
        const error = this.#o.start(result.id, graph);
        if (error !== undefined) result.error = error;
      }
      resolve(result);
    });
  }
}
