/**
 * API authentication against real servers on loopback: bearer tokens from a tokens file
 * (reloaded when it changes), client certificates over HTTPS, the public routes, the start-up
 * refusals, what the log says about who called, and the `baton token` command end to end.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { hashToken, isLoopback, newToken, parseTokens } from '../../src/api/auth.ts';
import { writeCerts } from '../../src/cli/certs.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { baton, exited, serve } from '../support/cli.ts';
import { doc, startTestServer, tempDir } from '../support/server.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A tokens file of `names`, with the token of each. */
function tokensFile(path: string, names: string[]): Record<string, string> {
  const tokens = Object.fromEntries(names.map((name) => [name, newToken()]));
  writeFileSync(
    path,
    names.map((name) => `- {name: ${name}, sha256: ${hashToken(tokens[name])}}\n`).join(''),
  );
  return tokens;
}

/** pino writing JSON lines into an array. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { logger, text: () => lines.join('') };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('bearer tokens', () => {
  const dir = tempDir('baton-auth-');
  const file = join(dir.path, 'tokens.yaml');
  const log = capturedLogger();
  let tokens: Record<string, string>;
  let server: RunningServer;
  let url: string;
  before(async () => {
    tokens = tokensFile(file, ['alice', 'bob']);
    server = await startTestServer({ dataDir: dir.path, tokensFile: file, logger: log.logger });
    url = server.url;
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('refuses /v1 without a token: 401, WWW-Authenticate: Bearer and the JSON error', async () => {
    for (const [method, path] of [
      ['GET', '/v1/tasks'],
      ['GET', '/v1/tasks/00000000-0000-0000-0000-000000000000'],
      ['GET', '/v1/tasks/x/events'],
      ['DELETE', '/v1/tasks/x'],
      ['GET', '/v1/no-such-route'],
      ['GET', '/metrics'],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="baton"');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const body = (await res.json()) as { code: number; error: string; message: string };
      assert.equal(body.code, 401);
      assert.equal(body.error, 'BATON_ERR_UNAUTHORIZED');
      assert.match(body.message, /Authorization: Bearer <token>.*baton token create/);
    }
  });

  it('never reads the body of an unauthenticated submission', async () => {
    const res = await fetch(`${url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"not json',
    });
    assert.equal(res.status, 401, 'refused before parsing (a parse error would be 400)');
  });

  it('accepts a valid token, and each token is its own principal', async () => {
    const submitted = await fetch(`${url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(tokens.alice) },
      body: JSON.stringify(doc([['a', 'nil']])),
    });
    assert.equal(submitted.status, 202);
    const { id } = (await submitted.json()) as { id: string };
    const read = await fetch(`${url}/v1/tasks/${id}`, { headers: bearer(tokens.bob) });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('cache-control'), 'no-store');
    // the scheme is case-insensitive (RFC 7235)
    const lower = await fetch(`${url}/v1/tasks`, {
      headers: { authorization: `bearer ${tokens.alice}` },
    });
    assert.equal(lower.status, 200);
    const metrics = await fetch(`${url}/metrics`, { headers: bearer(tokens.alice) });
    assert.equal(metrics.status, 200);
    const missing = await fetch(`${url}/v1/no-such-route`, { headers: bearer(tokens.alice) });
    assert.equal(missing.status, 404, 'an authenticated client gets the real 404');
  });

  it('refuses a wrong token, another scheme and a malformed header as invalid_token', async () => {
    for (const authorization of [
      `Bearer ${newToken()}`,
      `Bearer ${tokens.alice}x`,
      `Basic ${Buffer.from(`alice:${tokens.alice}`).toString('base64')}`,
      'Bearer',
      `Bearer ${'a'.repeat(10_000)}`,
    ]) {
      const res = await fetch(`${url}/v1/tasks`, { headers: { authorization } });
      assert.equal(res.status, 401, authorization.slice(0, 20));
      assert.equal(
        res.headers.get('www-authenticate'),
        'Bearer realm="baton", error="invalid_token"',
      );
      assert.equal(((await res.json()) as { error: string }).error, 'BATON_ERR_UNAUTHORIZED');
    }
  });

  it('keeps /healthz, the UI, /openapi.json and /apidocs public', async () => {
    for (const path of ['/healthz', '/', '/runs/anything', '/openapi.json', '/apidocs/']) {
      const res = await fetch(`${url}${path}`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }
    const api = (await (await fetch(`${url}/openapi.json`)).json()) as {
      components: { securitySchemes: Record<string, { scheme: string }> };
      security: unknown[];
    };
    assert.equal(api.components.securitySchemes.bearer.scheme, 'bearer');
    assert.deepEqual(api.security, [{ bearer: [] }], 'Swagger UI offers "Authorize"');
  });

  it('logs who called, never the token', async () => {
    await fetch(`${url}/v1/tasks?limit=1`, { headers: bearer(tokens.bob) });
    const lines = log
      .text()
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { principal?: string; msg: string; req?: { url: string } },
      );
    const completed = lines.filter((l) => l.msg === 'request completed' && l.principal === 'bob');
    assert.ok(completed.length > 0, 'the request-completed line names the principal');
    for (const token of Object.values(tokens)) assert.ok(!log.text().includes(token));
  });

  it('reloads the tokens file: a revoked token is refused, a new one accepted', async () => {
    const carol = newToken();
    // an atomic replace, as editors and `baton token` do
    writeFileSync(
      `${file}.tmp`,
      `# bob revoked\n- {name: alice, sha256: ${hashToken(tokens.alice)}}\n- {name: carol, sha256: ${hashToken(carol)}}\n`,
    );
    const { renameSync } = await import('node:fs');
    renameSync(`${file}.tmp`, file);
    await until(async () => {
      const res = await fetch(`${url}/v1/tasks`, { headers: bearer(tokens.bob) });
      await res.arrayBuffer();
      return res.status === 401;
    }, 'bob is refused');
    const res = await fetch(`${url}/v1/tasks`, { headers: bearer(carol) });
    assert.equal(res.status, 200);
    assert.equal((await fetch(`${url}/v1/tasks`, { headers: bearer(tokens.alice) })).status, 200);

    // a broken file is not applied: the previous tokens stay in force
    writeFileSync(file, '- {name: alice, sha256: nothex}\n');
    await until(async () => log.text().includes('tokens file not reloaded'), 'the error is logged');
    assert.equal((await fetch(`${url}/v1/tasks`, { headers: bearer(carol) })).status, 200);
  });
});

describe('a deleted tokens file', () => {
  const dir = tempDir('baton-auth-deleted-');
  const file = join(dir.path, 'tokens.yaml');
  const log = capturedLogger();
  let server: RunningServer;
  after(async () => {
    await server?.close();
    dir.remove();
  });

  it('refuses every token until the file is back, and says so in the log', async () => {
    const tokens = tokensFile(file, ['alice']);
    server = await startTestServer({ dataDir: dir.path, tokensFile: file, logger: log.logger });
    const status = async () => {
      const res = await fetch(`${server.url}/v1/tasks`, { headers: bearer(tokens.alice) });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await status(), 200);
    unlinkSync(file);
    await until(async () => (await status()) === 401, 'alice is refused once the file is gone');
    assert.match(log.text(), /tokens file deleted: every token is refused/);

    writeFileSync(file, `- {name: alice, sha256: ${hashToken(tokens.alice)}}\n`);
    await until(async () => (await status()) === 200, 'alice is accepted once the file is back');
  });
});

describe('start-up', () => {
  const dir = tempDir('baton-auth-startup-');
  after(() => dir.remove());

  it('refuses to listen beyond loopback without authentication, before opening anything', async () => {
    const data = join(dir.path, 'open');
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.com']) {
      await assert.rejects(startTestServer({ dataDir: data, host }), (err: Error) => {
        assert.equal((err as { code?: string }).code, 'BATON_ERR_INSECURE_BIND');
        assert.match(err.message, new RegExp(`on ${host.replace('.', '\\.')} without auth`));
        assert.match(err.message, /--tokens .*BATON_TOKENS_FILE.*--client-ca.*127\.0\.0\.1/);
        return true;
      });
    }
    assert.equal(existsSync(join(data, 'baton.db')), false, 'no store was opened');
  });

  it('listens on 0.0.0.0 with tokens, and then requires them', async () => {
    const file = join(dir.path, 'tokens.json');
    const token = newToken();
    writeFileSync(file, JSON.stringify([{ name: 'ci', sha256: hashToken(token) }]));
    const server = await startTestServer({
      dataDir: join(dir.path, 'wide'),
      host: '0.0.0.0',
      tokensFile: file,
    });
    try {
      const port = new URL(server.url).port;
      const local = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${local}/v1/tasks`)).status, 401);
      assert.equal((await fetch(`${local}/v1/tasks`, { headers: bearer(token) })).status, 200);
    } finally {
      await server.close();
    }
  });

  it('checks the tokens file, certificates and client CA, naming the field', async () => {
    const bad = join(dir.path, 'bad.yaml');
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['{name: x}', {}, /bad\.yaml: \(top level\): expected a list of \{name, sha256\}/],
      ['- {name: x, sha256: abc}', {}, /\[0\]\.sha256: expected the SHA-256 of the token/],
      [`- {name: "a b", sha256: ${'a'.repeat(64)}}`, {}, /\[0\]\.name: expected a name/],
      [
        `- {name: a, sha256: ${'a'.repeat(64)}}\n- {name: a, sha256: ${'b'.repeat(64)}}`,
        {},
        /\[1\]\.name: expected a name used once/,
      ],
      [`- {name: a, sha256: ${'a'.repeat(64)}, note: x}`, {}, /\[0\]\.note: expected only/],
      ['[', {}, /not valid YAML/],
      ['[]', { clientCaFile: bad }, /client certificates need HTTPS: .*--cert FILE and --key/],
      ['[]', { certFile: bad }, /needs both a certificate and its key/],
      ['[]', { certFile: bad, keyFile: bad }, /not a usable certificate and key/],
    ];
    for (const [text, extra, message] of cases) {
      writeFileSync(bad, text);
      await assert.rejects(
        startTestServer({ dataDir: join(dir.path, 'bad'), tokensFile: bad, ...extra }),
        (err: Error) => {
          assert.equal((err as { code?: string }).code, 'BATON_ERR_SECURITY_CONFIG', text);
          assert.match(err.message, message);
          return true;
        },
      );
    }
    await assert.rejects(
      startTestServer({ dataDir: join(dir.path, 'bad'), tokensFile: join(dir.path, 'none') }),
      /none: cannot read the tokens file \(no such file\)/,
    );
  });

  it('stays open on loopback without authentication, unlimited', async () => {
    const server = await startTestServer({ dataDir: join(dir.path, 'open-loopback') });
    try {
      const res = await fetch(`${server.url}/v1/tasks`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-limit'), null);
      assert.equal(res.headers.get('strict-transport-security'), null, 'plain HTTP: no HSTS');
    } finally {
      await server.close();
    }
  });

  it('knows loopback addresses', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isLoopback(host), true, host);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      'example.com',
      '::ffff:10.0.0.1',
    ]) {
      assert.equal(isLoopback(host), false, host);
    }
  });

  it('parses an empty tokens file as no tokens (everything refused)', () => {
    assert.deepEqual(parseTokens(null, 'f'), []);
    assert.deepEqual(parseTokens([{ name: 'A', sha256: 'AB'.repeat(32) }], 'f'), [
      { name: 'A', sha256: 'ab'.repeat(32) },
    ]);
  });
});

describe('client certificates', () => {
  const dir = tempDir('baton-auth-certs-');
  const certs = join(dir.path, 'certs');
  const other = join(dir.path, 'other');
  const read = (d: string, f: string) => readFileSync(join(d, f), 'utf8');
  let server: RunningServer;
  let token: string;
  const agents: Agent[] = [];
  const client = (options: { cert?: string; key?: string }) => {
    const agent = new Agent({ connect: { ca: read(certs, 'ca.pem'), ...options } });
    agents.push(agent);
    return (path: string, headers: Record<string, string> = {}) =>
      undiciFetch(`${server.url}${path}`, { dispatcher: agent, headers });
  };

  before(async () => {
    await Promise.all([writeCerts(certs), writeCerts(other)]);
    const file = join(dir.path, 'tokens.yaml');
    token = tokensFile(file, ['ci']).ci;
    server = await startTestServer({
      dataDir: dir.path,
      // the executor's certificate is valid for localhost and 127.0.0.1: the server's here
      certFile: join(certs, 'executor.pem'),
      keyFile: join(certs, 'executor-key.pem'),
      clientCaFile: join(certs, 'ca.pem'),
      tokensFile: file,
    });
  });
  after(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await server.close();
    dir.remove();
  });

  it('serves HTTPS with HSTS', async () => {
    assert.match(server.url, /^https:\/\//);
    const res = await client({})('/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('authenticates a certificate signed by the client CA as its CN', async () => {
    const get = client({
      cert: read(certs, 'orchestrator.pem'),
      key: read(certs, 'orchestrator-key.pem'),
    });
    const res = await get('/v1/tasks');
    assert.equal(res.status, 200, await res.clone().text());
    // a token sent on that connection decides: a wrong one is refused
    const wrong = await get('/v1/tasks', bearer(newToken()));
    assert.equal(wrong.status, 401);
  });

  it('refuses a connection without a certificate, or with one from another CA', async () => {
    const none = await client({})('/v1/tasks');
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { message: string }).message, /or a client certificate/);
    const foreign = await client({
      cert: read(other, 'orchestrator.pem'),
      key: read(other, 'orchestrator-key.pem'),
    })('/v1/tasks');
    assert.equal(foreign.status, 401);
    assert.match(
      ((await foreign.json()) as { message: string }).message,
      /the client certificate is not accepted/,
    );
  });

  it('still takes tokens over HTTPS', async () => {
    const res = await client({})('/v1/tasks', bearer(token));
    assert.equal(res.status, 200);
  });
});

describe('baton token and baton serve --tokens', () => {
  const dir = tempDir('baton-auth-cli-');
  after(() => dir.remove());
  const env = { BATON_TOKENS_FILE: '', BATON_CONFIG: '', BATON_TOKEN: '', BATON_SERVER: '' };

  it('creates a token, serves with it, and revokes it', async () => {
    const file = join(dir.path, 'tokens.yaml');
    const created = await baton(['token', 'create', 'ci', '--tokens', file], { env });
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, 'stdout is the token alone');
    assert.match(created.stderr, /added to .*tokens\.yaml.*shown only once/s);
    assert.ok(readFileSync(file, 'utf8').includes(hashToken(token)));
    assert.ok(!readFileSync(file, 'utf8').includes(token), 'the file keeps only the hash');
    const twice = await baton(['token', 'create', 'ci', '--tokens', file], { env });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /a token named "ci" exists/);

    const service = await serve(join(dir.path, 'data'), ['--tokens', file]);
    try {
      const refused = await baton(['list', '--server', service.url], { env });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /authentication required/);
      const listed = await baton(['list', '--server', service.url, '--token', token], { env });
      assert.equal(listed.code, 0, listed.stderr);
      const viaEnv = await baton(['list', '--server', service.url], {
        env: { ...env, BATON_TOKEN: token },
      });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);

      const names = await baton(['token', 'list', '--tokens', file], { env });
      assert.match(names.stdout, /^ci\t[0-9a-f]{12}…$/m);
      const revoked = await baton(['token', 'revoke', 'ci', '--tokens', file], { env });
      assert.equal(revoked.code, 0, revoked.stderr);
      await until(async () => {
        const res = await fetch(`${service.url}/v1/tasks`, { headers: bearer(token) });
        await res.arrayBuffer();
        return res.status === 401;
      }, 'the revoked token is refused');
      assert.ok(!service.log().includes(token), 'the token never appears in the log');
    } finally {
      service.child.kill('SIGTERM');
      await exited(service.child);
    }
  });

  it('prints the line to add when there is no tokens file', async () => {
    const res = await baton(['token', 'create', 'alice'], { env });
    assert.equal(res.code, 0, res.stderr);
    const token = res.stdout.trim();
    assert.ok(res.stderr.includes(`- {name: alice, sha256: ${hashToken(token)}}`));
  });

  it('serve refuses a non-loopback address without authentication', async () => {
    const res = await baton(
      ['serve', '--host', '0.0.0.0', '--port', '0', '--data', join(dir.path, 'x')],
      { env },
    );
    assert.equal(res.code, 2);
    assert.match(res.stderr, /refusing to serve the API on 0\.0\.0\.0 without authentication/);
  });
});
