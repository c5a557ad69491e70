/**
 * Nothing accepted is lost: a real `baton serve` process killed with SIGKILL mid-run resumes
 * its runs when started again on the same data directory.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { State } from '../../src/graph/states.ts';
import { exited, serve } from '../support/cli.ts';
import { doc, post, tempDir, waitForRun } from '../support/server.ts';

it('a run in flight when the process is SIGKILLed finishes after a restart', async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  const first = await serve(dir.path);
  // a -> b -> c, each sleeping; kill while b runs
  const { body } = await post(
    first.url,
    doc(
      [
        ['a', 'sleep', ['0.1']],
        ['b', 'sleep', ['1']],
        ['c', 'nil'],
        ['d', 'sleep', ['0.1']],
      ],
      [
        [0, 1],
        [1, 2],
      ],
    ),
  );
  // a second document accepted just before the kill must not be lost either
  const late = await post(first.url, doc([['only', 'nil']]));
  await waitForRun(first.url, body.id, (r) => r.nodes[1].state === State.running);
  first.child.kill('SIGKILL');
  await exited(first.child);

  const second = await serve(dir.path);
  t.after(() => second.child.kill('SIGKILL'));
  const done = await waitForRun(second.url, body.id);
  assert.equal(done.state, State.success);
  assert.deepEqual(
    done.nodes.map((n) => n.state),
    [State.success, State.success, State.success, State.success],
  );
  assert.equal(done.nodes[0].attempts, 1, 'a finished node is not run again');
  assert.equal((await waitForRun(second.url, late.body.id)).state, State.success);
  second.child.kill('SIGTERM');
  assert.equal(await exited(second.child), 0, 'SIGTERM shuts down cleanly');
});
