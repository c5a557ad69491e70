/**
 * The web UI in a real browser (Debian's Chromium through playwright-core) against a real
 * orchestrator on loopback and a real executor. Progress the test must see is driven by
 * gates: a shell task (`gate.sh FILE`) runs until the test creates its FILE, so a node stays
 * running until the page has shown it running, however slow the machine. `sleep` with a
 * non-number argument makes a node fail. Steps share one server and one browser page, and
 * run in order.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { RunningServer } from '../../src/cli/server.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/server.ts';
import { STATE_COLOURS } from '../../src/graph/export.ts';
import { writeScripts } from '../executor/helpers.ts';
import { REFUSE_SCRIPT, refusing } from '../support/failing-task.ts';
import { doc, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';
import { ensureBuilt, graphStates, launchChromium, screenshot, waitForStates } from './support.ts';

/** The text of an element ('' when it has none). */
async function textOf(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}

/** `#rrggbb` as the browser reports a computed colour. */
function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

/** A failure in `fail`, its descendants notrunnable, an independent branch succeeding. */
const failingDocument = {
  name: 'deploy with a broken step',
  edges: [
    [0, 1],
    [1, 2],
    [0, 3],
    [3, 4],
    [4, 5],
  ],
  nodes: [
    { id: 0, name: 'fetch', engine: 'sleep', args: ['0.1'] },
    { id: 1, name: 'migrate', ...refusing(['not-a-number']), target: 'db' },
    { id: 2, name: 'restart', engine: 'nil', target: 'web' },
    { id: 3, name: 'build', engine: 'sleep', args: ['0.3'], artifact: 'build.sh' },
    { id: 4, name: 'test', engine: 'sleep', args: ['0.2'], output: { report: '' } },
    { id: 5, name: 'publish', engine: 'nil', args: ['report=get_attribute test:report'] },
  ],
};

