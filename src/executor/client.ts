/**
 * The orchestrator's side of the executor API (docs/architecture.md §6): one client per executor, over a
 * keep-alive connection pool (undici Agent). With `tls` the client presents the orchestrator
 * certificate and trusts only executors whose certificate the CA signed; certificate checks
 * are never turned off. Every failure is an ExecutorError naming the executor and what went
 * wrong, ready to be put in a node's `error`.
 */
import { Agent, type Dispatcher } from 'undici';
import type { GorchNode } from '../graph/model.ts';
import type { TaskStatus } from './types.ts';

export interface ExecutorClientOptions {
  url: string;
  /** PEM text: the CA that signed the executor, and the orchestrator's certificate and key */
  tls?: { ca: string; cert: string; key: string };
  /**
   * pooled keep-alive connections to this executor (default 64). Each pending `wait` holds
   * one for up to its wait, so size this to the long polls the caller keeps open at once;
   * requests beyond it queue behind them.
   */
  connections?: number;
  /** how long an answer may take, on top of a long poll's wait (default 30 s) */
  timeoutMs?: number;
}

export interface ExecutorClient {
  readonly url: string;
  ping(): Promise<void>;
  /**
   * Hands a node over. With `waitSeconds` the executor answers once the task is final or
   * after that long, whichever is first, so a short task costs one round trip; `status` is
   * the task's status then (absent from executors that answer only `{id}`).
   */
  submit(
    node: GorchNode,
    idempotencyKey: string,
    waitSeconds?: number,
  ): Promise<{ id: string; status?: TaskStatus }>;
  /** the task's status once it is final, or after `seconds` (at most 60) */
  wait(id: string, seconds: number): Promise<TaskStatus>;
  log(id: string): Promise<string>;
  cancel(id: string): Promise<TaskStatus>;
  close(): Promise<void>;
}

export type ExecutorErrorKind = 'connect' | 'tls' | 'timeout' | 'protocol' | 'status';

export class ExecutorError extends Error {
  override name = 'ExecutorError';
  /** the executor's base URL */
  readonly url: string;
  readonly kind: ExecutorErrorKind;
  /** the HTTP status when the executor answered with an unexpected one */
  readonly status: number | null;
  /**
   * the request certainly never reached the executor (refused, no such host, TLS handshake
   * failed); otherwise, a POST may have been accepted before the connection broke
   */
  readonly unsent: boolean;

  constructor(
    url: string,
    kind: ExecutorErrorKind,
    what: string,
    options: { status?: number; cause?: unknown; unsent?: boolean } = {},
  ) {
    super(`executor ${url}: ${what}`, { cause: options.cause });
    this.url = url;
    this.kind = kind;
    this.status = options.status ?? null;
    this.unsent = options.unsent ?? false;
  }
}

