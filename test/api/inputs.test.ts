/** Run inputs: declared in the document, given by query or body, substituted into args. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/cli/server.ts';
import { State } from '../../src/graph/states.ts';
import { post, startTestServer, tempDir, waitForRun } from '../support/server.ts';

const document = {
  name: 'deploy',
  inputs: { env: { default: 'staging' }, version: { description: 'what to deploy' } },
  edges: [],
  nodes: [
    { id: 0, name: 'ship', engine: 'nil', args: ['env={{inputs.env}}', 'v={{ inputs.version }}'] },
  ],
};

describe('run inputs', () => {
  const dir = tempDir();
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ dataDir: dir.path });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('substitutes values from the query string, with defaults for the rest', async () => {
    const res = await fetch(`${server.url}/v1/tasks?input=version=1.4.2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document),
    });
    assert.equal(res.status, 202);
    const run = await waitForRun(server.url, ((await res.json()) as { id: string }).id);
    assert.equal(run.state, State.success);
    assert.deepEqual(run.nodes[0].args, ['env=staging', 'v=1.4.2']);
    assert.deepEqual(run.values, { env: 'staging', version: '1.4.2' });
  });

  it('takes values from the body; the query wins over the body', async () => {
    const res = await fetch(`${server.url}/v1/tasks?input=env=prod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...document, values: { version: '2', env: 'qa' } }),
    });
    const run = await waitForRun(server.url, ((await res.json()) as { id: string }).id);
    assert.deepEqual(run.nodes[0].args, ['env=prod', 'v=2']);
  });

  it('rejects a missing required input, an undeclared one, and an unknown reference', async () => {
    const missing = await post(server.url, document);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.path, 'inputs.version');
    assert.match(
      missing.body.message,
      /required input "version" not given: pass \?input=version=VALUE/,
    );
    const undeclared = await post(server.url, {
      ...document,
      values: { version: '1', colour: 'red' },
    });
    assert.equal(undeclared.status, 400);
    assert.match(
      undeclared.body.message,
      /no input "colour" is declared \(declared: env, version\)/,
    );
    const unknown = await post(server.url, {
      ...document,
      values: { version: '1' },
      nodes: [{ id: 0, name: 'ship', engine: 'nil', args: ['x={{inputs.region}}'] }],
    });
    assert.equal(unknown.body.path, 'nodes[0].args[0]');
    const malformed = await fetch(`${server.url}/v1/tasks?input=oops`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document),
    });
    assert.equal(malformed.status, 400);
  });

  it('holds args to the limits after substitution, refusing before the strings are built', async () => {
    // 5,000 references to a 1 MiB value in one arg: 5 GiB once substituted (was a 500)
    const big = 'x'.repeat(1024 * 1024);
    const many = await post(server.url, {
      name: 'amplified',
      inputs: { a: {} },
      values: { a: big },
      edges: [],
      nodes: [{ id: 0, name: 'n', engine: 'nil', args: ['{{inputs.a}}'.repeat(5000)] }],
    });
    assert.equal(many.status, 400, many.body.message);
    assert.equal(many.body.path, 'nodes[0].args[0]');
    assert.match(
      many.body.message,
      /^nodes\[0\]\.args\[0\]: 5242880000 characters once \{\{inputs\.\*\}\} are substituted is over the limit of 65536$/,
    );
    // each arg under its limit, but 2,000 of them: 120 MB in all, over 64 MiB
    const value = 'y'.repeat(60_000);
    const wide = await post(server.url, {
      name: 'wide',
      inputs: { v: { default: value } },
      edges: [],
      nodes: [0, 1].map((id) => ({
        id,
        name: `n${id}`,
        engine: 'nil',
        args: new Array(1000).fill('{{inputs.v}}'),
      })),
    });
    assert.equal(wide.status, 400, wide.body.message);
    assert.equal(wide.body.path, 'nodes[1].args[118]');
    assert.match(wide.body.message, /over the limit of 67108864 for all args together$/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});
