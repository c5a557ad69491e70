/**
 * The API side of the fuzz suite, shared by api.fuzz.ts and the smoke test: sends the hostile
 * corpus (hostile.ts) and fast-check's hostile documents to a real `baton serve` process and
 * checks every answer: a 4xx (or, for a document that is valid after all, 202), never a 5xx,
 * never a crash or a hang (each request has a deadline), and /healthz still answers after
 * each group. Entries a known bug breaks run as `todo` tests.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { type BatonProcess, call, type RawAnswer, rawRequest } from '../support/processes.ts';
import {
  hostileInput,
  hostileKey,
  mutatedText,
  toJsonText,
  validishDocument,
} from './arbitraries.ts';
import { type Hostile, SECRET_MARKER, type Store } from './hostile.ts';

export function send(url: string, h: Hostile): Promise<RawAnswer> {
  return rawRequest(url, {
    method: h.method ?? 'POST',
    path: h.path ?? '/v1/tasks',
    headers: h.headers,
    body: h.make?.(),
    timeoutMs: h.timeoutMs ?? 15_000,
    pauseBeforeBodyMs: h.pauseBeforeBodyMs,
  });
}

/** What is wrong with the answer to `h`, or undefined. */
export function problem(h: Hostile, a: RawAnswer): string | undefined {
  const what = `${h.group}: ${h.name}`;
  if (a.timedOut) return `${what}: no answer within ${h.timeoutMs ?? 15_000} ms`;
  if (a.status === 0) return `${what}: no HTTP answer (${a.error ?? 'connection closed'})`;
  if (a.status >= 500) return `${what}: ${a.status} ${a.text.slice(0, 300)}`;
  if (a.text.includes(SECRET_MARKER)) return `${what}: the answer shows the secret`;
  if (h.expect === 'reject' && (a.status < 400 || a.status >= 500)) {
    return `${what}: expected a 4xx, got ${a.status} ${a.text.slice(0, 300)}`;
  }
  if (h.statuses && !h.statuses.includes(a.status)) {
    return `${what}: expected ${h.statuses.join(' or ')}, got ${a.status} ${a.text.slice(0, 200)}`;
  }
  if (h.maxBytesSent !== undefined && a.bytesSent > h.maxBytesSent) {
    return `${what}: the answer came only after ${a.bytesSent} bytes were sent`;
  }
  return undefined;
}

/** The run answered 202 as `id` can be read back. */
export async function stored(server: BatonProcess, id: string): Promise<void> {
  const answer = await call(`${server.url}/v1/tasks/${id}`, {}, 10_000);
  assert.equal(answer.status, 200, `run ${id} answered 202 then ${answer.status}: ${answer.text}`);
}

/** The server is alive and answers /healthz within 5 s. */
export async function healthy(server: BatonProcess, after: string): Promise<void> {
  assert.ok(server.alive(), `baton serve died after ${after}:\n${server.output().slice(-4000)}`);
  const health = await call(`${server.url}/healthz`, {}, 5000);
  assert.equal(health.status, 200, `/healthz after ${after}: ${health.status} ${health.text}`);
}

/**
 * Registers one test per corpus group (entries without a bug on `store`) and one `todo` test
 * per entry a known bug breaks on `store`. `server()` gives the running server.
 */
export function corpusTests(
  corpus: Hostile[],
  store: Store,
  server: () => BatonProcess,
  tried: { count: number },
): void {
  const groups = new Map<string, Hostile[]>();
  for (const h of corpus) {
    if (h.bug?.stores.includes(store)) continue;
    groups.set(h.group, [...(groups.get(h.group) ?? []), h]);
  }
  for (const [group, entries] of groups) {
    it(`${group}: ${entries.length} requests`, async (t) => {
      const problems: string[] = [];
      let slowest = { ms: 0, name: '' };
      for (const h of entries) {
        const answer = await send(server().url, h);
        tried.count++;
        const p = problem(h, answer);
        if (p) problems.push(p);
        if (
          answer.status === 202 &&
          (h.method ?? 'POST') === 'POST' &&
          (h.path ?? '/v1/tasks') === '/v1/tasks'
        ) {
          await stored(server(), (JSON.parse(answer.text) as { id: string }).id);
        }
        if (answer.ms > slowest.ms) slowest = { ms: answer.ms, name: h.name };
      }
      t.diagnostic(`slowest: ${slowest.name} (${slowest.ms} ms)`);
      await healthy(server(), group);
      assert.ok(!server().output().includes(SECRET_MARKER), `${group}: the server logged a secret`);
      assert.deepEqual(problems, []);
    });
  }
  for (const h of corpus) {
    if (!h.bug?.stores.includes(store)) continue;
    it(`${h.group}: ${h.name}`, { todo: `BUG (${store}): ${h.bug.why}` }, async () => {
      const answer = await send(server().url, h);
      tried.count++;
      await healthy(server(), h.name);
      assert.equal(problem(h, answer), undefined);
    });
  }
}

