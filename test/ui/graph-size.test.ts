/**
 * The run page's graph at every size, in Debian's Chromium against a real orchestrator: the
 * whole graph in view on open and again after Fit, on a desktop and on a phone; the canvas
 * overview (no DOM nodes) when zoomed out on a large graph, named DOM nodes when zoomed in.
 * Every wait is on a state the page exposes (.graph's data attributes, the DOM), never on
 * time.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { layeredEdges } from '../../bench/generate.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/server.ts';
import { STATE_COLOURS } from '../../src/graph/export.ts';
import { OVERVIEW_ZOOM } from '../../web/src/graph/viewport.ts';
import { writeScripts } from '../executor/helpers.ts';
import { post, startTestServer, tempDir } from '../support/server.ts';
import { ensureBuilt, launchChromium, screenshot } from './support.ts';

/** A run of `n` nil nodes named s0, s1, ... with the given edges. */
function runDocument(name: string, n: number, edges: Array<[number, number]>) {
  return {
    name,
    edges,
    nodes: Array.from({ length: n }, (_, id) => ({
      id,
      name: `s${id}`,
      engine: 'nil',
    })) as Array<Record<string, unknown>>,
  };
}

/**
 * Waits until the overview's canvas shows the given states (pixels of their fill colour) and
 * none of the `absent` ones; returns the pixel count per state.
 */
async function waitForColours(
  page: Page,
  present: string[],
  absent: string[],
): Promise<Record<string, number>> {
  const handle = await page.waitForFunction(
    ({ colours, present, absent }) => {
      const canvas = document.querySelector<HTMLCanvasElement>('.graph-overview');
      if (!canvas || canvas.width === 0) return false;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const byHex = new Map(Object.entries(colours).map(([state, hex]) => [hex, state]));
      const count: Record<string, number> = {};
      for (let p = 0; p < data.length; p += 4) {
        if (data[p + 3] !== 255) continue;
        const hex = `#${[0, 1, 2].map((c) => data[p + c].toString(16).padStart(2, '0')).join('')}`;
        const state = byHex.get(hex);
        if (state) count[state] = (count[state] ?? 0) + 1;
      }
      const ok = present.every((s) => count[s] > 0) && absent.every((s) => !count[s]);
      return ok ? count : false;
    },
    { colours: STATE_COLOURS, present, absent },
    { polling: 100 },
  );
  return (await handle.jsonValue()) as Record<string, number>;
}

const chain = (n: number) =>
  Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number]);

interface OnScreen {
  render: string;
  /** nodes wholly inside the pane: DOM nodes, or what the overview reports */
  inView: number;
  domNodes: number;
  named: number;
}

/** What the graph shows now, as a user would see it. */
function onScreen(page: Page): Promise<OnScreen> {
  return page.evaluate(() => {
    const graph = document.querySelector<HTMLElement>('.graph')!;
    const pane = graph.querySelector('.react-flow')!.getBoundingClientRect();
    const dom = graph.querySelectorAll('.react-flow__node');
    let inside = 0;
    for (const el of dom) {
      const r = el.getBoundingClientRect();
      if (
        r.width > 0 &&
        r.left >= pane.left - 0.5 &&
        r.right <= pane.right + 0.5 &&
        r.top >= pane.top - 0.5 &&
        r.bottom <= pane.bottom + 0.5
      ) {
        inside++;
      }
    }
    const render = graph.dataset.render ?? '';
    return {
      render,
      inView: render === 'overview' ? Number(graph.dataset.overviewInView ?? -1) : inside,
      domNodes: dom.length,
      named: graph.querySelectorAll('.react-flow__node [data-node-name]').length,
    };
  });
}

/** Waits until all `n` nodes are wholly in view, whichever way they are drawn. */
async function waitAllInView(page: Page, n: number): Promise<OnScreen> {
  try {
    await page.waitForFunction(
      (n) => {
        const graph = document.querySelector<HTMLElement>('.graph');
        if (graph?.dataset.ready !== 'true' || graph.dataset.fitted !== 'true') return false;
        if (graph.dataset.render === 'overview') {
          return (
            graph.dataset.overviewSettled === 'true' && graph.dataset.overviewInView === String(n)
          );
        }
        const pane = graph.querySelector('.react-flow')?.getBoundingClientRect();
        if (!pane) return false;
        let inside = 0;
        for (const el of graph.querySelectorAll('.react-flow__node')) {
          const r = el.getBoundingClientRect();
          if (
            r.width > 0 &&
            r.left >= pane.left - 0.5 &&
            r.right <= pane.right + 0.5 &&
            r.top >= pane.top - 0.5 &&
            r.bottom <= pane.bottom + 0.5
          ) {
            inside++;
          }
        }
        return inside === n;
      },
      n,
      { polling: 50 },
    );
  } catch (err) {
    throw new Error(
      `not all ${n} nodes in view: ${JSON.stringify(await onScreen(page))} (${(err as Error).message.split('\n')[0]})`,
    );
  }
  return onScreen(page);
}

