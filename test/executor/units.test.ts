/** The executor's small pure pieces: log bounds, output scanning, ssh config, quoting. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { parseAnsibleLine } from '../../src/executor/drivers/ansible.ts';
import { shellQuote } from '../../src/executor/drivers/ssh.ts';
import { knownHostKeys } from '../../src/executor/known-hosts.ts';
import { LogBuffer } from '../../src/executor/log-buffer.ts';
import { MAX_LINE_BYTES, OutputCollector } from '../../src/executor/outputs.ts';
import { lookupHost, parseSshConfig } from '../../src/executor/ssh-config.ts';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);

test('LogBuffer keeps everything while small, then head + marker + tail', () => {
  const small = new LogBuffer(8);
  small.write('abc');
  small.write(Buffer.from('def'));
  assert.equal(small.toString(), 'abcdef');

  const log = new LogBuffer(8);
  const text = `HEADHEAD${'x'.repeat(100)}TAILTAIL`;
  // odd chunk sizes exercise the head split and the tail window compaction
  for (let i = 0; i < text.length; i += 3) log.write(text.slice(i, i + 3));
  assert.equal(log.toString(), 'HEADHEAD\n[... 100 bytes truncated ...]\nTAILTAIL');
  assert.equal(log.totalBytes, text.length);
});

test('LogBuffer matches a plain concatenation on its kept parts (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ maxLength: 400 }), { maxLength: 60 }),
      // small windows exercise the tail compaction; large ones the head growing as it fills
      fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 200, max: 5000 })),
      (chunks, keep) => {
        const log = new LogBuffer(keep);
        for (const c of chunks) log.write(c);
        const all = Buffer.from(chunks.join(''));
        const expected =
          all.length <= 2 * keep
            ? all.toString()
            : `${all.subarray(0, keep)}\n[... ${all.length - 2 * keep} bytes truncated ...]\n${all.subarray(-keep)}`;
        assert.equal(log.toString(), expected);
      },
    ),
  );
});

test('OutputCollector: declared keys only, last wins, any chunking', () => {
  const text =
    'noise\nip=1.1.1.1\nother=2\r\nip=2.2.2.2\r\nname=a=b\nno newline at end name=x\nlast=ok';
  const expected = { ip: '2.2.2.2', name: 'a=b', last: 'ok' };
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: text.length }), { maxLength: 10 }), (cuts) => {
      const out = new OutputCollector(['ip', 'name', 'last']);
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      let prev = 0;
      for (const p of [...points, text.length]) {
        out.write(Buffer.from(text.slice(prev, p)));
        prev = p;
      }
      out.end();
      assert.deepEqual(out.output, expected);
    }),
  );
});

test('OutputCollector ignores over-long lines but recovers after them', () => {
  const out = new OutputCollector(['k']);
  out.write(Buffer.from('k=short\n'));
  out.write(Buffer.from(`k=${'y'.repeat(MAX_LINE_BYTES)}`));
  out.write(Buffer.from('still the long line\nk=after\n'));
  out.end();
  assert.deepEqual(out.output, { k: 'after' });
});

test('ansible debug lines are outputs too', () => {
  assert.deepEqual(parseAnsibleLine('    "msg": "ip=1.2.3.4"'), ['ip', '1.2.3.4']);
  assert.deepEqual(parseAnsibleLine('    "msg": "q=say \\"hi\\" \\\\ ok",'), [
    'q',
    'say "hi" \\ ok',
  ]);
  assert.deepEqual(parseAnsibleLine('plain=1'), ['plain', '1']);
  assert.equal(parseAnsibleLine('    "msg": "no pair here"'), undefined);
});

test('shellQuote survives a real sh for any string', async () => {
  const samples = [
    `it's`,
    `'`,
    `''\\''`,
    '$(id)',
    '`id`',
    'a\nb',
    '"',
    '\\',
    '!',
    '*',
    '',
    ' lead',
    '-n',
  ];
  samples.push(
    ...fc.sample(fc.string({ unit: 'binary', maxLength: 30 }), 30).filter((s) => !s.includes('\0')),
  );
  for (const s of samples) {
    const { stdout } = await run('sh', ['-c', `printf %s ${shellQuote(s)}`]);
    assert.equal(stdout, s);
  }
});

test('ssh config: first value wins, globs, negation, unknown hosts', () => {
  const blocks = parseSshConfig(`
# comment
Host web web2
  HostName 10.0.0.5
  Port 2222
  User deploy
  IdentityFile ~/.ssh/deploy
Host db-* !db-secret
  User dba
Host *
  User nobody
  Port=22
  StrictHostKeyChecking no
  ServerAliveInterval 30
`);
  const web = lookupHost(blocks, 'web2')!;
  assert.equal(web.hostName, '10.0.0.5');
  assert.equal(web.port, 2222);
  assert.equal(web.user, 'deploy');
  assert.deepEqual(web.identityFiles, [path.join(os.homedir(), '.ssh/deploy')]);
  assert.equal(web.strictHostKeyChecking, false);
  const db = lookupHost(blocks, 'db-1')!;
  assert.equal(db.user, 'dba');
  assert.equal(db.hostName, 'db-1');
  assert.equal(lookupHost(blocks, 'db-secret')!.user, 'nobody');
  assert.equal(lookupHost(parseSshConfig('Host a\n  User x\n'), 'b'), undefined);
  assert.throws(() => parseSshConfig('Match host x\n'), /Match is not supported/);
  assert.throws(
    () => lookupHost(parseSshConfig('Host a\n Port 99999\n'), 'a'),
    /Port must be 1-65535/,
  );
});

test('known_hosts: plain, bracketed ports and hashed entries', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'known_hosts');
  const k1 = randomBytes(51).toString('base64');
  const k2 = randomBytes(51).toString('base64');
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[h2]:2200').digest('base64')}`;
  await writeFile(
    file,
    `# c\nh1,10.0.0.1 ssh-ed25519 ${k1}\n${hashed} ssh-ed25519 ${k2}\n@revoked * ssh-ed25519 ${k2}\n`,
  );
  assert.deepEqual(await knownHostKeys(file, '10.0.0.1', 22), [Buffer.from(k1, 'base64')]);
  assert.deepEqual(await knownHostKeys(file, 'h2', 2200), [Buffer.from(k2, 'base64')]);
  assert.deepEqual(await knownHostKeys(file, 'h2', 22), []);
  assert.deepEqual(await knownHostKeys(path.join(dir, 'missing'), 'h1', 22), []);
});
