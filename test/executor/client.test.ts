/** The client against things that are not a working executor: it must say what went wrong. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  createExecutorClient,
  ExecutorError,
  type ExecutorErrorKind,
} from '../../src/executor/client.ts';
import { node } from './helpers.ts';

async function listen(
  t: { after(fn: () => Promise<void>): void },
  server: net.Server,
): Promise<string> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function expectError(
  t: { diagnostic(m: string): void },
  call: Promise<unknown>,
  kind: ExecutorErrorKind,
  message: RegExp,
) {
  await assert.rejects(call, (err: ExecutorError) => {
    assert.ok(err instanceof ExecutorError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, message);
    t.diagnostic(err.message);
    return true;
  });
}

test('client: connection refused', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const free = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const client = createExecutorClient({ url: `http://127.0.0.1:${free}` });
  t.after(() => client.close());
  await expectError(
    t,
    client.ping(),
    'connect',
    new RegExp(`^executor http://127\\.0\\.0\\.1:${free}: GET /v1/ping: connection refused`),
  );
});

test('client: a TCP server answering garbage', async (t) => {
  const url = await listen(
    t,
    net.createServer((s) => {
      s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2 not http at all\r\n\r\n'));
    }),
  );
  const client = createExecutorClient({ url });
  t.after(() => client.close());
  await expectError(t, client.ping(), 'protocol', /GET \/v1\/ping: the answer is not HTTP/);
});

test('client: a server that never answers times out', async (t) => {
  const url = await listen(
    t,
    net.createServer(() => {}),
  );
  const client = createExecutorClient({ url, timeoutMs: 300 });
  t.after(() => client.close());
  const started = Date.now();
  await expectError(
    t,
    client.submit(node({ engine: 'nil' }), 'k'),
    'timeout',
    /POST \/v1\/tasks: no answer within 300 ms/,
  );
  assert.ok(Date.now() - started < 3000);
});

test('client: HTTP answers that are not an executor', async (t) => {
  const url = await listen(
    t,
    http.createServer((req, res) => {
      if (req.url === '/v1/ping') {
        res.end('<html>hello</html>');
      } else if (req.url?.startsWith('/v1/tasks/odd')) {
        res.setHeader('content-type', 'application/json');
        res.end('{"hello":"world"}');
      } else {
        res.statusCode = 502;
        res.setHeader('content-type', 'text/html');
        res.end('<h1>Bad Gateway</h1>');
      }
    }),
  );
  const client = createExecutorClient({ url });
  t.after(() => client.close());
  await expectError(
    t,
    client.ping(),
    'protocol',
    /GET \/v1\/ping answered with something that is not JSON: <html>hello<\/html>/,
  );
  await expectError(t, client.wait('odd', 0), 'protocol', /answer is not a task status/);
  await expectError(
    t,
    client.submit(node({ engine: 'nil' }), 'k'),
    'status',
    /POST \/v1\/tasks answered 502: <h1>Bad Gateway<\/h1>/,
  );
});
