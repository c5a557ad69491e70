/**
 * Real `baton` processes and bounded HTTP for the reliability suites (test/load, test/faults,
 * test/fuzz): every process is started on a port chosen here (so a killed executor can come
 * back on the same URL), is tracked by a `Processes` set that kills what is left at the end,
 * and every wait or request has a deadline. Processes are only ever signalled through their
 * own ChildProcess handle.
 *
 * Suite scale: `BATON_SUITE_SCALE=short|full` (default full) sizes the `*.load.ts`,
 * `*.fault.ts` and `*.fuzz.ts` files; the smoke tests in `*.test.ts` always run short.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, connect, createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { BATON } from './cli.ts';

export type Scale = 'short' | 'full';

/** The scale of the long suites, from BATON_SUITE_SCALE. */
export function suiteScale(): Scale {
  const value = process.env.BATON_SUITE_SCALE ?? 'full';
  if (value !== 'short' && value !== 'full') {
    throw new Error(`BATON_SUITE_SCALE: expected short or full, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A free port on 127.0.0.1 (closed again: the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves `true` once something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export interface BatonProcess {
  /** `http://127.0.0.1:PORT` (executors started with --tls answer https on it) */
  url: string;
  port: number;
  child: ChildProcess;
  /** the last 64 KiB of stdout and stderr together */
  output(): string;
  alive(): boolean;
  /** resolves with the exit code (null when a signal ended it) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, resolved once the process is gone */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown), then SIGKILL after `graceMs` */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** default: a free port */
  port?: number;
  /** added to the environment (CI=1 keeps the logs JSON lines) */
  env?: Record<string, string>;
  /** how long the process may take to listen (default 20 s) */
  readyMs?: number;
}

const OUTPUT_BYTES = 64 * 1024;

/**
 * Starts `baton <args> --port PORT` and resolves once the port accepts connections; fails
 * with the process's output if it exits first or takes longer than `readyMs`.
 */
export async function startBaton(
  args: string[],
  options: StartOptions = {},
): Promise<BatonProcess> {
  const port = options.port ?? (await freePort());
  const scheme = args.includes('--tls') && args[0] === 'executor' ? 'https' : 'http';
  const child = spawn(process.execPath, [BATON, ...args, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1', ...options.env },
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_BYTES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const proc: BatonProcess = {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    alive,
    exited,
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  // a hang bound: on a 2-core machine loaded by other suites a start took more than 20 s
  const deadline = Date.now() + (options.readyMs ?? 120_000);
  while (!(await listening(port))) {
    if (!alive()) throw new Error(`baton ${args.join(' ')} exited early:\n${output}`);
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`baton ${args[0]} did not listen on ${port} in time:\n${output}`);
    }
    await delay(50);
  }
  return proc;
}

/** The processes of one test; `killAll` (registered with `t.after`) ends what is left. */
export class Processes {
  readonly #all: BatonProcess[] = [];

  async start(args: string[], options: StartOptions = {}): Promise<BatonProcess> {
    const proc = await startBaton(args, options);
    this.#all.push(proc);
    return proc;
  }

  /** `baton serve` on SQLite under `dataDir`, or on PostgreSQL when `extra` has `--db`. */
  serve(dataDir: string, extra: string[] = [], options: StartOptions = {}) {
    const store = extra.includes('--db') ? [] : ['--data', dataDir];
    return this.start(['serve', ...store, ...extra], options);
  }

  async killAll(): Promise<void> {
    await Promise.all(this.#all.map((p) => p.kill()));
  }
}

export interface Answer {
  status: number;
  text: string;
  /** the parsed body when it is JSON, else undefined */
  json: unknown;
}

/**
 * One request with a deadline. A transport failure or the deadline gives status 0 and the
 * error in `text`, so callers can count them instead of throwing.
 */
export async function call(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  timeoutMs = 10_000,
): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      body: init.body,
      headers:
        init.body === undefined
          ? init.headers
          : { 'content-type': 'application/json', ...init.headers },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return { status: 0, text: `${e.name}: ${e.cause?.message ?? e.message}`, json: undefined };
  }
}

/** Polls `probe` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(intervalMs);
  }
}

export interface RunView {
  id: string;
  state: number;
  nodes: Array<{ id: number; state: number; attempts: number; error: string | null }>;
}

/** Every run the server lists (all pages), by id. */
export async function listAllRuns(
  url: string,
  timeoutMs = 60_000,
): Promise<Map<string, { state: string; state_code: number }>> {
  const runs = new Map<string, { state: string; state_code: number }>();
  const deadline = Date.now() + timeoutMs;
  let cursor: string | undefined;
  do {
    if (Date.now() > deadline) throw new Error(`listing the runs of ${url} took too long`);
    const page = await call(
      `${url}/v1/tasks?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      {},
      30_000,
    );
    if (page.status !== 200) throw new Error(`GET /v1/tasks: ${page.status} ${page.text}`);
    const body = page.json as {
      tasks: Array<{ id: string; state: string; state_code: number }>;
      next_cursor?: string;
    };
    for (const task of body.tasks) runs.set(task.id, task);
    cursor = body.next_cursor;
  } while (cursor);
  return runs;
}

/** Waits until the server lists no initial or running run. */
export async function settled(url: string, timeoutMs: number): Promise<void> {
  await eventually(
    `runs of ${url} to finish`,
    async () => {
      const page = await call(`${url}/v1/tasks?state=initial,running&limit=1`);
      return page.status === 200 && (page.json as { tasks: unknown[] }).tasks.length === 0
        ? true
        : undefined;
    },
    timeoutMs,
    200,
  );
}

/** Nearest-rank percentile of `values` (ms), 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank] * 100) / 100;
}

export interface RawAnswer {
  /** 0 when no status line came before the end */
  status: number;
  /** the start of the body (bounded) */
  text: string;
  /** request body bytes written before the answer arrived (or before the end) */
  bytesSent: number;
  ms: number;
  /** the transport error, if any (a reset after the server answered is normal) */
  error?: string;
  timedOut: boolean;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * A raw HTTP/1.1 request over a plain socket, for hostile bodies and headers: `body` is a
 * Buffer or a generator of chunks, written with back-pressure and a turn of the event loop
 * between chunks so the answer is read as soon as it comes. Writing stops once the server
 * answers (a server refusing a huge body must not have to read it all), and what was read is
 * kept when the server resets the connection while the body is still being written.
 * `Content-Length` is added for a Buffer body unless `headers` sets it or asks for chunked.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string | number>;
    body?: Buffer | (() => Generator<Buffer>);
    timeoutMs: number;
    /** wait this long after the headers before the body (as a 100-continue client would) */
    pauseBeforeBodyMs?: number;
  },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  const headers: Record<string, string | number> = {
    host: `${hostname}:${port}`,
    ...options.headers,
  };
  const names = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  if (
    Buffer.isBuffer(options.body) &&
    !names.has('content-length') &&
    !names.has('transfer-encoding')
  )
    headers['content-length'] = options.body.length;
  if (!names.has('connection')) headers.connection = 'close';
  const head = `${options.method ?? 'POST'} ${options.path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let bytesSent = 0;
    let done = false;
    const parsed = () => {
      const end = received.indexOf(CRLF2);
      if (end < 0) return undefined;
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0);
      const length = lines
        .map((l) => /^content-length:\s*(\d+)/i.exec(l)?.[1])
        .find((v) => v !== undefined);
      const body = received.subarray(end + 4);
      const complete = length !== undefined && body.length >= Number(length);
      return { status, body, complete };
    };
    const finish = (extra: Partial<RawAnswer> = {}) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const answer = parsed();
      resolve({
        status: answer?.status ?? 0,
        text: answer ? answer.body.subarray(0, 4096).toString() : '',
        bytesSent,
        ms: Math.round(performance.now() - started),
        timedOut: false,
        ...extra,
      });
    };
    const timer = setTimeout(
      () => finish({ timedOut: true, error: `no answer within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    const socket = connect(Number(port), hostname);
    socket.on('data', (chunk: Buffer) => {
      if (received.length < 64 * 1024) received = Buffer.concat([received, chunk]);
      if (parsed()?.complete) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err) => finish({ error: err.message }));
    const answered = () => done || parsed() !== undefined;
    socket.once('connect', async () => {
      socket.write(head);
      const body = options.body;
      if (body === undefined) return;
      if (options.pauseBeforeBodyMs) {
        await new Promise((resolve) => setTimeout(resolve, options.pauseBeforeBodyMs));
        if (answered()) return;
      }
      if (Buffer.isBuffer(body)) {
        bytesSent = body.length;
        socket.write(body);
        return;
      }
      for (const chunk of body()) {
        if (answered()) return;
        bytesSent += chunk.length;
        const flushed = socket.write(chunk);
        if (!flushed) {
          await new Promise<void>((resolve) => {
            const go = () => {
              socket.off('drain', go);
              socket.off('close', go);
              resolve();
            };
            socket.on('drain', go);
            socket.on('close', go);
          });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  });
}
