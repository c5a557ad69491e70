/**
 * The distribution (scripts/dist.ts): the tarball, extracted elsewhere, runs with only the
 * system's PATH (whose node, if any, is not 24): `baton --version`, `validate`, and a real
 * `serve` + `run`, so a runtime dependency missing from the bundle fails here. About 15 s.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { dist } from '../../scripts/dist.ts';
import { READY_BOUND_MS } from '../support/cli.ts';
import { tempDir } from '../support/server.ts';

/** No node_modules/.bin, no project: what a fresh shell on a server has. */
const SYSTEM_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };

function sh(
  file: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: SYSTEM_ENV, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

it('the dist tarball runs baton on its own Node.js 24, away from the source tree', async (t) => {
  const out = tempDir('baton-dist-');
  const elsewhere = tempDir('baton-install-');
  t.after(() => {
    out.remove();
    elsewhere.remove();
  });
  const result = dist({ out: out.path, buildUi: false, tarball: true, log: () => {} });
  assert.ok(result.tarball && existsSync(result.tarball));
  assert.match(result.tarball, /baton-\d+\.\d+\.\d+-linux-x64\.tar\.gz$/);
  assert.ok(statSync(join(result.bundle, 'bin', 'node')).mode & 0o100, 'node is executable');
  assert.ok(!existsSync(join(result.bundle, 'node_modules', 'typescript')), 'no devDependencies');
  assert.ok(!existsSync(join(result.bundle, 'node_modules', 'node')), 'no node package');

  execFileSync('tar', ['-xzf', result.tarball, '-C', elsewhere.path]);
  const baton = join(elsewhere.path, 'baton', 'bin', 'baton');
  const cwd = elsewhere.path;

  const version = await sh(baton, ['--version'], cwd);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const example = join(elsewhere.path, 'baton', 'examples', 'gorch-example.json');
  const valid = await sh(baton, ['validate', example], cwd);
  assert.equal(valid.code, 0, valid.stderr);
  assert.match(valid.stdout, /valid, 8 nodes, 9 edges/);

  // the orchestrator's own dependencies (Fastify, SQLite, pino) are in the bundle
  const serve = spawn(baton, ['serve', '--port', '0', '--data', join(cwd, 'data')], {
    cwd,
    env: { ...SYSTEM_ENV, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => serve.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`serve not ready:\n${output}`)),
      READY_BOUND_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /"url":"(http[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    serve.stdout.on('data', onData);
    serve.stderr.on('data', onData);
    serve.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
  });
  const run = await sh(baton, ['run', example, '--watch', '--server', url], cwd);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /success: success 8$/m);
  const home = await fetch(`${url}/`);
  assert.equal(home.status, 200, 'the UI (or the page saying how to build it) is served');
});
