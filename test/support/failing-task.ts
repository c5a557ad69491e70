/**
 * A node that fails the way a real task fails: a `shell` node running `refuse.sh` on a real
 * executor (plain HTTP on 127.0.0.1, in the test's process), which prints
 * `refused: ARGS` on stderr and exits 1. Tests that need a failure use it rather than an
 * in-process engine given args it could never run: those are refused at submission.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutorConfig } from '../../src/cli/server.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/server.ts';
import { writeScripts } from '../executor/helpers.ts';

export const REFUSE_SCRIPT = '#!/bin/sh\necho "refused: $*" >&2\nexit 1\n';

/** Node fields of a failing task: `shell` running refuse.sh with `args`. */
export function refusing(args: string[] = []): {
  engine: 'shell';
  artifact: string;
  args: string[];
} {
  return { engine: 'shell', artifact: 'refuse.sh', args };
}

export interface RefusingExecutor {
  url: string;
  /** for `startTestServer({ executors })` */
  executors: ExecutorConfig[];
  /** for `baton serve`: `--executor local=URL` */
  flags: string[];
  executor: RunningExecutor;
  close(): Promise<void>;
}

/** Starts an executor whose artifact root holds refuse.sh (and `scripts`, if given). */
export async function startRefusingExecutor(
  scripts: Record<string, string> = {},
): Promise<RefusingExecutor> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-refusing-'));
  const root = path.join(dir, 'artifacts');
  mkdirSync(root);
  await writeScripts(root, { 'refuse.sh': REFUSE_SCRIPT, ...scripts });
  const executor = await startExecutor({
    name: 'local',
    host: '127.0.0.1',
    port: 0,
    tls: null,
    killGraceMs: 1000,
    artifactRoot: root,
    dataDir: path.join(dir, 'data'),
  });
  return {
    url: executor.url,
    executors: [{ name: 'local', url: executor.url }],
    flags: ['--executor', `local=${executor.url}`],
    executor,
    async close() {
      await executor.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
