/**
 * `baton serve --data DIR` (the real binary) says what is wrong with a data directory it
 * cannot use, instead of mkdir's EEXIST or ENOENT.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { baton } from '../support/cli.ts';
import { tempDir } from '../support/server.ts';

const exec = promisify(execFile);

describe('baton serve --data', () => {
  const dir = tempDir('baton-data-dir-');
  after(() => dir.remove());

  it('a file: "is a file, expected a directory"', async () => {
    const file = join(dir.path, 'x');
    writeFileSync(file, '');
    const result = await baton(['serve', '--port', '0', '--data', file]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /data directory .*\/x \(--data\): is a file, expected a directory/);
    assert.doesNotMatch(result.stderr, /EEXIST/);

    const below = await baton(['serve', '--port', '0', '--data', join(file, 'data')]);
    assert.match(below.stderr, /a part of the path is a file, expected a directory/);
  });

  it('on a read-only file system: says so, for a new directory and an existing one', async (t) => {
    const ro = join(dir.path, 'ro');
    mkdirSync(ro);
    try {
      await exec('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', ro]);
    } catch (err) {
      t.skip(`cannot mount a read-only tmpfs here: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    t.after(() => exec('umount', ['-l', ro]).catch(() => {}));
    const inside = await baton(['serve', '--port', '0', '--data', join(ro, 'data')]);
    assert.equal(inside.code, 2, inside.stderr);
    assert.match(inside.stderr, /cannot be created in .*\/ro: it is on a read-only file system/);
    assert.doesNotMatch(inside.stderr, /ENOENT/);
    const itself = await baton(['serve', '--port', '0', '--data', ro]);
    assert.match(itself.stderr, /\(--data\): is not writable: it is on a read-only file system/);
  });
});
