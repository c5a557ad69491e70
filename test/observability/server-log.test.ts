/**
 * The server's own log, through real `baton serve` processes whose stdout is a pipe, as under
 * a supervisor: one access line per request (none with --no-access-log or
 * BATON_ACCESS_LOG=false, failures still), and no line lost when the process ends, whether by
 * SIGTERM right after a burst of requests or by an uncaught exception.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BATON } from '../support/cli.ts';
import { freePort } from '../support/processes.ts';
import { doc, tempDir } from '../support/server.ts';

const CRASH_ON_SIGUSR2 = fileURLToPath(new URL('./fixtures/crash-on-sigusr2.mjs', import.meta.url));

interface Server {
  url: string;
  child: ChildProcess;
  /** everything written to stdout so far */
  stdout(): string;
  /** resolves once the process has exited and its stdout is read to the end */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `baton serve` with stdout on a pipe; resolves once it answers /healthz. */
async function serve(
  dataDir: string,
  flags: string[] = [],
  env: Record<string, string> = {},
  nodeFlags: string[] = [],
): Promise<Server> {
  const port = await freePort();
  const { BATON_LOG_LEVEL: _, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    [...nodeFlags, BATON, 'serve', '--port', String(port), '--data', dataDir, ...flags],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, CI: '1', ...env } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const ended = Promise.all([once(child.stdout!, 'end'), once(child, 'exit')]).then(
    ([, [code, signal]]) =>
      ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null },
  );
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (child.exitCode !== null) throw new Error(`baton serve exited early:\n${stdout}${stderr}`);
    const up = await fetch(`${url}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`baton serve did not answer:\n${stdout}${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, child, stdout: () => stdout, ended };
}

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  req?: { method: string; url: string; remoteAddress: string };
  res?: { statusCode: number };
  responseTime?: number;
  run?: string;
  err?: { message: string };
}

/** The JSON lines of a log; fails on any line that is not whole JSON (a torn write). */
function lines(text: string): Line[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Line;
      } catch {
        throw new Error(`not a whole JSON line: ${line.slice(0, 200)}`);
      }
    });
}

async function submit(url: string): Promise<string> {
  const res = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(doc([['a', 'nil']])),
  });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

describe('the server log', () => {
  const dir = tempDir('baton-server-log-');
  let count = 0;
  const data = () => join(dir.path, `data-${++count}`);
  after(() => dir.remove());

  it('has one access line per request, with the request, its status and its time', async () => {
    const server = await serve(data());
    const id = await submit(server.url);
    const missing = await fetch(`${server.url}/v1/tasks/nope`);
    assert.equal(missing.status, 404);
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.ended, { code: 0, signal: null });
    const log = lines(server.stdout());
    assert.equal(log.filter((l) => l.msg === 'incoming request').length, 0, 'one line, not two');
    const access = log.filter((l) => l.msg === 'request completed');
    const post = access.find((l) => l.req?.method === 'POST');
    assert.ok(post, 'the POST has its line');
    assert.equal(post.req?.url, '/v1/tasks');
    assert.equal(post.req?.remoteAddress, '127.0.0.1');
    assert.equal(post.res?.statusCode, 202);
    assert.equal(typeof post.responseTime, 'number');
    assert.match(post.reqId ?? '', /^req-/);
    const notFound = access.find((l) => l.req?.url === '/v1/tasks/nope');
    assert.equal(notFound?.res?.statusCode, 404);
    assert.equal(access.filter((l) => l.reqId === post.reqId).length, 1);
    assert.ok(log.some((l) => l.run === id && l.msg === 'run finished'));
  });

  it('--no-access-log and BATON_ACCESS_LOG=false leave the requests out, not the runs', async () => {
    for (const [flags, env] of [
      [['--no-access-log'], {}],
      [[], { BATON_ACCESS_LOG: 'false' }],
    ] as const) {
      const server = await serve(data(), [...flags], env);
      const id = await submit(server.url);
      server.child.kill('SIGTERM');
      assert.deepEqual(await server.ended, { code: 0, signal: null });
      const log = lines(server.stdout());
      assert.deepEqual(
        log.filter((l) => l.req !== undefined),
        [],
        `${flags.join(' ')}${JSON.stringify(env)}: no request lines`,
      );
      assert.ok(log.some((l) => l.run === id && l.msg === 'run started'));
    }
    // the flag wins over the variable
    const server = await serve(data(), ['--access-log'], { BATON_ACCESS_LOG: 'false' });
    await submit(server.url);
    server.child.kill('SIGTERM');
    await server.ended;
    assert.ok(lines(server.stdout()).some((l) => l.msg === 'request completed'));
  });

  it('writes every line before exiting on SIGTERM, right after a burst of requests', async () => {
    const server = await serve(data());
    const ids = await Promise.all(Array.from({ length: 200 }, () => submit(server.url)));
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.ended, { code: 0, signal: null });
    const log = lines(server.stdout());
    const accepted = log.filter((l) => l.msg === 'request completed' && l.res?.statusCode === 202);
    assert.equal(accepted.length, ids.length, 'an access line for every 202');
    const started = new Set(log.filter((l) => l.msg === 'run started').map((l) => l.run));
    for (const id of ids) assert.ok(started.has(id), `run ${id} started`);
    assert.ok(log.some((l) => l.msg.startsWith('shutting down')));
  });

  it('logs an uncaught exception as fatal and writes the lines before it', async () => {
    // the fixture throws from a signal handler: an exception nothing catches
    const server = await serve(data(), [], {}, ['--import', CRASH_ON_SIGUSR2]);
    const ids = await Promise.all(Array.from({ length: 50 }, () => submit(server.url)));
    server.child.kill('SIGUSR2');
    const { code } = await server.ended;
    assert.notEqual(code, 0);
    const log = lines(server.stdout());
    const fatal = log.filter((l) => l.level === 60);
    assert.equal(fatal.length, 1, 'one fatal line');
    assert.equal(fatal[0].msg, 'uncaught exception: exiting');
    assert.equal(fatal[0].err?.message, 'crash requested by SIGUSR2');
    const accepted = log.filter((l) => l.msg === 'request completed' && l.res?.statusCode === 202);
    assert.equal(accepted.length, ids.length);
  });
});
