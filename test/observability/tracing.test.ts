/**
 * OpenTelemetry traces: a real HTTP server on 127.0.0.1 plays the OTLP/HTTP collector (JSON)
 * and receives one run span with a child span per node attempt, with their attributes and
 * error statuses. Without an endpoint, no OpenTelemetry SDK module is even loaded.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { registerHooks } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { State } from '../../src/graph/states.ts';

// Every module resolved from here on, to show what the server loads (the hook must be in
// place before the server's modules are imported, hence the dynamic imports below).
const resolved: string[] = [];
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    resolved.push(result.url);
    return result;
  },
});
const { doc, post, startTestServer, tempDir, waitForRun } = await import('../support/server.ts');
const { refusing, startRefusingExecutor } = await import('../support/failing-task.ts');

type Value = { stringValue?: string; intValue?: number | string; boolValue?: boolean };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Value }>;
  status?: { code?: number; message?: string };
}
interface OtlpRequest {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: Value }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

/** A collector: POST /v1/traces with OTLP JSON; keeps the requests. */
async function collector(): Promise<{ server: Server; url: string; requests: OtlpRequest[] }> {
  const requests: OtlpRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/v1/traces');
      assert.match(String(req.headers['content-type']), /application\/json/);
      requests.push(JSON.parse(body) as OtlpRequest);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, requests };
}

function attributes(list: Array<{ key: string; value: Value }>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list) {
    out[key] = value.stringValue ?? value.boolValue ?? Number(value.intValue);
  }
  return out;
}

const OTEL_SDK =
  /@opentelemetry\/(sdk-trace|exporter-trace-otlp-http|resources)|observability\/otel\.ts/;

describe('traces', () => {
  it('without an endpoint, runs load no OpenTelemetry SDK code', async () => {
    const dir = tempDir();
    const server = await startTestServer({ dataDir: dir.path });
    const { body } = await post(server.url, doc([['a', 'nil']]));
    assert.equal((await waitForRun(server.url, body.id)).state, State.success);
    await server.close();
    dir.remove();
    assert.ok(resolved.some((url) => url.includes('/src/orchestrator/orchestrator.ts')));
    assert.deepEqual(
      resolved.filter((url) => OTEL_SDK.test(url)),
      [],
    );
  });

  it('sends one run span with a child span per node attempt to an OTLP/HTTP collector', async (t) => {
    const otlp = await collector();
    t.after(() => otlp.server.close());
    const dir = tempDir();
    t.after(() => dir.remove());
    const executor = await startRefusingExecutor();
    t.after(() => executor.close());
    const server = await startTestServer({
      dataDir: dir.path,
      executors: executor.executors,
      otlpEndpoint: otlp.url,
      otlpFlushMs: 50,
    });
    // a -> b succeed; c fails twice (one retry): the run fails
    const { body } = await post(
      server.url,
      doc(
        [
          ['a', 'nil'],
          ['b', 'sleep', ['0.05']],
          ['c', 'shell', [], { ...refusing(['soon']), retries: { count: 1, backoff_s: 0.01 } }],
        ],
        [[0, 1]],
      ),
    );
    assert.equal((await waitForRun(server.url, body.id)).state, State.failure);
    await server.close(); // sends what is left
    assert.ok(
      resolved.some((url) => OTEL_SDK.test(url)),
      'the SDK was loaded this time',
    );

    const resource = attributes(otlp.requests[0].resourceSpans[0].resource.attributes);
    assert.equal(resource['service.name'], 'baton');
    const spans = otlp.requests.flatMap((r) =>
      r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
    );
    const runs = spans.filter((s) => attributes(s.attributes)['baton.run.id'] === body.id);
    const [run] = runs.filter((s) => s.name === 'run test');
    assert.ok(run, `a run span among ${spans.map((s) => s.name)}`);
    assert.equal(run.parentSpanId ?? '', '', 'the run span is a root');
    assert.deepEqual(attributes(run.attributes), {
      'baton.run.id': body.id,
      'baton.run.name': 'test',
      'baton.run.nodes': 3,
      'baton.run.resumed': false,
      'baton.state': 'failure',
    });
    assert.equal(run.status?.code, 2, 'ERROR');

    const attempts = runs.filter((s) => s !== run);
    assert.equal(attempts.length, 4, 'a, b, and c twice');
    for (const span of attempts) {
      assert.equal(span.traceId, run.traceId);
      assert.equal(span.parentSpanId, run.spanId, `${span.name} is a child of the run span`);
      assert.ok(BigInt(span.startTimeUnixNano) >= BigInt(run.startTimeUnixNano));
      assert.ok(BigInt(span.endTimeUnixNano) <= BigInt(run.endTimeUnixNano));
    }
    const summary = attempts
      .map((s) => {
        const a = attributes(s.attributes);
        return [
          s.name,
          a['baton.node.id'],
          a['baton.node.name'],
          a['baton.node.engine'],
          a['baton.node.target'],
          a['baton.attempt'],
          a['baton.state'],
          s.status?.code ?? 0,
        ];
      })
      .sort((x, y) => String(x[0]).localeCompare(String(y[0])) || Number(x[5]) - Number(y[5]));
    assert.deepEqual(summary, [
      ['node a', 0, 'a', 'nil', '', 1, 'success', 0],
      ['node b', 1, 'b', 'sleep', '', 1, 'success', 0],
      ['node c', 2, 'c', 'shell', '', 1, 'failure', 2],
      ['node c', 2, 'c', 'shell', '', 2, 'failure', 2],
    ]);
    const c = attempts.find((s) => s.name === 'node c')!;
    assert.match(String(c.status?.message), /^exited with code 1: refused: soon$/);
  });
});
