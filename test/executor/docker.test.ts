/**
 * The docker engine against a real Docker daemon (test/support/docker.ts: a private dockerd
 * and a busybox image imported without a registry): outputs, failures, cancel and timeout
 * removing the container, limits, missing and refused images.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DockerEngine } from '../../src/executor/docker/engine.ts';
import { LABEL_TASK } from '../../src/executor/docker/spec.ts';
import type { GorchNode } from '../../src/graph/model.ts';
import { State } from '../../src/graph/states.ts';
import { startTestDocker, TEST_IMAGE, type TestDocker } from '../support/docker.ts';
import { doc, post, startTestServer, waitForRun } from '../support/server.ts';
import { freshKey, harness, node, tempDir, until } from './helpers.ts';

function dockerNode(args: string[], fields: Partial<GorchNode> = {}): GorchNode {
  return node({ engine: 'docker', artifact: TEST_IMAGE, args, ...fields });
}

/** The containers of a task, as the daemon lists them. */
async function containersOf(engine: DockerEngine, taskId: string) {
  return engine.list(`${LABEL_TASK}=${taskId}`);
}

describe('docker engine', () => {
  let docker: TestDocker;
  before(async () => {
    docker = await startTestDocker();
  });
  after(async () => {
    await docker?.stop();
  });

  it('runs the args as the command, env args as variables, and captures declared outputs', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    const status = await h.run(
      dockerNode(
        [
          'GREETING=hello  world',
          '/bin/sh',
          '-c',
          'echo "ip=10.9.8.7"; echo "said=$GREETING"; echo "args=$#:$0"; echo warming up >&2',
          'arg zero',
        ],
        { env: ['GREETING'], output: { ip: '', said: '', args: '' } },
      ),
    );
    assert.equal(status.state, State.success, status.error ?? '');
    assert.deepEqual(status.output, { ip: '10.9.8.7', said: 'hello  world', args: '0:arg zero' });
    assert.equal(status.exit_code, 0);
    const log = await h.client.log(status.id);
    assert.match(log, /said=hello {2}world/);
    assert.match(log, /warming up/);
    assert.deepEqual(await containersOf(docker.engine, status.id), [], 'container left behind');
  });

  it('fails with the image, the exit code and the last stderr line; outputs are not read from stderr', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    const status = await h.run(
      dockerNode(
        ['/bin/sh', '-c', 'echo ip=1 >&2; echo first >&2; echo disk on fire >&2; exit 3'],
        {
          output: { ip: '' },
        },
      ),
    );
    assert.equal(status.state, State.failure);
    assert.equal(status.exit_code, 3);
    assert.equal(status.error, `image "${TEST_IMAGE}" exited with code 3: disk on fire`);
    assert.deepEqual(status.output, {});
    assert.deepEqual(await containersOf(docker.engine, status.id), []);
  });

  it('cancel stops the container and removes it', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    // sh as PID 1 ignores SIGTERM: the kill after the grace period ends it
    const { id } = await h.client.submit(
      dockerNode(['/bin/sh', '-c', 'echo started; while true; do sleep 1; done']),
      freshKey(),
    );
    await until(
      async () => (await containersOf(docker.engine, id)).some((c) => c.status === 'running'),
      'the container to run',
      60_000,
    );
    const status = await h.client.cancel(id);
    assert.equal(status.state, State.canceled);
    assert.deepEqual(await containersOf(docker.engine, id), [], 'canceled container not removed');
    assert.match(await h.client.log(id), /started/);
  });

  it('a cancel sends SIGTERM first: a container that handles it ends on its own', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    const { id } = await h.client.submit(
      dockerNode([
        '/bin/sh',
        '-c',
        'trap "echo got TERM; exit 0" TERM; echo ready; while true; do sleep 1; done',
      ]),
      freshKey(),
    );
    // "ready" comes after the trap is set: the signal cannot arrive before it
    await until(async () => /ready/.test(await h.client.log(id)), 'the trap to be set', 60_000);
    const status = await h.client.cancel(id);
    assert.equal(status.state, State.canceled);
    assert.match(await h.client.log(id), /got TERM/);
    assert.deepEqual(await containersOf(docker.engine, id), []);
  });

  it('a timeout stops the container and removes it', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    // The same stop as a cancel (above); on a loaded machine a 1 s timeout may fire before
    // the shell has set a trap, so this asserts only what holds either way.
    const status = await h.run(
      dockerNode(['/bin/sh', '-c', 'while true; do sleep 1; done'], { timeout: 1 }),
      60,
    );
    assert.equal(status.state, State.timeout);
    assert.match(status.error ?? '', /timed out after 1 s/);
    assert.deepEqual(await containersOf(docker.engine, status.id), []);
  });

  it('applies the limits: memory, cpus, user, read-only root, no network by default', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    const script = [
      'echo "user=$(id -u):$(id -g)"',
      'if touch /probe 2>/dev/null; then echo rootfs=writable; else echo rootfs=read-only; fi',
      'echo "nets=$(ls /sys/class/net | tr "\\n" " ")"',
      // cgroup v2, else v1
      'echo "memory=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
      'echo "cpu=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"',
    ].join('; ');
    const status = await h.run(
      dockerNode(['/bin/sh', '-c', script], {
        resources: { cpus: 0.5, memory: '64m' },
        container: { user: '1000:1000', read_only: true },
        output: { user: '', rootfs: '', nets: '', memory: '', cpu: '' },
      }),
    );
    assert.equal(status.state, State.success, status.error ?? '');
    assert.equal(status.output.user, '1000:1000');
    assert.equal(status.output.rootfs, 'read-only');
    assert.equal(status.output.nets.trim(), 'lo');
    assert.equal(status.output.memory, String(64 * 1024 * 1024));
    assert.match(status.output.cpu, /^50000( 100000)?$/);
  });

  it('a missing image that cannot be pulled fails the node, naming the image', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    // .invalid never resolves (RFC 2606): the pull fails at once, network or not
    const image = 'registry.invalid/baton/missing:1';
    const status = await h.run(node({ engine: 'docker', artifact: image, args: ['true'] }));
    assert.equal(status.state, State.failure);
    assert.match(status.error ?? '', /^cannot pull image "registry\.invalid\/baton\/missing:1": /);
    const never = await h.run(
      node({ engine: 'docker', artifact: image, container: { pull: 'never' } }),
    );
    assert.equal(
      never.error,
      `image "${image}" is not on the Docker daemon and container.pull is "never"`,
    );
  });

  it('refuses an image outside the allowlist before anything is pulled or created', async (t) => {
    const h = await harness(t, {
      docker: { host: docker.host, allow: ['registry.example/*', 'baton-test/busybox:*'] },
    });
    const refused = await h.run(
      node({ engine: 'docker', artifact: 'evil.example/miner:latest', args: ['true'] }),
    );
    assert.equal(refused.state, State.failure);
    assert.equal(
      refused.error,
      'image "evil.example/miner:latest" is not allowed on this executor ' +
        '(--docker-allow: registry.example/*, baton-test/busybox:*)',
    );
    assert.deepEqual(await containersOf(docker.engine, refused.id), []);
    const allowed = await h.run(dockerNode(['true']));
    assert.equal(allowed.state, State.success, allowed.error ?? '');
  });

  it('refuses a node asking for the host network, naming the field', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    const status = await h.run(dockerNode(['true'], { container: { network: 'host' } }));
    assert.equal(status.state, State.failure);
    assert.match(
      status.error ?? '',
      /^container\.network: .*host and container: modes are refused/,
    );
  });

  it('a command missing from the image fails the node with the daemon’s reason', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    const status = await h.run(dockerNode(['/bin/no-such-program']));
    assert.equal(status.state, State.failure);
    assert.match(status.error ?? '', /^docker: .*no-such-program/);
    assert.deepEqual(await containersOf(docker.engine, status.id), []);
  });

  it('is not offered when no daemon answers', async (t) => {
    const h = await harness(t, { docker: { host: 'unix:///nonexistent/docker.sock' } });
    await assert.rejects(
      h.client.submit(dockerNode(['true']), freshKey()),
      /unknown engine "docker"; known engines: nil, sleep, shell, ssh, toscassh, ansible, http$/,
    );
  });

  it('in a run: outputs reach a downstream container through get_attribute; the API serves the log', async (t) => {
    const h = await harness(t, { docker: { host: docker.host } });
    const data = await tempDir(t, 'baton-orch-');
    const server = await startTestServer({
      dataDir: data,
      executors: [{ name: 'default', url: h.executor.url }],
    });
    t.after(() => server.close());
    const { status, body } = await post(
      server.url,
      doc(
        [
          [
            'produce',
            'docker',
            ['/bin/sh', '-c', 'echo ip=10.1.1.1; echo hello from the container'],
            { artifact: TEST_IMAGE, output: { ip: '' } },
          ],
          [
            'consume',
            'docker',
            ['IP=get_attribute produce:ip', '/bin/sh', '-c', 'echo "got=$IP"'],
            { artifact: TEST_IMAGE, env: ['IP'], output: { got: '' } },
          ],
        ],
        [[0, 1]],
      ),
    );
    assert.equal(status, 202, JSON.stringify(body));
    const run = await waitForRun(server.url, body.id, undefined, 120_000);
    assert.equal(run.state, State.success, JSON.stringify(run.nodes.map((n) => n.error)));
    assert.deepEqual(run.nodes[1].output, { got: '10.1.1.1' });
    const log = await fetch(`${server.url}/v1/tasks/${body.id}/nodes/0/log`);
    assert.equal(log.status, 200);
    assert.match(await log.text(), /hello from the container/);
  });
});
