/**
 * The run page's graph in Debian's Chromium (playwright-core, never a downloaded browser),
 * against a real orchestrator on loopback serving the built UI (web/dist):
 *   1. layout alone: the built layout worker, fresh (cold: a new worker that has loaded
 *      nothing) and warm (the same worker again), per size, as the page posts to it;
 *   2. the page: navigation to the first drawn frame, the layout engine and its time, what
 *      is drawn (DOM nodes, or the canvas overview's count) and how much of the graph is in
 *      view after opening;
 *   3. interaction: long tasks (PerformanceObserver 'longtask') and frames while dragging the
 *      view at the opening zoom and zoomed all the way out.
 * `npx node bench/run.ts ui`; figures go in docs/performance.md (UI section).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startServer } from '../src/cli/server.ts';
import { ensureBuilt, launchChromium, ROOT } from '../test/ui/support.ts';
import { edgesDocument, layeredEdges } from './generate.ts';

/** Pipelines of `width` parallel steps, each with two predecessors in the step before. */
const SIZES: Array<{ n: number; width: number }> = [
  { n: 11, width: 3 },
  { n: 500, width: 20 },
  { n: 5000, width: 100 },
  { n: 20000, width: 200 },
];

function graphOf(n: number, width: number) {
  return layeredEdges(n, width, 2, n);
}

const workerUrl = () => {
  const file = readdirSync(join(ROOT, 'web/dist/assets')).find((f) =>
    /^layout\.worker-.*\.js$/.test(f),
  );
  if (!file) throw new Error('no layout worker in web/dist/assets');
  return `/assets/${file}`;
};

/** Round trips of layout requests to one fresh worker: the first is cold. */
async function layoutTimes(page: Page, url: string, n: number, edges: number[], rounds: number) {
  return page.evaluate(
    async ({ url, n, edges, rounds }) => {
      const worker = new Worker(url, { type: 'module' });
      const out: Array<{
        wall: number;
        ms: number;
        engine: string;
        width: number;
        height: number;
      }> = [];
      for (let id = 1; id <= rounds; id++) {
        const started = performance.now();
        const reply = await new Promise<{
          layout: { ms: number; engine: string; width: number; height: number };
        }>((resolve, reject) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => reject(new Error(e.message));
          worker.postMessage({ id, n, edges: Int32Array.from(edges) });
        });
        const { ms, engine, width, height } = reply.layout;
        out.push({ wall: performance.now() - started, ms, engine, width, height });
      }
      worker.terminate();
      return out;
    },
    { url, n, edges, rounds },
  );
}

const viewportScale = (page: Page) =>
  page.evaluate(() => {
    const el = document.querySelector<HTMLElement>('.react-flow__viewport');
    const match = /scale\(([0-9.e-]+)\)/.exec(el?.style.transform ?? '');
    return match ? Number(match[1]) : Number.NaN;
  });

/** Nodes on screen: DOM nodes inside the pane, or what the canvas overview says it drew. */
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
    const canvas = graph.dataset.canvasInView;
    return {
      dom: dom.length,
      domInside: inside,
      canvasInView: canvas === undefined ? null : Number(canvas),
      render: graph.dataset.render ?? 'dom',
    };
  });

/** Drags the pane by `steps` × 12 px and reports long tasks and frames meanwhile. */
async function drag(page: Page, steps: number) {
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  await page.evaluate(() => {
    const w = window as unknown as { __long: number[]; __frames: number; __run: boolean };
    w.__long = [];
    w.__frames = 0;
    w.__run = true;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__long.push(e.duration);
    }).observe({ type: 'longtask' });
    const tick = () => {
      if (!w.__run) return;
      w.__frames++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  const started = performance.now();
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(x - 12 * i * (i % 2 ? 1 : 1), y - 4 * i);
  }
  await page.mouse.up();
  // one more frame, so the last move's work is counted
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  const seconds = (performance.now() - started) / 1000;
  const { long, frames } = await page.evaluate(() => {
    const w = window as unknown as { __long: number[]; __frames: number; __run: boolean };
    w.__run = false;
    return { long: w.__long, frames: w.__frames };
  });
  return {
    seconds,
    fps: frames / seconds,
    longTasks: long.length,
    longestMs: Math.max(0, ...long),
    longTotalMs: long.reduce((a, b) => a + b, 0),
  };
}

