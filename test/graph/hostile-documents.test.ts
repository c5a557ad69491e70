/**
 * Documents that used to take `baton serve` down or hold its event loop, submitted over real
 * HTTP to a real `baton serve` process: each is refused with a 400 naming the field (or runs
 * to its end), and the process stays up and keeps answering /healthz.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { State } from '../../src/graph/states.ts';
import { type BatonProcess, call, eventually, Processes } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';

const dir = tempDir();
const processes = new Processes();
let server: BatonProcess;

before(async () => {
  server = await processes.serve(join(dir.path, 'data'), [], { env: { BATON_LOG_LEVEL: 'warn' } });
});
after(async () => {
  await processes.killAll();
  dir.remove();
});

interface ErrorBody {
  message: string;
  path?: string;
}

async function submit(document: unknown, query = ''): Promise<{ status: number; body: unknown }> {
  const answer = await call(
    `${server.url}/v1/tasks${query}`,
    { method: 'POST', body: typeof document === 'string' ? document : JSON.stringify(document) },
    60_000,
  );
  assert.notEqual(answer.status, 0, `POST failed: ${answer.text}\n${server.output()}`);
  return { status: answer.status, body: answer.json };
}

async function refused(document: unknown, path: string, message: RegExp, query = '') {
  const { status, body } = await submit(document, query);
  assert.equal(status, 400, JSON.stringify(body)?.slice(0, 500));
  const error = body as ErrorBody;
  assert.equal(error.path, path);
  assert.match(error.message, message);
  return error;
}

/** The process is alive and /healthz answers 200. */
async function stillUp(): Promise<void> {
  assert.ok(server.alive(), `baton serve died:\n${server.output()}`);
  const health = await call(`${server.url}/healthz`, {}, 30_000);
  assert.equal(health.status, 200, `/healthz: ${health.status} ${health.text}`);
}

async function finished(id: string): Promise<{ state: number; nodes: { state: number }[] }> {
  return eventually(
    `run ${id} to finish`,
    async () => {
      const run = (await call(`${server.url}/v1/tasks/${id}`)).json as {
        state: number;
        nodes: { state: number }[];
      };
      return run.state === State.success || run.state === State.failure ? run : undefined;
    },
    60_000,
  );
}

const pair = (depends: string) => ({
  name: 'depends',
  edges: [[0, 1]],
  nodes: [
    { id: 0, name: 'a', engine: 'nil' },
    { id: 1, name: 'b', engine: 'nil', depends },
  ],
});

describe('depends nested deeper than the stack', () => {
  it('4,000 "!" before a term: 400 naming the field, for a run and for a schedule', async () => {
    const depends = `${'!'.repeat(4000)}a.success`;
    await refused(pair(depends), 'nodes[1].depends', /nesting deeper than 64/);
    const schedule = await call(`${server.url}/v1/schedules`, {
      method: 'POST',
      body: JSON.stringify({ cron: '* * * * * *', document: pair(depends) }),
    });
    assert.equal(schedule.status, 400, schedule.text);
    assert.match(schedule.text, /nesting deeper than 64/);
    await refused(
      pair(`${'('.repeat(2000)}a.success${')'.repeat(2000)}`),
      'nodes[1].depends',
      /nesting deeper than 64/,
    );
    await stillUp();
  });

  it('64 levels are accepted and the run finishes', async () => {
    const depends = `${'!('.repeat(32)}a.success${')'.repeat(32)}`;
    const { status, body } = await submit(pair(depends));
    assert.equal(status, 202, JSON.stringify(body));
    const run = await finished((body as { id: string }).id);
    // an even number of negations: b runs once a succeeded
    assert.equal(run.state, State.success);
    assert.deepEqual(
      run.nodes.map((n) => n.state),
      [State.success, State.success],
    );
    await stillUp();
  });
});

describe('run inputs amplified by substitution', () => {
  it('a 1 MiB input referenced 400 times in each of 12 args: 400, not an exhausted heap', async () => {
    const document = {
      name: 'amplified',
      inputs: { big: {} },
      values: { big: 'x'.repeat(1024 * 1024) },
      edges: [],
      nodes: [
        {
          id: 0,
          name: 'n',
          engine: 'nil',
          args: new Array(12).fill(`k=${'{{inputs.big}}'.repeat(400)}`),
        },
      ],
    };
    await refused(
      document,
      'nodes[0].args[0]',
      /419430402 characters once \{\{inputs\.\*\}\} are substituted is over the limit of 65536/,
    );
    await stillUp();
  });
});

describe('get_attribute patterns that cost a lot to match', () => {
  it('2,000 200-character names × 20 250-character patterns: refused at once, /healthz answers meanwhile', async () => {
    const n = 2000;
    const document = {
      name: 'regex',
      edges: Array.from({ length: n }, (_, i) => [i, n]),
      nodes: [
        ...Array.from({ length: n }, (_, id) => ({
          id,
          name: `${'a'.repeat(195)}${String(id).padStart(5, '0')}`,
          engine: 'nil',
          output: { ip: '' },
        })),
        {
          id: n,
          name: 'reader',
          engine: 'nil',
          args: Array.from(
            { length: 20 },
            (_, k) => `k${k}=get_attribute ${'a*'.repeat(120)}${String(k).padStart(10, 'b')}:ip`,
          ),
        },
      ],
    };
    const posted = refused(document, `nodes[${n}].args[0]`, /exceeds the budget of \d+ regular/);
    const health = call(`${server.url}/healthz`, {}, 60_000);
    await posted;
    assert.equal((await health).status, 200);
    await stillUp();
  });
});

describe('a million output names', () => {
  it('is refused with the path of the node, and /healthz answers', async () => {
    const names = Array.from({ length: 1_000_000 }, (_, i) => `"k${i}":""`).join(',');
    const text = `{"name":"x","edges":[],"nodes":[{"id":0,"name":"a","engine":"nil","output":{${names}}}]}`;
    const posted = refused(text, 'nodes[0].output', /1000000 outputs is over the limit of 1000/);
    const health = call(`${server.url}/healthz`, {}, 60_000);
    await posted;
    assert.equal((await health).status, 200);
    await stillUp();
  });
});
