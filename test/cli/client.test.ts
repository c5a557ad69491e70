/**
 * `baton list|show|cancel|retry|logs` as a user runs them: the real binary against a real
 * orchestrator on loopback.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { RunningServer } from '../../src/cli/server.ts';
import { STATE_COLOURS } from '../../src/graph/export.ts';
import { State } from '../../src/graph/states.ts';
import { type RefusingExecutor, refusing, startRefusingExecutor } from '../support/failing-task.ts';
import { doc, getRun, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';
import { baton } from './helpers.ts';

describe('baton client commands', () => {
  const dir = tempDir();
  let server: RunningServer;
  let executor: RefusingExecutor;
  let ok: string;
  let failed: string;
  const cli = (args: string[]) => baton([...args, '--server', server.url]);

  before(async () => {
    executor = await startRefusingExecutor();
    server = await startTestServer({
      dataDir: join(dir.path, 'data'),
      executors: executor.executors,
    });
    ok = (
      await post(
        server.url,
        doc(
          [
            ['first', 'nil'],
            ['second', 'sleep', ['0.01']],
          ],
          [[0, 1]],
          { name: 'good run' },
        ),
      )
    ).body.id;
    failed = (
      await post(
        server.url,
        doc(
          [
            ['bad', 'shell', [], refusing(['never'])],
            ['next', 'nil'],
          ],
          [[0, 1]],
          { name: 'bad run' },
        ),
      )
    ).body.id;
    await waitForRun(server.url, ok);
    await waitForRun(server.url, failed);
  });
  after(async () => {
    await server.close();
    await executor.close();
    dir.remove();
  });

  // list, show and logs only read the runs made above: their tests run at once
  describe('list', { concurrency: true }, () => {
    it('prints a table of runs, newest first', async () => {
      const res = await cli(['list']);
      assert.equal(res.code, 0, res.stderr);
      const lines = res.stdout.trimEnd().split('\n');
      assert.match(lines[0], /^ID\s+NAME\s+STATE\s+NODES\s+STARTED\s+DURATION$/);
      assert.ok(lines[1].startsWith(failed), res.stdout);
      assert.match(lines[1], /bad run\s+failure\s+2\s/);
      assert.match(lines[2], new RegExp(`^${ok}\\s+good run\\s+success\\s+2\\s`));
      assert.ok(!res.stdout.includes('\u001b['), 'no colour in a pipe');
    });

    it('-o json and -o yaml give the API page', async () => {
      const json = await cli(['list', '-o', 'json']);
      assert.equal(json.code, 0, json.stderr);
      const page = JSON.parse(json.stdout) as { tasks: Array<{ id: string; state: string }> };
      assert.deepEqual(
        page.tasks.map((t) => [t.id, t.state]),
        [
          [failed, 'failure'],
          [ok, 'success'],
        ],
      );
      const yaml = await cli(['list', '--output', 'yaml']);
      assert.deepEqual(parseYaml(yaml.stdout), page);
    });

    it('--state filters, --limit pages, --all follows next_cursor', async () => {
      const failures = JSON.parse((await cli(['list', '--state', 'failure', '-o', 'json'])).stdout);
      assert.deepEqual(
        failures.tasks.map((t: { id: string }) => t.id),
        [failed],
      );
      const one = await cli(['list', '--limit', '1', '-o', 'json']);
      const page = JSON.parse(one.stdout);
      assert.equal(page.tasks.length, 1);
      assert.ok(page.next_cursor, 'a next_cursor for the second page');
      const table = await cli(['list', '--limit', '1']);
      assert.match(table.stderr, /--all/);
      const all = JSON.parse((await cli(['list', '--limit', '1', '--all', '-o', 'json'])).stdout);
      assert.equal(all.tasks.length, 2);
      assert.equal(all.next_cursor, undefined);
      const none = await cli(['list', '--state', 'timeout']);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /no runs in state timeout/);
    });

    it('rejects a bad state or limit with exit 2', async () => {
      const state = await cli(['list', '--state', 'done']);
      assert.equal(state.code, 2);
      assert.match(state.stderr, /unknown state "done"/);
      const limit = await cli(['list', '--limit', '5000']);
      assert.equal(limit.code, 2);
      assert.match(limit.stderr, /1-1000/);
    });
  });

  describe('show', { concurrency: true }, () => {
    it('prints the run header and a node table', async () => {
      const res = await cli(['show', failed]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`^ID: +${failed}$`, 'm'));
      assert.match(res.stdout, /^State: +failure$/m);
      assert.match(res.stdout, /^Nodes: +2: failure 1, notrunnable 1$/m);
      assert.match(
        res.stdout,
        /^NAME\s+ENGINE\s+TARGET\s+STATE\s+ATTEMPTS\s+DURATION\s+OUTPUTS\s+ERROR$/m,
      );
      assert.match(
        res.stdout,
        /^bad\s+shell\s+-\s+failure\s+1\s+\S+\s+-\s+exited with code 1: refused: never$/m,
      );
      assert.match(res.stdout, /^next\s+nil\s+-\s+notrunnable\s+0\s+-\s+-\s+upstream/m);
    });

    it('-o json is the API document, -o yaml the same', async () => {
      const json = await cli(['show', ok, '-o', 'json']);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), await getRun(server.url, ok));
      const yaml = await cli(['show', ok, '-o', 'yaml']);
      assert.deepEqual(parseYaml(yaml.stdout), await getRun(server.url, ok));
    });

    it('-o dot and -o mermaid draw the graph filled with the live states', async () => {
      const dot = await cli(['show', failed, '-o', 'dot']);
      assert.equal(dot.code, 0, dot.stderr);
      assert.match(dot.stdout, /^digraph "bad run" \{/);
      assert.match(dot.stdout, new RegExp(`n0 \\[.*fillcolor="${STATE_COLOURS.failure}"`));
      assert.match(dot.stdout, new RegExp(`n1 \\[.*fillcolor="${STATE_COLOURS.notrunnable}"`));
      assert.match(dot.stdout, /n0 -> n1;/);
      const good = await cli(['show', ok, '-o', 'dot']);
      assert.equal((good.stdout.match(new RegExp(STATE_COLOURS.success, 'g')) ?? []).length, 2);
      const mermaid = await cli(['show', failed, '-o', 'mermaid']);
      assert.match(mermaid.stdout, /^flowchart LR$/m);
      assert.match(mermaid.stdout, new RegExp(`classDef failure fill:${STATE_COLOURS.failure}`));
      assert.match(mermaid.stdout, /class n1 notrunnable/);
    });

    it('an unknown run exits 2 with the server message; no server exits 3', async () => {
      const missing = await cli(['show', 'no-such-run']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no run with id no-such-run/);
      const down = await baton(['show', ok, '--server', 'http://127.0.0.1:1']);
      assert.equal(down.code, 3);
      assert.match(down.stderr, /cannot reach the Baton server/);
      const bad = await cli(['show', ok, '-o', 'xml']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /Allowed choices are table, json, yaml, dot, mermaid/);
    });
  });

  describe('cancel and retry', () => {
    it('cancel stops a running run; a second cancel exits 2', async () => {
      const { body } = await post(
        server.url,
        doc(
          [
            ['wait', 'sleep', ['30']],
            ['then', 'nil'],
          ],
          [[0, 1]],
        ),
      );
      await waitForRun(server.url, body.id, (run) => run.nodes[0].state === State.running);
      const res = await cli(['cancel', body.id]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`^run ${body.id} canceled: canceled 2$`, 'm'));
      assert.equal((await waitForRun(server.url, body.id)).state, State.canceled);
      const again = await cli(['cancel', body.id]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /baton: .*finished/);
      const missing = await cli(['cancel', 'no-such-run']);
      assert.equal(missing.code, 2);
    });

    it('delete removes a finished run; a running one only with --cancel', async () => {
      const { body } = await post(
        server.url,
        doc(
          [
            ['wait', 'sleep', ['30']],
            ['then', 'nil'],
          ],
          [[0, 1]],
        ),
      );
      await waitForRun(server.url, body.id, (run) => run.nodes[0].state === State.running);
      const refused = await cli(['delete', body.id]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /is running: cancel it first \(baton cancel /);
      assert.equal((await getRun(server.url, body.id)).state, State.running, 'left running');
      const res = await cli(['delete', '--cancel', body.id, '-o', 'json']);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), { id: body.id, deleted: true });
      assert.equal((await fetch(`${server.url}/v1/tasks/${body.id}`)).status, 404);
      const again = await cli(['delete', body.id]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /no run with id/);

      const { body: done } = await post(server.url, doc([['quick', 'nil']]));
      await waitForRun(server.url, done.id);
      const plain = await cli(['rm', done.id]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(plain.stdout, `run ${done.id} deleted\n`);
      assert.equal((await fetch(`${server.url}/v1/tasks/${done.id}`)).status, 404);
    });

    it('retry re-runs what did not succeed and exits with the new result', async () => {
      const { body } = await post(
        server.url,
        doc(
          [
            ['slow', 'sleep', ['0.5']],
            ['last', 'nil'],
          ],
          [[0, 1]],
        ),
      );
      await waitForRun(server.url, body.id, (run) => run.nodes[0].state === State.running);
      await fetch(`${server.url}/v1/tasks/${body.id}`, { method: 'DELETE' });
      await waitForRun(server.url, body.id);
      const res = await cli(['retry', body.id, '--watch']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`^${body.id}$`, 'm'));
      assert.match(res.stdout, new RegExp(`^run ${body.id} success: success 2$`, 'm'));
      const run = await getRun(server.url, body.id);
      assert.deepEqual(
        run.nodes.map((n) => n.state),
        [State.success, State.success],
      );

      const again = await cli(['retry', failed]);
      assert.equal(again.code, 1, 'the failing node fails again');
      assert.equal(again.stdout.trim(), failed);
      assert.match(again.stderr, /^run \S+ failure: failure 1, notrunnable 1$/m);
      assert.match(
        again.stderr,
        /^ {2}failure bad \(shell, 1 attempt.*: exited with code 1: refused: never$/m,
      );
      const json = await cli(['retry', failed, '-o', 'json']);
      assert.equal(json.code, 1);
      const detail = JSON.parse(json.stdout);
      assert.equal(detail.id, failed);
      assert.equal(detail.state, State.failure);

      const finished = await cli(['retry', ok]);
      assert.equal(finished.code, 2, 'a successful run cannot be retried');
      assert.match(finished.stderr, /only a finished, unsuccessful run can be retried/);
    });
  });

  describe('logs', { concurrency: true }, () => {
    it('a node run in the orchestrator (nil, sleep) has an empty log', async () => {
      const nodes = ['first', '0', 'second', '1'];
      for (const res of await Promise.all(nodes.map((node) => cli(['logs', ok, node])))) {
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout, '');
      }
    });

    it("a node run by an executor prints the task's output", async () => {
      const res = await cli(['logs', failed, 'bad']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^refused: never$/m);
    });

    it('an unknown node or run exits 2 with what exists', async () => {
      const byName = await cli(['logs', ok, 'third']);
      assert.equal(byName.code, 2);
      assert.match(byName.stderr, /has no node named "third"; its nodes: first, second/);
      const byId = await cli(['logs', ok, '7']);
      assert.equal(byId.code, 2);
      assert.match(byId.stderr, /has no node 7/);
      const run = await cli(['logs', 'no-such-run', '0']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /no run with id no-such-run/);
    });
  });
});