export interface PropertyFuzz {
  runs: number;
  seed: number;
  /**
   * PostgreSQL: leave U+0000 out of documents and ids, which known bugs turn into a 500 (run
   * names, ids) or a stopped replica (node names, in the error of a node left notrunnable)
   */
  avoidNul: boolean;
}

const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      '',
    ),
  },
);

/** A request body: a hostile document, mutated JSON text, or random bytes. */
const body = fc.oneof(
  { weight: 4, arbitrary: validishDocument.map(toJsonText) },
  { weight: 4, arbitrary: hostileInput.map(toJsonText) },
  { weight: 2, arbitrary: mutatedText },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  },
);

/** Percent-encodes every byte of the UTF-8 form (lone surrogates become U+FFFD). */
function percentEncode(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

/** Every U+0000 removed from the strings and keys of a JSON text (raw ones if not JSON). */
function withoutNul(text: string): string {
  const strip = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replaceAll('\u0000', '');
    if (Array.isArray(value)) return value.map(strip);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        Object.defineProperty(out, key.replaceAll('\u0000', ''), {
          value: strip(v),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return value;
  };
  try {
    return JSON.stringify(strip(JSON.parse(text)));
  } catch {
    return text.replaceAll('\u0000', '');
  }
}

/**
 * fast-check: POST hostile bodies under assorted content types, and GET, DELETE or retry
 * hostile run ids and list queries. Every answer: not a 5xx, within 15 s.
 */
export async function propertyFuzz(
  t: TestContext,
  server: BatonProcess,
  o: PropertyFuzz,
): Promise<{ requests: number; statuses: Record<string, number> }> {
  const statuses: Record<string, number> = {};
  const accepted: string[] = [];
  let requests = 0;
  const check = (what: string, status: number, text: string) => {
    requests++;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 0 || status >= 500) {
      const died = server.alive() ? '' : `\nbaton serve died:\n${server.output().slice(-6000)}`;
      throw new Error(`${what}: ${status} ${text.slice(0, 300)}${died}`);
    }
  };
  const post = fc
    .tuple(body, contentTypes)
    .map(([text, type]) => ({ kind: 'post' as const, text, type }));
  const id = fc.oneof(
    fc.uuid(),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
    hostileKey,
  );
  const query = fc.record(
    {
      limit: fc.oneof(
        fc.integer({ min: -5, max: 2000 }).map(String),
        fc.constantFrom('abc', '', '1.5', '1e3', '0x10', '-0', ' 5'),
      ),
      cursor: fc.oneof(fc.string({ maxLength: 20 }), fc.base64String({ maxLength: 24 })),
      state: fc.oneof(
        fc.constantFrom('running', 'success,failure', 'torun, canceled', ''),
        fc.string({ maxLength: 12 }),
      ),
    },
    { requiredKeys: [] },
  );
  const read = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('GET', 'DELETE', 'POST-retry', 'GET-log'),
        id,
        fc.integer({ min: -2, max: 5 }),
      )
      .map(([method, runId, node]) => ({ kind: 'run' as const, method, runId, node })),
    query.map((q) => ({ kind: 'list' as const, q })),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof({ weight: 3, arbitrary: post }, { weight: 1, arbitrary: read }),
      async (r) => {
        if (r.kind === 'post') {
          const text = o.avoidNul ? withoutNul(r.text) : r.text;
          const answer = await call(
            `${server.url}/v1/tasks`,
            {
              method: 'POST',
              body: text,
              headers: r.type ? { 'content-type': r.type } : { 'content-type': '' },
            },
            15_000,
          );
          check(`POST ${r.type} ${text.slice(0, 300)}`, answer.status, answer.text);
          if (answer.status === 202) accepted.push((answer.json as { id: string }).id);
        } else if (r.kind === 'run') {
          const runId = o.avoidNul ? r.runId.replaceAll('\u0000', '') : r.runId;
          const base = `${server.url}/v1/tasks/${percentEncode(runId)}`;
          const [method, url] =
            r.method === 'POST-retry'
              ? ['POST', `${base}/retry`]
              : r.method === 'GET-log'
                ? ['GET', `${base}/nodes/${r.node}/log`]
                : [r.method, base];
          const answer = await call(url, { method }, 15_000);
          check(`${method} ${url}`, answer.status, answer.text);
        } else {
          const params = new URLSearchParams(r.q as Record<string, string>);
          const answer = await call(`${server.url}/v1/tasks?${params}`, {}, 15_000);
          check(`GET /v1/tasks?${params}`, answer.status, answer.text);
        }
      },
    ),
    { numRuns: o.runs, seed: o.seed },
  );
  t.diagnostic(`${requests} requests, answers by status: ${JSON.stringify(statuses)}`);
  await healthy(server, 'the property fuzz');
  // every run answered 202 is there
  for (const id of accepted) await stored(server, id);
  return { requests, statuses };
}
