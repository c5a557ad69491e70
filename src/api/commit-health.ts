/**
 * Whether the store can commit, for `/healthz`: a store whose reads still work while its
 * commits fail (a full disk, a read-only file system) is not ready, though a read-only probe
 * says it is. The store given to the orchestrator and the API is wrapped so that the outcome
 * of every commit that writes rows (new runs, a tick's changes) is recorded: after a
 * transient failure and until the next commit that succeeds, the store is "failing".
 * Failures of one request's data (a constraint, a bad value) say nothing about the store and
 * are not counted. A commit that writes nothing (every submission an idempotent replay) is
 * no evidence either way.
 */
import type { CreateResult, Store } from '../store/store.ts';

export class CommitHealth {
  #failure: string | null = null;

  /** why the last commit failed, while no commit has succeeded since; null when healthy */
  get failure(): string | null {
    return this.#failure;
  }

  succeeded(): void {
    this.#failure = null;
  }

  failed(err: unknown): void {
    this.#failure = err instanceof Error ? err.message : String(err);
  }

  /** `store`, with the outcome of its row-writing commits recorded here. */
  watch(store: Store): Store {
    const record = async <T>(commit: Promise<T>, wrote: (value: T) => boolean): Promise<T> => {
      try {
        const value = await commit;
        if (wrote(value)) this.succeeded();
        return value;
      } catch (err) {
        if (store.isTransient(err)) this.failed(err);
        throw err;
      }
    };
    const created = (results: CreateResult[]) => results.some((r) => r.created);
    const watched: Partial<Store> = {
      createRun: (run) => record(store.createRun(run), (r) => r.created),
      createRuns: (runs) => record(store.createRuns(runs), created),
      apply: (changes) => record(store.apply(changes), () => changes.length > 0),
    };
    return new Proxy(store, {
      get(target, property) {
        if (Object.hasOwn(watched, property)) return watched[property as keyof Store];
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}
