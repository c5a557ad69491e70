/**
 * Secret args are masked on the way out (src/api/secrets.ts): GET, DELETE and retry answers,
 * the SSE stream and the server log never show them, while the task itself still gets the
 * real value. A `sleep` node whose args[0] is `password=hunter2` fails with an error that
 * quotes it, which makes the value appear in a node error and a state event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import {
  eventScrubber,
  MASK,
  maskedDocument,
  maskOutputs,
  nodeSecrets,
  REDACTED_LOG_PATHS,
  redactingLogger,
  SECRET_KEY,
  scrub,
  scrubAssignments,
} from '../../src/api/secrets.ts';
import { detailOf } from '../../src/api/tasks.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import type { NodeRecord, RunRecord } from '../../src/store/store.ts';
import { doc, getRun, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';

describe('secret args through the API', () => {
  const dir = tempDir('baton-secrets-');
  const lines: string[] = [];
  let server: RunningServer;
  let id: string;
  before(async () => {
    // trace: every line the server can write, request logs included
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    server = await startTestServer({ dataDir: dir.path, logger });
    const submitted = await post(
      server.url,
      doc(
        [
          ['source', 'nil', [], { output: { addr: '' } }],
          [
            'use',
            'nil',
            ['password=hunter2', 'db=get_attribute source:addr', 'user=admin', 'API_KEY=k3y-v4lue'],
          ],
          ['login', 'sleep', ['password=hunter2']],
        ],
        [[0, 1]],
      ),
    );
    assert.equal(submitted.status, 202);
    id = submitted.body.id;
    await waitForRun(server.url, id);
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('GET shows KEY=*** for secret KEYs and leaves the others alone', async () => {
    const run = await getRun(server.url, id);
    assert.deepEqual(run.nodes[1].args, [
      'password=***',
      'db=get_attribute source:addr',
      'user=admin',
      'API_KEY=***',
    ]);
    assert.deepEqual(run.nodes[2].args, ['password=***']);
    assert.equal(run.nodes[2].state, State.failure);
    assert.equal(
      run.nodes[2].error,
      'sleep: args[0] must be a number of seconds >= 0, got "password=***"',
      'the error quoting the arg is scrubbed',
    );
    assert.ok(!JSON.stringify(run).includes('hunter2'));
    assert.ok(!JSON.stringify(run).includes('k3y-v4lue'));
  });

  it('still gives the task the real value (only answers are masked)', async () => {
    const nodes = await server.store.getNodes(id);
    assert.match(nodes[2].error ?? '', /got "password=hunter2"/, 'the runner saw the real arg');
    const stored = JSON.parse((await server.store.getRun(id))!.document) as {
      nodes: Array<{ args: string[] }>;
    };
    assert.deepEqual(stored.nodes[1].args[0], 'password=hunter2');
  });

  it('masks the answers of retry and cancel', async () => {
    const retried = await fetch(`${server.url}/v1/tasks/${id}/retry`, { method: 'POST' });
    assert.equal(retried.status, 202);
    const text = await retried.text();
    assert.ok(text.includes('password=***'));
    assert.ok(!text.includes('hunter2'));
    await waitForRun(server.url, id);

    const long = await post(server.url, doc([['wait', 'sleep', ['30', 'token=hunter2']]]));
    await waitForRun(server.url, long.body.id, (run) => run.nodes[0].state === State.running);
    const canceled = await fetch(`${server.url}/v1/tasks/${long.body.id}`, { method: 'DELETE' });
    assert.equal(canceled.status, 202);
    const body = await canceled.text();
    assert.ok(body.includes('token=***') && !body.includes('hunter2'));
  });

  it('keeps the secret out of the SSE stream', async () => {
    // the failing node runs after a pause, so its state event (with the error) is live
    const again = await post(
      server.url,
      doc(
        [
          ['wait', 'sleep', ['0.3']],
          ['login', 'sleep', ['password=hunter2']],
        ],
        [[0, 1]],
      ),
    );
    const res = await fetch(`${server.url}/v1/tasks/${again.body.id}/events`);
    const stream = await res.text(); // ends with the run's final state
    assert.match(stream, /event: snapshot/);
    assert.match(stream, /must be a number of seconds >= 0, got \\"password=\*\*\*\\"/);
    assert.ok(!stream.includes('hunter2'), stream);
    const replayed = await fetch(`${server.url}/v1/tasks/${id}/events`);
    assert.ok(!(await replayed.text()).includes('hunter2'));
  });

  it('masks the KEYs a node lists in `secrets`', async () => {
    const listed = await post(
      server.url,
      doc([['connect', 'nil', ['user=admin', 'host=db'], { secrets: ['user'] }]]),
    );
    assert.equal(listed.status, 202, listed.body.message);
    const run = await waitForRun(server.url, listed.body.id);
    assert.deepEqual(run.nodes[0].args, ['user=***', 'host=db']);
    assert.deepEqual(
      (run.nodes[0] as { secrets?: string[] }).secrets,
      ['user'],
      'the list is shown',
    );
  });

  it('masks run inputs with secret names, and the values that went into secret args', async () => {
    const res = await fetch(
      `${server.url}/v1/tasks?input=db_password=hunter2&input=account=s3cr3t-account`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          doc(
            [
              [
                'migrate',
                'nil',
                ['conn=postgres://app:{{inputs.db_password}}@db', 'key={{inputs.account}}'],
                { secrets: ['key'] },
              ],
            ],
            [],
            {
              inputs: { db_password: {}, account: {}, region: { default: 'eu-west-1' } },
            },
          ),
        ),
      },
    );
    const body = (await res.json()) as { id: string; message: string };
    assert.equal(res.status, 202, body.message);
    const run = await waitForRun(server.url, body.id);
    assert.deepEqual(run.nodes[0].args, ['conn=postgres://app:***@db', 'key=***']);
    assert.deepEqual(run.values, {
      db_password: '***',
      account: '***',
      region: 'eu-west-1',
    });
    const text = JSON.stringify(run);
    assert.ok(!text.includes('hunter2') && !text.includes('s3cr3t-account'), text);
  });

  it('never writes the secret to the server log', () => {
    const log = lines.join('');
    assert.ok(log.includes('request completed'), 'the log was captured');
    assert.ok(!log.includes('hunter2'), 'not even from ?input=db_password=hunter2 in a URL');
    assert.ok(!log.includes('k3y-v4lue'));
    assert.ok(log.includes('input=db_password=***'), 'the URL is logged, scrubbed');
  });
});

describe('masking rules', () => {
  it('recognises secret KEYs by name', () => {
    for (const key of [
      'password',
      'DB_PASSWORD',
      'pass',
      'secret',
      'client_secret',
      'token',
      'GITHUB_TOKEN',
      'api_key',
      'apikey',
      'API-KEY',
      'private_key',
      'privateKey',
    ]) {
      assert.ok(SECRET_KEY.test(key), key);
    }
    for (const key of ['user', 'db', 'port', 'host', 'key', 'ip_address']) {
      assert.ok(!SECRET_KEY.test(key), key);
    }
  });

  it('masks the KEYs a node lists in `secrets`, read defensively', () => {
    const node = {
      args: ['user=admin', 'port=5432', 'plain', 'x=get_attribute a:b'],
      secrets: ['user', 'x', 7],
    };
    const hidden = nodeSecrets(node);
    assert.deepEqual(hidden.args, ['user=***', 'port=5432', 'plain', 'x=***']);
    assert.deepEqual(hidden.values, ['admin'], 'a get_attribute reference is not a value');
    assert.deepEqual(nodeSecrets({ args: ['a=1'], secrets: 'user' }).args, ['a=1']);
    assert.deepEqual(nodeSecrets(null).args, []);
    const plain = ['a=1'];
    assert.equal(nodeSecrets({ args: plain }).args, plain, 'nothing to mask: no copy');
  });

  it('scrubs values of 4 characters or more from texts, longest first', () => {
    const hidden = nodeSecrets({ args: ['password=abc', 'token=hunter2', 'secret=hunter2-long'] });
    assert.deepEqual(hidden.values, ['hunter2-long', 'hunter2']);
    assert.equal(
      scrub('failed with hunter2-long and hunter2 and abc', hidden.values),
      'failed with *** and *** and abc',
    );
  });

  it('masks secret outputs', () => {
    const listed = new Set(['ip']);
    assert.deepEqual(
      maskOutputs({ ip: '10.0.0.1', password: 'x', token: '', name: 'web' }, listed),
      {
        ip: MASK,
        password: MASK,
        token: '',
        name: 'web',
      },
    );
  });

  it('scrubs state events of their node', () => {
    const scrubEvent = eventScrubber(
      JSON.stringify({ nodes: [{ args: ['password=hunter2'] }, { args: ['token=other-one'] }] }),
    );
    assert.ok(scrubEvent);
    const event = { run: 'r', node: 0, state: 4, error: 'bad hunter2', time: 1 };
    assert.equal(scrubEvent(event).error, 'bad ***');
    assert.equal(scrubEvent({ ...event, node: 1 }).error, 'bad hunter2', 'not its own secret');
    assert.equal(scrubEvent({ ...event, node: undefined, error: 'other-one' }).error, '***');
    const quiet = { run: 'r', state: 3, time: 1 };
    assert.equal(scrubEvent(quiet), quiet);
    assert.equal(eventScrubber(JSON.stringify({ nodes: [{ args: ['port=80'] }] })), null);
  });

  it('masks a stored document that lists `secrets` (once the parser keeps the field)', () => {
    const run: RunRecord = {
      id: 'r',
      name: 'n',
      state: State.failure,
      document: JSON.stringify({
        name: 'n',
        edges: [],
        nodes: [
          {
            id: 0,
            name: 'a',
            target: '',
            engine: 'shell',
            artifact: 'x.sh',
            args: ['user=admin', 'host=db'],
            output: { session: '' },
            secrets: ['user', 'session'],
          },
        ],
      }),
      nodeCount: 1,
      createdAt: 0,
      startedAt: 0,
      stoppedAt: 1,
      error: 'node a failed: admin refused',
    };
    const nodes: NodeRecord[] = [
      {
        node: 0,
        state: State.failure,
        attempts: 1,
        startedAt: 0,
        stoppedAt: 1,
        output: { session: 's3ss10n' },
        error: 'login admin refused',
        executor: null,
        taskId: null,
      },
    ];
    const detail = detailOf(run, nodes);
    assert.deepEqual(detail.nodes[0].args, ['user=***', 'host=db']);
    assert.deepEqual(detail.nodes[0].output, { session: '***' });
    assert.equal(detail.nodes[0].error, 'login *** refused');
    assert.equal(detail.error, 'node a failed: *** refused');
  });

  it("masks a document shown without a run (a schedule's)", () => {
    const shown = maskedDocument(
      JSON.stringify({
        name: 'nightly',
        inputs: { api_token: { default: 'abcd-1234' } },
        values: { api_token: 'abcd-1234' },
        nodes: [{ id: 0, name: 'a', args: ['token=abcd-1234', 'url=https://x?t=abcd-1234'] }],
      }),
    );
    assert.deepEqual(shown.inputs, { api_token: { default: MASK } });
    assert.deepEqual(shown.values, { api_token: MASK });
    assert.deepEqual((shown.nodes as Array<{ args: string[] }>)[0].args, [
      'token=***',
      'url=https://x?t=***',
    ]);
  });

  it('redacts credentials and args from log lines', () => {
    const lines: string[] = [];
    const logger = redactingLogger(
      pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    );
    logger.info(
      {
        req: { headers: { authorization: 'Bearer t0ken' } },
        node: { args: ['password=hunter2'] },
        args: ['x'],
        error: 'sleep: got "db_password=hunter2", port=80',
        nested: { list: ['API_KEY=hunter2&x=1'] },
        err: new TypeError('login with token=hunter2 refused'),
      },
      'line',
    );
    const text = lines.join('');
    assert.ok(!text.includes('t0ken') && !text.includes('hunter2'), text);
    const line = JSON.parse(text) as Record<string, { type?: string; message?: string }>;
    assert.equal(line.error as unknown, 'sleep: got "db_password=***", port=80');
    assert.deepEqual(line.nested as unknown, { list: ['API_KEY=***&x=1'] });
    assert.equal(line.err.type, 'TypeError', 'the error keeps its class');
    assert.equal(line.err.message, 'login with token=*** refused');
    assert.ok(REDACTED_LOG_PATHS.includes('req.headers.authorization'));
    assert.equal(scrubAssignments('a=1 secret=s3 b=2'), 'a=1 secret=*** b=2');
  });
});
