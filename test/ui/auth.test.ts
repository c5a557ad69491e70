/**
 * Logging in to the web UI of a server with tokens, in Debian's Chromium: the login form when
 * the API answers 401, a refused token, the runs list once a good one is entered, a run
 * followed live over the authenticated event stream, the token kept for the tab (and never
 * put in a URL), logging out, and a revoked token asking again. Steps share one page and run
 * in order. Also the event-stream parser the live view reads with.
 */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { hashToken, newToken } from '../../src/api/auth.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { SseParser } from '../../web/src/live/sse.ts';
import { doc, startTestServer, tempDir } from '../support/server.ts';
import { ensureBuilt, launchChromium, screenshot, waitForStates } from './support.ts';

describe('web UI login in Chromium', { timeout: 150_000 }, () => {
  const dir = tempDir('baton-ui-auth-');
  const file = join(dir.path, 'tokens.yaml');
  const token = newToken();
  const other = newToken();
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  /** every API request the page made: its URL and whether it carried the token */
  const requests: Array<{ url: string; authorized: boolean }> = [];

  const writeTokens = (entries: Record<string, string>) => {
    const text = Object.entries(entries)
      .map(([name, value]) => `- {name: ${name}, sha256: ${hashToken(value)}}\n`)
      .join('');
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };

  const submit = async (body: unknown) => {
    const res = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  };

  before(async () => {
    browser = await launchChromium();
    writeTokens({ ui: token, other });
    const [build, started] = await Promise.all([
      ensureBuilt(),
      startTestServer({ dataDir: dir.path, tokensFile: file }),
    ]);
    server = started;
    process.stderr.write(`# web UI build: ${build}\n`);
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
    await context.exposeBinding('__cspViolation', (_source, text: string) =>
      problems.push(`CSP violation: ${text}`),
    );
    await context.addInitScript(() => {
      const report = (window as unknown as { __cspViolation(text: string): void }).__cspViolation;
      document.addEventListener('securitypolicyviolation', (e) =>
        report(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      const text = message.text();
      // the 401s that ask for a token and the refused login are expected
      if (message.type() === 'error' && !/status of 401/.test(text)) {
        problems.push(`console error: ${text}`);
      }
    });
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/v1/')) {
        requests.push({ url: request.url(), authorized: 'authorization' in request.headers() });
      }
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('shows the login form when the API asks for a token, and refuses a wrong one', async () => {
    await page.goto(`${server.url}/`);
    const field = page.getByLabel('API token');
    await field.waitFor();
    assert.equal(await page.locator('table.runs-table').count(), 0, 'no runs without a token');
    assert.equal(await field.getAttribute('type'), 'password');
    await screenshot(page, 'login');

    await field.fill(newToken());
    await page.getByRole('button', { name: 'Log in' }).click();
    const error = page.locator('.login-form [role="alert"]');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /not valid/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('baton.token')), null);
  });

  it('shows the runs list once a good token is entered', async () => {
    const id = await submit(doc([['only', 'nil']], [], { name: 'behind a login' }));
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`tr[data-run="${id}"]`).waitFor();
    assert.equal(await page.getByLabel('API token').count(), 0);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('baton.token')), token);
    await screenshot(page, 'login-runs');
  });

  it('follows a run live over the authenticated event stream', async () => {
    const id = await submit(
      doc(
        [
          ['first', 'sleep', ['0.3']],
          ['second', 'nil'],
        ],
        [[0, 1]],
        { name: 'live behind a login' },
      ),
    );
    await page.goto(`${server.url}/runs/${id}`);
    await waitForStates(page, { first: 'success', second: 'success' });
    await page.locator('[data-stream="ended"]').waitFor();
    const events = requests.filter((r) => r.url.includes(`/v1/tasks/${id}/events`));
    assert.ok(events.length > 0, 'the page opened the run stream');
  });

  it('sends the token as a header on every API request, never in a URL', () => {
    const first = requests.findIndex((r) => r.authorized);
    assert.ok(first > 0, 'the first requests went without a token, and were refused');
    assert.deepEqual(
      requests.slice(first).filter((r) => !r.authorized),
      [],
      'every request after logging in carries the token',
    );
    for (const r of requests) assert.doesNotMatch(r.url, /token/i, r.url);
  });

  it('keeps the token across reloads of the tab, and forgets it on logging out', async () => {
    await page.goto(`${server.url}/`);
    await page.locator('table.runs-table tbody tr').first().waitFor();
    assert.equal(await page.getByLabel('API token').count(), 0);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('baton.token')), null);
  });

  it('asks again when the token it has is revoked', async () => {
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('table.runs-table tbody tr').first().waitFor();
    writeTokens({ other }); // the UI's token is revoked; the list polls every 2 s
    await page.getByLabel('API token').waitFor({ timeout: 15_000 });
    assert.match(
      (await page.locator('.login [role="status"]').textContent()) ?? '',
      /Your token was refused: the bearer token is not valid/,
    );
    await page.getByLabel('API token').fill(other);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('table.runs-table tbody tr').first().waitFor();
  });

  it('met no page errors, console errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});

describe('event-stream parser', () => {
  it('reads events cut anywhere, with CRLF, comments and several data lines', () => {
    const text =
      ': keep-alive\r\n\r\nid: 1\r\nevent: snapshot\r\ndata: {"a":\r\ndata: 1}\r\n\r\n' +
      'event: state\ndata: x\n\ndata:no-space\n\n';
    const whole = new SseParser().push(text);
    assert.deepEqual(whole, [
      { event: 'snapshot', data: '{"a":\n1}' },
      { event: 'state', data: 'x' },
      { event: 'message', data: 'no-space' },
    ]);
    for (const size of [1, 2, 3, 7]) {
      const parser = new SseParser();
      const got = [];
      for (let i = 0; i < text.length; i += size) got.push(...parser.push(text.slice(i, i + size)));
      assert.deepEqual(got, whole, `chunks of ${size}`);
    }
  });
});
