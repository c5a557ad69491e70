/**
 * A real `baton executor` process killed (SIGKILL) while its task's container runs, then
 * started again on the same data directory: it finds the container by its label and name,
 * re-attaches to it if it still runs, records its exit code if it ended meanwhile, and fails
 * the task honestly if the container is gone. Never a second container for one task.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createExecutorClient } from '../../src/executor/client.ts';
import { LABEL_TASK } from '../../src/executor/docker/spec.ts';
import { State } from '../../src/graph/states.ts';
import { startTestDocker, TEST_IMAGE, type TestDocker } from '../support/docker.ts';
import { Processes } from '../support/processes.ts';
import { freshKey, node, tempDir, until } from './helpers.ts';

/** Waits for SIGUSR1, then prints `result=done` and exits with $1 (sh as PID 1 needs a trap). */
const WAIT_FOR_USR1 =
  'trap \'echo result=done; echo "ending with $0" >&2; exit $0\' USR1; echo started; while true; do sleep 1; done';

describe('docker engine: executor crash and restart mid-container', () => {
  let docker: TestDocker;
  before(async () => {
    docker = await startTestDocker();
  });
  after(async () => {
    await docker?.stop();
  });

  /** An executor process, killed and restarted by the test; the task's container id. */
  async function crashMidContainer(t: import('node:test').TestContext, exitCode: number) {
    const processes = new Processes();
    t.after(() => processes.killAll());
    const data = await tempDir(t, 'baton-data-');
    const artifacts = await tempDir(t, 'baton-art-');
    const args = [
      'executor',
      '--plain-http',
      '--data',
      data,
      '--artifacts',
      artifacts,
      '--docker-host',
      docker.host,
    ];
    const first = await processes.start(args);
    await until(() => /engines offered: .*docker/.test(first.output()), 'the engines logged');
    const client = createExecutorClient({ url: first.url });
    t.after(() => client.close());
    const { id } = await client.submit(
      node({
        engine: 'docker',
        artifact: TEST_IMAGE,
        args: ['/bin/sh', '-c', WAIT_FOR_USR1, String(exitCode)],
        output: { result: '' },
      }),
      freshKey(),
    );
    let containerId = '';
    await until(
      async () => {
        const [running] = await docker.engine.list(`${LABEL_TASK}=${id}`);
        containerId = running?.status === 'running' ? running.id : '';
        return containerId !== '';
      },
      'the container to run',
      60_000,
    );
    await first.kill();
    const restart = () => processes.start(args, { port: first.port });
    return { id, containerId, client, restart };
  }

  it('re-attaches to a container still running and reports its outcome', async (t) => {
    const { id, containerId, client, restart } = await crashMidContainer(t, 0);
    assert.equal((await docker.engine.inspect(containerId))?.status, 'running');
    await restart();
    // the restarted executor follows the container's log again, from its start
    await until(async () => /started/.test(await client.log(id)), 'the resumed log', 60_000);
    assert.equal((await client.wait(id, 0)).state, State.running);
    await docker.engine.kill(containerId, 'SIGUSR1');
    const status = await client.wait(id, 60);
    assert.equal(status.state, State.success, status.error ?? '');
    assert.deepEqual(status.output, { result: 'done' });
    assert.equal((await client.log(id)).match(/started/g)?.length, 1, 'the container ran twice');
    assert.deepEqual(await docker.engine.list(`${LABEL_TASK}=${id}`), []);
  });

  it('records the exit code of a container that ended while the executor was down', async (t) => {
    const { id, containerId, client, restart } = await crashMidContainer(t, 3);
    await docker.engine.kill(containerId, 'SIGUSR1');
    await until(
      async () => (await docker.engine.inspect(containerId))?.status === 'exited',
      'the container to exit',
      60_000,
    );
    await restart();
    const status = await client.wait(id, 60);
    assert.equal(status.state, State.failure);
    assert.equal(status.exit_code, 3);
    assert.equal(status.error, `image "${TEST_IMAGE}" exited with code 3: ending with 3`);
    assert.deepEqual(status.output, { result: 'done' });
    assert.deepEqual(await docker.engine.list(`${LABEL_TASK}=${id}`), []);
  });

  it('fails the task, without running it again, when its container is gone', async (t) => {
    const { id, containerId, client, restart } = await crashMidContainer(t, 0);
    await docker.engine.remove(containerId);
    await restart();
    const status = await client.wait(id, 60);
    assert.equal(status.state, State.failure);
    assert.match(status.error ?? '', /its container is gone: whether it finished is unknown/);
    assert.deepEqual(await docker.engine.list(`${LABEL_TASK}=${id}`), [], 'a second container');
  });
});
