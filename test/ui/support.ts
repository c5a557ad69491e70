/**
 * What the browser tests need: a current build of the UI (made here if web/dist is missing or
 * older than the sources), Debian's Chromium through playwright-core (never a downloaded
 * browser; its absence fails the tests rather than skipping them), and screenshots.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web');
const INDEX = join(WEB, 'dist', 'index.html');
export const CHROMIUM = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'test-output', 'ui');
const DOCS_SHOTS = join(ROOT, 'docs', 'screenshots');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds web/dist with the project's own command when it is missing or stale. */
export async function ensureBuilt(): Promise<'built' | 'current'> {
  const graphModule = Math.max(
    statSync(join(ROOT, 'src/graph/export.ts')).mtimeMs,
    statSync(join(ROOT, 'src/graph/states.ts')).mtimeMs,
  );
  if (existsSync(INDEX) && statSync(INDEX).mtimeMs >= Math.max(newestSource(WEB), graphModule)) {
    return 'current';
  }
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  await run(
    process.execPath,
    [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
    {
      cwd: ROOT,
      timeout: 120_000,
    },
  );
  if (!existsSync(INDEX)) throw new Error('the vite build wrote no web/dist/index.html');
  return 'built';
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set BATON_CHROMIUM`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Saves a screenshot under test-output/ui/; with BATON_UPDATE_SCREENSHOTS=1 also into
 * docs/screenshots/ for the README.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path });
  if (process.env.BATON_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SHOTS, { recursive: true });
    copyFileSync(path, join(DOCS_SHOTS, `${name}.png`));
  }
}

/** The state of every drawn graph node, by name. */
export function graphStates(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const out: Record<string, string> = {};
    for (const el of document.querySelectorAll<HTMLElement>('.react-flow__node [data-node-name]')) {
      out[el.dataset.nodeName!] = el.dataset.state!;
    }
    return out;
  });
}

/** Waits until the drawn graph nodes named in `expected` are in those states. */
export async function waitForStates(
  page: Page,
  expected: Record<string, string>,
  timeout = 60_000,
): Promise<void> {
  try {
    await page.waitForFunction(
      (want) => {
        for (const [name, state] of Object.entries(want)) {
          const el = document.querySelector<HTMLElement>(
            `.react-flow__node [data-node-name="${CSS.escape(name)}"]`,
          );
          if (el?.dataset.state !== state) return false;
        }
        return true;
      },
      expected,
      { timeout, polling: 25 },
    );
  } catch (err) {
    throw new Error(
      `nodes not in ${JSON.stringify(expected)}: ${JSON.stringify(await graphStates(page))} (${(err as Error).message.split('\n')[0]})`,
    );
  }
}
