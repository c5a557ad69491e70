/**
 * A run whose evaluation throws inside the orchestrator (here: a runner answers an outcome
 * the engine has no state for, so handling it throws) fails alone, with the error recorded
 * and no node left running, while the other runs go on. Before, the throw escaped a promise
 * callback: an unhandled rejection, which ends the process. Real SQLite store, in process.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { pino } from 'pino';
import { parseDocument } from '../../src/graph/parse.ts';
import { isFinal, State } from '../../src/graph/states.ts';
import { EventBus } from '../../src/orchestrator/bus.ts';
import { Orchestrator } from '../../src/orchestrator/orchestrator.ts';
import { nilRunner, sleepRunner, type TaskRunner } from '../../src/orchestrator/runners.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { eventually } from '../support/processes.ts';
import { doc, tempDir } from '../support/server.ts';

/** Ends every attempt with a state code the engine does not know. */
const broken: TaskRunner = {
  run: async () => ({ state: 99 as never }),
};

it('a run whose evaluation throws fails alone, with its error; the others go on', async (t) => {
  const dir = tempDir();
  const store = await openSqliteStore(join(dir.path, 'baton.db'));
  const runners = new Map<string, TaskRunner>([
    ['nil', nilRunner],
    ['sleep', sleepRunner(Math.random)],
    ['broken', broken],
  ]);
  const orchestrator = new Orchestrator({
    store,
    bus: new EventBus(),
    runners,
    logger: pino({ level: 'silent' }),
  });
  t.after(async () => {
    await orchestrator.stop();
    await store.close();
    dir.remove();
  });
  const parse = (document: unknown) =>
    parseDocument(document, { engines: new Set(runners.keys()) });
  const chain = (engine: string) =>
    parse(
      doc(
        [
          ['first', engine, engine === 'sleep' ? ['0.3'] : []],
          ['then', 'nil'],
          ['aside', 'sleep', ['0.3']],
        ],
        [[0, 1]],
      ),
    );
  const good = await orchestrator.submit(chain('sleep'));
  const bad = await orchestrator.submit(chain('broken'));
  const finished = (id: string) =>
    eventually(
      `run ${id} to finish`,
      async () => {
        const run = await store.getRun(id);
        return run && isFinal(run.state) ? run : undefined;
      },
      20_000,
    );
  const failed = await finished(bad.id);
  assert.equal(failed.state, State.failure);
  assert.match(failed.error ?? '', /failed inside the orchestrator: unknown state code 99/);
  const nodes = await store.getNodes(bad.id);
  assert.deepEqual(
    nodes.filter((node) => !isFinal(node.state)),
    [],
    'no node left running or waiting',
  );
  assert.equal((await finished(good.id)).state, State.success, 'the other run went on');
  const after = await orchestrator.submit(chain('sleep'));
  assert.equal((await finished(after.id)).state, State.success, 'and new runs do');
});
