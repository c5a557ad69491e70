/** Every command explains itself: `--help` exits 0 and shows examples; usage errors exit 2. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { program } from '../../src/cli/main.ts';
import { baton } from './helpers.ts';

const commands = program()
  .commands.map((command) => command.name())
  .filter((name) => name !== 'help');

// each test starts the binary and only reads its output: several run at once
describe('baton --help', { concurrency: 4 }, () => {
  it('lists every command, the exit codes and the environment', async () => {
    const res = await baton(['--help']);
    assert.equal(res.code, 0);
    for (const name of commands) assert.match(res.stdout, new RegExp(`^  ${name}\\b`, 'm'));
    assert.match(res.stdout, /^Exit codes:\n {2}0 {2}success\n {2}1 {2}a run did not succeed/m);
    assert.match(res.stdout, /^ {2}2 {2}bad input/m);
    assert.match(res.stdout, /^ {2}3 {2}the server could not be reached/m);
    assert.match(res.stdout, /BATON_SERVER/);
    assert.match(res.stdout, /NO_COLOR/);
    assert.match(res.stdout, /^Examples:\n {2}baton /m);
  });

  it('has the commands the design names', () => {
    for (const name of [
      'serve',
      'executor',
      'certs',
      'demo',
      'run',
      'list',
      'show',
      'cancel',
      'delete',
      'retry',
      'logs',
      'validate',
      'dot',
      'mermaid',
      'tosca',
    ]) {
      assert.ok(commands.includes(name), name);
    }
  });

  for (const name of commands) {
    it(`baton ${name} --help shows an example and --config`, async () => {
      const res = await baton([name, '--help']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`^Usage: baton ${name}`, 'm'));
      assert.match(
        res.stdout,
        new RegExp(
          `^Examples?:\\n {2}baton ${name === 'executor' ? '(certs|executor)' : name}\\b`,
          'm',
        ),
      );
      assert.match(res.stdout, /--config <file>/);
    });
  }

  it('usage errors exit 2 with a hint; --version exits 0', async () => {
    const unknown = await baton(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const missing = await baton(['show']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'id'/);
    const option = await baton(['list', '--bogus']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option '--bogus'\n\(add --help for usage\)/);
    const version = await baton(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