/** Drags the pane by (dx, dy) screen pixels and waits until the page no longer calls it fitted. */
async function panBy(page: Page, dx: number, dy: number): Promise<void> {
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 4 });
  await page.mouse.move(x + dx, y + dy, { steps: 4 });
  await page.mouse.up();
  await page.locator('.graph[data-fitted="false"]').waitFor();
}

const zoomOf = async (page: Page) => Number(await page.locator('.graph').getAttribute('data-zoom'));

/** Wheels in over the pane's centre until the zoom reaches `zoom`; waits on each step. */
async function zoomInTo(page: Page, zoom: number): Promise<void> {
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let step = 0; step < 40 && (await zoomOf(page)) < zoom; step++) {
    const before = await page.locator('.graph').getAttribute('data-zoom');
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(
      (before) => document.querySelector<HTMLElement>('.graph')?.dataset.zoom !== before,
      before,
      { polling: 25 },
    );
  }
}

describe('the graph at every size, in Chromium', { timeout: 600_000 }, () => {
  const dir = tempDir('baton-ui-size-');
  const gates = join(dir.path, 'gates');
  let executor: RunningExecutor;
  let server: RunningServer;
  let browser: Browser;
  let desktop: BrowserContext;
  const problems: string[] = [];

  const submit = async (document: ReturnType<typeof runDocument>) => {
    const { status, body } = await post(server.url, document);
    assert.equal(status, 202, JSON.stringify(body));
    return body.id;
  };

  const openRun = async (context: BrowserContext, id: string): Promise<Page> => {
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    await page.goto(`${server.url}/runs/${id}`);
    await page.locator('.graph[data-ready="true"]').waitFor();
    return page;
  };

  before(async () => {
    browser = await launchChromium();
    const artifacts = join(dir.path, 'artifacts');
    mkdirSync(artifacts);
    mkdirSync(gates);
    await writeScripts(artifacts, {
      'gate.sh':
        '#!/bin/sh\n# runs until the test opens the gate (creates $1)\nwhile [ ! -e "$1" ]; do sleep 0.05; done\n',
    });
    executor = await startExecutor({
      name: 'default',
      host: '127.0.0.1',
      port: 0,
      tls: null,
      killGraceMs: 1000,
      artifactRoot: artifacts,
      dataDir: join(dir.path, 'executor'),
    });
    const [build, started] = await Promise.all([
      ensureBuilt(),
      startTestServer({
        dataDir: join(dir.path, 'orchestrator'),
        executors: [{ name: 'default', url: executor.url }],
      }),
    ]);
    server = started;
    process.stderr.write(`# web UI build: ${build}\n`);
    desktop = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
    desktop.setDefaultTimeout(120_000);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await executor?.close();
    dir.remove();
  });

  it('shows all of an 11-node run on open, and again with Fit after panning away', async () => {
    // two chains of 5 joining in an 11th node: the widest drawing 11 nodes make
    const edges: Array<[number, number]> = [...chain(5), [5, 6], [6, 7], [7, 8], [8, 9]];
    edges.push([4, 10], [9, 10]);
    const page = await openRun(desktop, await submit(runDocument('eleven', 11, edges)));
    try {
      const open = await waitAllInView(page, 11);
      assert.equal(open.render, 'dom', 'a small graph keeps its DOM nodes');
      assert.equal(open.named, 11);

      const box = (await page.locator('.react-flow__pane').boundingBox())!;
      await panBy(page, box.width * 0.6, box.height * 0.5);
      const away = await onScreen(page);
      assert.ok(away.inView < 11, `panned away: ${away.inView} of 11 still in view`);

      await page.getByRole('button', { name: 'Fit View' }).click();
      await waitAllInView(page, 11);
      await screenshot(page, 'graph-11-fitted');
    } finally {
      await page.close();
    }
  });

  it('draws a 500-node run as the overview, in view, and picks a node by clicking its box', async () => {
    const page = await openRun(
      desktop,
      await submit(runDocument('five hundred', 500, layeredEdges(500, 20, 2, 500))),
    );
    try {
      const open = await waitAllInView(page, 500);
      assert.equal(open.render, 'overview');
      assert.equal(open.domNodes, 0, 'no DOM node below the overview zoom');
      assert.equal(await page.locator('.graph').getAttribute('data-layout'), 'layered');
      assert.ok((await zoomOf(page)) < OVERVIEW_ZOOM);
      await screenshot(page, 'graph-500-overview');

      // a click on a box opens that node, as a click on a DOM node does
      const clicked = await page.evaluate((fills) => {
        // the middle of a 3 × 3 block of one state's fill: the inside of a box
        const canvas = document.querySelector<HTMLCanvasElement>('.graph-overview')!;
        const { data, width, height } = canvas
          .getContext('2d')!
          .getImageData(0, 0, canvas.width, canvas.height);
        const ratio = canvas.width / canvas.getBoundingClientRect().width;
        const rgb = (p: number) =>
          `#${[0, 1, 2].map((c) => data[p + c].toString(16).padStart(2, '0')).join('')}`;
        for (let y = 1; y < height - 1; y += 3) {
          for (let x = 1; x < width - 1; x += 3) {
            const colour = rgb(4 * (y * width + x));
            if (!fills.includes(colour)) continue;
            let same = true;
            for (let dy = -1; dy <= 1 && same; dy++)
              for (let dx = -1; dx <= 1 && same; dx++)
                same = rgb(4 * ((y + dy) * width + x + dx)) === colour;
            if (!same) continue;
            const pane = canvas.getBoundingClientRect();
            return { clientX: pane.left + x / ratio, clientY: pane.top + y / ratio };
          }
        }
        return null;
      }, Object.values(STATE_COLOURS));
      assert.ok(clicked, 'some box is drawn on the canvas');
      await page.mouse.click(clicked.clientX, clicked.clientY);
      await page.waitForURL(/[?&]node=\d+/);
      await page.locator('aside.node-panel h2').waitFor();
      assert.match(
        (await page.locator('aside.node-panel h2').textContent()) ?? '',
        /^s\d+$/,
        'the panel shows the node under the click',
      );
    } finally {
      await page.close();
    }
  });

  it('opens 5,000 nodes as the overview with all of them in view, names them zoomed in, and fits again', async () => {
    const id = await submit(runDocument('five thousand', 5000, layeredEdges(5000, 100, 2, 5000)));
    const page = await openRun(desktop, id);
    try {
      const open = await waitAllInView(page, 5000);
      assert.equal(open.render, 'overview');
      assert.equal(open.domNodes, 0);
      const domSize = await page.locator('.graph *').count();
      assert.ok(domSize < 150, `the overview is a handful of elements, not thousands (${domSize})`);
      await screenshot(page, 'graph-5000-overview');

      // zoomed in past the threshold: DOM nodes with their names, only those in view
      await zoomInTo(page, OVERVIEW_ZOOM);
      await page.locator('.graph[data-render="dom"]').waitFor();
      await page.locator('.react-flow__node [data-node-name]').first().waitFor();
      const near = await onScreen(page);
      assert.ok(
        near.named > 0 && near.named < 1000,
        `only nodes in view are in the DOM (${near.named})`,
      );
      // the canvas under the named nodes draws their edges, and no box
      assert.equal(await page.locator('.graph').getAttribute('data-edges'), 'canvas');
      await waitForColours(page, [], Object.keys(STATE_COLOURS));
      const name = await page.locator('.react-flow__node [data-node-name]').first().textContent();
      assert.match(name ?? '', /^s\d+/, 'names are drawn');

      // Fit from there: back to the whole graph in the overview
      await page.getByRole('button', { name: 'Fit View' }).click();
      const fitted = await waitAllInView(page, 5000);
      assert.equal(fitted.render, 'overview');
    } finally {
      await page.close();
    }
  });

  it('colours the overview live as states change', async () => {
    // s0 runs until the gate opens; s1 ... s599 wait for it
    const document = runDocument(
      'gated star',
      600,
      Array.from({ length: 599 }, (_, i) => [0, i + 1] as [number, number]),
    );
    document.nodes[0] = {
      ...document.nodes[0],
      engine: 'shell',
      args: [join(gates, 'star')],
      artifact: 'gate.sh',
    };
    const page = await openRun(desktop, await submit(document));
    try {
      await waitAllInView(page, 600);
      assert.equal(await page.locator('.graph').getAttribute('data-render'), 'overview');
      await waitForColours(page, ['running'], ['success']);
      writeFileSync(join(gates, 'star'), '');
      const done = await waitForColours(page, ['success'], ['running', 'initial', 'torun']);
      assert.ok(done.success > 0);
    } finally {
      await page.close();
    }
  });

  it('fits every node on a phone-sized screen, on open and after panning away', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
    phone.setDefaultTimeout(120_000);
    try {
      const page = await openRun(phone, await submit(runDocument('phone', 8, chain(8))));
      await waitAllInView(page, 8);
      await panBy(page, -150, 100);
      assert.ok((await onScreen(page)).inView < 8);
      await page.getByRole('button', { name: 'Fit View' }).click();
      await waitAllInView(page, 8);
      await screenshot(page, 'graph-phone');

      // a large graph on the phone: the overview fits it too
      const big = await openRun(
        phone,
        await submit(runDocument('phone, large', 500, layeredEdges(500, 20, 2, 7))),
      );
      const open = await waitAllInView(big, 500);
      assert.equal(open.render, 'overview');
    } finally {
      await phone.close();
    }
  });

  it('met no page error and no console error', () => {
    assert.deepEqual(problems, []);
  });
});
