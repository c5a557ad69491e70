/** The demo artifacts in examples/artifacts run as their comments say. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { State } from '../../src/graph/states.ts';
import { startSshd } from '../support/sshd.ts';
import { harness, node } from './helpers.ts';

const root = fileURLToPath(new URL('../../examples/artifacts', import.meta.url));

test('examples/artifacts: every demo artifact runs with its engine', async (t) => {
  const sshd = await startSshd();
  t.after(() => sshd.stop());
  const h = await harness(t, { root, sshConfig: sshd.configPath });
  const [vm, install, env, fail, playbook] = await Promise.all([
    h.run(
      node({ engine: 'shell', artifact: 'create_vm.sh', args: ['name=web'], output: { ip: '' } }),
    ),
    h.run(
      node({
        engine: 'shell',
        artifact: 'install.sh',
        args: ['ip=10.0.0.7', 'port=8080'],
        output: { url: '' },
      }),
    ),
    h.run(
      node({
        engine: 'toscassh',
        target: 'test',
        artifact: 'report_env.sh',
        args: ['GREETING=hello'],
        output: { message: '' },
      }),
    ),
    h.run(node({ engine: 'shell', artifact: 'fail.sh' })),
    h.run(
      node({
        engine: 'ansible',
        target: 'localhost',
        artifact: 'playbook.yml',
        args: ['port=8080'],
        output: { ip: '', port: '' },
      }),
      60,
    ),
  ]);
  assert.equal(vm.state, State.success, vm.error ?? '');
  assert.match(vm.output.ip, /^10\.0\.0\.\d+$/);
  assert.deepEqual(install.output, { url: 'http://10.0.0.7:8080/' });
  assert.match(env.output.message ?? '', /^hello from /);
  assert.equal(fail.state, State.failure);
  assert.equal(fail.error, 'exited with code 3: something went wrong');
  assert.deepEqual(playbook.output, { ip: 'localhost', port: '8080' });
});
