/** The http driver against a real local HTTP server. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { guardedLookup, HttpAllowlist } from '../../src/executor/http-allow.ts';
import { State } from '../../src/graph/states.ts';
import { harness, node } from './helpers.ts';

/** The tests' servers are on loopback, which the engine calls only when allowed. */
const LOOPBACK = { httpAllow: ['127.0.0.1'] };

/** What the test servers were asked, `host/path`. */
const requests: string[] = [];

async function server(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      requests.push(`${req.headers.host}${req.url}`);
      const redirect = /^\/redirect\?to=(.*)$/.exec(req.url ?? '');
      if (redirect) {
        res.statusCode = 302;
        res.setHeader('location', decodeURIComponent(redirect[1]));
        res.end();
      } else if (req.url === '/ok') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ip: '192.0.2.7', port: 8080, tags: ['a'], undeclared: 'x' }));
      } else if (req.url === '/echo') {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            method: req.method,
            body,
            type: req.headers['content-type'],
            token: req.headers['x-token'],
          }),
        );
      } else if (req.url === '/text') {
        res.end('plain words');
      } else if (req.url === '/slow') {
        // never answers
      } else {
        res.statusCode = 503;
        res.end('database unavailable, try later');
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    srv.closeAllConnections();
    await new Promise((resolve) => srv.close(resolve));
  });
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

test('http: 2xx succeeds and declared top-level JSON keys become outputs', async (t) => {
  const h = await harness(t, LOOPBACK);
  const base = await server(t);
  const status = await h.run(
    node({
      engine: 'http',
      artifact: `${base}/ok`,
      output: { ip: '', port: '', tags: '', missing: '' },
    }),
  );
  assert.equal(status.state, State.success, status.error ?? '');
  assert.deepEqual(status.output, { ip: '192.0.2.7', port: '8080', tags: '["a"]' });
  assert.match(await h.client.log(status.id), /192\.0\.2\.7/);
  const text = await h.run(node({ engine: 'http', artifact: `${base}/text`, output: { ip: '' } }));
  assert.equal(text.state, State.success);
  assert.deepEqual(text.output, {});
});

test('http: method, body and headers come from args', async (t) => {
  const h = await harness(t, LOOPBACK);
  const base = await server(t);
  const status = await h.run(
    node({
      engine: 'http',
      artifact: `${base}/echo`,
      args: ['method=POST', 'body={"name":"web"}', 'header=X-Token: s3cret'],
      output: { method: '', body: '', type: '', token: '' },
    }),
  );
  assert.equal(status.state, State.success, status.error ?? '');
  assert.deepEqual(status.output, {
    method: 'POST',
    body: '{"name":"web"}',
    type: 'application/json',
    token: 's3cret',
  });
});

test('http: other statuses fail with the status and the start of the body', async (t) => {
  const h = await harness(t, LOOPBACK);
  const base = await server(t);
  const status = await h.run(node({ engine: 'http', artifact: `${base}/down` }));
  assert.equal(status.state, State.failure);
  assert.match(
    status.error ?? '',
    /GET http:\/\/127\.0\.0\.1:\d+\/down: 503 Service Unavailable: database unavailable, try later/,
  );
});

test('http: timeout, refused connection and bad URLs', async (t) => {
  const h = await harness(t, LOOPBACK);
  const base = await server(t);
  const slow = await h.run(node({ engine: 'http', artifact: `${base}/slow`, timeout: 0.5 }));
  assert.equal(slow.state, State.timeout);
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await h.run(node({ engine: 'http', artifact: `http://127.0.0.1:${port}/` }));
  assert.equal(refused.state, State.failure);
  assert.match(refused.error ?? '', /ECONNREFUSED/);
  const file = await h.run(node({ engine: 'http', artifact: 'file:///etc/passwd' }));
  assert.match(file.error ?? '', /only http and https URLs/);
  const junk = await h.run(node({ engine: 'http', artifact: 'not a url' }));
  assert.match(junk.error ?? '', /absolute http\(s\) URL/);
});

