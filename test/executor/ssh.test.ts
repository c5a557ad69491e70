/** ssh and toscassh against a real OpenSSH server (test/support/sshd.ts). */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { State } from '../../src/graph/states.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';
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

let sshd: TestSshd;
before(async () => {
  sshd = await startSshd();
});
after(() => sshd.stop());

async function sshHarness(t: Parameters<typeof harness>[0]) {
  const h = await harness(t, { sshConfig: sshd.configPath });
  await writeScripts(h.root, {
    ...SCRIPTS,
    'env.sh': '#!/bin/sh\necho "greeting=$GREETING"\necho "other=$OTHER"\necho "shell=$0"\n',
  });
  return h;
}

test('ssh: runs the script on the target, outputs come back', async (t) => {
  const h = await sshHarness(t);
  const status = await h.run(
    node({ engine: 'ssh', target: 'test', artifact: 'outputs.sh', output: { ip: '' } }),
  );
  assert.equal(status.state, State.success, status.error ?? '');
  assert.deepEqual(status.output, { ip: '10.1.2.4' });
  assert.equal(status.exit_code, 0);
  const log = await h.client.log(status.id);
  assert.match(log, /noise/);
  assert.ok(!log.includes('baton-pgid'), 'the wrapper line is not part of the log');
  assert.match(log, /^ip=10\.1\.2\.3\n/m);
});

test('ssh: args with shell metacharacters arrive literally', async (t) => {
  const h = await sshHarness(t);
  const scratch = await tempDir(t);
  const canary = path.join(scratch, 'canary');
  await mkdir(canary);
  const pwned = path.join(scratch, 'pwned');
  const args = [
    `$(touch ${pwned}1)`,
    `; rm -rf ${canary}`,
    `\`touch ${pwned}2\``,
    `'; touch ${pwned}3; '`,
    `"; touch ${pwned}4; "`,
    `it's a 'quote' \\'`,
    `line1\nline2; touch ${pwned}5`,
    '$HOME * ~ \\ \t',
    '',
  ];
  const out = path.join(scratch, 'args.out');
  const status = await h.run(
    node({
      engine: 'ssh',
      target: 'test',
      artifact: 'args.sh',
      args: [out, ...args],
      output: { count: '' },
    }),
  );
  assert.equal(status.state, State.success, status.error ?? '');
  assert.equal(status.output.count, String(args.length));
  assert.deepEqual(readFileSync(out, 'utf8').split('\0').slice(0, -1), args);
  for (let i = 1; i <= 5; i++) assert.ok(!existsSync(`${pwned}${i}`), `side effect ${i} happened`);
  assert.ok(existsSync(canary));
});

test('ssh: a failing script gives its exit code and last stderr line', async (t) => {
  const h = await sshHarness(t);
  const status = await h.run(node({ engine: 'ssh', target: 'test', artifact: 'fail.sh' }));
  assert.equal(status.state, State.failure);
  assert.equal(status.exit_code, 3);
  assert.equal(status.error, 'exited with code 3: disk on fire');
});

test('toscassh: args become environment variables, values literal', async (t) => {
  const h = await sshHarness(t);
  const greeting = `hello $(touch /tmp/baton-pwned) 'world' "x" \`y\` ; exit 7`;
  const status = await h.run(
    node({
      engine: 'toscassh',
      target: 'test',
      artifact: 'env.sh',
      args: [`GREETING=${greeting}`, 'OTHER=a=b'],
      output: { greeting: '', other: '' },
    }),
  );
  assert.equal(status.state, State.success, status.error ?? '');
  assert.deepEqual(status.output, { greeting, other: 'a=b' });
  assert.ok(!existsSync('/tmp/baton-pwned'));
  const bad = await h.run(
    node({ engine: 'toscassh', target: 'test', artifact: 'env.sh', args: ['NOT-AN-ID=1'] }),
  );
  assert.equal(bad.state, State.failure);
  assert.match(bad.error ?? '', /args\[0\] must be KEY=VALUE with KEY a shell identifier/);
});

test('ssh: an unknown target fails naming it', async (t) => {
  const h = await sshHarness(t);
  const status = await h.run(node({ engine: 'ssh', target: 'nowhere', artifact: 'outputs.sh' }));
  assert.equal(status.state, State.failure);
  assert.match(status.error ?? '', /unknown ssh target "nowhere": no Host entry for it in /);
});

test('ssh: a host key not in known_hosts is refused', async (t) => {
  const h = await sshHarness(t);
  const status = await h.run(node({ engine: 'ssh', target: 'impostor', artifact: 'outputs.sh' }));
  assert.equal(status.state, State.failure);
  assert.match(status.error ?? '', /host key of 127\.0\.0\.1:\d+ is not in .*impostor_known_hosts/);
});

test('ssh: an artifact outside the root is refused before connecting', async (t) => {
  const h = await sshHarness(t);
  const status = await h.run(node({ engine: 'ssh', target: 'test', artifact: '../../etc/passwd' }));
  assert.equal(status.state, State.failure);
  assert.match(status.error ?? '', /contains '\.\.'/);
});

test('ssh: DELETE stops the remote processes and closes the channel', async (t) => {
  const h = await sshHarness(t);
  const pidFile = path.join(await tempDir(t), 'pids');
  const { id } = await h.client.submit(
    node({ engine: 'ssh', target: 'test', artifact: 'forever.sh', args: [pidFile] }),
    freshKey(),
  );
  await until(() => readPids(pidFile, 2).length === 2, 'the remote pid file');
  const pids = readPids(pidFile, 2);
  assert.ok(pids.every(isAlive));
  const status = await h.client.cancel(id);
  assert.equal(status.state, State.canceled);
  await until(() => !pids.some(isAlive), 'the remote script and its child to die', 5000);
});

test('ssh: a remote task ignoring TERM is killed after the grace period', async (t) => {
  const h = await sshHarness(t);
  const pidFile = path.join(await tempDir(t), 'pids');
  const { id } = await h.client.submit(
    node({ engine: 'ssh', target: 'test', artifact: 'stubborn.sh', args: [pidFile] }),
    freshKey(),
  );
  await until(() => readPids(pidFile, 2).length === 2, 'the remote pid file');
  const pids = readPids(pidFile, 2);
  assert.equal((await h.client.cancel(id)).state, State.canceled);
  await until(() => !pids.some(isAlive), 'KILL to reach the remote group', 5000);
});

test('ssh: node.timeout gives timeout (10)', async (t) => {
  const h = await sshHarness(t);
  const pidFile = path.join(await tempDir(t), 'pids');
  const status = await h.run(
    node({ engine: 'ssh', target: 'test', artifact: 'forever.sh', args: [pidFile], timeout: 1 }),
  );
  assert.equal(status.state, State.timeout);
  const pids = readPids(pidFile, 2);
  await until(() => !pids.some(isAlive), 'the remote group to die', 5000);
});
