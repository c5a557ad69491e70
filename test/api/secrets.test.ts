/**
 * Secret args are masked on the way out (src/api/secrets.ts): GET, DELETE and retry answers,
 * the SSE stream and the server log never show them, while the task itself still gets the
 * real value. A task given `password=hunter2` fails with an error that quotes it (refuse.sh
 * prints its args on stderr), which makes the value appear in a node error, a state event and
 * the task's log.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import {
  attemptErrorScrubbed,
  censorLogFields,
  eventScrubber,
  MASK,
  maskedDocument,
  maskOutputs,
  nodeSecrets,
  REDACTED_LOG_PATHS,
  redactingLogger,
  Scrubber,
  SECRET_KEY,
  scrub,
  scrubAssignments,
  scrubText,
  urlForLog,
} from '../../src/api/secrets.ts';
import { detailOf } from '../../src/api/tasks.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { parseDocument } from '../../src/graph/parse.ts';
import { State } from '../../src/graph/states.ts';
import { resolveArgs } from '../../src/orchestrator/attributes.ts';
import type { NodeRecord, RunRecord } from '../../src/store/store.ts';
import { baton, exited, type Service, serve, spawnService } from '../support/cli.ts';
import { type RefusingExecutor, refusing, startRefusingExecutor } from '../support/failing-task.ts';
import { doc, getRun, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';
import { tlsExecutor } from '../support/tls-executor.ts';

describe('secret args through the API', () => {
  const dir = tempDir('baton-secrets-');
  const lines: string[] = [];
  let server: RunningServer;
  let executor: RefusingExecutor;
  let id: string;
  before(async () => {
    // trace: every line the server can write, request logs included
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    executor = await startRefusingExecutor();
    server = await startTestServer({ dataDir: dir.path, logger, executors: executor.executors });
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
          ['login', 'shell', [], refusing(['password=hunter2'])],
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
    await executor.close();
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
      'exited with code 1: refused: password=***',
      'the error quoting the arg is scrubbed',
    );
    assert.ok(!JSON.stringify(run).includes('hunter2'));
    assert.ok(!JSON.stringify(run).includes('k3y-v4lue'));
  });

  it('keeps the real value for dispatch, and records the error already scrubbed', async () => {
    const stored = JSON.parse((await server.store.getRun(id))!.document) as {
      nodes: Array<{ args: string[] }>;
    };
    assert.deepEqual(stored.nodes[1].args[0], 'password=hunter2');
    const nodes = await server.store.getNodes(id);
    assert.equal(
      nodes[2].error,
      'exited with code 1: refused: password=***',
      'the orchestrator scrubs the error before it records, publishes or logs it',
    );
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
          ['login', 'shell', [], refusing(['password=hunter2'])],
        ],
        [[0, 1]],
      ),
    );
    const res = await fetch(`${server.url}/v1/tasks/${again.body.id}/events`);
    const stream = await res.text(); // ends with the run's final state
    assert.match(stream, /event: snapshot/);
    assert.match(stream, /exited with code 1: refused: password=\*\*\*/);
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

