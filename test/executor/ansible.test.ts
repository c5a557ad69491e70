/** The ansible driver with the real ansible-playbook and a local connection. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { State } from '../../src/graph/states.ts';
import { harness, node } from './helpers.ts';

const PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - name: report an output
      ansible.builtin.debug:
        msg: "ip={{ address }}"
    - name: another one, from a command's stdout
      ansible.builtin.command:
        argv: [echo, "quoted=it's {{ tricky }}"]
      register: out
    - ansible.builtin.debug:
        msg: "{{ out.stdout }}"
`;

const FAILING = `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.fail:
        msg: "the database is down"
`;

test('ansible: a local playbook sets outputs through debug messages; args are extra vars', async (t) => {
  const h = await harness(t);
  await writeFile(path.join(h.root, 'site.yml'), PLAYBOOK);
  await writeFile(path.join(h.root, 'failing.yml'), FAILING);
  const tricky = `"double" $(echo nope) {braces} \\ back`;
  const [ok, failed] = await Promise.all([
    h.run(
      node({
        engine: 'ansible',
        target: 'localhost',
        artifact: 'site.yml',
        args: ['address=10.20.30.40', `tricky=${tricky}`],
        output: { ip: '', quoted: '' },
      }),
      60,
    ),
    h.run(node({ engine: 'ansible', target: 'local', artifact: 'failing.yml' }), 60),
  ]);
  assert.equal(ok.state, State.success, `${ok.error}\n${await h.client.log(ok.id)}`);
  assert.deepEqual(ok.output, { ip: '10.20.30.40', quoted: `it's ${tricky}` });
  assert.match(await h.client.log(ok.id), /PLAY RECAP/);

  assert.equal(failed.state, State.failure);
  assert.equal(failed.exit_code, 2);
  assert.match(await h.client.log(failed.id), /the database is down/);
});

test('ansible: a playbook outside the artifact root is refused', async (t) => {
  const h = await harness(t);
  const status = await h.run(
    node({ engine: 'ansible', target: 'localhost', artifact: '/etc/ansible/site.yml' }),
  );
  assert.equal(status.state, State.failure);
  assert.match(status.error ?? '', /absolute path/);
});
