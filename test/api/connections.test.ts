/**
 * Connections a client holds against a real `baton serve` (the binary, with its flags): a
 * body that trickles in is answered 408 and closed once the request deadline passes, and
 * connections over the maximum are closed as they arrive while those already open work on.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, Processes } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';

/** A socket to `url` that records what it receives and resolves `closed` when it closes. */
function open(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, connected, received: () => received };
}

/** One keep-alive GET /healthz on `socket`; resolves with the status line. */
function healthz(socket: Socket, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) {
        socket.off('data', onData);
        resolve(text.slice(0, text.indexOf('\r\n')));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before an answer: ${text}`)));
    socket.write(`GET /healthz HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n\r\n`);
  });
}

describe('client connections', () => {
  const dir = tempDir('baton-connections-');
  const processes = new Processes();
  after(async () => {
    await processes.killAll();
    dir.remove();
  });

  it('a body that trickles in answers 408 and is closed at the request deadline', {
    timeout: 60_000,
  }, async () => {
    const server = await processes.serve(join(dir.path, 'slow'), ['--request-timeout', '1']);
    const client = open(server.url);
    await client.connected;
    // a body of 1,000 bytes announced, 10 sent, and then nothing
    client.socket.write(
      `POST /v1/tasks HTTP/1.1\r\nhost: ${new URL(server.url).host}\r\n` +
        'content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"name":"x',
    );
    await client.closed;
    const text = client.received();
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.equal(body.error, 'BATON_ERR_REQUEST_TIMEOUT');
    assert.match(String(body.message), /not received within 1 s/);
  });

  it('closes connections over --max-connections as they arrive; the others work on', {
    timeout: 60_000,
  }, async () => {
    const server = await processes.serve(join(dir.path, 'capped'), ['--max-connections', '2']);
    const host = new URL(server.url).host;
    const a = open(server.url);
    const b = open(server.url);
    // both accepted and answered: they count against the maximum
    assert.equal(await healthz(a.socket, host), 'HTTP/1.1 200 OK');
    assert.equal(await healthz(b.socket, host), 'HTTP/1.1 200 OK');

    const c = open(server.url);
    await c.closed;
    assert.equal(c.received(), '', 'the connection over the maximum got no answer');
    assert.equal(await healthz(a.socket, host), 'HTTP/1.1 200 OK', 'an open one works on');

    // once one closes, a new connection is served again
    b.socket.destroy();
    await b.closed;
    const status = await eventually(
      'a new connection served once one closed',
      async () => {
        const d = open(server.url);
        try {
          return await healthz(d.socket, host);
        } catch {
          return undefined;
        } finally {
          d.socket.destroy();
        }
      },
      10_000,
    );
    assert.equal(status, 'HTTP/1.1 200 OK');
    a.socket.destroy();
  });
});
