/**
 * The orchestrator's HTTP API as the UI uses it (DESIGN §3). Types of the responses come from
 * the API's own schemas; errors are `ApiError` with the server's `message` and `path`.
 */
import type { LiveNode, TaskSummary } from '../../src/api/schemas.ts';
import type { StateName } from '../../src/graph/states.ts';

export type { LiveNode, TaskSummary };

export interface TaskList {
  tasks: TaskSummary[];
  next_cursor?: string;
}

/** GET /v1/tasks/{id}: the document with live states, outputs, timestamps. */
export interface RunDetail {
  id: string;
  name: string;
  state: number;
  digraph?: number[];
  edges?: Array<[number, number]>;
  nodes: LiveNode[];
  timeout?: number;
  created_date: string | null;
  start_date: string | null;
  stop_date: string | null;
  error: string | null;
}

export interface ErrorBody {
  code: number;
  error?: string;
  message: string;
  path?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly path: string | undefined;
  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.status = status;
    this.code = body.error;
    this.path = body.path;
  }
}

async function request<T>(method: string, url: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      ...init,
      headers: { accept: 'application/json', ...init.headers },
    });
  } catch {
    throw new ApiError(0, { code: 0, message: 'the orchestrator is unreachable' });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = body as Partial<ErrorBody> | undefined;
    throw new ApiError(res.status, {
      code: res.status,
      error: error?.error,
      message: error?.message ?? `${method} ${url}: HTTP ${res.status} ${text.slice(0, 200)}`,
      path: error?.path,
    });
  }
  return body as T;
}

export function listRuns(query: { limit: number; cursor?: string; states?: readonly StateName[] }) {
  const params = new URLSearchParams({ limit: String(query.limit) });
  if (query.cursor) params.set('cursor', query.cursor);
  if (query.states && query.states.length > 0) params.set('state', query.states.join(','));
  return request<TaskList>('GET', `/v1/tasks?${params}`);
}

export function getRun(id: string, signal?: AbortSignal) {
  return request<RunDetail>('GET', `/v1/tasks/${encodeURIComponent(id)}`, { signal });
}

/** Sends the text as typed: the server, not the UI, judges the document. */
export function submitRun(body: string) {
  return request<{ id: string }>('POST', '/v1/tasks', {
    body,
    headers: { 'content-type': 'application/json' },
  });
}

export function cancelRun(id: string) {
  return request<RunDetail>('DELETE', `/v1/tasks/${encodeURIComponent(id)}`);
}

export function retryRun(id: string) {
  return request<RunDetail>('POST', `/v1/tasks/${encodeURIComponent(id)}/retry`);
}

/** The node's captured output; null when the server has none (404). */
export async function nodeLog(
  id: string,
  node: number,
  signal?: AbortSignal,
): Promise<string | null> {
  const url = `/v1/tasks/${encodeURIComponent(id)}/nodes/${node}/log`;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { accept: 'text/plain, application/json' } });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, { code: 0, message: 'the orchestrator is unreachable' });
  }
  if (res.status === 404) return null;
  const text = await res.text();
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try {
      message = (JSON.parse(text) as ErrorBody).message ?? message;
    } catch {}
    throw new ApiError(res.status, { code: res.status, message });
  }
  if (!(res.headers.get('content-type') ?? '').includes('json')) return text;
  return logText(JSON.parse(text) as unknown);
}

/** A JSON log answer as text: a string, `{log}`, `{stdout, stderr}`, or the JSON itself. */
export function logText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (typeof o.log === 'string') return o.log;
    const parts: string[] = [];
    if (typeof o.stdout === 'string') parts.push(o.stdout);
    if (typeof o.stderr === 'string' && o.stderr !== '') parts.push(`--- stderr ---\n${o.stderr}`);
    if (parts.length > 0) return parts.join('\n');
  }
  return JSON.stringify(body, null, 2);
}