/** Wheels out until the zoom stops changing; returns the long tasks of the whole gesture. */
async function zoomAllTheWayOut(page: Page) {
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.evaluate(() => {
    const w = window as unknown as { __long: number[] };
    w.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__long.push(e.duration);
    }).observe({ type: 'longtask' });
  });
  let previous = await viewportScale(page);
  for (let i = 0; i < 60; i++) {
    await page.mouse.wheel(0, 600);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
    const scale = await viewportScale(page);
    if (scale === previous) break;
    previous = scale;
  }
  const long = await page.evaluate(() => (window as unknown as { __long: number[] }).__long);
  return {
    zoom: previous,
    longestMs: Math.max(0, ...long),
    longTotalMs: long.reduce((a, b) => a + b, 0),
  };
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
      let last = { engine: '', width: 0, height: 0 };
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
      figures[`${key}.engine`] = last.engine;
      figures[`${key}.cold.ms`] = round(median(colds));
      figures[`${key}.cold_max.ms`] = round(Math.max(...colds));
      figures[`${key}.warm.ms`] = round(median(warms));
      figures[`${key}.size`] = `${Math.round(last.width)} x ${Math.round(last.height)}`;
    }

    // 2. and 3. the run page
    for (const { n, width } of SIZES) {
      const body = edgesDocument(n, graphOf(n, width));
      const res = await fetch(`${server.url}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const { id } = (await res.json()) as { id: string };
      const page = await context.newPage();
      await page.goto(`${server.url}/runs/${id}`);
      await page.locator('.graph[data-ready="true"]').waitFor({ timeout: 120_000 });
      await page
        .waitForFunction(
          () => performance.getEntriesByName('baton:graph-visible').length > 0,
          undefined,
          {
            timeout: 120_000,
          },
        )
        .catch(() => undefined);
      const marks = await page.evaluate(() =>
        Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),
      );
      const key = `ui.page.n${n}`;
      figures[`${key}.layout_at.ms`] = round(marks['baton:layout'] ?? Number.NaN);
      figures[`${key}.first_drawn_at.ms`] = round(marks['baton:graph-visible'] ?? Number.NaN);
      const open = await onScreen(page);
      figures[`${key}.open.render`] = open.render;
      figures[`${key}.open.dom_nodes`] = open.dom;
      figures[`${key}.open.in_view`] = open.canvasInView ?? open.domInside;
      figures[`${key}.open.zoom`] = round((await viewportScale(page)) * 1000) / 1000;
      const pan = await drag(page, 40);
      figures[`${key}.pan_open.fps`] = round(pan.fps);
      figures[`${key}.pan_open.longest_task.ms`] = round(pan.longestMs);
      figures[`${key}.pan_open.long_tasks_total.ms`] = round(pan.longTotalMs);
      const out = await zoomAllTheWayOut(page);
      figures[`${key}.zoom_out.zoom`] = round(out.zoom * 1000) / 1000;
      figures[`${key}.zoom_out.longest_task.ms`] = round(out.longestMs);
      figures[`${key}.zoom_out.long_tasks_total.ms`] = round(out.longTotalMs);
      const far = await onScreen(page);
      figures[`${key}.zoom_out.dom_nodes`] = far.dom;
      const panOut = await drag(page, 40);
      figures[`${key}.pan_out.fps`] = round(panOut.fps);
      figures[`${key}.pan_out.longest_task.ms`] = round(panOut.longestMs);
      figures[`${key}.pan_out.long_tasks_total.ms`] = round(panOut.longTotalMs);
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
