/**
 * `npm run dist`: a self-contained Baton for machines without the source tree or Node.js 24.
 *
 *   dist/baton/                          the bundle (also what the tarball holds)
 *     bin/baton                          launcher: runs bin/baton.js on bin/node
 *     bin/node                           Node.js 24 (the project's pinned `node` package)
 *     bin/baton.js src/ examples/        the CLI, orchestrator and executor (TypeScript, run natively)
 *     web/dist/                          the built UI, served at /
 *     node_modules/                      runtime dependencies only (npm ci --omit=dev)
 *     package.json package-lock.json README.md
 *   dist/baton-VERSION-PLATFORM-ARCH.tar.gz
 *
 * Usage: node scripts/dist.ts [--out DIR] [--no-ui-build] [--no-tarball]
 *   --no-ui-build  copy web/dist if it is there, never build it (tests use this)
 *
 * Dependencies come from the npm cache when it has them (--prefer-offline). Install scripts
 * are not run: the only runtime package with one is ssh2's optional native speed-up, which
 * the project does not allow either (package.json allowScripts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));

const LAUNCHER = `#!/bin/sh
# Baton launcher: runs the CLI on the Node.js 24 shipped beside it, whatever node is on PATH.
# Symlink it anywhere (e.g. /usr/local/bin/baton); it finds its own folder.
here=$(dirname "$(readlink -f "$0")")
exec "$here/node" "$here/baton.js" "$@"
`;

/** What goes into the bundle from the source tree. */
const COPIED = [
  'bin',
  'src',
  'examples',
  'package.json',
  'package-lock.json',
  'README.md',
  'LICENSE',
];

export interface DistOptions {
  out: string;
  buildUi: boolean;
  tarball: boolean;
  log?: (line: string) => void;
}

export interface DistResult {
  bundle: string;
  tarball?: string;
  ui: boolean;
}

export function dist(options: DistOptions): DistResult {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const out = resolve(options.out);
  const bundle = join(out, 'baton');
  rmSync(bundle, { recursive: true, force: true });
  mkdirSync(join(bundle, 'bin'), { recursive: true });

  // 1. sources
  for (const entry of COPIED) {
    const from = join(root, entry);
    if (existsSync(from)) cpSync(from, join(bundle, entry), { recursive: true });
  }

  // 2. the UI, built if it is missing
  const ui = uiBuild(options.buildUi, log);
  if (ui) cpSync(ui, join(bundle, 'web', 'dist'), { recursive: true });

  // 3. runtime dependencies, exactly as locked
  log('npm ci --omit=dev ...');
  const npm = spawnSync(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    { cwd: bundle, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } },
  );
  if (npm.status !== 0) {
    throw new Error(`npm ci --omit=dev failed in ${bundle}:\n${npm.stderr || npm.error}`);
  }

  // 4. Node.js 24: the `node` package is a devDependency, so the bundle carries its binary
  const node = nodeBinary();
  copyFileSync(node, join(bundle, 'bin', 'node'));
  chmodSync(join(bundle, 'bin', 'node'), 0o755);
  writeFileSync(join(bundle, 'bin', 'baton'), LAUNCHER, { mode: 0o755 });

  // 5. the tarball
  let tarball: string | undefined;
  if (options.tarball) {
    tarball = join(out, `baton-${pkg.version}-${process.platform}-${process.arch}.tar.gz`);
    execFileSync('tar', ['-czf', tarball, '-C', out, 'baton']);
    log(
      `${relative(process.cwd(), tarball)}: ${(statSync(tarball).size / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  log(
    `${relative(process.cwd(), bundle) || bundle}: Baton ${pkg.version} with Node.js ` +
      `${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}` +
      `${ui ? ' and the UI' : ', without the UI'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { bundle, tarball, ui: ui !== undefined };
}

/** web/dist, built first when missing and allowed; undefined (with a note) when there is none. */
function uiBuild(build: boolean, log: (line: string) => void): string | undefined {
  const dir = join(root, 'web', 'dist');
  if (existsSync(join(dir, 'index.html'))) return dir;
  const vite = join(root, 'node_modules', '.bin', 'vite');
  if (build && existsSync(vite)) {
    log('web/dist is missing: npx vite build --config web/vite.config.ts ...');
    const result = spawnSync(vite, ['build', '--config', 'web/vite.config.ts'], {
      cwd: root,
      encoding: 'utf8',
    });
    if (result.status === 0 && existsSync(join(dir, 'index.html'))) return dir;
    log(`the UI build failed; the bundle goes without it:\n${result.stderr}`);
    return undefined;
  }
  log(
    'note: web/dist is missing, the bundle goes without the UI (the API works; / says how to ' +
      'build it). Build it first with: npx vite build --config web/vite.config.ts',
  );
  return undefined;
}

/** The pinned Node.js 24 binary: the `node` package's, else this process's if it is 24. */
function nodeBinary(): string {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (existsSync(pinned)) return pinned;
  if (process.versions.node.split('.')[0] === '24') return process.execPath;
  throw new Error('no Node.js 24 binary: run `npm ci` first (the `node` package pins it)');
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(root, 'dist') },
      'no-ui-build': { type: 'boolean', default: false },
      'no-tarball': { type: 'boolean', default: false },
    },
  });
  try {
    dist({ out: values.out, buildUi: !values['no-ui-build'], tarball: !values['no-tarball'] });
  } catch (err) {
    process.stderr.write(`dist: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
