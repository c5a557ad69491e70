/**
 * Smoke version of the load suite (test/load/submit.load.ts) for `npm test`: 2 s of 16
 * submitting and 4 polling clients against a real `baton serve` on SQLite; nothing may fail
 * and every run answered 202 must finish successfully. Figures are reported, not asserted.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { Processes } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';
import { loadAndVerify } from './scenario.ts';

it('load smoke: 2 s of concurrent submits and polls, nothing lost', async (t) => {
  const dir = tempDir();
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    dir.remove();
  });
  const server = await processes.serve(join(dir.path, 'sqlite'), [], {
    env: { BATON_LOG_LEVEL: 'warn' },
  });
  const figures = await loadAndVerify({
    submitUrls: [server.url],
    pollUrls: [server.url],
    submitConnections: 16,
    pollConnections: 4,
    seconds: 2,
    settleMs: 30_000,
  });
  const { problems, ...rest } = figures;
  t.diagnostic(JSON.stringify(rest));
  assert.deepEqual(problems, []);
  assert.ok(figures.runs > 0, 'some runs were accepted');
  assert.ok(server.alive());
});
