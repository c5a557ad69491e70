/**
 * `baton executor` as an operator starts it, for what it must refuse: plain HTTP beyond
 * loopback (anyone reaching the port could run programs as the executor).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../support/server.ts';
import { baton } from './helpers.ts';

const dir = tempDir('baton-executor-cli-');
after(() => dir.remove());

describe('baton executor --plain-http', () => {
  it('refuses a non-loopback address', async () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      const res = await baton([
        'executor',
        '--plain-http',
        '--host',
        host,
        '--port',
        '0',
        '--data',
        join(dir.path, 'data'),
        '--artifacts',
        dir.path,
      ]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(
        res.stderr,
        new RegExp(
          `refusing to serve plain HTTP on ${host.replaceAll('.', '\\.')}: anyone who can reach it could run programs`,
        ),
      );
      assert.match(res.stderr, /--insecure-plain-http-on-network/);
    }
  });

  it('goes past the refusal with --insecure-plain-http-on-network', async () => {
    // a missing artifact root stops it after the check and before it binds anything
    const res = await baton([
      'executor',
      '--plain-http',
      '--insecure-plain-http-on-network',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--data',
      join(dir.path, 'data'),
      '--artifacts',
      join(dir.path, 'nowhere'),
    ]);
    assert.equal(res.code, 2, res.stderr);
    assert.doesNotMatch(res.stderr, /refusing to serve plain HTTP/);
    assert.match(res.stderr, /artifact root .*nowhere is not a directory/);
  });
});
