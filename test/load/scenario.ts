/**
 * The load scenario shared by the full load suite (`*.load.ts`) and its smoke test: for a
 * bounded time, autocannon clients submit documents to one or more `baton serve` processes
 * while other clients poll the runs already accepted (through any replica); then every run
 * answered 202 must be listed, finished and successful, and nothing may have failed.
 *
 * Each submitting connection cycles through three requests: a 10-node `nil` graph (edges), a
 * 6-node matrix graph with a short `sleep` under a fresh Idempotency-Key, and that same
 * request again, which must answer the same id (and create nothing).
 */
import autocannon from 'autocannon';
import { call, listAllRuns, settled } from '../support/processes.ts';

export interface LoadOptions {
  /** `baton serve` URLs the submitting clients are spread over */
  submitUrls: string[];
  /** URLs the polling clients are spread over (another replica reads what one accepted) */
  pollUrls: string[];
  submitConnections: number;
  pollConnections: number;
  seconds: number;
  /** how long every accepted run may take to finish after the load stops */
  settleMs: number;
}

export interface LoadReport {
  seconds: number;
  submit_connections: number;
  poll_connections: number;
  /** 202 answers (duplicates of an Idempotency-Key included) */
  accepted: number;
  /** distinct run ids answered 202 */
  runs: number;
  documents_per_s: number;
  submit_p50_ms: number;
  submit_p99_ms: number;
  submit_max_ms: number;
  gets: number;
  gets_per_s: number;
  get_p50_ms: number;
  get_p99_ms: number;
  get_max_ms: number;
  /** every problem seen; the scenario passes only when this is empty */
  problems: string[];
}

