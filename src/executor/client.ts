/**
 * The orchestrator's side of the executor API (docs/architecture.md §6): one client per executor, over a
 * keep-alive connection pool (undici Agent). With `tls` the client presents the orchestrator
 * certificate and trusts only executors whose certificate the CA signed; certificate checks
 * are never turned off. Every failure is an ExecutorError naming the executor and what went
 * wrong, ready to be put in a node's `error`.
 *
 * Submissions made in the same tick go to the executor together, in one POST /v1/tasks/batch
 * whose answer streams each task's status as it is ready (docs/architecture.md §6), once
 * an answer of the executor has said it serves that route; until then, and to an executor
 * that does not, each goes in its own POST /v1/tasks. Either way a task is submitted with
 * its idempotency key and answered the same.
 */
import { Agent, type Dispatcher } from 'undici';
import type { GorchNode } from '../graph/model.ts';
import { BATCH_BODY_LIMIT, FEATURES_HEADER, MAX_BATCH, type TaskStatus } from './types.ts';

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

  /**
   * Sends a request and hands its answer to `read` (which reads the body), both within one
   * deadline: per-phase timeouts alone let an executor drip bytes (or 1xx answers) forever.
   * Transport failures become ExecutorErrors.
   */
  async function exchange<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    body: string | undefined,
    waitMs: number,
    read: (res: Dispatcher.ResponseData) => Promise<T>,
    bodyTimeoutMs = timeoutMs,
  ): Promise<T> {
    const what = `${method} ${path}`;
    const deadlineMs = timeoutMs + waitMs + 5000;
    // not AbortSignal.timeout: its timer (and the signal) would live on for the whole
    // deadline after the answer came, thousands of them on a busy orchestrator
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException('deadline passed', 'TimeoutError')),
      deadlineMs,
    );
    try {
      const res = await agent.request({
        signal: deadline.signal,
        origin: base.origin,
        path: prefix + path,
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body,
        headersTimeout: timeoutMs + waitMs,
        bodyTimeout: bodyTimeoutMs,
      });
      return await read(res);
    } catch (err) {
      if (err instanceof ExecutorError) throw err;
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
  }

  async function call(
    method: Dispatcher.HttpMethod,
    path: string,
    expect: number,
    body?: unknown,
    waitMs = 0,
  ) {
    const what = `${method} ${path}`;
    const json = body === undefined ? undefined : JSON.stringify(body);
    const { res, text } = await exchange(method, path, json, waitMs, async (res) => ({
      res,
      text: await readBounded(res.body),
    }));
    learn(res);
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

  /** One task in one POST /v1/tasks (executors without batches, and until the ping says). */
  async function submitOne(
    node: GorchNode,
    idempotencyKey: string,
    s: number,
  ): Promise<{ id: string; status?: TaskStatus }> {
    const path = s > 0 ? `/v1/tasks?wait=${s}` : '/v1/tasks';
    const answer = await callJson(
      'POST',
      path,
      202,
      { ...node, idempotency_key: idempotencyKey },
      s * 1000,
    );
    return accepted(answer, `POST ${path}`);
  }

  /** The task id and, when the executor gave one, the status of a submission's answer. */
  function accepted(answer: Record<string, unknown>, what: string) {
    if (typeof answer.id !== 'string') {
      throw new ExecutorError(
        url,
        'protocol',
        `${what} answered without a task id: ${snippet(JSON.stringify(answer))}`,
      );
    }
    return typeof answer.state === 'number'
      ? { id: answer.id, status: answer as unknown as TaskStatus }
      : { id: answer.id };
  }

  /**
   * Whether the executor serves POST /v1/tasks/batch: its answers say so in a header
   * (FEATURES_HEADER), so the first submission goes alone and tells for the next ones. After
   * a 404 to a batch (an older executor now behind the address, or a proxy that does not
   * route it) the header is not believed for a while.
   */
  let batching = false;
  let believeAfter = 0;
  function learn(res: Dispatcher.ResponseData): void {
    if (batching || Date.now() < believeAfter) return;
    const features = res.headers[FEATURES_HEADER];
    batching =
      typeof features === 'string' && features.split(',').some((f) => f.trim() === 'batch');
  }

  /** Submissions waiting for this tick's batch, by seconds to wait. */
  const queued = new Map<number, Queued[]>();
  let flushing = false;

  function flush(): void {
    flushing = false;
    for (const [s, queue] of queued) {
      queued.delete(s);
      // as many per request as the executor takes (count and body size), in order
      for (let at = 0; at < queue.length; ) {
        let size = 16;
        let end = at;
        while (end < queue.length && end - at < MAX_BATCH) {
          size += Buffer.byteLength(queue[end].json) + 1;
          if (end > at && size > BATCH_BODY_LIMIT) break;
          end++;
        }
        void submitBatch(queue.slice(at, end), s);
        at = end;
      }
    }
  }

  /**
   * One POST /v1/tasks/batch. Each submission settles with its own line of the answer, as it
   * comes; a failure of the whole request fails those not answered yet. An executor that
   * answers 404 (one older than batches, behind the same address) gets them one by one.
   */
  async function submitBatch(batch: Queued[], s: number): Promise<void> {
    const path = s > 0 ? `/v1/tasks/batch?wait=${s}` : '/v1/tasks/batch';
    const what = `POST ${path}`;
    const settled = new Array<boolean>(batch.length).fill(false);
    const body = `{"tasks":[${batch.map((q) => q.json).join(',')}]}`;
    try {
      const older = await exchange(
        'POST',
        path,
        body,
        s * 1000,
        async (res) => {
          const type = String(res.headers['content-type'] ?? '');
          if (res.statusCode === 404) {
            await readBounded(res.body);
            return true;
          }
          if (res.statusCode !== 202) {
            const text = await readBounded(res.body);
            const message = type.includes('json') ? jsonMessage(text) : undefined;
            const detail = message ?? (snippet(text) || 'no message');
            throw new ExecutorError(
              url,
              'status',
              `${what} answered ${res.statusCode}: ${detail}`,
              {
                status: res.statusCode,
              },
            );
          }
          for await (const line of lines(res.body)) {
            let parsed: unknown;
            try {
              parsed = JSON.parse(line);
            } catch {
              throw new ExecutorError(
                url,
                'protocol',
                `${what} answered with something that is not JSON: ${snippet(line)}`,
              );
            }
            const answer = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
              i?: unknown;
              status?: unknown;
              error?: { code?: unknown; message?: unknown } | null;
            };
            const i = answer.i;
            if (
              typeof i !== 'number' ||
              !Number.isInteger(i) ||
              i < 0 ||
              i >= batch.length ||
              settled[i]
            )
              throw new ExecutorError(
                url,
                'protocol',
                `${what} answered a line for no task of the batch: ${snippet(line)}`,
              );
            settled[i] = true;
            const error = answer.error;
            if (error !== undefined && error !== null) {
              const code = typeof error.code === 'number' ? error.code : 0;
              const message = typeof error.message === 'string' ? error.message : 'no message';
              batch[i].reject(
                new ExecutorError(url, 'status', `${what} answered ${code}: ${message}`, {
                  status: code,
                }),
              );
            } else {
              try {
                batch[i].resolve(accepted((answer.status ?? {}) as Record<string, unknown>, what));
              } catch (err) {
                batch[i].reject(err);
              }
            }
          }
          return false;
        },
        timeoutMs + s * 1000,
      );
      if (older) {
        batching = false;
        believeAfter = Date.now() + BELIEVE_AGAIN_MS;
        for (const q of batch) submitOne(q.node, q.key, s).then(q.resolve, q.reject);
        return;
      }
      const missing = settled.indexOf(false);
      if (missing !== -1)
        throw new ExecutorError(
          url,
          'protocol',
          `${what}: the answer ended without task ${missing}`,
        );
    } catch (err) {
      for (const [i, q] of batch.entries()) if (!settled[i]) q.reject(err);
    }
  }

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
    submit(node, idempotencyKey, waitSeconds = 0) {
      const s = clampWait(waitSeconds);
      if (!batching) return submitOne(node, idempotencyKey, s);
      return new Promise((resolve, reject) => {
        const json = JSON.stringify({ ...node, idempotency_key: idempotencyKey });
        const queue = queued.get(s) ?? [];
        queued.set(s, queue);
        queue.push({ node, key: idempotencyKey, json, resolve, reject });
        // what the caller submits in this tick leaves together, without waiting for a timer
        if (!flushing) {
          flushing = true;
          queueMicrotask(flush);
        }
      });
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

/** How long an executor's features header is ignored after a batch it answered 404. */
const BELIEVE_AGAIN_MS = 10 * 60_000;

interface Queued {
  node: GorchNode;
  key: string;
  /** the node with its key, as sent */
  json: string;
  resolve(accepted: { id: string; status?: TaskStatus }): void;
  reject(err: unknown): void;
}

/** The lines of an answer, each at most MAX_ANSWER_BYTES (a task status is far smaller). */
async function* lines(body: Dispatcher.ResponseData['body']): AsyncGenerator<string> {
  let rest = '';
  body.setEncoding('utf8');
  for await (const chunk of body as AsyncIterable<string>) {
    rest += chunk;
    let end = rest.indexOf('\n');
    while (end !== -1) {
      const line = rest.slice(0, end);
      rest = rest.slice(end + 1);
      if (line.trim() !== '') yield line;
      end = rest.indexOf('\n');
    }
    if (rest.length > MAX_ANSWER_BYTES) {
      body.destroy();
      throw Object.assign(new Error('answer over 4 MiB'), { code: 'BATON_ANSWER_TOO_LARGE' });
    }
  }
  if (rest.trim() !== '') yield rest;
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
