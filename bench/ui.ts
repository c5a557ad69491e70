/**
 * The run page's graph in Debian's Chromium (playwright-core, never a downloaded browser),
 * against a real orchestrator on loopback serving the built UI (web/dist), on finished runs
 * of nil tasks (so the run itself competes for no CPU):
 *   1. layout alone: the built layout worker, fresh (cold: a new worker that has loaded
 *      nothing) and warm (the same worker again), per size, as the page posts to it;
 *   2. the page: navigation to the first drawn frame, and what is on screen after opening
 *      (DOM nodes, or the canvas overview's count of nodes wholly in view);
 *   3. interaction: long tasks (PerformanceObserver 'longtask') and frames while dragging the
 *      view at the opening zoom, after wheeling in past the overview threshold, and after
 *      wheeling all the way out.
 * `npx node bench/run.ts ui`; figures go in docs/performance.md (UI section).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startServer } from '../src/cli/server.ts';
import { isFinal } from '../src/graph/states.ts';
import { ensureBuilt, launchChromium, ROOT } from '../test/ui/support.ts';
import { edgesDocument, layeredEdges } from './generate.ts';

/** Pipelines of `width` parallel steps, each with two predecessors in the step before. */
const SIZES: Array<{ n: number; width: number }> = [
  { n: 11, width: 3 },
  { n: 500, width: 20 },
  { n: 5000, width: 100 },
  { n: 20000, width: 200 },
];

const graphOf = (n: number, width: number) => layeredEdges(n, width, 2, n);

function workerUrl(): string {
  const assets = join(ROOT, 'web/dist/assets');
  const file = readdirSync(assets).find((f) => /^layout\.worker-.*\.js$/.test(f));
  if (!file) throw new Error('no layout worker in web/dist/assets');
  return `/assets/${file}`;
}

interface Timing {
  wall: number;
  engine: string;
  width: number;
  height: number;
}

/** Round trips of layout requests to one fresh worker: the first is cold. */
function layoutTimes(page: Page, url: string, n: number, edges: number[], rounds: number) {
  return page.evaluate(
    async ({ url, n, edges, rounds }) => {
      const worker = new Worker(url, { type: 'module' });
      const out: Timing[] = [];
      for (let id = 1; id <= rounds; id++) {
        const started = performance.now();
        const { layout } = await new Promise<{ layout: Omit<Timing, 'wall'> }>(
          (resolve, reject) => {
            worker.onmessage = (e) => resolve(e.data);
            worker.onerror = (e) => reject(new Error(e.message));
            worker.postMessage({ id, n, edges: Int32Array.from(edges) });
          },
        );
        out.push({ ...layout, wall: performance.now() - started });
      }
      worker.terminate();
      return out;
    },
    { url, n, edges, rounds },
  );
}

const nextFrame = (page: Page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));

const viewportScale = (page: Page) =>
  page.evaluate(() => {
    const el = document.querySelector<HTMLElement>('.react-flow__viewport');
    const match = /scale\(([0-9.e-]+)\)/.exec(el?.style.transform ?? '');
    return match ? Number(match[1]) : Number.NaN;
  });

/** Nodes on screen: DOM nodes wholly inside the pane, or the overview's own count. */
const onScreen = (page: Page) =>
  page.evaluate(() => {
    const graph = document.querySelector<HTMLElement>('.graph')!;
    const pane = graph.querySelector('.react-flow')!.getBoundingClientRect();
    let inside = 0;
    const dom = graph.querySelectorAll('.react-flow__node');
    for (const el of dom) {
      const r = el.getBoundingClientRect();
      if (
        r.left >= pane.left - 1 &&
        r.right <= pane.right + 1 &&
        r.top >= pane.top - 1 &&
        r.bottom <= pane.bottom + 1
      )
        inside++;
    }
    const overview = graph.dataset.overviewInView;
    return {
      dom: dom.length,
      inView: overview === undefined ? inside : Number(overview),
      render: graph.dataset.render ?? 'dom',
    };
  });

/** Starts counting long tasks and animation frames on the page. */
const startWatching = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as {
      __watch: { long: number[]; frames: number; observer: PerformanceObserver; on: boolean };
    };
    const long: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) long.push(e.duration);
    });
    observer.observe({ type: 'longtask' });
    w.__watch = { long, frames: 0, observer, on: true };
    const tick = () => {
      if (!w.__watch.on) return;
      w.__watch.frames++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });

/** Stops counting; the long tasks and frames since startWatching. */
async function stopWatching(page: Page, seconds: number) {
  await nextFrame(page);
  const { long, frames } = await page.evaluate(() => {
    const w = window as unknown as {
      __watch: { long: number[]; frames: number; observer: PerformanceObserver; on: boolean };
    };
    w.__watch.on = false;
    for (const e of w.__watch.observer.takeRecords()) w.__watch.long.push(e.duration);
    w.__watch.observer.disconnect();
    return { long: w.__watch.long, frames: w.__watch.frames };
  });
  return {
    fps: frames / seconds,
    longestMs: Math.max(0, ...long),
    longTotalMs: long.reduce((a, b) => a + b, 0),
  };
}

/** Drags the pane by `steps` × (12, 4) px; long tasks and frames meanwhile. */
async function drag(page: Page, steps: number) {
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await startWatching(page);
  const started = performance.now();
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= steps; i++) await page.mouse.move(x - 12 * i, y - 4 * i);
  await page.mouse.up();
  return stopWatching(page, (performance.now() - started) / 1000);
}

