/**
 * Orchestrator and executor talking mutual TLS on loopback, with real child processes:
 * outputs passing through get_attribute, cancel reaching the process, node logs, retry, and
 * executors that are down or not trusted.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTls, writeCerts } from '../../src/cli/certs.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/server.ts';
import { State } from '../../src/graph/states.ts';
import { writeScripts } from '../executor/helpers.ts';
import { doc, getRun, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';

const examples = new URL('../../examples/artifacts', import.meta.url).pathname;

describe('orchestrator with an executor over mutual TLS', () => {
  const dir = tempDir();
  const certs = join(dir.path, 'certs');
  const artifacts = join(dir.path, 'artifacts');
  let executor: RunningExecutor;
  let server: RunningServer;
  let url: string;

  before(async () => {
    await writeCerts(certs);
    mkdirSync(artifacts);
    await writeScripts(artifacts, {
      'create_vm.sh': readFileSync(join(examples, 'create_vm.sh'), 'utf8'),
      'install.sh': readFileSync(join(examples, 'install.sh'), 'utf8'),
      'long.sh': '#!/bin/sh\necho $$ > "$1"\nexec sleep 60\n',
      'flaky.sh':
        '#!/bin/sh\nif [ -e "$1" ]; then echo ok; exit 0; fi\ntouch "$1"\necho "first try fails" >&2\nexit 1\n',
    });
    executor = await startExecutor({
      host: '127.0.0.1',
      port: 0,
      name: 'default',
      dataDir: join(dir.path, 'executor'),
      artifactRoot: artifacts,
      tls: loadTls(certs, 'executor'),
    });
    assert.match(executor.url, /^https:/);
    server = await startTestServer({
      dataDir: join(dir.path, 'orchestrator'),
      executors: [{ name: 'default', url: executor.url }],
      tlsDir: certs,
    });
    url = server.url;
  });
  after(async () => {
    await server?.close();
    await executor?.close();
    dir.remove();
  });

  it('passes outputs downstream through get_attribute and serves node logs', async () => {
    const { status, body } = await post(
      url,
      doc(
        [
          ['vm', 'shell', ['name=web'], { artifact: 'create_vm.sh', output: { ip: '' } }],
          [
            'app',
            'shell',
            ['port=8080', 'ip=get_attribute vm:ip'],
            { artifact: 'install.sh', output: { url: '' } },
          ],
        ],
        [[0, 1]],
      ),
    );
    assert.equal(status, 202, JSON.stringify(body));
    const done = await waitForRun(url, body.id);
    assert.equal(done.state, State.success, JSON.stringify(done.nodes.map((n) => n.error)));
    const ip = done.nodes[0].output.ip;
    assert.match(ip, /^10\.0\.0\.\d+$/);
    assert.equal(done.nodes[1].output.url, `http://${ip}:8080/`);
    const log = await (await fetch(`${url}/v1/tasks/${body.id}/nodes/1/log`)).text();
    assert.match(log, new RegExp(`installing with: port=8080 ip=${ip.replaceAll('.', '\\.')}`));
    const missing = await fetch(`${url}/v1/tasks/${body.id}/nodes/7/log`);
    assert.equal(missing.status, 404);
  });

  it('cancel stops the process on the executor', async () => {
    const pidFile = join(dir.path, 'long.pid');
    const { body } = await post(url, doc([['long', 'shell', [pidFile], { artifact: 'long.sh' }]]));
    await waitForRun(
      url,
      body.id,
      (r) => r.nodes[0].state === State.running && existsSync(pidFile),
    );
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(alive(pid), 'the task process runs');
    assert.equal((await fetch(`${url}/v1/tasks/${body.id}`, { method: 'DELETE' })).status, 202);
    assert.equal((await getRun(url, body.id)).nodes[0].state, State.canceled);
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(pid), 'the executor killed the process');
  });

  it('a node timeout stops the task on the executor and marks the node timeout', async () => {
    const pidFile = join(dir.path, 'timeout.pid');
    const { body } = await post(
      url,
      doc([['slow', 'shell', [pidFile], { artifact: 'long.sh', timeout: 0.5 }]]),
    );
    const done = await waitForRun(url, body.id);
    assert.equal(done.nodes[0].state, State.timeout);
    assert.match(done.nodes[0].error!, /timed out after 0.5 s/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(pid), 'the executor killed the timed-out process');
  });

  it('retry re-runs a failed node on the executor', async () => {
    const marker = join(dir.path, 'flaky.marker');
    const { body } = await post(
      url,
      doc(
        [
          ['flaky', 'shell', [marker], { artifact: 'flaky.sh' }],
          ['next', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    const failed = await waitForRun(url, body.id);
    assert.equal(failed.state, State.failure);
    assert.match(failed.nodes[0].error!, /exit/);
    assert.equal(failed.nodes[1].state, State.notrunnable);
    assert.equal((await fetch(`${url}/v1/tasks/${body.id}/retry`, { method: 'POST' })).status, 202);
    const done = await waitForRun(url, body.id, (r) => r.state === State.success);
    assert.deepEqual(
      done.nodes.map((n) => n.state),
      [State.success, State.success],
    );
  });

  it('an artifact outside the root fails the node with a clear error', async () => {
    const { body } = await post(
      url,
      doc([['escape', 'shell', [], { artifact: '../../etc/passwd' }]]),
    );
    const done = await waitForRun(url, body.id);
    assert.equal(done.nodes[0].state, State.failure);
    assert.match(done.nodes[0].error!, /artifact/i);
  });
});

describe('orchestrator with executors that are down, untrusted or broken', () => {
  const dir = tempDir();
  let server: RunningServer;
  let stranger: RunningExecutor;
  // answers every connection with junk, then hangs up
  const garbage = createServer((socket) =>
    socket.end('\x16\x03\x01 this is not TLS nor HTTP\r\n\r\n'),
  );

  before(async () => {
    await writeCerts(join(dir.path, 'ours'));
    await writeCerts(join(dir.path, 'theirs'));
    mkdirSync(join(dir.path, 'artifacts'));
    await writeScripts(join(dir.path, 'artifacts'), { 'ok.sh': '#!/bin/sh\necho ok\n' });
    stranger = await startExecutor({
      host: '127.0.0.1',
      port: 0,
      name: 'stranger',
      dataDir: join(dir.path, 'stranger'),
      artifactRoot: join(dir.path, 'artifacts'),
      tls: loadTls(join(dir.path, 'theirs'), 'executor'),
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    const garbagePort = (garbage.address() as AddressInfo).port;
    server = await startTestServer({
      dataDir: join(dir.path, 'orchestrator'),
      executors: [
        { name: 'down', url: 'https://127.0.0.1:1' },
        { name: 'stranger', url: stranger.url },
        { name: 'garbage', url: `https://127.0.0.1:${garbagePort}` },
      ],
      tlsDir: join(dir.path, 'ours'),
    });
  });
  after(async () => {
    await server?.close();
    await stranger?.close();
    garbage.close();
    dir.remove();
  });

  it('gives the node a clear error and keeps running', async () => {
    const { body } = await post(
      server.url,
      doc([
        ['to-down', 'shell', [], { artifact: 'ok.sh', target: 'down' }],
        ['to-stranger', 'shell', [], { artifact: 'ok.sh', target: 'stranger' }],
        ['local', 'nil'],
      ]),
    );
    const done = await waitForRun(server.url, body.id);
    assert.deepEqual(
      done.nodes.map((n) => n.state),
      [State.failure, State.failure, State.success],
    );
    assert.match(done.nodes[0].error!, /127\.0\.0\.1:1.*(refused|connect)/i);
    assert.match(done.nodes[1].error!, /certificate|tls/i);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // a zombie (killed but not reaped in this sandbox) counts as dead
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
