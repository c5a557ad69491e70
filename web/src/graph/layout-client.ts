/**
 * The page's side of the layout worker: one worker, requests matched to answers by id, and
 * layouts cached by structure key (DomainGraph.key), so showing a run again, or a live state
 * change, never lays the graph out twice.
 */
import type { DomainGraph } from './domain.ts';
import type { Layout } from './layout-types.ts';

const CACHE_SIZE = 12;

type Reply = { id: number; layout: Layout } | { id: number; error: string };

export class LayoutClient {
  #create: () => Worker;
  #worker: Worker | undefined;
  #nextId = 1;
  #pending = new Map<number, { resolve: (l: Layout) => void; reject: (e: Error) => void }>();
  #cache = new Map<string, Promise<Layout>>();

  constructor(create: () => Worker) {
    this.#create = create;
  }

  layout(graph: DomainGraph): Promise<Layout> {
    const cached = this.#cache.get(graph.key);
    if (cached) {
      // least recently used goes first: re-insert on use
      this.#cache.delete(graph.key);
      this.#cache.set(graph.key, cached);
      return cached;
    }
    const promise = this.#request(graph);
    this.#cache.set(graph.key, promise);
    promise.catch(() => this.#cache.delete(graph.key));
    while (this.#cache.size > CACHE_SIZE) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
    return promise;
  }

  #request(graph: DomainGraph): Promise<Layout> {
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    const edges = graph.edges.slice();
    return new Promise<Layout>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, n: graph.n, edges }, [edges.buffer]);
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = this.#create();
    worker.addEventListener('message', (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if ('error' in reply) pending.reject(new Error(`layout failed: ${reply.error}`));
      else pending.resolve(reply.layout);
    });
    worker.addEventListener('error', (event) => {
      // a worker that failed to load fails every request, now and later (a new one is tried)
      for (const pending of this.#pending.values()) {
        pending.reject(new Error(`layout worker failed: ${event.message || 'could not load'}`));
      }
      this.#pending.clear();
      this.#worker = undefined;
      worker.terminate();
    });
    this.#worker = worker;
    return worker;
  }
}

export const layoutClient = new LayoutClient(
  () => new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' }),
);