test('http: a host outside the allowlist is refused before any request', async (t) => {
  const base = await server(t);
  const port = new URL(base).port;
  const none = await harness(t);
  const before = requests.length;
  const refused = await none.run(node({ engine: 'http', artifact: `${base}/ok` }));
  assert.equal(refused.state, State.failure);
  assert.equal(
    refused.error,
    `http engine: host 127.0.0.1:${port} is not in the executor's allowlist (--http-allow)`,
  );
  const internal = await none.run(node({ engine: 'http', artifact: 'http://10.0.0.5/admin' }));
  assert.equal(
    internal.error,
    "http engine: host 10.0.0.5 is not in the executor's allowlist (--http-allow)",
  );
  // an allowed host on another port is another service
  const otherPort = await harness(t, { httpAllow: ['127.0.0.1:1'] });
  const wrongPort = await otherPort.run(node({ engine: 'http', artifact: `${base}/ok` }));
  assert.match(wrongPort.error ?? '', /host 127\.0\.0\.1:\d+ is not in the executor's allowlist/);
  assert.equal(requests.length, before, 'a refused task reached the server');
  // a name is allowed by name, and reaches the server it resolves to
  const byName = await harness(t, { httpAllow: [`localhost:${port}`] });
  const named = await byName.run(
    node({ engine: 'http', artifact: `http://localhost:${port}/ok`, output: { ip: '' } }),
  );
  assert.equal(named.state, State.success, named.error ?? '');
  assert.deepEqual(named.output, { ip: '192.0.2.7' });
});

test('http: a redirect to a host outside the allowlist is not followed', async (t) => {
  const h = await harness(t, LOOPBACK);
  const base = await server(t);
  const port = new URL(base).port;
  const to = encodeURIComponent(`http://localhost:${port}/ok`);
  const before = requests.length;
  const status = await h.run(node({ engine: 'http', artifact: `${base}/redirect?to=${to}` }));
  assert.equal(status.state, State.failure);
  assert.match(
    status.error ?? '',
    /redirected: http engine: host localhost:\d+ is not in the executor's allowlist \(--http-allow\)/,
  );
  assert.deepEqual(requests.slice(before), [`127.0.0.1:${port}/redirect?to=${to}`]);
  // within the allowlist, redirects are followed
  const inside = encodeURIComponent(`${base}/ok`);
  const followed = await h.run(
    node({ engine: 'http', artifact: `${base}/redirect?to=${inside}`, output: { ip: '' } }),
  );
  assert.equal(followed.state, State.success, followed.error ?? '');
  assert.deepEqual(followed.output, { ip: '192.0.2.7' });
});

test('http: link-local and metadata addresses are refused even when every host is allowed', async (t) => {
  const h = await harness(t, { httpAllow: ['*'] });
  for (const [url, address] of [
    ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', '169.254.169.254'],
    ['http://169.254.169.254./latest/', '169.254.169.254'],
    ['http://0xa9fea9fe/latest/', '169.254.169.254'], // the same address, spelled as a number
    ['http://[fe80::1]/', 'fe80::1'],
    ['http://[fd00:ec2::254]/latest/', 'fd00:ec2::254'],
    ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata.google.internal'],
  ]) {
    const status = await h.run(node({ engine: 'http', artifact: url }));
    assert.equal(status.state, State.failure, url);
    assert.equal(
      status.error,
      `http engine: ${address} is a link-local or cloud metadata address, which the http engine never calls`,
      url,
    );
  }
});

test('http: a name that resolves to a link-local address is refused on the resolved address', async () => {
  // what DNS rebinding does: an allowed name answering with the metadata address. The socket
  // connects to the addresses this lookup checked, never to a second answer.
  const answers = [
    [{ address: '10.0.0.8', family: 4 }],
    [
      { address: '10.0.0.9', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ],
  ];
  let asked = 0;
  const lookup = guardedLookup((_host, callback) => callback(null, answers[asked++]));
  const call = () =>
    new Promise<{ err: Error | null; address: unknown }>((resolve) =>
      lookup('api.example.com', { all: true }, (err, address) => resolve({ err, address })),
    );
  assert.deepEqual(await call(), { err: null, address: answers[0] });
  const rebound = await call();
  assert.equal(
    rebound.err?.message,
    'http engine: api.example.com resolves to 169.254.169.254, a link-local or cloud metadata address, which the http engine never calls',
  );
});

test('http allowlist: patterns', () => {
  const allow = new HttpAllowlist(['*.example.com', '10.0.0.5', '[::1]:8080', 'db:5432']);
  assert.equal(allow.allows('api.example.com', 443), true);
  assert.equal(allow.allows('a.b.EXAMPLE.com.', 80), true);
  assert.equal(allow.allows('example.com', 443), false, '*.domain is its subdomains');
  assert.equal(allow.allows('evil-example.com', 443), false);
  assert.equal(allow.allows('10.0.0.5', 8443), true, 'no port: any port');
  assert.equal(allow.allows('[::1]', 8080), true);
  assert.equal(allow.allows('::1', 80), false);
  assert.equal(allow.allows('db', 5432), true);
  assert.equal(allow.allows('db', 80), false);
  for (const bad of ['', 'a.*.com', '**', 'host:0', 'host:70000', 'http://x']) {
    assert.throws(
      () => new HttpAllowlist([bad]),
      /http allowlist\[0\]: expected HOST or HOST:PORT/,
      bad,
    );
  }
});
