/** `baton run`, `validate`, `dot`, `mermaid` as a user runs them: the real binary, real server. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { type RefusingExecutor, refusing, startRefusingExecutor } from '../support/failing-task.ts';
import { doc, startTestServer, tempDir } from '../support/server.ts';
import { BATON, baton, CLEAN_ENV } from './helpers.ts';

const example = new URL('../../examples/gorch-example.json', import.meta.url).pathname;

// each test submits and reads only its own runs and files: several run at once
describe('baton CLI', { concurrency: 3 }, () => {
  const dir = tempDir();
  let server: RunningServer;
  let executor: RefusingExecutor;
  const file = (name: string, content: unknown) => {
    const path = join(dir.path, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  before(async () => {
    executor = await startRefusingExecutor();
    server = await startTestServer({
      dataDir: join(dir.path, 'data'),
      executors: executor.executors,
    });
  });
  after(async () => {
    await server.close();
    await executor.close();
    dir.remove();
  });

  it('run exits 0 on success and prints the run id', async () => {
    const res = await baton(['run', example, '--server', server.url]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout.trim(), /^[0-9a-f-]{36}$/);
  });

  it('run --watch prints every change and a summary', async () => {
    const res = await baton(['run', example, '--watch'], { env: { BATON_SERVER: server.url } });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^success\s+h\b/m);
    assert.match(res.stdout, /run [0-9a-f-]{36} success: success 8$/m);
  });

  it('run --watch shows changes made before the event stream opened', async () => {
    // a single nil node is done within a millisecond of being accepted
    const quick = file('quick.json', doc([['only', 'nil']]));
    const res = await baton(['run', quick, '--watch', '--server', server.url]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^success {5}only {2}\[success 1\]$/m);
    assert.match(res.stdout, /success: success 1$/m);
  });

  it('run exits 1 when the run fails', async () => {
    const failing = file(
      'fail.json',
      doc(
        [
          ['bad', 'shell', [], refusing(['never'])],
          ['next', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    const res = await baton(['run', failing, '--server', server.url, '--watch']);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /failure: .*failure 1, notrunnable 1/);
    // the summary: duration, then each failed node with its error
    assert.match(res.stdout, /^ {2}duration \d/m);
    assert.match(
      res.stdout,
      /^ {2}failure bad \(shell, 1 attempt, \S+\): exited with code 1: refused: never$/m,
    );
    // without --watch stdout holds only the id; the summary goes to stderr
    const quiet = await baton(['run', failing, '--server', server.url]);
    assert.equal(quiet.code, 1);
    assert.match(quiet.stdout.trim(), /^[0-9a-f-]{36}$/);
    assert.match(quiet.stderr, /^run [0-9a-f-]{36} failure: failure 1, notrunnable 1$/m);
    assert.match(quiet.stderr, /^ {2}failure bad /m);
  });

  it('run -o json prints only the finished run on stdout', async () => {
    const res = await baton(['run', example, '--server', server.url, '--watch', '-o', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const run = JSON.parse(res.stdout) as { id: string; state: number; nodes: unknown[] };
    assert.equal(run.state, State.success);
    assert.equal(run.nodes.length, 8);
    assert.match(res.stderr, new RegExp(`^${run.id}$`, 'm'), 'the id and progress on stderr');
    assert.match(res.stderr, /success: success 8$/m);
  });

  it('run --watch on a terminal redraws a live frame in place', async (t) => {
    if (!existsSync('/usr/bin/script')) return t.skip('needs script(1) for a pseudo-terminal');
    const slow = file(
      'slow.json',
      doc(
        [
          ['prepare', 'sleep', ['0.3']],
          ['build', 'sleep', ['1.2']],
          ['lint', 'shell', [], refusing(['oops'])],
        ],
        [
          [0, 1],
          [0, 2],
        ],
        { name: 'slow' },
      ),
    );
    const command = [process.execPath, BATON, 'run', slow, '--watch', '--server', server.url]
      .map((arg) => `'${arg}'`)
      .join(' ');
    // a terminal as a user has one: no colour variables forced either way
    const env: NodeJS.ProcessEnv = { ...process.env, ...CLEAN_ENV };
    delete env.FORCE_COLOR;
    delete env.NO_COLOR;
    // CI runs without a TERM, and Node then assumes a terminal without colours
    env.TERM = 'xterm-256color';
    delete env.CI;
    const output = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile('script', ['-qec', command, '/dev/null'], { env, timeout: 30_000 }, (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, text: stdout }),
      );
    });
    assert.equal(output.code, 1, output.text);
    const text = output.text;
    assert.ok(text.includes('\u001b[0J'), 'frames are erased and redrawn');
    assert.ok(text.includes('\u001b[32m'), 'states in colour on a terminal');
    const plain = stripVTControlCharacters(text);
    assert.match(plain, /slow {2}[█▒░]+ {2}\d\/3 {2}/, 'the bar with done/total');
    assert.match(plain, /running: build/, 'the running nodes');
    assert.match(
      plain,
      /failure lint: exited with code 1: refused: oops/,
      'failures are logged above the frame',
    );
    assert.match(plain, /run [0-9a-f-]{36} failure: success 2, failure 1\r?$/m);
  });

  it('run exits 2 on a rejected document with the server message', async () => {
    const cyclic = file(
      'cycle.json',
      doc(
        [
          ['a', 'nil'],
          ['b', 'nil'],
        ],
        [
          [0, 1],
          [1, 0],
        ],
      ),
    );
    const res = await baton(['run', cyclic, '--server', server.url]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /rejected: .*cycle: (a -> b -> a|b -> a -> b)/);
  });

  it('run exits 3 when the server cannot be reached', async () => {
    const res = await baton(['run', example, '--server', 'http://127.0.0.1:1']);
    assert.equal(res.code, 3);
    assert.match(res.stderr, /cannot reach the Baton server at http:\/\/127.0.0.1:1/);
  });

  it('validate checks a document locally', async () => {
    const ok = await baton(['validate', example]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /valid, 8 nodes, 9 edges/);
    const bad = await baton(['validate', file('bad.json', '{"nodes": [}')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.json: .*JSON/);
    const missing = await baton(['validate', join(dir.path, 'missing.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing\.json: ENOENT/);
  });

  it('validate knows the docker fields and names a bad one', async () => {
    const docker = (extra: object) =>
      JSON.stringify({
        edges: [],
        nodes: [{ id: 0, name: 'c', engine: 'docker', artifact: 'app:1', ...extra }],
      });
    const fields = {
      env: ['A'],
      resources: { cpus: 0.5, memory: '256m' },
      container: { network: 'none', read_only: true, user: '1000', pull: 'always' },
    };
    const ok = await baton(['validate', file('docker.json', docker(fields))]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await baton([
      'validate',
      file('docker-bad.json', docker({ resources: { cpus: 0.5, memroy: '1g' } })),
    ]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /nodes\[0\]\.resources\.memroy: expected no unknown field \(the fields are cpus, memory\)/,
    );
  });

  it('dot and mermaid print the graph', async () => {
    const dot = await baton(['dot', example]);
    assert.equal(dot.code, 0);
    assert.match(dot.stdout, /^digraph /);
    assert.equal((dot.stdout.match(/->/g) ?? []).length, 9);
    const mermaid = await baton(['mermaid', example]);
    assert.match(mermaid.stdout, /^flowchart LR$/m);
  });

  it('tosca converts a service template into a document run can take', async () => {
    const template = file(
      'app.yaml',
      [
        'tosca_definitions_version: tosca_simple_yaml_1_0',
        'topology_template:',
        '  inputs:',
        '    port: {type: integer, default: 80}',
        '  node_templates:',
        '    server:',
        '      type: tosca.nodes.Compute',
        '    web:',
        '      type: tosca.nodes.SoftwareComponent',
        '      requirements:',
        '        - host: server',
        '      interfaces:',
        '        Standard:',
        '          create:',
        '            implementation: install.sh',
        '            inputs:',
        '              port: {get_input: port}',
      ].join('\n'),
    );
    const res = await baton(['tosca', template, '--input', 'port=8080']);
    assert.equal(res.code, 0, res.stderr);
    const converted = JSON.parse(res.stdout) as {
      edges: number[][];
      nodes: Array<{ name: string; engine: string; target: string; args: string[] }>;
    };
    const web = converted.nodes.find((n) => n.engine === 'toscassh');
    assert.deepEqual(
      { target: web?.target, args: web?.args },
      { target: 'server', args: ['port=8080'] },
    );
    assert.deepEqual(converted.edges, [[0, 1]]);
    const valid = await baton(['validate', file('app.json', res.stdout)]);
    assert.equal(valid.code, 0, valid.stderr);
    const bad = await baton(['tosca', template, '--ops', 'bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown operation "bogus"/);
  });

  it('--help shows examples, unknown commands fail', async () => {
    const help = await baton(['run', '--help']);
    assert.match(
      help.stdout,
      /Exit codes: 0 success, 1 the run failed, 2 the document was rejected/,
    );
    const unknown = await baton(['frobnicate']);
    assert.notEqual(unknown.code, 0);
  });
});
