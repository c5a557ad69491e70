/**
 * Smoke version of the fuzz suite (parser.fuzz.ts, api.fuzz.ts) for `npm test`: 200 inputs
 * per parser property, a sample of every corpus group (two requests each, a 100 MB body
 * included), 100 fast-check requests and the hostile HTTP clients (slow bodies, a connection
 * flood, a reused Idempotency-Key, five big GETs at once) against real `baton serve` on SQLite.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RefusingExecutor, startRefusingExecutor } from '../support/failing-task.ts';
import { type BatonProcess, Processes } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';
import { corpusTests, HOSTILE_HTTP_FLAGS, hostileHttpTests, propertyFuzz } from './api.ts';
import { type Hostile, hostileCorpus } from './hostile.ts';
import { parserFuzz } from './parser.ts';

it('parser smoke: 200 hostile documents, values and texts, never anything but DocumentError', async (t) => {
  const kinds = ['document', 'value', 'text', 'locate'] as const;
  const results = await Promise.all(
    kinds.map((kind) => parserFuzz({ kind, seed: 1, runs: 200, scale: 'short' }, 180_000)),
  );
  for (const result of results) {
    assert.equal(result.inputs, 200);
    t.diagnostic(`${result.kind}: ${result.accepted} accepted, ${result.rejected} rejected`);
  }
});

/** Two entries of each group (known bugs left to the full suite), and one 100 MB body. */
function sample(corpus: Hostile[]): Hostile[] {
  const taken = new Map<string, number>();
  return corpus.filter((h) => {
    if (h.bug) return false;
    if (h.name.startsWith('100 MB chunked:')) return true;
    const n = taken.get(h.group) ?? 0;
    if (n >= 2 || h.name.startsWith('100 MB')) return false;
    taken.set(h.group, n + 1);
    return true;
  });
}

describe('API fuzz smoke', () => {
  const dir = tempDir();
  const processes = new Processes();
  let server: BatonProcess;
  let executor: RefusingExecutor;
  before(async () => {
    executor = await startRefusingExecutor();
    server = await processes.serve(join(dir.path, 'sqlite'), executor.flags, {
      env: { BATON_LOG_LEVEL: 'warn' },
    });
  });
  after(async () => {
    await processes.killAll();
    await executor.close();
    dir.remove();
  });
  corpusTests(sample(hostileCorpus('short')), 'sqlite', () => server, { count: 0 });
  it('fast-check: 100 hostile requests', async (t) => {
    await propertyFuzz(t, server, { runs: 100, seed: 3, avoidNul: false });
  });
});

describe('hostile HTTP clients', () => {
  const dir = tempDir();
  const processes = new Processes();
  let server: BatonProcess;
  before(async () => {
    server = await processes.serve(join(dir.path, 'clients'), HOSTILE_HTTP_FLAGS, {
      env: { BATON_LOG_LEVEL: 'warn' },
    });
  });
  after(async () => {
    await processes.killAll();
    dir.remove();
  });
  hostileHttpTests(() => server);
});
