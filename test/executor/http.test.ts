/** The http driver against a real local HTTP server. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { State } from '../../src/graph/states.ts';
import { harness, node } from './helpers.ts';

async function server(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (req.url === '/ok') {
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
  const h = await harness(t);
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
  const h = await harness(t);
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
  const h = await harness(t);
  const base = await server(t);
  const status = await h.run(node({ engine: 'http', artifact: `${base}/down` }));
  assert.equal(status.state, State.failure);
  assert.match(
    status.error ?? '',
    /GET http:\/\/127\.0\.0\.1:\d+\/down: 503 Service Unavailable: database unavailable, try later/,
  );
});

test('http: timeout, refused connection and bad URLs', async (t) => {
  const h = await harness(t);
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