/** Answers bigger than this are not an executor's (logs are bounded to ~128 KiB). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export function createExecutorClient(options: ExecutorClientOptions): ExecutorClient {
  const base = new URL(options.url);
  const url = base.href.replace(/\/$/, '');
  // an executor behind a reverse proxy may live under a path prefix
  const prefix = base.pathname.replace(/\/$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agent = new Agent({
    connections: options.connections ?? 64,
    keepAliveTimeout: 30_000,
    connectTimeout: Math.min(timeoutMs, 10_000),
    connect: options.tls
      ? {
          ca: options.tls.ca,
          cert: options.tls.cert,
          key: options.tls.key,
          rejectUnauthorized: true,
        }
      : { rejectUnauthorized: true },
  });

  async function call(
    method: Dispatcher.HttpMethod,
    path: string,
    expect: number,
    body?: unknown,
    waitMs = 0,
  ) {
    const what = `${method} ${path}`;
    let res: Dispatcher.ResponseData;
    let text: string;
    // Per-phase timeouts alone let an executor drip bytes (or 1xx answers) forever: the whole
    // call, headers and body, gets one deadline as well.
    const deadlineMs = timeoutMs + waitMs + 5000;
    // not AbortSignal.timeout: its timer (and the signal) would live on for the whole
    // deadline after the answer came, thousands of them on a busy orchestrator
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException('deadline passed', 'TimeoutError')),
      deadlineMs,
    );
    try {
      res = await agent.request({
        signal: deadline.signal,
        origin: base.origin,
        path: prefix + path,
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs + waitMs,
        bodyTimeout: timeoutMs,
      });
      text = await readBounded(res.body);
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        throw new ExecutorError(
          url,
          'timeout',
          `${what}: no complete answer within ${deadlineMs / 1000} s`,
          { cause: err },
        );
      }
      throw transportError(url, what, err, timeoutMs + waitMs);
    } finally {
      clearTimeout(timer);
    }
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== expect) {
      const message = type.includes('json') ? jsonMessage(text) : undefined;
      const detail = message ?? (snippet(text) || 'no message');
      throw new ExecutorError(url, 'status', `${what} answered ${res.statusCode}: ${detail}`, {
        status: res.statusCode,
      });
    }
    return { text, type, what };
  }

  async function callJson(
    method: Dispatcher.HttpMethod,
    path: string,
    expect: number,
    body?: unknown,
    waitMs = 0,
  ) {
    const { text, what } = await call(method, path, expect, body, waitMs);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ExecutorError(
        url,
        'protocol',
        `${what} answered with something that is not JSON: ${snippet(text)}`,
      );
    }
  }

  function taskStatus(answer: Record<string, unknown>, what: string): TaskStatus {
    if (typeof answer.id !== 'string' || typeof answer.state !== 'number') {
      throw new ExecutorError(
        url,
        'protocol',
        `${what}: answer is not a task status: ${snippet(JSON.stringify(answer))}`,
      );
    }
    return answer as unknown as TaskStatus;
  }

  const taskPath = (id: string) => `/v1/tasks/${encodeURIComponent(id)}`;

  return {
    url,
    async ping() {
      const answer = await callJson('GET', '/v1/ping', 200);
      if (answer.status !== 'success') {
        throw new ExecutorError(
          url,
          'protocol',
          `GET /v1/ping answered ${snippet(JSON.stringify(answer))}`,
        );
      }
    },
    async submit(node, idempotencyKey, waitSeconds = 0) {
      const s = clampWait(waitSeconds);
      const path = s > 0 ? `/v1/tasks?wait=${s}` : '/v1/tasks';
      const answer = await callJson(
        'POST',
        path,
        202,
        { ...node, idempotency_key: idempotencyKey },
        s * 1000,
      );
      if (typeof answer.id !== 'string') {
        throw new ExecutorError(
          url,
          'protocol',
          `POST ${path} answered without a task id: ${snippet(JSON.stringify(answer))}`,
        );
      }
      return typeof answer.state === 'number'
        ? { id: answer.id, status: answer as unknown as TaskStatus }
        : { id: answer.id };
    },
    async wait(id, seconds) {
      const s = clampWait(seconds);
      const path = s > 0 ? `${taskPath(id)}?wait=${s}` : taskPath(id);
      return taskStatus(await callJson('GET', path, 200, undefined, s * 1000), `GET ${path}`);
    },
    async log(id) {
      return (await call('GET', `${taskPath(id)}/log`, 200)).text;
    },
    async cancel(id) {
      return taskStatus(await callJson('DELETE', taskPath(id), 200), `DELETE ${taskPath(id)}`);
    },
    close: () => agent.close(),
  };
}

/** A long poll's seconds, within what executors accept (0 to 60). */
function clampWait(seconds: number): number {
  return Math.max(0, Math.min(seconds, 60));
}

async function readBounded(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw Object.assign(new Error('answer over 4 MiB'), { code: 'BATON_ANSWER_TOO_LARGE' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Names the transport failure: refused, TLS, timeout or not speaking HTTP. */
function transportError(url: string, what: string, err: unknown, timeoutMs: number): ExecutorError {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code ?? '';
  const detail = e.cause?.message ?? e.message;
  const fail = (kind: ExecutorErrorKind, why: string, unsent = false) =>
    new ExecutorError(url, kind, `${what}: ${why}`, { cause: err, unsent });
  switch (true) {
    case code === 'ECONNREFUSED':
      return fail('connect', 'connection refused (is the executor running?)', true);
    case code === 'UND_ERR_CONNECT_TIMEOUT':
      return fail('connect', 'could not connect in time', true);
    case code === 'ENOTFOUND' || code === 'EAI_AGAIN':
      return fail('connect', `host not found (${code})`, true);
    case code === 'UND_ERR_HEADERS_TIMEOUT':
      return fail(
        'timeout',
        `no answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${timeoutMs / 1000} s`}`,
      );
    case code === 'UND_ERR_BODY_TIMEOUT':
      return fail('timeout', 'the answer stalled');
    case code.startsWith('HPE_') || e.name === 'HTTPParserError':
      return fail('protocol', `the answer is not HTTP (${detail})`);
    case code === 'BATON_ANSWER_TOO_LARGE':
      return fail('protocol', 'the answer is over 4 MiB, not an executor answer');
    case isTlsCode(code):
      return fail('tls', `TLS failure: ${detail} (${code})`, true);
    case code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE':
      return fail(
        'connect',
        url.startsWith('https:')
          ? `connection closed before an answer (${detail}); a mutual-TLS executor does this when it refuses the client certificate`
          : `connection closed before an answer (${detail}); is it an https executor?`,
      );
    default:
      return fail('connect', `${detail}${code ? ` (${code})` : ''}`);
  }
}

function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  );
}

function jsonMessage(text: string): string | undefined {
  try {
    const answer = JSON.parse(text) as { message?: unknown };
    return typeof answer.message === 'string' ? answer.message : undefined;
  } catch {
    return undefined;
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}
