/**
 * Rate limits against real servers on loopback: the request over the limit gets 429 with
 * Retry-After and the JSON error; clients are counted by principal when they authenticated,
 * else by address; /healthz is never limited; the defaults.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashToken, newToken } from '../../src/api/auth.ts';
import { DEFAULT_RATE_LIMIT, effectiveRateLimit } from '../../src/api/rate-limit.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { startTestServer, tempDir } from '../support/server.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('rate limit without authentication (by address)', () => {
  const dir = tempDir('baton-ratelimit-');
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ dataDir: dir.path, rateLimit: 3 });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('answers the request over the limit with 429, Retry-After and the JSON error', async () => {
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${server.url}/v1/tasks`);
      assert.equal(res.status, 200, `request ${i + 1}`);
      assert.equal(res.headers.get('x-ratelimit-limit'), '3');
      remaining.push(res.headers.get('x-ratelimit-remaining'));
      await res.arrayBuffer();
    }
    assert.deepEqual(remaining, ['2', '1', '0']);

    const over = await fetch(`${server.url}/v1/tasks`);
    assert.equal(over.status, 429);
    const retryAfter = Number(over.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${retryAfter}`);
    assert.equal(over.headers.get('cache-control'), 'no-store');
    const body = (await over.json()) as { code: number; error: string; message: string };
    assert.equal(body.code, 429);
    assert.equal(body.error, 'BATON_ERR_RATE_LIMITED');
    assert.match(
      body.message,
      /over the limit of 3 requests per minute for 127\.0\.0\.1; retry in \d+ s/,
    );

    // every route counts (the UI's files too), except the health probe
    assert.equal((await fetch(`${server.url}/openapi.json`)).status, 429);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers.get('x-ratelimit-limit'), null);
  });
});

describe('rate limit with tokens (by principal)', () => {
  const dir = tempDir('baton-ratelimit-auth-');
  const alice = newToken();
  const bob = newToken();
  let server: RunningServer;
  before(async () => {
    const file = join(dir.path, 'tokens.yaml');
    writeFileSync(
      file,
      `- {name: alice, sha256: ${hashToken(alice)}}\n- {name: bob, sha256: ${hashToken(bob)}}\n`,
    );
    server = await startTestServer({ dataDir: dir.path, tokensFile: file, rateLimit: 2 });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('gives each principal its own budget, and unauthenticated attempts one per address', async () => {
    const status = async (headers: Record<string, string> = {}) => {
      const res = await fetch(`${server.url}/v1/tasks`, { headers });
      await res.arrayBuffer();
      return res.status;
    };
    assert.deepEqual(
      [await status(bearer(alice)), await status(bearer(alice)), await status(bearer(alice))],
      [200, 200, 429],
    );
    const over = await fetch(`${server.url}/v1/tasks`, { headers: bearer(alice) });
    assert.match(((await over.json()) as { message: string }).message, /for "alice"/);
    assert.equal(await status(bearer(bob)), 200, 'bob, from the same address, is not throttled');
    // failed attempts are limited too: guessing tokens is throttled per address
    assert.deepEqual([await status(), await status(), await status()], [401, 401, 429]);
    assert.deepEqual(
      [await status(bearer('guess-1')), await status(bearer('guess-2'))],
      [429, 429],
    );
    assert.equal(await status(bearer(bob)), 200);
  });
});

describe('rate limit defaults', () => {
  it('is off on an open loopback API, 6000/min with authentication, as configured otherwise', () => {
    assert.equal(effectiveRateLimit(undefined, false), 0);
    assert.equal(effectiveRateLimit(undefined, true), DEFAULT_RATE_LIMIT);
    assert.equal(DEFAULT_RATE_LIMIT, 6000);
    assert.equal(effectiveRateLimit(0, true), 0);
    assert.equal(effectiveRateLimit(10, false), 10);
  });

  it('applies the default to a server with tokens', async () => {
    const dir = tempDir('baton-ratelimit-default-');
    const token = newToken();
    const file = join(dir.path, 'tokens.json');
    writeFileSync(file, JSON.stringify([{ name: 'ci', sha256: hashToken(token) }]));
    const server = await startTestServer({ dataDir: dir.path, tokensFile: file });
    try {
      const res = await fetch(`${server.url}/v1/tasks`, { headers: bearer(token) });
      assert.equal(res.headers.get('x-ratelimit-limit'), String(DEFAULT_RATE_LIMIT));
    } finally {
      await server.close();
      dir.remove();
    }
  });
});
