/**
 * The layout web worker: receives `{id, n, edges}`, answers `{id, layout}` or `{id, error}`.
 * Layout never runs on the page's thread, so a large graph cannot freeze the UI.
 */
import { computeLayout, type ElkLike, type LayoutRequest } from './layout-core.ts';

/** The worker global scope, the part of it used here (the web tsconfig has the DOM lib). */
declare const self: {
  onmessage: ((event: MessageEvent) => void) | null;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

let elk: Promise<ElkLike> | undefined;
const loadElk = () =>
  (elk ??= import('elkjs/lib/elk.bundled.js').then((module) => {
    // elk.bundled.js contains ELK's own worker script, which takes over `self.onmessage` when
    // it finds itself in a worker; this worker's messages are not for it.
    self.onmessage = null;
    const ELK = module.default;
    return new ELK() as unknown as ElkLike;
  }));

self.addEventListener('message', async (event: MessageEvent<LayoutRequest & { id: number }>) => {
  const { id, n, edges } = event.data;
  try {
    const layout = await computeLayout({ n, edges }, loadElk, () => performance.now());
    const transfer: Transferable[] = [layout.positions.buffer as ArrayBuffer];
    for (const route of layout.routes ?? []) if (route) transfer.push(route.buffer as ArrayBuffer);
    self.postMessage({ id, layout }, transfer);
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
