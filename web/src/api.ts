/**
 * The orchestrator's HTTP API as the UI uses it (docs/architecture.md §7). Types of the responses come from
 * the API's own schemas; errors are `ApiError` with the server's `message` and `path`. Every
 * request carries the tab's token, if it has one; a 401 asks for one (auth.ts).
 */
import type { LiveNode, TaskSummary } from '../../src/api/schemas.ts';
import type { StateName } from '../../src/graph/states.ts';
import { authHeaders, reportUnauthorized } from './auth.ts';

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
      headers: { accept: 'application/json', ...authHeaders(), ...init.headers },
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
    const message = error?.message ?? `${method} ${url}: HTTP ${res.status} ${text.slice(0, 200)}`;
    if (res.status === 401) reportUnauthorized(message);
    throw new ApiError(res.status, {
      code: res.status,
      error: error?.error,
      message,
      path: error?.path,
    });
  }
  return body as T;
}

/**
 * Whether the API accepts `token` (one cheap authenticated read), without keeping it:
 * null when it does, else the reason to show.
 */
export async function checkToken(token: string): Promise<string | null> {
  let res: Response;
  try {
    res = await fetch('/v1/tasks?limit=1', {
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
    });
  } catch {
    return 'the orchestrator is unreachable';
  }
  if (res.ok) return null;
  try {
    return ((await res.json()) as ErrorBody).message;
  } catch {
    return `HTTP ${res.status}`;
  }
}

export function listRuns(query: { limit: number; cursor?: string; states?: readonly StateName[] }) {
  const params = new URLSearchParams({ limit: String(query.limit) });
  if (query.cursor) params.set('cursor', query.cursor);
  if (query.states && query.states.length > 0) params.set('state', query.states.join(','));
  return request<TaskList>('GET', `/v1/tasks?${params}`);
}

/**
 * The run with its nodes at their ids (`nodes[i].id === i`), as the graph, the live states
 * (by node id) and the table read them: the API answers in the order the nodes were
 * submitted, which gorchestrator's clients may choose freely (docs/architecture.md §1).
 */
export function byId(run: RunDetail): RunDetail {
  const { nodes } = run;
  if (nodes.every((node, i) => node.id === i)) return run;
  const placed = new Array<LiveNode>(nodes.length);
  for (const node of nodes) {
    // the server checked the ids are 0..N-1, each once; anything else is shown as it came
    const { id } = node;
    if (!Number.isInteger(id) || id < 0 || id >= nodes.length || placed[id]) return run;
    placed[id] = node;
  }
  return { ...run, nodes: placed };
}

export function getRun(id: string, signal?: AbortSignal) {
  return request<RunDetail>('GET', `/v1/tasks/${encodeURIComponent(id)}`, { signal }).then(byId);
}

/** Sends the text as typed: the server, not the UI, judges the document. */
export function submitRun(body: string) {
  return request<{ id: string }>('POST', '/v1/tasks', {
    body,
    headers: { 'content-type': 'application/json' },
  });
}

/** Cancel only: DELETE would delete the run if it finished just before the click. */
export function cancelRun(id: string) {
  return request<RunDetail>('POST', `/v1/tasks/${encodeURIComponent(id)}/cancel`).then(byId);
}

export function retryRun(id: string) {
  return request<RunDetail>('POST', `/v1/tasks/${encodeURIComponent(id)}/retry`).then(byId);
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
    res = await fetch(url, {
      signal,
      headers: { accept: 'text/plain, application/json', ...authHeaders() },
    });
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
    if (res.status === 401) reportUnauthorized(message);
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

/** A schedule as GET /v1/schedules lists it (src/api/schedules.ts). */
export interface Schedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  catchup: 'none' | 'last' | 'all';
  paused: boolean;
  next_fire_at: string | null;
  last_fire_at: string | null;
  created_at: string | null;
  /** why the scheduler paused it */
  error: string | null;
}

export function listSchedules() {
  return request<{ schedules: Schedule[] }>('GET', '/v1/schedules');
}

export function setSchedulePaused(id: string, paused: boolean) {
  const action = paused ? 'pause' : 'resume';
  return request<Schedule>('POST', `/v1/schedules/${encodeURIComponent(id)}/${action}`);
}

export function deleteSchedule(id: string) {
  return request<undefined>('DELETE', `/v1/schedules/${encodeURIComponent(id)}`);
}
