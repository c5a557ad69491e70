/**
 * Submission throughput at the shipped configuration, measured from outside: real
 * `baton serve` processes started as an operator would (no flags but the port and the store,
 * the default log level, stdout appended to a log file), and this process as the load
 * generator (autocannon, 50 keep-alive connections, 10-node documents of `nil` tasks, so the
 * runs execute too). One replica on SQLite, then two replicas on one PostgreSQL database
 * (25 connections each). Goal (issue 17): >= 3,000 accepted/s on SQLite and >= 2,000/s on two
 * PostgreSQL replicas, p99 < 50 ms, 0 errors.
 *
 * Every 202's id is kept, and after the round the server is stopped (SIGTERM) and the store
 * read: every accepted run must be there (`missing` must be 0). The machine is shared, so each
 * round records the load average before it and the server's CPU time per accepted run, which
 * moves far less with other work than the rate does. BENCH_ROUNDS rounds (default 3) each on
 * a fresh store; figures are per round and the median.
 *
 * Then the run-takeover time: the replica driving a run is SIGKILLed and the time until the
 * other one has re-dispatched its running node is measured (lease 5 s, heartbeat 1 s).
 * PostgreSQL is the local one (BATON_TEST_PG_URL). BENCH_SUBMIT=sqlite,postgres,takeover picks
 * parts, BENCH_KEEP=1 keeps the logs and stores, BENCH_BATON=.../bin/baton.js measures another
 * checkout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { freshDatabase } from '../test/support/postgres.ts';
import { freePort } from '../test/support/processes.ts';

/** BENCH_BATON: another checkout's bin/baton.js, to measure a before and an after alike */
const BATON = process.env.BENCH_BATON ?? fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** warm-up before each measured round: the JIT, the statement caches and the pools */
const WARMUP_SECONDS = 2;
/** which parts to run: sqlite, postgres, takeover (default all) */
const PARTS = new Set((process.env.BENCH_SUBMIT ?? 'sqlite,postgres,takeover').split(','));

const document = JSON.stringify({
  name: 'ten',
  edges: [
    [0, 1],
    [0, 2],
    [1, 3],
    [2, 3],
    [3, 4],
    [4, 5],
    [4, 6],
    [5, 7],
    [6, 8],
    [7, 9],
  ],
  nodes: Array.from({ length: 10 }, (_, id) => ({ id, name: `n${id}`, engine: 'nil' })),
});

interface Server {
  url: string;
  child: ChildProcess;
  log: string;
}

/**
 * `baton serve` as shipped: the environment of this process without the variables that
 * change what is measured (log level, CI), stdout appended to `log`.
 */