/** Wheels over the pane's centre until `done`; long tasks meanwhile. */
async function wheel(page: Page, deltaY: number, done: () => Promise<boolean>) {
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await startWatching(page);
  const started = performance.now();
  for (let i = 0; i < 60 && !(await done()); i++) {
    await page.mouse.wheel(0, deltaY);
    await nextFrame(page);
  }
  return stopWatching(page, (performance.now() - started) / 1000);
}

async function waitForFinalRun(url: string, id: string): Promise<void> {
  for (;;) {
    const run = (await (await fetch(`${url}/v1/tasks/${id}`)).json()) as { state: number };
    if (isFinal(run.state)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const round = (v: number) => Math.round(v * 10) / 10;
const median = (values: number[]) => {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

export async function benchUi(): Promise<Record<string, number | string>> {
  await ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-ui-'));
  const server = await startServer({ host: '127.0.0.1', port: 0, dataDir: dir, logger: false });
  const browser = await launchChromium();
  const figures: Record<string, number | string> = {};
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const url = workerUrl();

    // 1. layout alone, cold then warm
    for (const { n, width } of SIZES) {
      const edges = graphOf(n, width).flat();
      const colds: number[] = [];
      const warms: number[] = [];
      let last: Timing | undefined;
      for (let round = 0; round < 3; round++) {
        const page = await context.newPage();
        await page.goto(`${server.url}/healthz`);
        const times = await layoutTimes(page, url, n, edges, 4);
        colds.push(times[0].wall);
        warms.push(...times.slice(1).map((t) => t.wall));
        last = times[0];
        await page.close();
      }
      const key = `ui.layout.n${n}`;
      figures[`${key}.engine`] = last!.engine;
      figures[`${key}.cold.ms`] = round(median(colds));
      figures[`${key}.cold_max.ms`] = round(Math.max(...colds));
      figures[`${key}.warm.ms`] = round(median(warms));
      figures[`${key}.size`] = `${Math.round(last!.width)} x ${Math.round(last!.height)}`;
    }
    process.stderr.write('bench ui: layouts done\n');

    // 2. and 3. the run page
    for (const { n, width } of SIZES) {
      const res = await fetch(`${server.url}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(edgesDocument(n, graphOf(n, width))),
      });
      const { id } = (await res.json()) as { id: string };
      await waitForFinalRun(server.url, id);
      const page = await context.newPage();
      await page.goto(`${server.url}/runs/${id}`);
      await page.locator('.graph[data-ready="true"]').waitFor({ timeout: 120_000 });
      await page
        .waitForFunction(() => performance.getEntriesByName('baton:graph-visible').length > 0, {
          timeout: 60_000,
        })
        .catch(() => undefined); // before the fix, a large graph opened blank
      const marks = await page.evaluate(() =>
        Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),
      );
      const key = `ui.page.n${n}`;
      figures[`${key}.layout_at.ms`] = round(marks['baton:layout'] ?? Number.NaN);
      figures[`${key}.first_drawn_at.ms`] = round(marks['baton:graph-visible'] ?? Number.NaN);
      const open = await onScreen(page);
      figures[`${key}.open.render`] = open.render;
      figures[`${key}.open.dom_nodes`] = open.dom;
      figures[`${key}.open.in_view`] = open.inView;
      figures[`${key}.open.zoom`] = round((await viewportScale(page)) * 1000) / 1000;
      const pan = await drag(page, 40);
      figures[`${key}.pan_open.fps`] = round(pan.fps);
      figures[`${key}.pan_open.longest_task.ms`] = round(pan.longestMs);
      figures[`${key}.pan_open.long_tasks_total.ms`] = round(pan.longTotalMs);
      if (open.render === 'overview') {
        // across the threshold: the DOM nodes with names come back
        const across = await wheel(
          page,
          -300,
          async () => (await page.locator('.graph').getAttribute('data-render')) !== 'overview',
        );
        await page.locator('.react-flow__node').first().waitFor();
        figures[`${key}.zoom_in_to_dom.longest_task.ms`] = round(across.longestMs);
        figures[`${key}.zoom_in_to_dom.dom_nodes`] = (await onScreen(page)).dom;
        const panDom = await drag(page, 40);
        figures[`${key}.pan_dom.fps`] = round(panDom.fps);
        figures[`${key}.pan_dom.longest_task.ms`] = round(panDom.longestMs);
        figures[`${key}.pan_dom.long_tasks_total.ms`] = round(panDom.longTotalMs);
      }
      let previous = Number.NaN;
      const out = await wheel(page, 600, async () => {
        const scale = await viewportScale(page);
        const still = scale === previous;
        previous = scale;
        return still;
      });
      figures[`${key}.zoom_out.zoom`] = round(previous * 10000) / 10000;
      figures[`${key}.zoom_out.longest_task.ms`] = round(out.longestMs);
      figures[`${key}.zoom_out.long_tasks_total.ms`] = round(out.longTotalMs);
      figures[`${key}.zoom_out.dom_nodes`] = (await onScreen(page)).dom;
      const panOut = await drag(page, 40);
      figures[`${key}.pan_out.fps`] = round(panOut.fps);
      figures[`${key}.pan_out.longest_task.ms`] = round(panOut.longestMs);
      figures[`${key}.pan_out.long_tasks_total.ms`] = round(panOut.longTotalMs);
      process.stderr.write(`bench ui: ${n} nodes done\n`);
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

if (import.meta.main) console.log(JSON.stringify(await benchUi(), null, 2));
