/** The Schedules page in Chromium against a real orchestrator: list, pause, resume, delete. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../src/cli/server.ts';
import { doc, startTestServer, tempDir } from '../support/server.ts';
import { ensureBuilt, launchChromium, screenshot } from './support.ts';

describe('web UI: schedules', { timeout: 120_000 }, () => {
  const dir = tempDir('baton-ui-schedules-');
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    browser = await launchChromium();
    const [, started] = await Promise.all([ensureBuilt(), startTestServer({ dataDir: dir.path })]);
    server = started;
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('lists schedules, and pauses, resumes and deletes one', async () => {
    const res = await fetch(`${server.url}/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'nightly backup',
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        document: doc([['dump', 'nil']]),
      }),
    });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: string };

    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.waitForURL(/\/schedules$/);
    assert.equal(
      await page.getByRole('link', { name: 'Schedules' }).getAttribute('aria-current'),
      'page',
    );
    const row = page.locator(`tr[data-schedule="${id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 4), ['nightly backup', '0 3 * * *', 'Europe/Paris', 'none']);
    assert.match(cells[4], /\d\d:00/, 'the next fire, in local time');
    assert.equal(cells[6], 'active');
    await screenshot(page, 'schedules');

    await row.getByRole('button', { name: 'Pause' }).click();
    await page.locator(`tr[data-schedule="${id}"][data-paused="true"]`).waitFor();
    assert.equal((await row.locator('td').nth(6).textContent())?.trim(), 'paused');
    await row.getByRole('button', { name: 'Resume' }).click();
    await page.locator(`tr[data-schedule="${id}"][data-paused="false"]`).waitFor();

    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText('No schedules yet.').waitFor();
    const left = await fetch(`${server.url}/v1/schedules`);
    assert.deepEqual(await left.json(), { schedules: [] });
    assert.deepEqual(problems, []);
  });
});
