/**
 * Disk full under SQLite, shared by the full suite (disk-full.fault.ts) and the smoke test.
 *
 * The data directory is a small tmpfs when this process may mount one (root in CI and in the
 * sandbox); elsewhere `prlimit --fsize` caps the size of any file the `baton serve` process
 * writes (Node ignores SIGXFSZ, so a write past the cap fails with EFBIG, which SQLite reports
 * like a full disk). While the disk is full, every submission must be answered 202 (stored) or
 * 5xx, never 202 for a run that was not stored; once space returns, submissions are accepted
 * again, every accepted run finishes, and all of them are still there after a restart.
 * `/healthz` answers 503 (store "failing") while commits fail, and 200 again once one succeeds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { State } from '../../src/graph/states.ts';
import {
  type BatonProcess,
  call,
  eventually,
  listAllRuns,
  Processes,
  percentile,
  settled,
} from '../support/processes.ts';
import { tempDir } from '../support/server.ts';

const exec = promisify(execFile);

interface SmallDisk {
  mode: 'tmpfs' | 'prlimit';
  fill(server: BatonProcess): Promise<void>;
  free(server: BatonProcess): Promise<void>;
  release(): Promise<void>;
}

/**
 * A tmpfs of `megabytes` at `dir` if mounting works (and `mode` allows), else a per-process
 * file-size cap.
 */
export async function smallDisk(
  dir: string,
  megabytes: number,
  mode: 'auto' | 'prlimit',
): Promise<SmallDisk> {
  mkdirSync(dir, { recursive: true });
  const filler = join(dir, 'filler');
  try {
    if (mode === 'prlimit') throw new Error('file-size cap asked for');
    await exec('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir]);
    return {
      mode: 'tmpfs',
      async fill() {
        const fd = openSync(filler, 'w');
        try {
          for (const size of [1 << 20, 4096, 512]) {
            const chunk = Buffer.alloc(size, 1);
            // bounded: the disk is `megabytes` big
            for (let i = 0; i < (megabytes << 20) / size; i++) writeSync(fd, chunk);
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        } finally {
          closeSync(fd);
        }
      },
      async free() {
        unlinkSync(filler);
      },
      async release() {
        await exec('umount', ['-l', dir]).catch(() => {});
      },
    };
  } catch {
    // no mount privilege: cap file sizes of the server process instead
    const pid = (server: BatonProcess) => String(server.child.pid);
    return {
      mode: 'prlimit',
      async fill(server) {
        const biggest = Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).size));
        await exec('prlimit', ['--pid', pid(server), `--fsize=${biggest + 4096}:`]);
      },
      async free(server) {
        await exec('prlimit', ['--pid', pid(server), '--fsize=unlimited:']);
      },
      async release() {},
    };
  }
}

/** A valid document of about `kib` KiB (args) whose first node sleeps `seconds`. */
export function bigDocument(kib: number, tag: string, seconds = 0.05) {
  const arg = 'x'.repeat(1000);
  const perNode = 16;
  const nodes = Math.max(1, Math.ceil(kib / perNode));
  return {
    name: `big-${tag}`,
    edges: Array.from({ length: nodes - 1 }, (_, i) => [i, i + 1]),
    nodes: Array.from({ length: nodes }, (_, id) => ({
      id,
      name: `n${id}`,
      engine: id === 0 ? 'sleep' : 'nil',
      args: id === 0 ? [String(seconds)] : Array.from({ length: perNode }, () => arg),
    })),
  };
}

export interface DiskFullOptions {
  /** submissions while the disk is full */
  submissions: number;
  /** size of each document */
  documentKiB: number;
  diskMiB: number;
  /** submissions sent at once while full (default 1) */
  concurrency?: number;
  /** auto: a tmpfs when this process may mount one, else prlimit */
  mode?: 'auto' | 'prlimit';
}

export interface DiskFullReport {
  mode: string;
  accepted_while_full: number;
  refused_while_full: number;
  refusal_statuses: number[];
  refusal_example: string;
  healthz_while_full: number;
  recovered_after_ms: number;
  accepted_total: number;
  submit_p99_while_full_ms: number;
}

