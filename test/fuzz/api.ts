/**
 * The API side of the fuzz suite, shared by api.fuzz.ts and the smoke test: sends the hostile
 * corpus (hostile.ts) and fast-check's hostile documents to a real `baton serve` process and
 * checks every answer: a 4xx (or, for a document that is valid after all, 202), never a 5xx,
 * never a crash or a hang (each request has a deadline), and /healthz still answers after
 * each group. Entries a known bug breaks run as `todo` tests.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { it, type TestContext } from 'node:test';
import fc from 'fast-check';
import {
  type BatonProcess,
  call,
  eventually,
  type RawAnswer,
  rawRequest,
} from '../support/processes.ts';
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
  if (h.says && !h.says.test(a.text)) {
    return `${what}: the answer does not match ${h.says}: ${a.text.slice(0, 200)}`;
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

/** The arguments `baton serve` takes for `hostileHttpTests`. */
export const HOSTILE_HTTP_FLAGS = ['--request-timeout', '2', '--max-connections', '40'];

/**
 * Hostile clients rather than hostile bodies, against a server started with
 * HOSTILE_HTTP_FLAGS: bodies that trickle in, a connection flood over the cap, an
 * Idempotency-Key reused with other documents, and five GETs of a big run at once.
 */
export function hostileHttpTests(server: () => BatonProcess): void {
  const raw = (path: string) => {
    const { hostname, port } = new URL(server().url);
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('error', () => {});
    const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
    return { socket, closed, path };
  };

  it('bodies that trickle in: each answered 408 and closed at the deadline', async () => {
    const clients = Array.from({ length: 5 }, (_, i) => raw(`/v1/tasks?slow=${i}`));
    for (const { socket, path } of clients) {
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          'content-length: 100000\r\n\r\n{"name":',
      );
    }
    for (const text of await Promise.all(clients.map((c) => c.closed))) {
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /BATON_ERR_REQUEST_TIMEOUT/);
    }
    await healthy(server(), 'slow bodies');
  });

  it('a flood of connections over the cap: the extra ones closed, the server answers', async () => {
    const flood = Array.from({ length: 60 }, () => raw('/healthz'));
    // a request begun and never finished: an accepted connection is answered 408 at the
    // 2 s deadline, one over the cap of 40 is closed at once without a word
    for (const { socket } of flood) socket.write('GET /healthz HTTP/1.1\r\n');
    const texts = await Promise.all(flood.map((c) => c.closed));
    const silent = texts.filter((text) => text === '').length;
    const timedOut = texts.filter((text) => /^HTTP\/1\.1 408 /.test(text)).length;
    assert.ok(silent >= 20, `${silent} of 60 closed without an answer (cap 40)`);
    assert.ok(timedOut > 0 && timedOut <= 40, `${timedOut} of 60 answered 408`);
    for (const { socket } of flood) socket.destroy();
    await eventually(
      '/healthz once the flood is gone',
      async () =>
        (await call(`${server().url}/healthz`, {}, 5000)).status === 200 ? true : undefined,
      20_000,
    );
  });

  it('an Idempotency-Key reused with other documents: 422 each time, the run unchanged', async () => {
    const key = `fuzz-${Date.now()}`;
    const post = (name: string) =>
      call(`${server().url}/v1/tasks`, {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body: JSON.stringify({ name, edges: [], nodes: [{ id: 0, name: 'a', engine: 'nil' }] }),
      });
    const first = await post('original');
    assert.equal(first.status, 202, first.text);
    const answers = await Promise.all(['other', 'another', 'original '].map(post));
    for (const answer of answers) {
      assert.equal(answer.status, 422, answer.text);
      assert.match(answer.text, /BATON_ERR_IDEMPOTENCY_MISMATCH/);
    }
    const again = await post('original');
    assert.deepEqual(again.json, first.json);
  });

  it('five GETs of a 20,000-node run at once: /healthz answered before any of them ends', async () => {
    const nodes = 20_000;
    const submitted = await call(
      `${server().url}/v1/tasks`,
      {
        method: 'POST',
        body: JSON.stringify({
          name: 'big',
          edges: Array.from({ length: nodes - 1 }, (_, i) => [0, i + 1]),
          nodes: Array.from({ length: nodes }, (_, id) => ({
            id,
            name: `n${id}`,
            engine: id === 0 ? 'sleep' : 'nil',
            args: id === 0 ? ['3600'] : [`i=${id}`],
          })),
        }),
      },
      60_000,
    );
    assert.equal(submitted.status, 202, submitted.text);
    const { id } = submitted.json as { id: string };
    const order: string[] = [];
    // every GET has begun answering (its head is here); then /healthz
    const bodies = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const res = await fetch(`${server().url}/v1/tasks/${id}`);
        return { done: res.text().then(() => order.push(`get ${i}`)) };
      }),
    );
    const health = await call(`${server().url}/healthz`, {}, 10_000);
    order.push('healthz');
    assert.equal(health.status, 200);
    await Promise.all(bodies.map((b) => b.done));
    assert.equal(order[0], 'healthz', order.join(', '));
    await call(`${server().url}/v1/tasks/${id}`, { method: 'DELETE' }, 30_000);
  });
}
