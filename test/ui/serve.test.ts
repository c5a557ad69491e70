/**
 * How the orchestrator serves the UI (src/api/ui.ts), against a throwaway build directory:
 * files, the index.html fallback for client-side routes, security headers, the API's paths
 * left alone, and a page that says how to build when there is no build.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { BUILD_COMMAND, SECURITY_HEADERS, uiPlugin } from '../../src/api/ui.ts';
import { tempDir } from '../support/server.ts';

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

/** The UI plugin beside a stand-in API: a JSON 404 handler and one /v1 and /healthz route. */
async function appServing(dist: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: 404, error: 'BATON_ERR_NOT_FOUND', message: request.url }),
  );
  app.get('/v1/tasks', async () => ({ tasks: [] }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(uiPlugin(dist));
  return app;
}

describe('serving the built UI', () => {
  const dir = tempDir('baton-ui-dist-');
  let app: FastifyInstance;
  before(async () => {
    mkdirSync(join(dir.path, 'assets'));
    writeFileSync(join(dir.path, 'index.html'), '<!doctype html><title>Baton</title>');
    writeFileSync(join(dir.path, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir.path, 'favicon.svg'), '<svg/>');
    writeFileSync(join(dir.path, '..', 'secret.txt'), 'not for you');
    app = await appServing(dir.path);
  });
  after(async () => {
    await app.close();
    rmSync(join(dir.path, '..', 'secret.txt'), { force: true });
    dir.remove();
  });

  it('answers / with index.html and every UI response with the security headers', async () => {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    assert.match(res.body, /<title>Baton/);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      assert.equal(res.headers[name], value, name);
    }
    assert.equal(res.headers['cache-control'], 'no-cache');
    const csp = res.headers['content-security-policy'] as string;
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
  });

  it('serves the build files, hashed assets as immutable', async () => {
    const js = await app.inject({ url: '/assets/index-abc123.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /javascript/);
    assert.match(js.headers['cache-control'] as string, /immutable/);
    assert.equal(js.headers['x-content-type-options'], 'nosniff');
    const icon = await app.inject({ url: '/favicon.svg' });
    assert.equal(icon.statusCode, 200);
    assert.equal(icon.headers['cache-control'], 'no-cache');
  });

  it('answers client-side routes with index.html when a browser asks for a page', async () => {
    for (const url of ['/runs/5c0f7a2e', '/submit', '/runs/5c0f7a2e?view=table&node=3']) {
      const res = await app.inject({ url, headers: html });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /<title>Baton/, url);
    }
  });

  it('leaves everything else to the API: JSON 404s, other methods, non-HTML clients', async () => {
    const cases: Array<[string, string, Record<string, string>]> = [
      ['GET', '/v1/nothing', html],
      ['GET', '/v1', html],
      ['GET', '/apidocs/nothing', html],
      ['GET', '/healthz/x', html],
      ['GET', '/metrics/x', html],
      ['GET', '/runs/5c0f7a2e', { accept: 'application/json' }],
      ['POST', '/runs/5c0f7a2e', html],
      ['GET', '/assets/missing.js', { accept: '*/*' }],
    ];
    for (const [method, url, headers] of cases) {
      const res = await app.inject({ method: method as 'GET' | 'POST', url, headers });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.json().error, 'BATON_ERR_NOT_FOUND', `${method} ${url}`);
    }
    assert.equal((await app.inject({ url: '/v1/tasks', headers: html })).statusCode, 200);
    assert.equal((await app.inject({ url: '/healthz', headers: html })).json().status, 'ok');
  });

  it('never serves a file outside the build', async () => {
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const res = await app.inject({ url, headers: { accept: '*/*' } });
      assert.notEqual(res.body, 'not for you', url);
    }
  });
});

describe('serving the UI before it is built', () => {
  const dir = tempDir('baton-ui-none-');
  let app: FastifyInstance;
  before(async () => {
    app = await appServing(join(dir.path, 'dist'));
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  it('says how to build it, on / and on client-side routes, and does not crash', async () => {
    for (const url of ['/', '/runs/abc']) {
      const res = await app.inject({ url, headers: html });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /not built/);
      assert.ok(res.body.includes(BUILD_COMMAND));
      assert.equal(res.headers['x-frame-options'], 'DENY');
    }
    assert.equal((await app.inject({ url: '/assets/index.js' })).statusCode, 404);
  });
});