export async function diskFull(t: TestContext, o: DiskFullOptions): Promise<DiskFullReport> {
  const tmp = tempDir();
  const data = join(tmp.path, 'data');
  const disk = await smallDisk(data, o.diskMiB, o.mode ?? 'auto');
  const processes = new Processes();
  t.after(async () => {
    await processes.killAll();
    await disk.release();
    tmp.remove();
  });
  let server = await processes.serve(data);
  const accepted: string[] = [];
  const post = (document: unknown) =>
    call(`${server.url}/v1/tasks`, { method: 'POST', body: JSON.stringify(document) }, 30_000);

  // 1. runs in flight when the disk fills
  for (let i = 0; i < 3; i++) {
    const answer = await post(bigDocument(16, `before-${i}`, 1));
    assert.equal(answer.status, 202, answer.text);
    accepted.push((answer.json as { id: string }).id);
  }
  await disk.fill(server);

  // 2. submissions while full, `concurrency` at a time: 202 means stored, else a 5xx
  const refusals: number[] = [];
  let refusalExample = '';
  const latencies: number[] = [];
  let acceptedWhileFull = 0;
  const concurrency = o.concurrency ?? 1;
  for (let i = 0; i < o.submissions; i += concurrency) {
    const group = Array.from({ length: Math.min(concurrency, o.submissions - i) }, async (_, k) => {
      const started = performance.now();
      const answer = await post(bigDocument(o.documentKiB, `full-${i + k}`));
      latencies.push(performance.now() - started);
      if (answer.status === 202) {
        acceptedWhileFull++;
        accepted.push((answer.json as { id: string }).id);
      } else {
        assert.ok(answer.status >= 500, `a full disk answered ${answer.status}: ${answer.text}`);
        refusals.push(answer.status);
        refusalExample ||= answer.text;
      }
    });
    await Promise.all(group);
  }
  const health = await call(`${server.url}/healthz`);
  assert.ok(server.alive(), `baton serve died on a full disk:\n${server.output()}`);
  assert.ok(refusals.length > 0, `the disk (${disk.mode}) never filled up`);
  // readiness reflects a store that cannot commit, though it still reads
  assert.equal(health.status, 503, `/healthz while the disk is full: ${health.text}`);
  assert.match((health.json as { store: string }).store, /^failing: /);

  // 3. space returns: submissions are accepted again
  await disk.free(server);
  const freedAt = Date.now();
  await eventually(
    'a submission accepted after space returned',
    async () => {
      const answer = await post(bigDocument(o.documentKiB, 'after'));
      if (answer.status !== 202) return undefined;
      accepted.push((answer.json as { id: string }).id);
      return true;
    },
    30_000,
    200,
  );
  const recovered = Date.now() - freedAt;
  const healthAfter = await call(`${server.url}/healthz`);
  assert.equal(healthAfter.status, 200, `/healthz once space returned: ${healthAfter.text}`);
  for (let i = 0; i < 5; i++) {
    const answer = await post(bigDocument(o.documentKiB, `after-${i}`));
    assert.equal(answer.status, 202, answer.text);
    accepted.push((answer.json as { id: string }).id);
  }

  // 4. every accepted run finishes, and is still there after a restart
  const check = async (when: string) => {
    await settled(server.url, 60_000);
    const runs = await listAllRuns(server.url);
    for (const id of accepted) {
      assert.ok(runs.has(id), `${when}: run ${id} answered 202 is missing`);
      assert.equal(runs.get(id)!.state_code, State.success, `${when}: run ${id}`);
    }
  };
  await check('after space returned');
  await server.stop();
  server = await processes.serve(data);
  await check('after a restart');

  const report: DiskFullReport = {
    mode: disk.mode,
    accepted_while_full: acceptedWhileFull,
    refused_while_full: refusals.length,
    refusal_statuses: [...new Set(refusals)],
    refusal_example: refusalExample,
    healthz_while_full: health.status,
    recovered_after_ms: recovered,
    accepted_total: accepted.length,
    submit_p99_while_full_ms: percentile(latencies, 99),
  };
  t.diagnostic(`disk full: ${JSON.stringify(report)}`);
  return report;
}
