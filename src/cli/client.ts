/**
 * A small client of the orchestrator API for the CLI: plain fetch, JSON errors turned into
 * `ApiError`s that carry the server's message, and an SSE reader for live events.
 */
import type { RunEvent } from '../orchestrator/bus.ts';

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

  /** Calls `onEvent` for the snapshot and each change; resolves when the run has finished. */
  async follow(
    id: string,
    onEvent: (type: 'snapshot' | 'state', data: Snapshot | RunEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await fetch(`${this.server}/v1/tasks/${encodeURIComponent(id)}/events`, {
      headers: this.#headers({ accept: 'text/event-stream' }),
      signal,
    });
    if (!res.ok || !res.body) throw await toApiError(res);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
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

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#token ? { ...extra, authorization: `Bearer ${this.#token}` } : extra;
  }

  async #request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ) {
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, { method, body, headers: this.#headers(headers) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiError(0, `cannot reach the Baton server at ${this.server} (${cause})`);
    }
    if (!res.ok) throw await toApiError(res);
    return res.json();
  }
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