async function serve(args: string[], log: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const { BATON_LOG_LEVEL: _level, CI: _ci, ...inherited } = process.env;
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [BATON, 'serve', '--port', String(port), ...args], {
    stdio: ['ignore', out, 'inherit'],
    env: { ...inherited, ...env },
  });
  closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`baton serve exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, child, log } satisfies Server;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('baton serve did not start');
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  await exited;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which is in parentheses and may hold spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** 50 connections' worth of POSTs; the id of every 202 goes into `ids`. */
function load(url: string, connections: number, seconds: number, ids: string[]) {
  return autocannon({
    url: `${url}/v1/tasks`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: document,
        onResponse: (status: number, body: string) => {
          if (status === 202) ids.push((JSON.parse(body) as { id: string }).id);
        },
      },
    ],
  });
}

interface Round {
  accepted_per_s: number;
  'p50.ms': number;
  'p99.ms': number;
  errors: number;
  accepted: number;
  /** accepted runs (by id) the store does not have after the server stopped: must be 0 */
  missing: number;
  /** the server processes' CPU time per accepted run (every thread; the runs execute too) */
  'server_cpu_per_run.us': number;
  /** bytes of log written per accepted run */
  log_bytes_per_run: number;
  /**
   * runs accepted but not finished when the load stopped (10-node `nil` runs take
   * milliseconds): a server that accepts faster than it runs what it accepted grows this
   */
  backlog: number;
  /** runs that finished during the round, per second: accepted minus what the backlog grew */
  finished_per_s: number;
  /** the 1-minute load average just before the round, and just after */
  load_before: number;
  load_after: number;
}

/**
 * One measured round against `servers` (connections shared between them): warm-up, load,
 * then the servers are stopped and `stored` tells which ids the store holds.
 */
async function round(
  servers: Server[],
  stored: (ids: string[]) => Promise<number>,
  unfinished: () => Promise<number>,
): Promise<Round> {
  const per = 50 / servers.length;
  const ids: string[] = [];
  await Promise.all(servers.map((s) => load(s.url, per, WARMUP_SECONDS, ids)));
  const load_before = loadavg()[0];
  const backlogBefore = await unfinished();
  const cpuBefore = servers.reduce((sum, s) => sum + cpuSeconds(s.child.pid!), 0);
  const logBefore = servers.reduce((sum, s) => sum + statSync(s.log).size, 0);
  const counted = ids.length;
  const results = await Promise.all(servers.map((s) => load(s.url, per, SECONDS, ids)));
  const cpu = servers.reduce((sum, s) => sum + cpuSeconds(s.child.pid!), 0) - cpuBefore;
  const logBytes = servers.reduce((sum, s) => sum + statSync(s.log).size, 0) - logBefore;
  const load_after = loadavg()[0];
  const backlog = await unfinished();
  await Promise.all(servers.map(stop));
  const accepted = results.reduce((sum, r) => sum + r['2xx'], 0);
  const seconds = Math.max(...results.map((r) => r.duration));
  const present = await stored(ids);
  // ids of the measured part only: warm-up ids are checked too, but not counted as rate
  return {
    accepted_per_s: Math.round(accepted / seconds),
    'p50.ms': Math.max(...results.map((r) => r.latency.p50)),
    'p99.ms': Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
    accepted: ids.length - counted,
    missing: ids.length - present,
    'server_cpu_per_run.us': Math.round((cpu * 1e6) / Math.max(1, ids.length - counted)),
    log_bytes_per_run: Math.round(logBytes / Math.max(1, ids.length - counted)),
    backlog,
    finished_per_s: Math.round((accepted + backlogBefore - backlog) / seconds),
    load_before: Number(load_before.toFixed(2)),
    load_after: Number(load_after.toFixed(2)),
  };
}

/** Runs not in a final state (initial or running), read beside the server. */
const UNFINISHED = 'SELECT count(*) AS n FROM runs WHERE state IN (0, 1, 2)';

function unfinishedInSqlite(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare(UNFINISHED).get()?.n);
  } finally {
    db.close();
  }
}

async function unfinishedInPostgres(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(UNFINISHED)).rows[0].n);
  } finally {
    await client.end();
  }
}

/** How many of `ids` are runs in the SQLite database at `path`. */
function storedInSqlite(path: string, ids: string[]): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const all = new Set(
      db
        .prepare('SELECT id FROM runs')
        .all()
        .map((row) => row.id as string),
    );
    return ids.filter((id) => all.has(id)).length;
  } finally {
    db.close();
  }
}

async function storedInPostgres(url: string, ids: string[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM runs WHERE id = ANY($1::text[])',
      [ids],
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Per-round figures and, for the headline ones, the median of the rounds. */
function figures(prefix: string, rounds: Round[]): Record<string, number> {
  const out: Record<string, number> = {};
  rounds.forEach((r, i) => {
    for (const [key, value] of Object.entries(r)) out[`${prefix}.round${i + 1}.${key}`] = value;
  });
  for (const key of [
    'accepted_per_s',
    'finished_per_s',
    'p50.ms',
    'p99.ms',
    'server_cpu_per_run.us',
  ] as const) {
    out[`${prefix}.median.${key}`] = median(rounds.map((r) => r[key]));
  }
  out[`${prefix}.errors`] = rounds.reduce((sum, r) => sum + r.errors, 0);
  out[`${prefix}.missing`] = rounds.reduce((sum, r) => sum + r.missing, 0);
  return out;
}

function report(what: string, i: number, r: Round): void {
  process.stderr.write(
    `  ${what} round ${i + 1}: ${r.accepted_per_s}/s p50 ${r['p50.ms']} ms p99 ${r['p99.ms']} ms ` +
      `errors ${r.errors} missing ${r.missing}/${r.accepted} cpu ${r['server_cpu_per_run.us']} us/run ` +
      `log ${r.log_bytes_per_run} B/run backlog ${r.backlog} finished ${r.finished_per_s}/s load ${r.load_before}->${r.load_after}\n`,
  );
}

/**
 * SIGKILLs the replica driving a run, then watches the run's lease in the database until the
 * other replica holds it; also reports when the run then finished.
 */
async function takeover(
  a: string,
  owner: ChildProcess,
  dbUrl: string,
): Promise<{ claimed: number; finished: number }> {
  const chain = JSON.stringify({
    name: 'takeover',
    edges: [[0, 1]],
    nodes: [
      { id: 0, name: 'long', engine: 'sleep', args: ['1'] },
      { id: 1, name: 'after', engine: 'nil' },
    ],
  });
  const res = await fetch(`${a}/v1/tasks`, {
    method: 'POST',
    body: chain,
    headers: { 'content-type': 'application/json' },
  });
  const { id } = (await res.json()) as { id: string };
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const lease = async () =>
      (await client.query('SELECT owner, state FROM runs WHERE id = $1', [id])).rows[0] as {
        owner: string | null;
        state: number;
      };
    await new Promise((r) => setTimeout(r, 300));
    const first = (await lease()).owner;
    const killedAt = Date.now();
    owner.kill('SIGKILL');
    let claimed = 0;
    for (;;) {
      const { owner: now, state } = await lease();
      if (!claimed && now !== null && now !== first) claimed = Date.now() - killedAt;
      if (state === 3) return { claimed, finished: Date.now() - killedAt };
      if (Date.now() - killedAt > 30_000) throw new Error('no takeover within 30 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await client.end();
  }
}

export async function benchSubmit(): Promise<Record<string, number>> {
  const result: Record<string, number> = { 'submit.seconds': SECONDS, 'submit.rounds': ROUNDS };
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-submit-'));
  const children: ChildProcess[] = [];
  const databases: Array<{ drop(): Promise<void> }> = [];
  process.stderr.write(`  server logs (stdout, default level) go to files in ${dir}\n`);
  try {
    const sqlite: Round[] = [];
    for (let i = 0; PARTS.has('sqlite') && i < ROUNDS; i++) {
      const data = join(dir, `sqlite-${i}`);
      const solo = await serve(['--data', data], join(dir, `sqlite-${i}.log`));
      children.push(solo.child);
      const file = join(data, 'baton.db');
      sqlite.push(
        await round(
          [solo],
          async (ids) => storedInSqlite(file, ids),
          async () => unfinishedInSqlite(file),
        ),
      );
      report('sqlite, 1 replica', i, sqlite[i]);
    }
    if (sqlite.length > 0) Object.assign(result, figures('submit.sqlite_1_replica', sqlite));

    const postgres: Round[] = [];
    for (let i = 0; PARTS.has('postgres') && i < ROUNDS; i++) {
      const db = await freshDatabase();
      databases.push(db);
      const a = await serve(['--db', db.url], join(dir, `pg-${i}-a.log`));
      const b = await serve(['--db', db.url], join(dir, `pg-${i}-b.log`));
      children.push(a.child, b.child);
      postgres.push(
        await round(
          [a, b],
          (ids) => storedInPostgres(db.url, ids),
          () => unfinishedInPostgres(db.url),
        ),
      );
      report('postgres, 2 replicas', i, postgres[i]);
    }
    if (postgres.length > 0) {
      Object.assign(result, figures('submit.postgres_2_replicas', postgres));
    }
    if (!PARTS.has('takeover')) return result;
    // fresh replicas on a fresh database: the takeover alone, not a load backlog
    const db2 = await freshDatabase();
    databases.push(db2);
    const c = await serve(['--db', db2.url], join(dir, 'takeover-c.log'));
    const d = await serve(['--db', db2.url], join(dir, 'takeover-d.log'));
    children.push(c.child, d.child);
    const times = await takeover(c.url, c.child, db2.url);
    result['takeover.lease.ms'] = 5000;
    result['takeover.claimed_after_sigkill.ms'] = times.claimed;
    result['takeover.run_finished_after_sigkill.ms'] = times.finished;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (const db of databases) await db.drop();
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

if (import.meta.main) console.log(JSON.stringify(await benchSubmit(), null, 2));