describe('web UI in Chromium', { timeout: 300_000 }, () => {
  const dir = tempDir('baton-ui-');
  const gates = join(dir.path, 'gates');
  let executor: RunningExecutor;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let expectFailedRequests = false;

  const open = async (path: string) => {
    await page.goto(`${server.url}${path}`);
  };

  before(async () => {
    // Chromium first: without it the tests must fail, not skip.
    browser = await launchChromium();
    const artifacts = join(dir.path, 'artifacts');
    mkdirSync(artifacts);
    mkdirSync(gates);
    await writeScripts(artifacts, {
      'refuse.sh': REFUSE_SCRIPT,
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
    context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
    // CSP violations, console errors and page errors all end up in `problems`.
    await context.exposeBinding('__cspViolation', (_source, text: string) =>
      problems.push(`CSP violation: ${text}`),
    );
    await context.addInitScript(() => {
      const report = (window as unknown as { __cspViolation(text: string): void }).__cspViolation;
      document.addEventListener('securitypolicyviolation', (e) =>
        report(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    // a hang bound for every wait on the page, generous for a loaded machine
    context.setDefaultTimeout(60_000);
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      // 404s the UI expects (a node without a log) and failures a test provokes
      if (/^Failed to load resource/.test(text) && (text.includes('404') || expectFailedRequests))
        return;
      if (expectFailedRequests && /EventSource/.test(text)) return;
      problems.push(`console error: ${text}`);
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await executor?.close();
    dir.remove();
  });

  /** A node that runs until `openGate(gate)`: a shell task on the executor. */
  const gated = (
    gate: string,
  ): [engine: string, args: string[], extra: Record<string, unknown>] => [
    'shell',
    [join(gates, gate)],
    { artifact: 'gate.sh' },
  ];
  const openGate = (gate: string) => writeFileSync(join(gates, gate), '');

  it('serves the UI with security headers and no inline script', async () => {
    const res = await fetch(`${server.url}/runs/whatever`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file');
    const api = await fetch(`${server.url}/v1/nothing`, { headers: { accept: 'text/html' } });
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type') ?? '', /json/, 'the API keeps its JSON 404');
  });

  it('lists runs with state badges, filters them by state and pages through them', async () => {
    const ok = await post(server.url, doc([['only', 'nil']], [], { name: 'quick one' }));
    const bad = await post(
      server.url,
      doc([['broken', 'shell', [], refusing()]], [], { name: 'broken one' }),
    );
    for (let i = 0; i < 3; i++)
      await post(server.url, doc([['n', 'nil']], [], { name: `filler ${i}` }));
    await waitForRun(server.url, ok.body.id);
    await waitForRun(server.url, bad.body.id);

    await open('/');
    const okRow = page.locator(`tr[data-run="${ok.body.id}"]`);
    await okRow.waitFor();
    assert.equal(await okRow.getAttribute('data-state'), 'success');
    assert.equal(await textOf(okRow.locator('.badge')), 'success');
    assert.equal(
      await okRow.locator('.badge').evaluate((el) => getComputedStyle(el).backgroundColor),
      rgb(STATE_COLOURS.success),
    );
    assert.equal(
      await page.locator(`tr[data-run="${bad.body.id}"]`).getAttribute('data-state'),
      'failure',
    );

    // filter: failure only, kept in the URL
    await page.getByRole('checkbox', { name: 'failure' }).check();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('tbody tr')].every(
        (tr) => tr.getAttribute('data-state') === 'failure',
      ),
    );
    assert.match(page.url(), /state=failure/);
    assert.equal(await page.locator('tbody tr').count(), 1);
    await page.getByRole('button', { name: 'Show all' }).click();
    await page.locator('tbody tr').nth(4).waitFor();

    // paging with next_cursor, two runs a page (5 runs so far and more from other tests)
    await open('/?limit=2');
    const names = () => page.locator('tbody tr td:nth-child(2) a').allInnerTexts();
    await page.locator('tbody tr').nth(1).waitFor();
    const firstPage = await names();
    assert.equal(firstPage.length, 2);
    assert.equal(await page.getByRole('button', { name: '← Previous' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.waitForFunction((before) => {
      const now = [...document.querySelectorAll('tbody tr td:nth-child(2) a')].map(
        (a) => a.textContent,
      );
      return now.length === 2 && now.join() !== before.join();
    }, firstPage);
    assert.match(page.url(), /cursor=/);
    await page.getByRole('button', { name: '← Previous' }).click();
    await page.waitForFunction(
      (before) =>
        [...document.querySelectorAll('tbody tr td:nth-child(2) a')]
          .map((a) => a.textContent)
          .join() === before.join(),
      firstPage,
    );
  });

  it('submits a pasted document after previewing its graph, and lands on its run page', async () => {
    await open('/submit');
    const field = page.getByLabel('gorch document (JSON)');
    await field.fill(
      JSON.stringify(
        doc(
          [
            ['first', 'sleep', ['0.2']],
            ['second', 'nil'],
          ],
          [[0, 1]],
          { name: 'from the page' },
        ),
      ),
    );
    // the preview draws the graph before anything is sent
    await page.locator('.submit-preview .react-flow__node [data-node-name="second"]').waitFor();
    assert.deepEqual(await graphStates(page), { first: 'initial', second: 'initial' });
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    await page.locator('[data-testid="run-state"]').waitFor();
    assert.equal(await textOf(page.locator('h1')), 'from the page');
    await waitForStates(page, { first: 'success', second: 'success' });
  });

  it("shows the server's message and path next to the field when it rejects a document", async () => {
    expectFailedRequests = true; // the two 400s are the point
    await open('/submit');
    await page.getByLabel('gorch document (JSON)').fill(
      JSON.stringify(
        doc(
          [
            ['a', 'nil'],
            ['b', 'nil'],
            ['c', 'nil'],
          ],
          [
            [0, 1],
            [1, 2],
            [2, 0],
          ],
        ),
      ),
    );
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    const error = page.getByTestId('server-error');
    await error.waitFor();
    assert.match(await textOf(error.locator('.error-message')), /cycle: a -> b -> c -> a/);
    assert.equal(
      await page.getByLabel('gorch document (JSON)').getAttribute('aria-invalid'),
      'true',
    );
    assert.match(new URL(page.url()).pathname, /^\/submit$/);

    await page
      .getByLabel('gorch document (JSON)')
      .fill(JSON.stringify(doc([['a', 'sleep', [5 as unknown as string]]])));
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await page.locator('.error-path').waitFor();
    assert.equal(await textOf(page.locator('.error-path')), 'nodes[0].args[0]');
    await page.locator('.submit-preview .react-flow__node').waitFor();
    await screenshot(page, 'submit-error');
    expectFailedRequests = false;
  });

  it('turns a run green node by node, live, without laying it out again', async () => {
    const { body } = await post(
      server.url,
      doc(
        [
          ['one', ...gated('chain-one')],
          ['two', ...gated('chain-two')],
          ['three', ...gated('chain-three')],
        ],
        [
          [0, 1],
          [1, 2],
        ],
        { name: 'chain' },
      ),
    );
    await open(`/runs/${body.id}`);
    await page.locator('.react-flow__node [data-node-name="three"]').waitFor();
    // record every state each node shows, in order, straight from the DOM
    await page.evaluate(() => {
      const w = window as unknown as { __seen: string[] };
      w.__seen = [];
      const note = (el: HTMLElement) => w.__seen.push(`${el.dataset.nodeName}:${el.dataset.state}`);
      for (const el of document.querySelectorAll<HTMLElement>('[data-node-name]')) note(el);
      new MutationObserver((records) => {
        for (const r of records) note(r.target as HTMLElement);
      }).observe(document.querySelector('.react-flow')!, {
        subtree: true,
        attributes: true,
        attributeFilter: ['data-state'],
      });
    });
    const position = () =>
      page.locator('.react-flow__node[data-id="2"]').evaluate((el) => el.style.transform);
    const before = await position();

    // each node ends only once the page has shown it running
    await waitForStates(page, { one: 'running' });
    openGate('chain-one');
    await waitForStates(page, { one: 'success', two: 'running' });
    const midway = await graphStates(page);
    assert.notEqual(midway.three, 'success', 'three waits for two');
    assert.notEqual(midway.three, 'running', 'three waits for two');
    const running = page.locator('.react-flow__node [data-node-name="two"]');
    assert.equal(
      await running.evaluate((el) => getComputedStyle(el).backgroundColor),
      rgb(STATE_COLOURS.running),
    );
    await screenshot(page, 'run-live');
    openGate('chain-two');
    await waitForStates(page, { two: 'success', three: 'running' });
    openGate('chain-three');
    await waitForStates(page, { one: 'success', two: 'success', three: 'success' });
    await page.locator('[data-testid="run-state"] [data-state="success"]').waitFor();

    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    const order = (name: string) =>
      seen.filter((s) => s.startsWith(`${name}:`)).map((s) => s.split(':')[1]);
    for (const name of ['one', 'two', 'three']) {
      const states = order(name);
      assert.ok(states.includes('running'), `${name} was seen running: ${states}`);
    }
    for (const name of ['one', 'two', 'three']) assert.equal(order(name).at(-1), 'success');
    const doneAt = (name: string) => seen.indexOf(`${name}:success`);
    assert.ok(doneAt('one') < doneAt('two') && doneAt('two') < doneAt('three'), seen.join(' '));
    assert.equal(
      await page
        .locator('.react-flow__node [data-node-name="one"]')
        .evaluate((el) => getComputedStyle(el).backgroundColor),
      rgb(STATE_COLOURS.success),
    );
    assert.equal(await position(), before, 'no node moved');
    const layouts = await page.evaluate(() => performance.getEntriesByName('baton:layout').length);
    assert.equal(layouts, 1, 'laid out once, however many state changes');
    // ELK loaded and ran in the worker under the page's CSP (else the fallback would show)
    assert.equal(await page.locator('.graph').getAttribute('data-layout'), 'elk');
    assert.equal(await page.locator('[data-stream]').getAttribute('data-stream'), 'ended');
  });

  it('cancels a running run with the button', async () => {
    const { body } = await post(
      server.url,
      doc(
        [
          ['quick', 'sleep', ['0.1']],
          ['slow', ...gated('never-opened')],
          ['after', 'nil'],
        ],
        [
          [0, 1],
          [1, 2],
        ],
        { name: 'to cancel' },
      ),
    );
    await open(`/runs/${body.id}`);
    await waitForStates(page, { quick: 'success', slow: 'running' });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the run' }).click();
    await waitForStates(page, { quick: 'success', slow: 'canceled', after: 'canceled' });
    await page.locator('[data-testid="run-state"] [data-state="canceled"]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Retry' }).isDisabled(), false);
    assert.equal(
      await page
        .locator('.react-flow__node [data-node-name="slow"]')
        .evaluate((el) => getComputedStyle(el).backgroundColor),
      rgb(STATE_COLOURS.canceled),
    );
  });

  it('shows a failure turning its descendants notrunnable while the other branch succeeds, and retries', async () => {
    const { body } = await post(server.url, failingDocument);
    await open(`/runs/${body.id}`);
    await waitForStates(page, {
      fetch: 'success',
      migrate: 'failure',
      restart: 'notrunnable',
      build: 'success',
      test: 'success',
      publish: 'success',
    });
    await page.locator('[data-testid="run-state"] [data-state="failure"]').waitFor();
    const colour = (name: string) =>
      page
        .locator(`.react-flow__node [data-node-name="${name}"]`)
        .evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(await colour('migrate'), rgb(STATE_COLOURS.failure));
    assert.equal(await colour('restart'), rgb(STATE_COLOURS.notrunnable));
    // legend counts
    assert.match(
      await textOf(page.getByRole('list', { name: 'State colours' })),
      /notrunnable\s*1/,
    );
    await screenshot(page, 'run-failed');

    // Retry: the page follows the run again (a new stream) until it ends the same way.
    await page.evaluate(() => {
      const w = window as unknown as { __streams: string[] };
      w.__streams = [];
      const el = document.querySelector('[data-stream]')!;
      new MutationObserver(() => w.__streams.push(el.getAttribute('data-stream')!)).observe(el, {
        attributes: true,
        attributeFilter: ['data-stream'],
      });
    });
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.waitForFunction(() =>
      (window as unknown as { __streams: string[] }).__streams.includes('ended'),
    );
    await waitForStates(page, { migrate: 'failure', restart: 'notrunnable', build: 'success' });
    await page.locator('[data-testid="run-state"] [data-state="failure"]').waitFor();
    const streams = await page.evaluate(
      () => (window as unknown as { __streams: string[] }).__streams,
    );
    assert.equal(streams[0], 'connecting', `followed again after the retry: ${streams}`);
  });

  it("opens a node's details and log by mouse and by keyboard, and shows the table and timeline", async () => {
    const { body } = await post(server.url, failingDocument);
    await waitForRun(server.url, body.id);
    await open(`/runs/${body.id}`);
    await page.locator('.react-flow__node [data-node-name="migrate"]').click();
    const panel = page.locator('aside.node-panel');
    await panel.waitFor();
    assert.equal(await textOf(panel.locator('h2')), 'migrate');
    const text = await textOf(panel);
    assert.match(text, /Target\s*db/);
    assert.match(text, /not-a-number/);
    assert.match(text, /exited with code 1: refused: not-a-number/);
    assert.match(new URL(page.url()).search, /node=1/);
    // the task's own output, fetched from the executor that ran it
    const log = panel.locator('.node-log');
    await page.waitForFunction(() => {
      const status = document.querySelector('.node-log')?.getAttribute('data-log');
      return status !== undefined && status !== 'loading';
    });
    assert.equal(await log.getAttribute('data-log'), 'text');
    assert.match(await textOf(log), /refused: not-a-number/);
    await screenshot(page, 'node-details');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'node-details-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    await page.getByRole('button', { name: 'Close node details' }).click();
    await panel.waitFor({ state: 'detached' });
    await page.locator('.react-flow__node[data-id="4"]').focus();
    await page.keyboard.press('Enter');
    await panel.waitFor();
    assert.equal(await textOf(panel.locator('h2')), 'test');

    await page.getByRole('tab', { name: 'Table' }).click();
    const row = page.locator('table.nodes-table tr[data-node-name="build"]');
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'success');
    const rowText = await textOf(row);
    assert.match(rowText, /build\.sh/);
    assert.match(rowText, /0\.3/);
    assert.equal(await page.locator('table.nodes-table tbody tr').count(), 6);
    await page.locator('table.nodes-table tr[data-node-name="publish"]').waitFor();
    assert.match(
      await textOf(page.locator('table.nodes-table tr[data-node-name="migrate"] .error-cell')),
      /refused: not-a-number/,
    );
    // arrow keys move between the tabs
    await page.getByRole('tab', { name: 'Table' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.locator('.timeline').waitFor();
    assert.equal(
      await page.getByRole('tab', { name: 'Timeline' }).getAttribute('aria-selected'),
      'true',
    );
    // every node that started has a bar; restart never started
    assert.equal(await page.locator('.timeline-rows li').count(), 5);
    assert.equal(await page.locator('.timeline-rows li[data-node="2"]').count(), 0);
    await screenshot(page, 'run-timeline');
  });

  it("shows the server's refusal when the page's view is stale", async () => {
    const { body } = await post(
      server.url,
      doc([['long', ...gated('never-opened')]], [], { name: 'stale' }),
    );
    await waitForRun(server.url, body.id, (run) => run.nodes[0].state === 2);
    // No live stream, and no re-reading after the first load: the page still shows running.
    expectFailedRequests = true;
    let reads = 0;
    await page.route(`**/v1/tasks/${body.id}/events`, (route) =>
      route.fulfill({ status: 503, body: 'no' }),
    );
    await page.route(`**/v1/tasks/${body.id}`, (route) =>
      route.request().method() === 'GET' && reads++ > 0 ? route.abort() : route.continue(),
    );
    try {
      await open(`/runs/${body.id}`);
      await page.locator('[data-stream="failed"]').waitFor();
      await fetch(`${server.url}/v1/tasks/${body.id}`, { method: 'DELETE' });
      await page.getByRole('button', { name: 'Cancel run' }).click();
      await page.getByRole('button', { name: 'Yes, cancel the run' }).click();
      const error = page.locator('.action-error');
      await error.waitFor();
      assert.match(await textOf(error), /already finished \(canceled\)/);
    } finally {
      await page.unrouteAll();
      expectFailedRequests = false;
    }
  });

  it('draws a 5,000-node run quickly', async (t) => {
    const n = 5000;
    const width = 100;
    const edges: Array<[number, number]> = [];
    for (let i = width; i < n; i++) {
      edges.push([i - width, i]);
      if (i % width !== 0) edges.push([i - width - 1, i]);
    }
    const nodes = Array.from({ length: n }, (_, id) => ({ id, name: `step-${id}`, engine: 'nil' }));
    const { status, body } = await post(server.url, { name: 'five thousand', edges, nodes });
    assert.equal(status, 202);
    await waitForRun(server.url, body.id, undefined, 60_000);

    const fresh = await context.newPage();
    try {
      fresh.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      await fresh.goto(`${server.url}/runs/${body.id}`);
      // opened fitted: the whole graph, drawn as the canvas overview (test/ui/graph-size.test.ts)
      await fresh
        .locator(
          '.graph[data-render="overview"][data-overview-in-view="5000"][data-overview-settled="true"]',
        )
        .waitFor({ timeout: 30_000 });
      await fresh.waitForFunction(() => performance.getEntriesByName('baton:graph-visible').length);
      const marks = await fresh.evaluate(() =>
        Object.fromEntries(
          performance
            .getEntriesByType('mark')
            .map((m) => [m.name, { at: m.startTime, detail: (m as PerformanceMark).detail }]),
        ),
      );
      const visible = marks['baton:graph-visible'];
      assert.ok(visible, 'the page marks when the first nodes are drawn');
      const layout = marks['baton:layout'].detail as { engine: string; ms: number };
      t.diagnostic(
        `5,000-node run page: first nodes drawn ${Math.round(visible.at)} ms after navigation ` +
          `(run loaded at ${Math.round(marks['baton:detail'].at)} ms, laid out at ${Math.round(marks['baton:layout'].at)} ms ` +
          `by the ${layout.engine} layout in ${layout.ms.toFixed(1)} ms in the worker)`,
      );
      assert.equal(layout.engine, 'layered');
      assert.equal(await fresh.locator('.graph').getAttribute('data-layout'), 'layered');
      assert.equal(await fresh.locator('.react-flow__node').count(), 0, 'no DOM node zoomed out');
      await fresh.getByRole('tab', { name: 'Table' }).click();
      assert.match(
        await textOf(fresh.locator('.node-table [role="status"]')),
        /5000 of 5000 nodes/,
      );
    } finally {
      await fresh.close();
    }
  });

  it('lists every run of the session with its final state', async () => {
    await open('/');
    await page.locator('tbody tr').nth(10).waitFor();
    await page.waitForFunction(() => !document.querySelector('tbody tr[data-state="running"]'));
    const states = await page
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-state')));
    for (const state of ['success', 'failure', 'canceled']) {
      assert.ok(states.includes(state), `a ${state} run is listed: ${states}`);
    }
    await screenshot(page, 'runs-list');
  });

  it('met no console error and no Content-Security-Policy violation on the way', () => {
    assert.deepEqual(problems, []);
  });
});
