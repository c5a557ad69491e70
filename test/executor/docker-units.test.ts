/** The docker driver's pure parts: the log stream demultiplexer, image patterns, the spec. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Demultiplexer, STDERR, STDOUT } from '../../src/executor/docker/demux.ts';
import { parseDockerHost } from '../../src/executor/docker/engine.ts';
import {
  containerSpec,
  imageAllowed,
  parseMemory,
  SpecError,
  taskLabels,
} from '../../src/executor/docker/spec.ts';
import { node } from './helpers.ts';

function frame(stream: number, text: string | Buffer): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function demux(chunks: Buffer[]): { out: string; err: string; complete: boolean } {
  const parts = { [STDOUT]: [] as Buffer[], [STDERR]: [] as Buffer[] };
  const d = new Demultiplexer((stream, payload) => {
    parts[stream as 1 | 2].push(Buffer.from(payload));
  });
  for (const chunk of chunks) d.write(chunk);
  return {
    out: Buffer.concat(parts[STDOUT]).toString(),
    err: Buffer.concat(parts[STDERR]).toString(),
    complete: d.complete,
  };
}

test('the demultiplexer keeps stdout and stderr apart however the stream is cut', () => {
  const big = Buffer.alloc(100_000, 'x');
  const stream = Buffer.concat([
    frame(STDOUT, 'ip=10.0.0.1\n'),
    frame(STDERR, 'warning\n'),
    frame(STDOUT, ''),
    frame(STDOUT, big),
    frame(STDERR, 'é\n'),
  ]);
  const expected = { out: `ip=10.0.0.1\n${big}`, err: 'warning\né\n', complete: true };
  assert.deepEqual(demux([stream]), expected);
  // every cut point of the small frames, headers included
  for (let cut = 1; cut < 40; cut++) {
    assert.deepEqual(
      demux([stream.subarray(0, cut), stream.subarray(cut)]),
      expected,
      `cut ${cut}`,
    );
  }
  // one byte at a time
  const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
  assert.deepEqual(demux(bytes), expected);
  // a stream ending inside a frame is reported incomplete
  assert.equal(demux([stream.subarray(0, 13)]).complete, false);
});

test('image patterns match the whole reference with its tag', () => {
  assert.ok(imageAllowed('anything/at:all', []));
  const allow = ['registry.example/*', 'busybox:1.*'];
  assert.ok(imageAllowed('registry.example/team/app:2', allow));
  assert.ok(imageAllowed('registry.example/app', allow));
  assert.ok(imageAllowed('busybox:1.36', allow));
  assert.ok(!imageAllowed('busybox', allow), 'busybox means busybox:latest');
  assert.ok(!imageAllowed('registry.example.evil.com/app:1', allow));
  assert.ok(!imageAllowed('evil.com/registry.example/app:1', allow));
  assert.ok(imageAllowed('localhost:5000/app', ['localhost:5000/app:latest']));
});

test('memory sizes use binary units', () => {
  assert.equal(parseMemory('256m'), 256 * 1024 ** 2);
  assert.equal(parseMemory('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseMemory('512k'), 512 * 1024);
  assert.equal(parseMemory('1000'), 1000);
  assert.equal(parseMemory('64MB'), 64 * 1024 ** 2);
  assert.equal(parseMemory('lots'), undefined);
  assert.equal(parseMemory('0'), undefined);
});

test('the container spec: env args anywhere, the rest argv; defaults are safe', () => {
  const spec = containerSpec(
    node({
      engine: 'docker',
      artifact: 'app:1',
      args: ['A=1', 'run', 'B=two words', 'C=not env'],
      env: ['A', 'B'],
    }),
    { l: 'v' },
  );
  assert.deepEqual(spec.config.Cmd, ['run', 'C=not env']);
  assert.deepEqual(spec.config.Env, ['A=1', 'B=two words']);
  assert.equal(spec.pull, 'if-not-present');
  assert.deepEqual(spec.config.HostConfig, { NetworkMode: 'none', ReadonlyRootfs: false });
  // no args: the image's own command
  assert.equal(
    containerSpec(node({ engine: 'docker', artifact: 'app' }), {}).config.Cmd,
    undefined,
  );
  const bad = (fields: object, message: RegExp) =>
    assert.throws(
      () => containerSpec(node({ engine: 'docker', artifact: 'app', ...fields }), {}),
      (err: Error) => err instanceof SpecError && message.test(err.message),
    );
  bad({ artifact: '' }, /^artifact: expected an image reference/);
  bad({ container: { network: 'container:abc' } }, /^container\.network: /);
  bad({ resources: { memory: '1 TB' } }, /^resources\.memory: expected a size such as "256m"/);
  bad({ resources: { cpus: 0 } }, /^resources\.cpus: expected a number > 0, got 0/);
  bad({ env: ['NOT-A-NAME'] }, /^env: expected variable names/);
  bad(
    { container: { pull: 'sometimes' } },
    /^container\.pull: expected one of if-not-present, always, never/,
  );
});

test('labels carry the task, the key and, for an orchestrator key, the run', () => {
  const n = node({ engine: 'docker', id: 4, name: 'build' });
  assert.deepEqual(taskLabels('t1', 'run-9/4/1/1700000000', n), {
    'baton.task': 't1',
    'baton.idempotency-key': 'run-9/4/1/1700000000',
    'baton.node': '4',
    'baton.node-name': 'build',
    'baton.run': 'run-9',
  });
  assert.equal(taskLabels('t1', 'my-key', n)['baton.run'], undefined);
});

test('docker hosts: unix sockets and tcp, anything else refused', () => {
  assert.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), {
    origin: 'http://docker',
    socketPath: '/var/run/docker.sock',
  });
  assert.deepEqual(parseDockerHost('tcp://10.0.0.5:2375'), { origin: 'http://10.0.0.5:2375' });
  assert.throws(
    () => parseDockerHost('ssh://box'),
    /expected unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/HOST:PORT/,
  );
});
