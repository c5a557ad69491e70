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
});
