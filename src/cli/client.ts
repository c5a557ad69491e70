/**
 * A small client of the orchestrator API for the CLI: plain fetch, JSON errors turned into
 * `ApiError`s that carry the server's message, and an SSE reader for live events.
 */
import type { RunEvent } from '../orchestrator/bus.ts';

/** A run as `GET /v1/tasks` lists it. */
export interface RunSummary {
  id: string;
  name: string;
  state: string;
  state_code: number;
  nodes: number;
  created_date: string | null;
  start_date: string | null;
  stop_date: string | null;
  error: string | null;
}

export interface RunPage {
  tasks: RunSummary[];
  next_cursor?: string;
}

/** A node of a run as `GET /v1/tasks/{id}` answers it. */
export interface LiveNode {
  id: number;
  name: string;
  target: string;
  engine: string;
  artifact: string;
  args: string[];
  output: Record<string, string>;
  state: number;
  attempts: number;
  start_date: string | null;
  stop_date: string | null;
  error: string | null;
}

/** `GET /v1/tasks/{id}`: the document with live states (other document fields pass through). */
export interface RunDetail {
  id: string;
  name: string;
  state: number;
  created_date: string | null;
  start_date: string | null;
  stop_date: string | null;
  error: string | null;
  nodes: LiveNode[];
  [field: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly path?: string;
  constructor(status: number, message: string, path?: string) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

export interface Snapshot {
  run: string;
  state: number;
  nodes: Array<{ node: number; state: number; attempts: number }>;
}

export class BatonClient {
  readonly server: string;
  readonly #token?: string;

  constructor(server: string, token?: string) {
    this.server = server.replace(/\/+$/, '');
    this.#token = token;
  }

  async submit(document: string, idempotencyKey?: string): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const body = await this.#request('POST', '/v1/tasks', document, headers);
    return (body as { id: string }).id;
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.#request('GET', path) as Promise<T>;
  }

  /** Any other call: `body` sent as JSON; an empty answer (a 204) resolves undefined. */
  async send<T = Record<string, unknown>>(method: string, path: string, body?: unknown) {
    const res = await this.#fetch(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? {} : { 'content-type': 'application/json' },
    );
    if (!res.ok) throw await toApiError(res);
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  list(query: { limit?: number; cursor?: string; state?: string } = {}): Promise<RunPage> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    if (query.state !== undefined) params.set('state', query.state);
    const qs = params.size > 0 ? `?${params}` : '';
    return this.#request('GET', `/v1/tasks${qs}`) as Promise<RunPage>;
  }

  run(id: string): Promise<RunDetail> {
    return this.#request('GET', taskPath(id)) as Promise<RunDetail>;
  }

  /** Cancels a running run; a finished one is refused (409), never deleted. */
  cancel(id: string): Promise<RunDetail> {
    return this.#request('POST', `${taskPath(id)}/cancel`) as Promise<RunDetail>;
  }

  /**
   * gorchestrator's DELETE: a finished run is deleted (`{deleted: true}`); a running one is
   * canceled instead and kept (`{deleted: false, run}`).
   */
  async delete(id: string): Promise<{ deleted: true } | { deleted: false; run: RunDetail }> {
    const res = await this.#fetch('DELETE', taskPath(id));
    if (!res.ok) throw await toApiError(res);
    if (res.status === 202) return { deleted: false, run: (await res.json()) as RunDetail };
    await res.body?.cancel();
    return { deleted: true };
  }

  retry(id: string): Promise<RunDetail> {
    return this.#request('POST', `${taskPath(id)}/retry`) as Promise<RunDetail>;
  }

  /** The captured stdout/stderr of a node, as text. */
  async log(id: string, node: number): Promise<string> {
    const res = await this.#fetch('GET', `${taskPath(id)}/nodes/${node}/log`);
    if (!res.ok) throw await toApiError(res);
    return res.text();
  }

  /** Calls `onEvent` for the snapshot and each change; resolves when the run has finished. */
  async follow(
    id: string,
    onEvent: (type: 'snapshot' | 'state', data: Snapshot | RunEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${taskPath(id)}/events`, {
        headers: this.#headers({ accept: 'text/event-stream' }),
        signal,
      });
    } catch (err) {
      throw unreachable(this.server, err);
    }
    if (!res.ok || !res.body) throw await toApiError(res);
    try {
      await readEvents(res.body, onEvent);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, `lost the event stream from ${this.server} (${causeOf(err)})`);
    }
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#token ? { ...extra, authorization: `Bearer ${this.#token}` } : extra;
  }

  async #request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ) {
    const res = await this.#fetch(method, path, body, headers);
    if (!res.ok) throw await toApiError(res);
    return res.json();
  }

  async #fetch(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    try {
      return await fetch(`${this.server}${path}`, {
        method,
        body,
        headers: this.#headers(headers),
      });
    } catch (err) {
      throw unreachable(this.server, err);
    }
  }
}

const taskPath = (id: string) => `/v1/tasks/${encodeURIComponent(id)}`;

/** status 0: no HTTP answer at all (refused, DNS, TLS, reset). */
function unreachable(server: string, err: unknown): ApiError {
  return new ApiError(0, `cannot reach the Baton server at ${server} (${causeOf(err)})`);
}

/** `ECONNREFUSED`, `ENOTFOUND`, `bad port`: fetch hides the reason in `cause`. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code || cause?.message || (err as Error).message;
}

async function toApiError(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { message?: string; path?: string };
    return new ApiError(res.status, body.message ?? text, body.path);
  } catch {
    return new ApiError(res.status, `HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}

/** Splits a text/event-stream body into frames and hands over `snapshot` and `state` events. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (type: 'snapshot' | 'state', data: Snapshot | RunEvent) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = '';
      let data = '';
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (type === 'snapshot' || type === 'state') onEvent(type, JSON.parse(data));
    }
  }
}
