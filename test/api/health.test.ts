/**
 * `/healthz` readiness against a real `baton serve` whose store cannot commit: the server's
 * file writes are capped (prlimit --fsize, see test/faults/disk-full.ts), so SQLite still
 * reads but every commit fails as on a full disk.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { bigDocument, smallDisk } from '../faults/disk-full.ts';
import { call, eventually, Processes } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';

it('/healthz answers 503 "failing" while commits fail, and 200 once one succeeds', async (t) => {
  const tmp = tempDir();
  const data = join(tmp.path, 'data');
  const disk = await smallDisk(data, 8, 'prlimit');
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    await disk.release();
    tmp.remove();
  });
  const server = await processes.serve(data);
  const post = (tag: string) =>
    call(`${server.url}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify(bigDocument(256, tag)),
    });
  assert.equal((await post('before')).status, 202);
  assert.equal((await call(`${server.url}/healthz`)).status, 200);

  await disk.fill(server);
  // bounded: each stored document grows the database past the cap within a few submissions
  let refused: { status: number; text: string } | undefined;
  for (let i = 0; i < 20 && !refused; i++) {
    const answer = await post(`full-${i}`);
    if (answer.status !== 202) refused = answer;
  }
  assert.ok(refused, 'the capped store never refused a submission');
  assert.equal(refused.status, 503, refused.text);

  const health = await call(`${server.url}/healthz`);
  assert.equal(health.status, 503, health.text);
  const body = health.json as { status: string; store: string };
  assert.equal(body.status, 'unavailable');
  assert.match(body.store, /^failing: the last commit failed/);

  await disk.free(server);
  await eventually(
    'a submission accepted once writes work again',
    async () => ((await post('after')).status === 202 ? true : undefined),
    30_000,
    100,
  );
  const healed = await call(`${server.url}/healthz`);
  assert.equal(healed.status, 200, healed.text);
  assert.equal((healed.json as { store: string }).store, 'ok');
});
