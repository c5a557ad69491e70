/** Shared set-up for the executor tests: temp dirs, artifact roots, a running executor. */

import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createExecutorClient, type ExecutorClient } from '../../src/executor/client.ts';
import {
  type ExecutorOptions,
  type RunningExecutor,
  startExecutor,
} from '../../src/executor/server.ts';
import type { GorchNode } from '../../src/graph/model.ts';

export async function tempDir(
  t: { after(fn: () => Promise<void>): void },
  prefix = 'baton-test-',
): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes executable scripts into `dir` (the artifact root). */
export async function writeScripts(dir: string, scripts: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(scripts)) {
    const file = path.join(dir, name);
    await writeFile(file, text);
    await chmod(file, 0o755);
  }
}

export function node(fields: Partial<GorchNode> & { engine: string }): GorchNode {
  return { id: 0, name: 'n', target: 'local', artifact: '', args: [], output: {}, ...fields };
}

export interface Harness {
  executor: RunningExecutor;
  client: ExecutorClient;
  root: string;
  dataDir: string;
  /** submits with a fresh idempotency key and waits for the final status */
  run(
    n: GorchNode,
    waitSeconds?: number,
  ): Promise<import('../../src/executor/types.ts').TaskStatus>;
}

let keys = 0;
export function freshKey(): string {
  return `key-${process.pid}-${Date.now()}-${keys++}`;
}

/** An executor on 127.0.0.1 over plain HTTP with a client, both closed after the test. */
export async function harness(
  t: TestContext,
  options: Partial<ExecutorOptions> & { root?: string; dataDir?: string } = {},
): Promise<Harness> {
  const root = options.root ?? (await tempDir(t, 'baton-art-'));
  const dataDir = options.dataDir ?? (await tempDir(t, 'baton-data-'));
  const executor = await startExecutor({
    name: 'test',
    host: '127.0.0.1',
    port: 0,
    tls: null,
    killGraceMs: 1000,
    ...options,
    artifactRoot: root,
    dataDir,
  });
  const client = createExecutorClient({ url: executor.url });
  t.after(async () => {
    await client.close();
    await executor.close();
  });
  return {
    executor,
    client,
    root,
    dataDir,
    async run(n, waitSeconds = 30) {
      const { id } = await client.submit(n, freshKey());
      return client.wait(id, waitSeconds);
    },
  };
}

/**
 * Whether a process exists. A zombie counts as gone: it has stopped running and only waits
 * for its parent (here often a PID 1 that never reaps) to collect its exit status.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `check` until it returns true (for effects outside the API, like pid files). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** Reads the pids a script wrote one per line; empty until the file has `count` lines. */
export function readPids(file: string, count: number): number[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const pids = text.split('\n').filter(Boolean).map(Number);
  return pids.length >= count ? pids : [];
}

/** Scripts several tests share. */
export const SCRIPTS = {
  'outputs.sh':
    '#!/bin/sh\necho "ip=10.1.2.3"\necho "undeclared=1"\necho "ip=10.1.2.4"\necho "noise" >&2\n',
  // writes its args NUL-separated to $1, so tests can compare them byte for byte
  'args.sh':
    '#!/bin/sh\nout=$1\nshift\nfor a in "$@"; do printf \'%s\\0\' "$a"; done > "$out"\necho "count=$#"\n',
  // writes its pid and a background child's pid to $1, then waits forever
  'forever.sh':
    '#!/bin/sh\nsleep 1000 &\nchild=$!\nprintf \'%s\\n%s\\n\' $$ $child > "$1.tmp"\nmv "$1.tmp" "$1"\nwait\n',
  // same, but ignores SIGTERM (as does its child: ignored signals survive exec)
  'stubborn.sh':
    '#!/bin/sh\ntrap \'\' TERM\nsleep 1000 &\nchild=$!\nprintf \'%s\\n%s\\n\' $$ $child > "$1.tmp"\nmv "$1.tmp" "$1"\nwait\nwait\n',
  'fail.sh': '#!/bin/sh\necho "first problem" >&2\necho "disk on fire" >&2\nexit 3\n',
  // appends a line to $1 (to count runs), then sleeps $2 seconds
  'append.sh': '#!/bin/sh\necho run >> "$1"\nsleep "$2"\n',
};
