/** `baton run`, `validate`, `dot`, `mermaid` as a user runs them: the real binary, real server. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { baton } from '../support/cli.ts';
import { doc, startTestServer, tempDir } from '../support/server.ts';

const example = new URL('../../examples/gorch-example.json', import.meta.url).pathname;

describe('baton CLI', () => {
  const dir = tempDir();
  let server: RunningServer;
  const file = (name: string, content: unknown) => {
    const path = join(dir.path, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  before(async () => {
    server = await startTestServer({ dataDir: join(dir.path, 'data') });
  });
  after(async () => {
    await server.close();
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

  it('run exits 1 when the run fails', async () => {
    const failing = file(
      'fail.json',
      doc(
        [
          ['bad', 'sleep', ['never']],
          ['next', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    const res = await baton(['run', failing, '--server', server.url, '--watch']);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /failure: .*failure 1, notrunnable 1/);
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

  it('dot and mermaid print the graph', async () => {
    const dot = await baton(['dot', example]);
    assert.equal(dot.code, 0);
    assert.match(dot.stdout, /^digraph /);
    assert.equal((dot.stdout.match(/->/g) ?? []).length, 9);
    const mermaid = await baton(['mermaid', example]);
    assert.match(mermaid.stdout, /^flowchart LR$/m);
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