const diamond = JSON.stringify({
  name: 'load-diamond',
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

const matrix = JSON.stringify({
  name: 'load-matrix',
  // 0 -> 1 -> {2, 3} -> 4 -> 5
  digraph: [
    [0, 1, 0, 0, 0, 0],
    [0, 0, 1, 1, 0, 0],
    [0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0],
  ].flat(),
  nodes: [
    { id: 0, name: 'start', engine: 'nil' },
    { id: 1, name: 'wait', engine: 'sleep', args: ['0.02'] },
    { id: 2, name: 'left', engine: 'nil' },
    { id: 3, name: 'right', engine: 'nil', timeout: 30 },
    { id: 4, name: 'join', engine: 'nil' },
    { id: 5, name: 'end', engine: 'nil' },
  ],
});

function record(problems: string[], problem: string): void {
  // the first few are enough to diagnose; the count says the rest
  if (problems.length < 20) problems.push(problem);
  else if (problems.length === 20) problems.push('(more problems left out)');
}

export async function loadAndVerify(options: LoadOptions): Promise<LoadReport> {
  const problems: string[] = [];
  const ids = new Set<string>();
  const idList: string[] = [];
  let accepted = 0;
  let keys = 0;
  const prefix = `load-${process.pid}-${Date.now()}`;
  const accept = (status: number, body: string, what: string): string | undefined => {
    if (status !== 202) {
      record(problems, `${what}: ${status} ${body.slice(0, 200)}`);
      return undefined;
    }
    accepted++;
    const { id } = JSON.parse(body) as { id: string };
    if (!ids.has(id)) {
      ids.add(id);
      idList.push(id);
    }
    return id;
  };
  const json = { 'content-type': 'application/json' };
  type Context = { key?: string; id?: string };
  const submitters = options.submitUrls.map((url) =>
    autocannon({
      url,
      connections: Math.max(1, Math.round(options.submitConnections / options.submitUrls.length)),
      duration: options.seconds,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/v1/tasks',
          headers: json,
          body: diamond,
          onResponse: (status, body) => {
            accept(status, body, 'POST diamond');
          },
        },
        {
          method: 'POST',
          path: '/v1/tasks',
          body: matrix,
          setupRequest: (request, context) => {
            const c = context as Context;
            c.key = `${prefix}-${keys++}`;
            return { ...request, headers: { ...json, 'idempotency-key': c.key } };
          },
          onResponse: (status, body, context) => {
            (context as Context).id = accept(status, body, 'POST matrix with a key');
          },
        },
        {
          method: 'POST',
          path: '/v1/tasks',
          body: matrix,
          setupRequest: (request, context) => {
            const c = context as Context;
            return { ...request, headers: { ...json, 'idempotency-key': c.key ?? 'unset' } };
          },
          onResponse: (status, body, context) => {
            const c = context as Context;
            const id = accept(status, body, 'POST matrix again with the same key');
            if (id !== undefined && c.id !== undefined && id !== c.id) {
              record(problems, `Idempotency-Key ${c.key} answered ${c.id}, then ${id}`);
            }
          },
        },
      ],
    }),
  );
  let polls = 0;
  const pollers = options.pollUrls.map((url) =>
    autocannon({
      url,
      connections: Math.max(1, Math.round(options.pollConnections / options.pollUrls.length)),
      duration: options.seconds,
      timeout: 30,
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => {
            polls++;
            // before the first 202, list the runs instead
            const id = idList.length > 0 ? idList[(polls * 7919) % idList.length] : undefined;
            return { ...request, path: id ? `/v1/tasks/${id}` : '/v1/tasks?limit=20' };
          },
          onResponse: (status, body) => {
            if (status !== 200) record(problems, `GET: ${status} ${body.slice(0, 200)}`);
          },
        },
      ],
    }),
  );
  const [submitted, polled] = await Promise.all([Promise.all(submitters), Promise.all(pollers)]);
  for (const r of [...submitted, ...polled]) {
    if (r.errors > 0) record(problems, `${r.url}: ${r.errors} errors (${r.timeouts} timeouts)`);
    if (r.non2xx > 0) record(problems, `${r.url}: ${r.non2xx} answers other than 2xx`);
  }

  // Every accepted run: listed, finished, successful (through the first replica).
  const url = options.pollUrls[0];
  await settled(url, options.settleMs);
  const listed = await listAllRuns(url);
  let missing = 0;
  let failed = 0;
  for (const id of ids) {
    const run = listed.get(id);
    if (!run) {
      missing++;
      const direct = await call(`${url}/v1/tasks/${id}`);
      record(problems, `run ${id} answered 202 is not listed (GET: ${direct.status})`);
    } else if (run.state !== 'success') {
      failed++;
      record(problems, `run ${id} ended ${run.state}`);
    }
  }
  // Requests cut off when the time was up may have been stored without their 202 reaching
  // the client: at most one per submitting connection.
  const inFlight = submitted.reduce((sum, r) => sum + r.connections, 0);
  if (listed.size < ids.size - missing || listed.size > ids.size + inFlight) {
    record(problems, `${listed.size} runs listed for ${ids.size} distinct ids answered 202`);
  }
  if (missing > 0 || failed > 0)
    record(problems, `${missing} runs missing, ${failed} not successful`);

  const seconds = Math.max(...submitted.map((r) => r.duration));
  const latencies = (rs: autocannon.Result[], key: 'p50' | 'p99' | 'max') =>
    Math.max(...rs.map((r) => r.latency[key]));
  const gets = polled.reduce((sum, r) => sum + r['2xx'], 0);
  return {
    seconds: Math.round(seconds * 10) / 10,
    submit_connections: submitted.reduce((sum, r) => sum + r.connections, 0),
    poll_connections: polled.reduce((sum, r) => sum + r.connections, 0),
    accepted,
    runs: ids.size,
    documents_per_s: Math.round(accepted / seconds),
    submit_p50_ms: latencies(submitted, 'p50'),
    submit_p99_ms: latencies(submitted, 'p99'),
    submit_max_ms: latencies(submitted, 'max'),
    gets,
    gets_per_s: Math.round(gets / seconds),
    get_p50_ms: latencies(polled, 'p50'),
    get_p99_ms: latencies(polled, 'p99'),
    get_max_ms: latencies(polled, 'max'),
    problems,
  };
}
