/** `baton demo`, the README's main job, as a newcomer runs it: the real binary. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { BATON, exited } from '../support/cli.ts';
import { tempDir } from '../support/server.ts';

it('baton demo runs both examples over mutual TLS, then keeps serving until SIGTERM', async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  const child = spawn(process.execPath, [BATON, 'demo', '--port', '0', '--data', dir.path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + 60_000;
  while (!output.includes('Still serving') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(output, /executor on https:\/\/127\.0\.0\.1:\d+ \(mutual TLS/);
  assert.match(output, /run [0-9a-f-]{36} success: success 8\n/, output);
  assert.match(output, /run [0-9a-f-]{36} success: success 5\n/, output);
  const ip = /web-vm outputs: ip=(10\.0\.0\.\d+)/.exec(output)?.[1];
  assert.ok(ip, output);
  assert.match(
    output,
    new RegExp(`install outputs: url=http://${ip.replaceAll('.', '\\.')}:8080/`),
  );
  const url = /^UI: +(http:\S+)\/$/m.exec(output)![1];
  const list = (await (await fetch(`${url}/v1/tasks`)).json()) as {
    tasks: Array<{ state: string }>;
  };
  assert.deepEqual(
    list.tasks.map((task) => task.state),
    ['success', 'success'],
  );
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0);
});
