/**
 * Executors that misbehave, for the fault suites: on 127.0.0.1, in the test process, each
 * tracking its sockets so `close` ends them all (nothing outlives the test).
 *
 * - `silentServer`: accepts TCP connections and never sends a byte (a hung executor);
 * - `garbageServer`: answers every connection with bytes that are not HTTP, then hangs up;
 * - `fakeExecutor`: plain HTTP with a handler per request, to answer wrong things or to stall
 *   on purpose (a long poll that never answers, an answer that drips one byte at a time).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

export interface FakeServer {
  port: number;
  /** `http://127.0.0.1:PORT` (or https: for an executor URL the orchestrator will TLS to) */
  url(scheme?: 'http' | 'https'): string;
  /** connections accepted so far */
  connections(): number;
  close(): Promise<void>;
}

function track(server: Server): FakeServer {
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    get port() {
      return (server.address() as AddressInfo).port;
    },
    url(scheme = 'http') {
      return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    connections: () => accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function listen(server: Server): Promise<FakeServer> {
  const fake = track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return fake;
}

/** Accepts and never answers: not a byte, not a close. */
export function silentServer(): Promise<FakeServer> {
  return listen(createServer(() => {}));
}

/** Answers every connection with junk that is neither TLS nor HTTP, then hangs up. */
export function garbageServer(): Promise<FakeServer> {
  return listen(
    createServer((socket) => socket.end('\x00\x01\x02 garbage, not HTTP at all \xff\xfe\r\n\r\n')),
  );
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  /** runs `fn` every `ms` until the server closes */
  every: (ms: number, fn: () => void) => void,
) => void;

/** A plain HTTP server answering with `handler` (the request body is read and dropped). */
export function fakeExecutor(handler: Handler): Promise<FakeServer> {
  const timers = new Set<ReturnType<typeof setInterval>>();
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () =>
      handler(req, res, (ms, fn) => {
        const timer = setInterval(() => {
          if (res.destroyed) {
            clearInterval(timer);
            timers.delete(timer);
            return;
          }
          fn();
        }, ms);
        timers.add(timer);
      }),
    );
  });
  // no server-side timeouts: the point is to stall as long as the client lets it
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  return listen(server).then((fake) => {
    const close = fake.close;
    fake.close = async () => {
      for (const timer of timers) clearInterval(timer);
      await close();
    };
    return fake;
  });
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** Ready-made misbehaviours, by what they do wrong. */
export const handlers = {
  /** an HTML page, with the status the client expects (202 to a submit, else 200) */
  notJson: ((req, res) => {
    res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'text/html' });
    res.end('<html><body>It works!</body></html>');
  }) as Handler,
  /** 202 JSON without a task id */
  noId: ((_req, res) => json(res, 202, { accepted: true })) as Handler,
  /** 200 with a 16 MiB body (an answer is at most 4 MiB) */
  huge: ((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(Buffer.alloc(16 * 1024 * 1024, 0x20));
  }) as Handler,
  /** accepts the task, then never answers the long poll (nor anything else but cancel) */
  waitHangs: ((req, res) => {
    if (req.method === 'POST') return json(res, 202, { id: 'hung-task' });
    if (req.method === 'DELETE') return json(res, 200, { id: 'hung-task', state: 11 });
    // GET: hold the request open, answer nothing
  }) as Handler,
  /** answers the submit's headers, then one byte of body every 2 s, forever */
  dripSubmit: ((_req, res, every) => {
    res.writeHead(202, { 'content-type': 'application/json' });
    res.write(' ');
    every(2000, () => res.write(' '));
  }) as Handler,
  /** answers the submit with an interim 103 Early Hints every 2 s and never a final status */
  earlyHintsForever: ((_req, res, every) => {
    const hint = () => res.writeEarlyHints({ link: '</waiting>; rel=preload' });
    hint();
    every(2000, hint);
  }) as Handler,
  /** a well-formed task whose final status carries a NUL character in its error and output */
  nulInStatus: ((req, res) => {
    const status = {
      id: 'nul-task',
      state: 4,
      exit_code: 1,
      error: 'failed: bad\u0000byte',
      output: { ip: 'a\u0000b' },
    };
    if (req.method === 'POST') return json(res, 202, { id: 'nul-task' });
    return json(res, 200, status);
  }) as Handler,
};
