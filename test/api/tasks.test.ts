/**
 * The orchestrator API against a real server on loopback with a real SQLite store.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { type RefusingExecutor, refusing, startRefusingExecutor } from '../support/failing-task.ts';
import { doc, getRun, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';

const run = promisify(execFile);
const exampleFile = new URL('../../examples/gorch-example.json', import.meta.url).pathname;

describe('orchestrator API', () => {
  const dir = tempDir();
  let server: RunningServer;
  let executor: RefusingExecutor;
  let url: string;
  before(async () => {
    executor = await startRefusingExecutor();
    server = await startTestServer({
      dataDir: dir.path,
      executors: executor.executors,
      limits: { maxNodes: 1000 },
      bodyLimit: 1024 * 1024,
    });
    url = server.url;
  });
  after(async () => {
    await server.close();
    await executor.close();
    dir.remove();
  });

  it("runs gorchestrator's example submitted by its own curl line, and GET returns its shape", async () => {
    copyFileSync(exampleFile, join(dir.path, 'example.json'));
    const { stdout } = await run(
      'curl',
      [
        '-s',
        '-X',
        'POST',
        '-H',
        'Content-Type:application/json',
        '-d',
        '@example.json',
        `${url}/v1/tasks`,
      ],
      { cwd: dir.path },
    );
    const { id } = JSON.parse(stdout) as { id: string };
    assert.match(id, /^[0-9a-f-]{36}$/);
    const done = await waitForRun(url, id);
    assert.equal(done.state, State.success);
    assert.equal(done.name, 'gorchestrator example');
    assert.equal((done.digraph as number[]).length, 64, 'answers with the matrix it was given');
    assert.deepEqual(
      done.nodes.map((n) => [n.id, n.name, n.state]),
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name, i) => [i, name, State.success]),
    );
    const c = done.nodes[2];
    assert.deepEqual(c.args, ['ip_address=get_attribute d:ip_address']);
    assert.deepEqual(c.output, { my_ip: '' });
    assert.ok(c.start_date && c.stop_date && c.attempts === 1);
    // f (5) precedes a, b, c: a node never starts before its predecessors stop
    const f = done.nodes[5];
    for (const succ of [0, 1, 2]) assert.ok(done.nodes[succ].start_date! >= f.stop_date!);
  });

  it('accepts the edges form and returns it', async () => {
    const { status, body } = await post(
      url,
      doc(
        [
          ['x', 'nil'],
          ['y', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    assert.equal(status, 202);
    const done = await waitForRun(url, body.id);
    assert.equal(done.state, State.success);
    assert.deepEqual(done.edges, [[0, 1]]);
    assert.equal(done.digraph, undefined);
  });

  it('an Idempotency-Key returns the same id twice and starts one run', async () => {
    const key = `key-${Date.now()}`;
    const a = await post(url, doc([['x', 'nil']]), { 'Idempotency-Key': key });
    const b = await post(url, doc([['x', 'nil']]), { 'Idempotency-Key': key });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(a.body.id, b.body.id);
  });

  it('the same Idempotency-Key with another document or other inputs answers 422', async () => {
    const key = `key-mismatch-${Date.now()}`;
    const withInput = (extra: Record<string, unknown> = {}) =>
      doc([['x', 'nil', ['region={{inputs.region}}']]], [], {
        inputs: { region: { default: 'eu' } },
        ...extra,
      });
    const first = await post(url, withInput(), { 'Idempotency-Key': key });
    assert.equal(first.status, 202);
    const again = await post(url, withInput(), { 'Idempotency-Key': key });
    assert.deepEqual([again.status, again.body.id], [202, first.body.id]);

    const other = await post(url, withInput({ name: 'another' }), { 'Idempotency-Key': key });
    assert.equal(other.status, 422, JSON.stringify(other.body));
    assert.equal(other.body.error, 'BATON_ERR_IDEMPOTENCY_MISMATCH');
    assert.match(other.body.message, new RegExp(`already used by run ${first.body.id}`));
    const inputs = await fetch(`${url}/v1/tasks?input=region=us`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(withInput()),
    });
    assert.equal(inputs.status, 422);
  });

  it('a body that is not JSON: 400 with its line, column and the path being read', async () => {
    const answer = await post(url, '{"name": "x", "nodes": [{"id": 0, "name": tru}]}');
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'BATON_ERR_INVALID_JSON');
    assert.match(
      answer.body.message,
      /^body is not valid JSON: line 1 column 46 \(offset 45\): invalid literal/,
    );
    assert.equal(answer.body.path, 'nodes[0].name');
    const multiline = await post(url, '{\n  "name": "x",\n  "edges": [[0, 1],]\n}');
    assert.match(multiline.body.message, /line 3 column 20/);
    assert.equal(multiline.body.path, 'edges[1]');
  });

  it('a __proto__ key, however spelled, is refused by name at its path', async () => {
    for (const key of ['__proto__', '\\u005f_proto__']) {
      const answer = await post(
        url,
        `{"name":"x","edges":[],"nodes":[{"id":0,"name":"a","engine":"nil","output":{"${key}":{"a":"1"}}}]}`,
      );
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.message, '"__proto__" is not allowed as a key');
      assert.equal(answer.body.path, 'nodes[0].output.__proto__');
    }
    const ctor = await post(url, '{"nodes":[],"constructor":{"prototype":{"x":1}}}');
    assert.equal(ctor.status, 400);
    assert.equal(ctor.body.path, 'constructor');
  });

  it('?input=__proto__=x is refused, not silently dropped', async () => {
    const res = await fetch(`${url}/v1/tasks?input=__proto__=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(doc([['x', 'nil']])),
    });
    const body = (await res.json()) as { message: string };
    assert.equal(res.status, 400);
    assert.match(body.message, /^querystring\.input: "__proto__" is not allowed/);
  });

  it("a sleep's seconds given by an input are checked after substitution", async () => {
    const napping = {
      name: 'nap',
      inputs: { seconds: {} },
      edges: [],
      nodes: [{ id: 0, name: 'nap', engine: 'sleep', args: ['{{inputs.seconds}}'] }],
    };
    const submit = async (seconds: string) => {
      const res = await fetch(`${url}/v1/tasks?input=seconds=${seconds}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(napping),
      });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    const refused = await submit('-5');
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.path, 'nodes[0].args[0]');
    assert.match(refused.body.message, /sleep takes a number of seconds >= 0 .*, got -5$/);
    const accepted = await submit('0.01');
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal((await waitForRun(url, accepted.body.id as string)).state, State.success);
  });

  it("a sleep whose args[0] is not a number sleeps under a second and outputs result, as gorchestrator's", async () => {
    const { status, body } = await post(url, doc([['nap', 'sleep', ['soon']]]));
    assert.equal(status, 202, JSON.stringify(body));
    const done = await waitForRun(url, body.id);
    assert.equal(done.state, State.success);
    const nap = done.nodes[0];
    assert.match((nap.output as Record<string, string>).result, /^nap_\d{10}$/);
    assert.ok(Date.parse(nap.stop_date!) - Date.parse(nap.start_date!) < 1000);
  });

  describe('rejects bad documents with 400 and a message naming the problem', () => {
    const cases: Array<[string, unknown, RegExp, string?]> = [
      ['not JSON', '{"nodes": [', /not valid JSON|JSON/i],
      ['not an object', '[1,2]', /object/i],
      [
        'wrong type',
        { digraph: [0], nodes: [{ id: 0, name: 'a', engine: 'nil', args: 'x' }] },
        /args/,
        'nodes[0].args',
      ],
      ['matrix not N×N', { digraph: [0, 1, 0], nodes: [node(0), node(1)] }, /2×2|4/],
      [
        'ids not 0..N-1',
        { edges: [], nodes: [node(0), { ...node(1), id: 5 }] },
        /id/,
        'nodes[1].id',
      ],
      ['self-loop', { edges: [[1, 1]], nodes: [node(0), node(1)] }, /itself|self/],
      [
        'cycle, named node by node',
        {
          edges: [
            [0, 1],
            [1, 2],
            [2, 0],
          ],
          nodes: [node(0), node(1), node(2)],
        },
        /n0 -> n1 -> n2 -> n0|n1 -> n2 -> n0 -> n1|n2 -> n0 -> n1 -> n2/,
      ],
      [
        'unknown engine',
        { edges: [], nodes: [{ ...node(0), engine: 'teleport' }] },
        /teleport/,
        'nodes[0].engine',
      ],
      [
        'get_attribute naming no upstream node',
        { edges: [], nodes: [node(0), { ...node(1), args: ['ip=get_attribute n0:ip'] }] },
        /upstream/,
        'nodes[1].args[0]',
      ],
      [
        'sleep for NaN seconds',
        { edges: [], nodes: [node(0), { ...node(1), engine: 'sleep', args: ['NaN'] }] },
        /^nodes\[1\]\.args\[0\]: sleep takes a number of seconds >= 0 as args\[0\] \(or no number for a random 0-1 s\), got NaN$/,
        'nodes[1].args[0]',
      ],
      [
        'sleep for -5 seconds',
        { edges: [], nodes: [{ ...node(0), engine: 'sleep', args: ['-5'] }] },
        /sleep takes a number of seconds >= 0 .*, got -5$/,
        'nodes[0].args[0]',
      ],
      ['both digraph and edges', { digraph: [0], edges: [], nodes: [node(0)] }, /digraph|edges/],
      [
        'too many nodes',
        { edges: [], nodes: Array.from({ length: 1001 }, (_, i) => node(i)) },
        /1000|1,000|limit|at most/i,
      ],
    ];
    for (const [what, body, message, path] of cases) {
      it(what, async () => {
        const res = await post(url, body);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.code, 400);
        assert.match(res.body.message, message);
        if (path) assert.equal(res.body.path, path);
      });
    }

    it('a body over the limit answers 413', async () => {
      const res = await post(
        url,
        `{"nodes":[],"edges":[],"name":"${'x'.repeat(2 * 1024 * 1024)}"}`,
      );
      assert.equal(res.status, 413);
      assert.equal(res.body.error, 'BATON_ERR_BODY_TOO_LARGE');
    });

    it('prototype-pollution keys are refused, not merged', async () => {
      const res = await post(url, '{"__proto__": {"polluted": true}, "edges": [], "nodes": []}');
      assert.equal(res.status, 400);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });

  it('404s are JSON errors', async () => {
    const res = await fetch(`${url}/v1/tasks/00000000-0000-0000-0000-000000000000`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), {
      code: 404,
      error: 'BATON_ERR_RUN_NOT_FOUND',
      message: 'no run with id 00000000-0000-0000-0000-000000000000',
    });
    const nowhere = await fetch(`${url}/v2/nothing`);
    assert.equal(nowhere.status, 404);
    assert.equal(((await nowhere.json()) as { code: number }).code, 404);
  });

  it('lists runs newest first, pages with a cursor and filters by state', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await post(url, doc([['x', 'nil']], [], { name: `page-${i}` }))).body.id);
    for (const id of ids) await waitForRun(url, id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await fetch(`${url}/v1/tasks?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as {
        tasks: Array<{ id: string; state: string }>;
        next_cursor?: string;
      };
      assert.ok(page.tasks.length <= 2);
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length, 'no run twice');
    assert.deepEqual(seen.slice(0, 5), [...ids].reverse(), 'newest first');
    const slash = await fetch(`${url}/v1/tasks/?state=success&limit=1000`);
    const filtered = (await slash.json()) as {
      tasks: Array<{ state: string; state_code: number }>;
    };
    assert.ok(filtered.tasks.length >= 5);
    assert.ok(filtered.tasks.every((t) => t.state === 'success' && t.state_code === 3));
    const bad = await fetch(`${url}/v1/tasks?state=sleeping`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /sleeping/);
    const badLimit = await fetch(`${url}/v1/tasks?limit=0`);
    assert.equal(badLimit.status, 400);
  });

  it('DELETE cancels a running graph and keeps its record, then deletes it; 404 unknown', async () => {
    const { body } = await post(
      url,
      doc(
        [
          ['slow', 'sleep', ['30']],
          ['after', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    await waitForRun(url, body.id, (r) => r.nodes[0].state === State.running);
    const res = await fetch(`${url}/v1/tasks/${body.id}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    const canceled = await getRun(url, body.id);
    assert.equal(canceled.state, State.canceled);
    assert.deepEqual(
      canceled.nodes.map((n) => n.state),
      [State.canceled, State.canceled],
    );
    const cancelAgain = await fetch(`${url}/v1/tasks/${body.id}/cancel`, { method: 'POST' });
    assert.equal(cancelAgain.status, 409, 'cancel only ever cancels');
    assert.equal((await getRun(url, body.id)).state, State.canceled);
    // finished now: DELETE removes it, as gorchestrator's did (test/compat/api.test.ts)
    const again = await fetch(`${url}/v1/tasks/${body.id}`, { method: 'DELETE' });
    assert.equal(again.status, 200);
    assert.equal(await again.text(), '');
    assert.equal((await fetch(`${url}/v1/tasks/${body.id}`)).status, 404);
    const unknown = await fetch(`${url}/v1/tasks/nope`, { method: 'DELETE' });
    assert.equal(unknown.status, 404);
  });

  it('a failure makes descendants notrunnable and independent branches finish', async () => {
    const { body } = await post(
      url,
      doc(
        [
          ['bad', 'shell', [], refusing(['not today'])],
          ['child', 'nil'],
          ['grandchild', 'nil'],
          ['other', 'sleep', ['0.05']],
        ],
        [
          [0, 1],
          [1, 2],
        ],
      ),
    );
    const done = await waitForRun(url, body.id);
    assert.equal(done.state, State.failure);
    assert.deepEqual(
      done.nodes.map((n) => n.state),
      [State.failure, State.notrunnable, State.notrunnable, State.success],
    );
    assert.equal(done.nodes[0].error, 'exited with code 1: refused: not today');
  });

  it('a node timeout and a graph timeout end in state 10', async () => {
    const nodeTimeout = await post(url, doc([['slow', 'sleep', ['30'], { timeout: 0.1 }]]));
    const a = await waitForRun(url, nodeTimeout.body.id);
    assert.equal(a.nodes[0].state, State.timeout);
    assert.equal(a.state, State.failure);
    const graphTimeout = await post(
      url,
      doc(
        [
          ['slow', 'sleep', ['30']],
          ['next', 'nil'],
        ],
        [[0, 1]],
        { timeout: 0.1 },
      ),
    );
    const b = await waitForRun(url, graphTimeout.body.id);
    assert.equal(b.state, State.timeout);
    assert.deepEqual(
      b.nodes.map((n) => n.state),
      [State.timeout, State.timeout],
    );
  });

  it('retries a node with backoff, then retry re-runs a failed run', async () => {
    const { body } = await post(
      url,
      doc([['flaky', 'shell', [], { ...refusing(), retries: { count: 2, backoff_s: 0.01 } }]]),
    );
    const done = await waitForRun(url, body.id);
    assert.equal(done.nodes[0].attempts, 3);
    assert.equal(done.state, State.failure);
    const res = await fetch(`${url}/v1/tasks/${body.id}/retry`, { method: 'POST' });
    assert.equal(res.status, 202);
    const again = await waitForRun(
      url,
      body.id,
      (r) => r.state === State.failure && r.nodes[0].attempts === 3,
    );
    assert.equal(again.state, State.failure);
  });

  it('streams state changes as Server-Sent Events and ends with the run', async () => {
    const { body } = await post(
      url,
      doc(
        [
          ['a', 'sleep', ['0.2']],
          ['b', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    const res = await fetch(`${url}/v1/tasks/${body.id}/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const text = await res.text(); // the stream closes after the final state
    const events = text
      .split('\n\n')
      .filter((f) => f.includes('data: '))
      .map((f) => ({
        type: /event: (\w+)/.exec(f)![1],
        data: JSON.parse(/data: (.*)/.exec(f)![1]),
      }));
    assert.equal(events[0].type, 'snapshot');
    const last = events.at(-1)!;
    assert.deepEqual(
      [last.type, last.data.state, last.data.node],
      ['state', State.success, undefined],
    );
    const b = events.filter((e) => e.data.name === 'b').map((e) => e.data.state);
    assert.deepEqual(b.slice(-2), [State.running, State.success]);
  });

  it('serves OpenAPI, Swagger UI, health, metrics and the UI', async () => {
    const spec = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/v1/tasks',
      '/v1/tasks/{id}',
      '/v1/tasks/{id}/events',
      '/v1/tasks/{id}/retry',
      '/healthz',
    ]) {
      assert.ok(spec.paths[path], `openapi has ${path}`);
    }
    type Schema = { properties: Record<string, Schema>; items: Schema };
    const post = spec.paths['/v1/tasks'] as {
      post: { requestBody: { content: Record<string, { schema: Schema }> } };
    };
    const node = post.post.requestBody.content['application/json'].schema.properties.nodes.items;
    assert.deepEqual(Object.keys(node.properties.resources.properties), ['cpus', 'memory']);
    assert.ok(node.properties.container.properties.pull, 'the docker fields are documented');
    const docs = await fetch(`${url}/apidocs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), {
      status: 'ok',
      active_runs: server.orchestrator.activeRuns,
      store: 'ok',
    });
    assert.match(await (await fetch(`${url}/metrics`)).text(), /baton_active_runs/);
    assert.match(await (await fetch(`${url}/`)).text(), /<title>Baton/);
  });
});

function node(id: number) {
  return { id, name: `n${id}`, engine: 'nil', args: null, output: null };
}
