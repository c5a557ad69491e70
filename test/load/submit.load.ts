/**
 * Load (`npm run test:load`): many clients submit and poll for a bounded time against real
 * `baton serve` processes on loopback, first one on SQLite, then two replicas sharing one
 * PostgreSQL database (submissions and reads spread over both, so half the reads cross
 * replicas). Passes when nothing failed and every run answered 202 finished successfully; the
 * figures (documents/s, p99 of submit and of GET) are printed as JSON and as diagnostics, never
 * asserted. BATON_SUITE_SCALE=short runs 3 s per case instead of 20 s.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { freshDatabase } from '../support/postgres.ts';
import { Processes, suiteScale } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';
import { type LoadReport, loadAndVerify } from './scenario.ts';

const full = suiteScale() === 'full';
const seconds = full ? 20 : 3;
const quiet = { env: { BATON_LOG_LEVEL: 'warn' } };

function report(t: { diagnostic(message: string): void }, name: string, figures: LoadReport) {
  console.log(JSON.stringify({ load: name, ...figures }));
  const { problems, ...rest } = figures;
  t.diagnostic(`${name}: ${JSON.stringify(rest)}`);
  assert.deepEqual(problems, [], `${name}: ${problems.join('\n')}`);
}

it(`one replica on SQLite: ${seconds} s of 64 submitting and 16 polling clients`, async (t) => {
  const dir = tempDir();
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    dir.remove();
  });
  const server = await processes.serve(join(dir.path, 'sqlite'), [], quiet);
  const figures = await loadAndVerify({
    submitUrls: [server.url],
    pollUrls: [server.url],
    submitConnections: 64,
    pollConnections: 16,
    seconds,
    settleMs: 120_000,
  });
  assert.ok(server.alive(), `baton serve died:\n${server.output()}`);
  report(t, 'sqlite_1_replica', figures);
});

it(`two replicas on PostgreSQL: ${seconds} s of 64 submitting and 16 polling clients`, async (t) => {
  const dir = tempDir();
  const db = await freshDatabase();
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    await db.drop();
    dir.remove();
  });
  const a = await processes.serve(dir.path, ['--db', db.url], quiet);
  const b = await processes.serve(dir.path, ['--db', db.url], quiet);
  const figures = await loadAndVerify({
    submitUrls: [a.url, b.url],
    // each replica reads what both accepted
    pollUrls: [b.url, a.url],
    submitConnections: 64,
    pollConnections: 16,
    seconds,
    settleMs: 120_000,
  });
  assert.ok(a.alive() && b.alive(), `a replica died:\n${a.output()}\n${b.output()}`);
  report(t, 'postgres_2_replicas', figures);
});
