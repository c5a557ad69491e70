/** Starts real orchestrator servers on loopback for tests, each on its own data directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, type ServerOptions, startServer } from '../../src/cli/server.ts';
import { isFinal } from '../../src/graph/states.ts';

export function tempDir(prefix = 'baton-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function startTestServer(
  options: Partial<ServerOptions> & { dataDir: string },
): Promise<RunningServer> {
  return startServer({ host: '127.0.0.1', port: 0, logger: false, ...options });
}

export interface LiveRun {
  id: string;
  name: string;
  state: number;
  nodes: Array<{
    id: number;
    name: string;
    state: number;
    output: Record<string, string>;
    attempts: number;
    error: string | null;
    start_date: string | null;
    stop_date: string | null;
    args: string[];
  }>;
  [key: string]: unknown;
}

export async function getRun(url: string, id: string): Promise<LiveRun> {
  const res = await fetch(`${url}/v1/tasks/${id}`);
  if (res.status !== 200) throw new Error(`GET run ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as LiveRun;
}

/** Polls until the run satisfies `until` (default: finished); fails after `timeoutMs`. */
export async function waitForRun(
  url: string,
  id: string,
  until: (run: LiveRun) => boolean = (run) => isFinal(run.state),
  timeoutMs = 15_000,
): Promise<LiveRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(url, id);
    if (until(run)) return run;
    if (Date.now() > deadline)
      throw new Error(
        `run ${id} still in state ${run.state}: ${JSON.stringify(run.nodes.map((n) => n.state))}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { id: string; message: string },
  };
}

/** A chain or fan of nodes for tests: `doc([['a','nil'],['b','sleep',['0.1']]], [[0,1]])`. */
export function doc(
  nodes: Array<[name: string, engine: string, args?: string[], extra?: Record<string, unknown>]>,
  edges: Array<[number, number]> = [],
  extra: Record<string, unknown> = {},
) {
  return {
    name: 'test',
    edges,
    nodes: nodes.map(([name, engine, args, more], id) => ({
      id,
      name,
      engine,
      args: args ?? [],
      ...more,
    })),
    ...extra,
  };
}
