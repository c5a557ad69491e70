/**
 * Both spawners (posix_spawn through koffi, and Node's child_process) start real programs
 * the same way: own session, default signal dispositions, stdin from /dev/null, the exact
 * environment given, exit codes and signals reported, failures named by errno.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { nodeSpawn, posixSpawn, type Spawner } from '../../src/executor/spawn.ts';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk;
  return out;
}

async function run(spawner: Spawner, script: string, env?: NodeJS.ProcessEnv, cwd = '/') {
  const child = await spawner({ command: '/bin/sh', args: ['-c', script], cwd, env });
  const [stdout, stderr, status] = await Promise.all([
    text(child.stdout),
    text(child.stderr),
    child.exited,
  ]);
  return { pid: child.pid, stdout, stderr, ...status };
}

test('posix_spawn is available on this Linux machine (the executor default)', () => {
  assert.equal(process.platform, 'linux');
  assert.ok(posixSpawn, 'koffi could not load glibc: the executor would fall back to node');
});

for (const [name, spawner] of [
  ['posix', posixSpawn!],
  ['node', nodeSpawn],
] as const) {
  describe(`${name} spawner`, () => {
    test('captures stdout and stderr, the exit code, the cwd and the exact environment', async () => {
      const cwd = realpathSync(tmpdir());
      const result = await run(
        spawner,
        'echo "out $GREETING $(pwd)"; echo err >&2; env | grep -c . ; exit 7',
        { GREETING: 'hello world', PATH: '/usr/bin:/bin' },
        cwd,
      );
      assert.equal(result.code, 7);
      assert.equal(result.signal, null);
      // sh adds PWD (and maybe SHLVL, _): only a handful of variables, not the executor's
      const [first, count] = result.stdout.trim().split('\n');
      assert.equal(first, `out hello world ${cwd}`);
      assert.ok(Number(count) <= 5, `${count} variables reached the program`);
      assert.equal(result.stderr, 'err\n');
    });

    test('the program leads its own session and process group', async () => {
      const result = await run(spawner, 'cut -d" " -f5,6 /proc/$$/stat');
      assert.equal(result.stdout.trim(), `${result.pid} ${result.pid}`);
    });

    test('signals are neither ignored nor blocked (Node ignores SIGPIPE)', async () => {
      // grep reads its own status: what it was given (a shell could block signals to fork)
      const child = await spawner({
        command: 'grep',
        args: ['-E', '^Sig(Ign|Blk)', '/proc/self/status'],
        cwd: '/',
      });
      const [stdout] = await Promise.all([text(child.stdout), child.exited]);
      const mask = (field: string) =>
        BigInt(`0x${new RegExp(`${field}:\\s+([0-9a-f]+)`).exec(stdout)![1]}`);
      assert.equal(mask('SigBlk'), 0n);
      // signals 1-31; glibc keeps 32 and 33 for itself and sets them up at every exec
      assert.equal(mask('SigIgn') & 0x7fffffffn, 0n);
    });

    test('stdin is /dev/null', async () => {
      const result = await run(spawner, 'cat; echo "read $?"');
      assert.equal(result.stdout, 'read 0\n');
    });

    test('a program killed by a signal reports the signal', async () => {
      const result = await run(spawner, 'kill -TERM $$; sleep 5');
      assert.deepEqual([result.code, result.signal], [null, 'SIGTERM']);
    });

    test('a program that closes its pipes still reports its exit', async () => {
      const child = await spawner({
        command: '/bin/sh',
        args: ['-c', 'exec >&- 2>&-; sleep 0.2; exit 4'],
        cwd: '/',
      });
      child.stdout.resume();
      child.stderr.resume();
      assert.deepEqual(await child.exited, { code: 4, signal: null });
    });

    test('a missing or non-executable program is refused with its errno', async () => {
      await assert.rejects(spawner({ command: '/nonexistent/x', args: [], cwd: '/' }), {
        code: 'ENOENT',
      });
      await assert.rejects(spawner({ command: '/etc/passwd', args: [], cwd: '/' }), {
        code: 'EACCES',
      });
      await assert.rejects(spawner({ command: '/bin/true', args: [], cwd: '/nonexistent' }), {
        code: 'ENOENT',
      });
    });

    test('an executable without a #! line runs with /bin/sh, as execvp does', async (t) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'baton-spawn-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const script = path.join(dir, 'plain');
      writeFileSync(script, 'echo "plain $1"\n', { mode: 0o755 });
      const child = await spawner({ command: script, args: ['x y'], cwd: dir });
      const [stdout, status] = await Promise.all([text(child.stdout), child.exited]);
      assert.equal(stdout, 'plain x y\n');
      assert.equal(status.code, 0);
    });

    test('a NUL byte in an argument is refused, not truncated', async () => {
      await assert.rejects(spawner({ command: '/bin/echo', args: ['a\0b'], cwd: '/' }), {
        code: 'ERR_INVALID_ARG_VALUE',
      });
    });

    test('300 programs at once each report their own exit code', async () => {
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => run(spawner, `exit ${i % 256}`)),
      );
      assert.deepEqual(
        results.map((r) => r.code),
        Array.from({ length: 300 }, (_, i) => i % 256),
      );
    });
  });
}

test("posix_spawn's reaper leaves Node's children to Node, and Node leaves ours", async () => {
  const theirs = spawn('/bin/sh', ['-c', 'sleep 0.3; exit 5']);
  const nodeExit = new Promise((resolve) => theirs.once('exit', (code) => resolve(code)));
  const ours = await Promise.all(
    Array.from({ length: 20 }, (_, i) => run(posixSpawn!, `sleep 0.${i % 5}; exit ${i}`)),
  );
  assert.deepEqual(
    ours.map((r) => r.code),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(await nodeExit, 5);
});
