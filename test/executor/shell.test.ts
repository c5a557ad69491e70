/**
 * The shell driver through the real service: real child processes, real process groups,
 * once with each spawner (posix_spawn and Node's child_process).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { State } from '../../src/graph/states.ts';
import {
  freshKey,
  harness,
  isAlive,
  node,
  readPids,
  SCRIPTS,
  tempDir,
  until,
  writeScripts,
} from './helpers.ts';

for (const spawner of ['posix', 'node'] as const) {
  describe(`shell driver, ${spawner} spawner`, () => {
    test('success fills declared outputs, last line wins', async (t) => {
      const h = await harness(t, { spawner });
      await writeScripts(h.root, SCRIPTS);
      const status = await h.run(
        node({ engine: 'shell', artifact: 'outputs.sh', output: { ip: '' } }),
      );
      assert.equal(status.state, State.success, status.error ?? '');
      assert.deepEqual(status.output, { ip: '10.1.2.4' });
      assert.equal(status.exit_code, 0);
      assert.ok(status.started_at && status.stopped_at);
      const log = await h.client.log(status.id);
      assert.match(log, /ip=10\.1\.2\.3/);
      assert.match(log, /noise/);
    });

    test('a non-zero exit fails with the code and the last stderr line', async (t) => {
      const h = await harness(t, { spawner });
      await writeScripts(h.root, SCRIPTS);
      const status = await h.run(node({ engine: 'shell', artifact: 'fail.sh' }));
      assert.equal(status.state, State.failure);
      assert.equal(status.exit_code, 3);
      assert.equal(status.error, 'exited with code 3: disk on fire');
    });

    test('args with shell metacharacters arrive literally and run nothing', async (t) => {
      const h = await harness(t, { spawner });
      await writeScripts(h.root, SCRIPTS);
      const scratch = await tempDir(t);
      const canary = path.join(scratch, 'canary');
      await mkdir(canary);
      const pwned = path.join(scratch, 'pwned');
      const args = [
        `$(touch ${pwned}1)`,
        `; rm -rf ${canary}`,
        `\`touch ${pwned}2\``,
        `' ; touch ${pwned}3 ; '`,
        `" ; touch ${pwned}4 ; "`,
        `a\nb\ntouch ${pwned}5`,
        `| touch ${pwned}6 && touch ${pwned}7 &`,
        '$HOME * ~ \\ \t',
        '',
        '-n',
      ];
      const out = path.join(scratch, 'args.out');
      const status = await h.run(
        node({ engine: 'shell', artifact: 'args.sh', args: [out, ...args], output: { count: '' } }),
      );
      assert.equal(status.state, State.success, status.error ?? '');
      assert.equal(status.output.count, String(args.length));
      assert.deepEqual(readFileSync(out, 'utf8').split('\0').slice(0, -1), args);
      for (let i = 1; i <= 7; i++)
        assert.ok(!existsSync(`${pwned}${i}`), `side effect ${i} happened`);
      assert.ok(existsSync(canary));
    });

    test('artifacts outside the root are refused and nothing runs', async (t) => {
      const h = await harness(t, { spawner });
      const outside = await tempDir(t);
      const ran = path.join(outside, 'ran');
      await writeScripts(outside, { 'evil.sh': `#!/bin/sh\ntouch ${ran}\n` });
      await symlink(path.join(outside, 'evil.sh'), path.join(h.root, 'link.sh'));
      await symlink(outside, path.join(h.root, 'linkdir'));
      await mkdir(path.join(h.root, 'sub'));
      const cases: [string, RegExp][] = [
        ['../../etc/passwd', /contains '\.\.'/],
        ['sub/../../evil.sh', /contains '\.\.'/],
        ['/etc/passwd', /absolute path/],
        [path.join(outside, 'evil.sh'), /absolute path/],
        ['link.sh', /outside the artifact root/],
        ['linkdir/evil.sh', /outside the artifact root/],
        ['missing.sh', /not found/],
        ['sub', /not a regular file/],
        ['', /no artifact/],
      ];
      for (const [artifact, message] of cases) {
        const status = await h.run(node({ engine: 'shell', artifact }));
        assert.equal(status.state, State.failure, artifact);
        assert.match(status.error ?? '', message, artifact);
      }
      assert.ok(!existsSync(ran));
    });

    test('a symlink inside the root is followed', async (t) => {
      const h = await harness(t, { spawner });
      await writeScripts(h.root, SCRIPTS);
      await symlink('outputs.sh', path.join(h.root, 'alias.sh'));
      const status = await h.run(
        node({ engine: 'shell', artifact: 'alias.sh', output: { ip: '' } }),
      );
      assert.equal(status.state, State.success, status.error ?? '');
    });

    test('DELETE kills the whole process group and gives canceled', async (t) => {
      const h = await harness(t, { spawner });
      await writeScripts(h.root, SCRIPTS);
      const pidFile = path.join(await tempDir(t), 'pids');
      const { id } = await h.client.submit(
        node({ engine: 'shell', artifact: 'forever.sh', args: [pidFile] }),
        freshKey(),
      );
      await until(() => readPids(pidFile, 2).length === 2, 'the pid file');
      const pids = readPids(pidFile, 2);
      assert.ok(pids.every(isAlive));
      const status = await h.client.cancel(id);
      assert.equal(status.state, State.canceled);
      assert.equal(status.error, 'canceled');
      await until(() => !pids.some(isAlive), 'the script and its child to die', 3000);
      // cancelling again changes nothing
      assert.equal((await h.client.cancel(id)).state, State.canceled);
    });

    test('a task ignoring SIGTERM is killed after the grace period', async (t) => {
      const h = await harness(t, { spawner, killGraceMs: 300 });
      await writeScripts(h.root, SCRIPTS);
      const pidFile = path.join(await tempDir(t), 'pids');
      const { id } = await h.client.submit(
        node({ engine: 'shell', artifact: 'stubborn.sh', args: [pidFile] }),
        freshKey(),
      );
      await until(() => readPids(pidFile, 2).length === 2, 'the pid file');
      const pids = readPids(pidFile, 2);
      const status = await h.client.cancel(id);
      assert.equal(status.state, State.canceled);
      await until(() => !pids.some(isAlive), 'SIGKILL to reach the group', 3000);
    });

    test('node.timeout kills the group and gives timeout (10)', async (t) => {
      const h = await harness(t, { spawner });
      await writeScripts(h.root, SCRIPTS);
      const pidFile = path.join(await tempDir(t), 'pids');
      const started = Date.now();
      const status = await h.run(
        node({ engine: 'shell', artifact: 'forever.sh', args: [pidFile], timeout: 0.5 }),
      );
      assert.equal(status.state, State.timeout);
      assert.equal(status.error, 'timed out after 0.5 s');
      assert.ok(Date.now() - started < 5000);
      const pids = readPids(pidFile, 2);
      assert.equal(pids.length, 2);
      await until(() => !pids.some(isAlive), 'the timed-out group to die', 3000);
    });

    test('hundreds of MB of output keep the log and the memory bounded', async (t) => {
      const h = await harness(t, { spawner });
      await writeScripts(h.root, {
        'big.sh': '#!/bin/sh\necho "first=line"\nyes | head -c 500000000\necho\necho "size=big"\n',
      });
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 10);
      const status = await h.run(
        node({ engine: 'shell', artifact: 'big.sh', output: { first: '', size: '' } }),
        60,
      );
      clearInterval(sampler);
      assert.equal(status.state, State.success, status.error ?? '');
      assert.deepEqual(status.output, { first: 'line', size: 'big' });
      const log = await h.client.log(status.id);
      assert.ok(log.length < 140 * 1024, `log is ${log.length} bytes`);
      assert.match(log, /^first=line\ny\ny\n/);
      assert.match(log, /\n\[\.\.\. \d+ bytes truncated \.\.\.\]\n/);
      assert.match(log, /y\n\nsize=big\n$/);
      // chunks read from the pipe are garbage at once, but the GC frees them lazily (~75 MiB
      // of slack was measured); keeping the output would cost more than the 500 MB printed
      const grown = (peak - before) / 1024 / 1024;
      assert.ok(grown < 200, `the executor grew by ${grown.toFixed(0)} MiB`);
      t.diagnostic(`rss grew by ${grown.toFixed(1)} MiB`);
    });

    test('under its exit-status wrapper a program still ends as it ended', async (t) => {
      const h = await harness(t, { spawner, killGraceMs: 30_000 });
      const marks = await tempDir(t);
      await writeScripts(h.root, {
        'selfkill.sh': '#!/bin/sh\nkill -TERM $$\nsleep 5\n',
        'exit200.sh': '#!/bin/sh\nexit 200\n',
        // cleans up on SIGTERM: the task is only over once it has
        'graceful.sh':
          '#!/bin/sh\ntrap \'echo cleaned > "$1/cleaned"; exit 0\' TERM\nsleep 1000 &\necho up > "$1/up"\nwait\n',
      });
      const killed = await h.run(node({ engine: 'shell', artifact: 'selfkill.sh' }));
      assert.equal(killed.error, 'killed by SIGTERM');
      const code = await h.run(node({ engine: 'shell', artifact: 'exit200.sh' }));
      assert.equal(code.error, 'exited with code 200');
      const { id } = await h.client.submit(
        node({ engine: 'shell', artifact: 'graceful.sh', args: [marks] }),
        freshKey(),
      );
      await until(() => existsSync(path.join(marks, 'up')), 'graceful.sh to start');
      // the cancel answers once the program has ended: after its clean-up, not at SIGTERM
      assert.equal((await h.client.cancel(id)).state, State.canceled);
      assert.equal(readFileSync(path.join(marks, 'cleaned'), 'utf8'), 'cleaned\n');
    });

    test('an artifact that is not executable fails with the reason', async (t) => {
      const h = await harness(t, { spawner });
      await writeFile(path.join(h.root, 'plain.sh'), '#!/bin/sh\necho hi\n');
      const status = await h.run(node({ engine: 'shell', artifact: 'plain.sh' }));
      assert.equal(status.state, State.failure);
      assert.match(status.error ?? '', /EACCES/);
    });
  });
}
