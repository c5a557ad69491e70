/**
 * The server's log output (src/cli/log-output.ts) on a real pipe that nobody reads for a
 * while, as when a supervisor stalls: writing never blocks the caller, a full pipe is retried,
 * lines past the bound are dropped and counted, and once the reader drains the pipe every
 * kept line arrives whole and in order, then a warning with the count.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AsyncOutput } from '../../src/cli/log-output.ts';
import { tempDir } from '../support/server.ts';

describe('the log output', () => {
  const dir = tempDir('baton-log-output-');
  after(() => dir.remove());

  it('queues while a pipe is full, drops past its bound, then says how many', async () => {
    const fifo = join(dir.path, 'stdout');
    execFileSync('mkfifo', [fifo]);
    // the reader end first: opening a FIFO's write end without a reader fails (ENXIO)
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const bound = 200_000;
    const output = new AsyncOutput(writer, bound);
    const line = (i: number) => `${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`;
    // a pipe holds 64 KiB: far more than that is written while nobody reads
    let written = 0;
    const started = performance.now();
    while (written * line(0).length < bound + 64 * 1024 + 50_000) output.write(line(written++));
    assert.ok(performance.now() - started < 5000, 'writing did not wait for the reader');

    let text = '';
    const buffer = Buffer.alloc(64 * 1024);
    for (const deadline = Date.now() + 30_000; !text.includes('were dropped'); ) {
      assert.ok(Date.now() < deadline, `no warning yet; read ${text.length} characters`);
      try {
        const n = readSync(reader, buffer);
        text += buffer.toString('utf8', 0, n);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await output.end();
    closeSync(writer);
    closeSync(reader);

    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    const warning = lines.pop()!;
    assert.equal(warning.msg as unknown, 'log lines were dropped: the log output did not keep up');
    assert.equal(warning.level, 40);
    const kept = lines.map((l) => l.i);
    assert.deepEqual(
      kept,
      kept.map((_, i) => i),
      'the kept lines are the first ones, whole and in order',
    );
    assert.ok(kept.length > 0 && kept.length < written);
    assert.equal(warning.dropped, written - kept.length);
  });
});