describe('secret outputs through the real `baton serve` and `baton executor`', () => {
  // `mint` prints `api_token=s3cr3t` (a declared output with a secret name) once the test has
  // subscribed to the run's events; `use` gets it through `get_attribute` under a name that
  // does not look secret, echoes it, quotes it in its error and fails. The value must come out
  // nowhere: GET, SSE, node logs, `baton show`, the server's and the executor's own output.
  const SECRET = 's3cr3t';
  const dir = tempDir('baton-secret-outputs-');
  const services: Service[] = [];
  let server: Service;
  let executor: Service;
  let id: string;
  let stream: string;
  const gate = join(dir.path, 'gate');
  const seen = join(dir.path, 'seen');
  before(async () => {
    const { certs, args } = await tlsExecutor(dir.path, {
      'mint.sh': `#!/bin/sh\nwhile [ ! -e "$1" ]; do sleep 0.05; done\necho "minting"\necho "api_token=${SECRET}"\n`,
      'use.sh':
        '#!/bin/sh\nprintf "%s\\n" "$1" > "$2"\necho "logging in with $1"\necho "login refused for $1" >&2\nexit 3\n',
    });
    executor = await spawnService([...args, '--port', '0']);
    services.push(executor);
    server = await serve(dir.path, ['--executor', `default=${executor.url}`, '--tls', certs]);
    services.push(server);
    const res = await fetch(`${server.url}/v1/tasks?input=account=acc-0123456`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'secret-outputs',
        inputs: { account: {} },
        nodes: [
          {
            id: 0,
            name: 'mint',
            engine: 'shell',
            artifact: 'mint.sh',
            args: [gate],
            output: { api_token: '' },
          },
          {
            id: 1,
            name: 'use',
            engine: 'shell',
            artifact: 'use.sh',
            args: ['auth=get_attribute mint:api_token', seen],
          },
          {
            id: 2,
            name: 'connect',
            engine: 'nil',
            args: [
              'DATABASE_URL=postgres://app:pg-pa55@db/app',
              'backup=s3://ak:b4ckup-pw@bucket/x',
              'acct={{inputs.account}}',
            ],
            secrets: ['acct'],
          },
        ],
        edges: [[0, 1]],
      }),
    });
    const body = (await res.json()) as { id: string; message?: string };
    assert.equal(res.status, 202, body.message);
    id = body.id;
    const events = await fetch(`${server.url}/v1/tasks/${id}/events`);
    const reading = events.text(); // ends with the run's final state
    writeFileSync(gate, '');
    stream = await reading;
  });
  after(async () => {
    for (const s of services) s.child.kill('SIGKILL');
    await Promise.all(services.map((s) => exited(s.child)));
    dir.remove();
  });

  it('the task got the real value, and GET shows it nowhere', async () => {
    assert.equal(readFileSync(seen, 'utf8'), `auth=${SECRET}\n`, 'the task saw the real value');
    const run = await getRun(server.url, id);
    assert.equal(run.state, State.failure);
    assert.deepEqual(run.nodes[0].output, { api_token: MASK });
    assert.equal(run.nodes[1].state, State.failure);
    assert.equal(run.nodes[1].error, 'exited with code 3: login refused for auth=***');
    assert.deepEqual(run.nodes[2].args, [
      'DATABASE_URL=***',
      'backup=s3://ak:***@bucket/x',
      'acct=***',
    ]);
    const text = JSON.stringify(run);
    for (const secret of [SECRET, 'pg-pa55', 'b4ckup-pw', 'acc-0123456']) {
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });

  it('keeps it out of the SSE stream', () => {
    assert.match(stream, /login refused for auth=\*\*\*/, stream);
    assert.ok(!stream.includes(SECRET), stream);
  });

  it("keeps it out of the producing and the consuming node's logs", async () => {
    const minted = await (await fetch(`${server.url}/v1/tasks/${id}/nodes/0/log`)).text();
    assert.match(minted, /minting/);
    assert.match(minted, /api_token=\*\*\*/);
    const used = await (await fetch(`${server.url}/v1/tasks/${id}/nodes/1/log`)).text();
    assert.match(used, /logging in with auth=\*\*\*/);
    assert.ok(!minted.includes(SECRET) && !used.includes(SECRET), `${minted}\n${used}`);
  });

  it('keeps it out of `baton show` and `baton logs`', async () => {
    const shown = await baton(['show', id, '--server', server.url]);
    assert.match(shown.stdout, /login refused for auth=\*\*\*/, shown.stderr);
    const logs = await baton(['logs', id, 'use', '--server', server.url]);
    assert.match(logs.stdout, /logging in with auth=\*\*\*/, logs.stderr);
    for (const out of [shown.stdout, shown.stderr, logs.stdout, logs.stderr]) {
      assert.ok(!out.includes(SECRET), out);
    }
  });

  it("keeps it out of the server's and the executor's own log", async () => {
    // a request after the run ended, so its lines are all written
    await fetch(`${server.url}/v1/tasks/${id}`);
    const log = server.log();
    assert.match(log, /attempt ended/, 'the log was captured');
    assert.match(log, /input=account=\*\*\*/, 'the request URL is logged, its input value masked');
    for (const secret of [SECRET, 'pg-pa55', 'b4ckup-pw', 'acc-0123456']) {
      assert.ok(!log.includes(secret), `${secret} in the server log:\n${log}`);
      assert.ok(!executor.log().includes(secret), `${secret} in the executor log`);
    }
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

  it("scrubs state events of the run's secrets, whichever node they came from", () => {
    const scrubEvent = eventScrubber(
      JSON.stringify({
        nodes: [
          { name: 'a', args: ['password=hunter2'], output: { api_token: '' } },
          { name: 'b', args: ['token=other-one', 'x=get_attribute a:api_token'] },
        ],
      }),
      [{ output: { api_token: 'minted-t0ken' } }, undefined],
    );
    const event = { run: 'r', node: 0, state: 4, error: 'bad hunter2', time: 1 };
    assert.equal(scrubEvent(event).error, 'bad ***');
    assert.equal(scrubEvent({ ...event, node: 1 }).error, 'bad ***', "another node's secret");
    assert.equal(scrubEvent({ ...event, node: 1, error: 'got minted-t0ken' }).error, 'got ***');
    assert.equal(scrubEvent({ ...event, node: undefined, error: 'other-one' }).error, '***');
    const quiet = { run: 'r', state: 3, time: 1 };
    assert.equal(scrubEvent(quiet), quiet);
    const plain = eventScrubber(JSON.stringify({ nodes: [{ args: ['port=80'] }] }));
    assert.equal(plain(event), event);
    assert.equal(plain({ ...event, error: 'got user=abc' }).error, 'got user=abc');
    assert.equal(plain({ ...event, error: 'got db_pwd=abc' }).error, 'got db_pwd=***');
  });

  it('recognises the names operators give secrets', () => {
    for (const key of [
      'DB_PWD',
      'db-pwd',
      'SMTP_PASS',
      'SSH_KEY',
      'ENCRYPTION_KEY',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'credentials',
      'DATABASE_URL',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'passphrase',
    ]) {
      assert.ok(SECRET_KEY.test(key), key);
    }
    for (const key of ['keyboard', 'monkey', 'KEY_NAME', 'url', 'SERVICE_URL']) {
      assert.ok(!SECRET_KEY.test(key), key);
    }
  });

  it('masks the password of a URL with userinfo, in args, outputs and texts', () => {
    const hidden = nodeSecrets({
      args: [
        'conn=postgres://app:pg-pa55@db:5432/app',
        'mysql://root:r00t-pw@h',
        'u=https://x.io/a',
      ],
    });
    assert.deepEqual(hidden.args, [
      'conn=postgres://app:***@db:5432/app',
      'mysql://root:***@h',
      'u=https://x.io/a',
    ]);
    assert.deepEqual(hidden.values, ['pg-pa55', 'r00t-pw']);
    assert.deepEqual(
      maskOutputs({ url: 'amqp://guest:gu3st-pw@mq/', plain: 'http://u@h/' }, new Set()),
      {
        url: 'amqp://guest:***@mq/',
        plain: 'http://u@h/',
      },
    );
    assert.equal(
      scrubText('cannot connect to redis://:r3dis-pw@cache:6379 (refused); see https://docs/x?a=b'),
      'cannot connect to redis://:***@cache:6379 (refused); see https://docs/x?a=b',
    );
  });

  it('logs request URLs with every input value masked', () => {
    assert.equal(
      urlForLog('/v1/tasks?input=account=acc-0123&input=region%3Deu&dry=1&input=x'),
      '/v1/tasks?input=account=***&input=region%3D***&dry=1&input=***',
    );
    assert.equal(urlForLog('/v1/tasks?token=t0k3n'), '/v1/tasks?token=***');
    assert.equal(urlForLog('/v1/tasks/abc'), '/v1/tasks/abc');
  });

  it('scrubs many values through an index, longest first, in one read of the text', () => {
    const values = Array.from({ length: 5000 }, (_, i) => `secret-${i}`);
    const scrubber = new Scrubber([...values, 'secret-12-longer']);
    assert.equal(
      scrubber.scrub('a secret-12-longer, secret-4999 and secret-12 but not secret-x'),
      'a ***, *** and *** but not secret-x',
    );
    assert.equal(new Scrubber(['abc']).scrub('abc'), 'abc', 'too short to search for');
    // one read: a text of 200,000 characters against 5,000 values stays a cheap call
    const text = 'x'.repeat(200_000);
    assert.equal(scrubber.scrub(text), text);
  });

  it('scrubs an attempt error of what the node was given and produced', () => {
    const graph = parseDocument(
      {
        name: 'g',
        values: { db_password: 'in-put-pw' },
        inputs: { db_password: {} },
        nodes: [
          { id: 0, name: 'mint', engine: 'nil', output: { api_token: '', host: '' } },
          {
            id: 1,
            name: 'use',
            engine: 'nil',
            args: [
              'auth=get_attribute mint:api_token',
              'h=get_attribute mint:host',
              'password=p4ss-word',
            ],
            output: { session_key: '' },
          },
        ],
        edges: [[0, 1]],
      },
      { engines: new Set(['nil']) },
    );
    const outputs: Array<Record<string, string>> = [
      { api_token: 'minted-t0ken', host: 'db.local' },
      { session_key: 's3ssion' },
    ];
    const node = resolveArgs(graph, graph.nodes[1], outputs);
    assert.equal(
      attemptErrorScrubbed(
        graph,
        node,
        outputs,
        'login minted-t0ken p4ss-word in-put-pw s3ssion on db.local as token=abc',
      ),
      'login *** *** *** *** on db.local as token=***',
    );
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
  it('censors every REDACTED_LOG_PATHS field, in lines and in bindings, keeping classes', () => {
    const lines: string[] = [];
    const logger = redactingLogger(
      pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    );
    class Failure extends Error {
      body = 'password=in-a-body';
    }
    logger.info(
      {
        req: {
          headers: { authorization: 'a1', cookie: 'c1', 'proxy-authorization': 'p1', x: 'kept' },
        },
        headers: { authorization: 'a2', accept: 'kept' },
        authorization: 'a3',
        token: 't1',
        args: ['x1'],
        node: { args: ['x2'], name: 'kept' },
        nodes: [{ args: ['x3'], name: 'kept' }, 'plain'],
        document: { nodes: [] },
        run: { document: 'd1', body: 'b1', state: 'kept' },
        body: 'b2',
        err: new Failure('failed'),
      },
      'line',
    );
    logger.child({ args: ['x4'], run: 'kept' }).info('from a child');
    logger.child({ reqId: 'kept' }).child({ token: 'x5' }).info('from a grandchild');
    const [line, child, grandchild] = lines.map(
      (text) => JSON.parse(text) as Record<string, unknown>,
    );
    // the request serializer keeps no headers at all; a plain object's would be censored
    assert.equal((line.req as { headers?: unknown }).headers, undefined);
    assert.deepEqual(line.headers, { authorization: MASK, accept: 'kept' });
    for (const key of ['authorization', 'token', 'args', 'document', 'body']) {
      assert.equal(line[key], MASK, key);
    }
    assert.deepEqual(line.node, { args: MASK, name: 'kept' });
    assert.deepEqual(line.nodes, [{ args: MASK, name: 'kept' }, 'plain']);
    assert.deepEqual(line.run, { document: MASK, body: MASK, state: 'kept' });
    const err = line.err as { type: string; message: string; body: string };
    assert.deepEqual([err.type, err.message, err.body], ['Failure', 'failed', MASK]);
    assert.deepEqual([child.args, child.run], [MASK, 'kept']);
    assert.deepEqual([grandchild.token, grandchild.reqId], [MASK, 'kept']);
    for (const secret of [
      'a1',
      'c1',
      'p1',
      'a2',
      'a3',
      't1',
      'x1',
      'x2',
      'x3',
      'x4',
      'd1',
      'b1',
      'b2',
    ]) {
      assert.ok(!lines.join('').includes(`"${secret}"`), secret);
    }
    assert.ok(!lines.join('').includes('in-a-body'));
    assert.deepEqual(censorLogFields({ req: { headers: { cookie: 'c2', x: 'kept' } } }), {
      req: { headers: { cookie: MASK, x: 'kept' } },
    });
  });
});
