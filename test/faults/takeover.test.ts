/**
 * The fault docs/architecture.md §5 promises to survive: two orchestrator replicas on PostgreSQL and an
 * executor, each a real process; a 200-node graph of shell tasks that each append one line to
 * a file; the replica driving the run is SIGKILLed mid-run. The other replica takes the run
 * over, re-attaches to the tasks already on the executor, and finishes: exactly 200 lines.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { layeredEdges } from '../../bench/generate.ts';
import { State } from '../../src/graph/states.ts';
import { exited, type Service, serve, spawnService } from '../support/cli.ts';
import { freshDatabase } from '../support/postgres.ts';
import { post, tempDir, waitForRun } from '../support/server.ts';
import { tlsExecutor } from '../support/tls-executor.ts';

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

it('SIGKILL of the owning replica mid-run: the run completes and no task runs twice', async (t) => {
  const dir = tempDir();
  const db = await freshDatabase();
  const services: Service[] = [];
  t.after(async () => {
    for (const s of services) s.child.kill('SIGKILL');
    await Promise.all(services.map((s) => exited(s.child)));
    await db.drop();
    dir.remove();
  });
  const out = join(dir.path, 'lines.txt');
  const { certs, args } = await tlsExecutor(
    dir.path,
    { 'append.sh': '#!/bin/sh\nsleep 0.05\necho "$1" >> "$2"\n' },
    ['--concurrency', '8'],
  );
  const executor = await spawnService([...args, '--port', '0']);
  services.push(executor);
  const replica = ['--db', db.url, '--executor', `default=${executor.url}`, '--tls', certs];
  const a = await serve(dir.path, replica);
  services.push(a);
  const b = await serve(dir.path, replica);
  services.push(b);

  const n = 200;
  const document = {
    name: 'append',
    edges: layeredEdges(n, 10, 2, 3),
    nodes: Array.from({ length: n }, (_, id) => ({
      id,
      name: `line-${id}`,
      engine: 'shell',
      artifact: 'append.sh',
      args: [String(id), out],
    })),
  };
  const { status, body } = await post(a.url, document);
  assert.equal(status, 202, JSON.stringify(body));
  const deadline = Date.now() + 30_000;
  while (lines(out).length < 40 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(lines(out).length >= 40, 'the run got going');
  assert.ok(lines(out).length < n, 'killed mid-run');
  a.child.kill('SIGKILL');
  await exited(a.child);

  const done = await waitForRun(b.url, body.id, undefined, 60_000);
  assert.equal(done.state, State.success, JSON.stringify(done.nodes.filter((x) => x.state !== 3)));
  const written = lines(out);
  assert.equal(written.length, n, 'exactly one line per task');
  assert.equal(new Set(written).size, n, 'every task once');
});
