/**
 * gorchestrator's documents against a real `baton serve` (issue 13, items 1-4): what its users
 * POST works unchanged, with and without an executor.
 *
 * - ids in any order (gorchestrator indexes the matrix by id), answered in submitted order;
 * - the output of gorchestrator's TOSCA client for the shared templates (wordpress, ELK,
 *   nodejs+mongodb): the fixtures in fixtures/ are written in its shape (nodes in map order,
 *   `TEMPLATE:OPERATION` names, `toscassh` and `nil`, the description as the graph name,
 *   `get_attribute TEMPLATE*:ATTR` patterns) and run to success on a real executor whose
 *   toscassh targets are a real sshd (test/support/sshd.ts);
 * - nodes without a name;
 * - executor engines on a server without an executor: accepted, failed at dispatch.
 *
 * The fixtures' scripts (fixtures/artifacts/) stand in for the templates' operations: each
 * checks that its TOSCA inputs arrived as environment variables and says so in its log.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { writeCerts } from '../../src/cli/certs.ts';
import { STATE_COLOURS } from '../../src/graph/export.ts';
import { State, type StateName } from '../../src/graph/states.ts';
import { convertTosca } from '../../src/tosca/index.ts';
import { baton, exited, type Service, serve, spawnService } from '../support/cli.ts';
import { type LiveRun, tempDir, waitForRun } from '../support/server.ts';
import { sharedDir } from '../support/shared.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const ARTIFACTS = join(FIXTURES, 'artifacts');
const TOSCA = join(sharedDir(), 'tosca');
const EXAMPLE = join(sharedDir(), 'examples/gorch-example.json');
/** a run on a loaded 2-core machine: a hang bound, never a expected duration */
const FINAL_WITHIN_MS = 300_000;

interface Fixture {
  file: string;
  template: string;
  /** inputs the template needs to convert (its own conversion is the fixture's reference) */
  inputs?: Record<string, string>;
  /** the Compute hosts its nodes name as targets */
  hosts: string[];
}

const FIXTURE_LIST: Fixture[] = [
  {
    file: 'tosca2gorch-wordpress.json',
    template: 'tosca_single_instance_wordpress.yaml',
    inputs: { db_root_pwd: 'passw0rd' },
    hosts: ['server'],
  },
  {
    file: 'tosca2gorch-nodejs-mongodb.json',
    template: 'tosca_nodejs_mongodb_two_instances.yaml',
    hosts: ['app_server', 'mongo_server'],
  },
  {
    file: 'tosca2gorch-elk.json',
    template: 'tosca_elk.yaml',
    hosts: [
      'app_server',
      'mongo_server',
      'elasticsearch_server',
      'logstash_server',
      'kibana_server',
    ],
  },
];

interface RawDocument {
  name: string;
  digraph: number[];
  nodes: Array<{
    id: number;
    name: string;
    engine: string;
    target: string;
    artifact: string;
    args: string[] | null;
  }>;
}

const fixtureText = (fixture: Fixture) => readFileSync(join(FIXTURES, fixture.file), 'utf8');
const fixtureDoc = (fixture: Fixture) => JSON.parse(fixtureText(fixture)) as RawDocument;

/** [from, to] by id, from a digraph. */
function edgesOf(doc: { digraph: number[]; nodes: unknown[] }): Array<[number, number]> {
  const n = doc.nodes.length;
  const edges: Array<[number, number]> = [];
  for (let k = 0; k < doc.digraph.length; k++) {
    if (doc.digraph[k] !== 0) edges.push([Math.floor(k / n), k % n]);
  }
  return edges;
}

/** POSTs the text as gorchestrator's users do (`curl -d @file`), answering status and body. */
async function submit(
  url: string,
  text: string,
): Promise<{ status: number; body: { id: string; message?: string; path?: string } }> {
  const res = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  return { status: res.status, body: await res.json() };
}

/** A run as GET answers it, with the node fields these tests read. */
type Run = {
  id: string;
  name: string;
  state: number;
  digraph?: number[];
  nodes: Array<
    LiveRun['nodes'][number] & {
      engine: string;
      get_attribute?: Array<{ arg: number; node: number; name: string; match: string }>;
    }
  >;
};

async function runToEnd(url: string, text: string): Promise<Run> {
  const submitted = await submit(url, text);
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  return (await waitForRun(url, submitted.body.id, undefined, FINAL_WITHIN_MS)) as unknown as Run;
}

/** Every node started after each of its predecessors (by id) had stopped. */
function assertOrder(run: Run, edges: Array<[number, number]>): void {
  const byId = new Map(run.nodes.map((node) => [node.id, node]));
  for (const [from, to] of edges) {
    const a = byId.get(from)!;
    const b = byId.get(to)!;
    if (b.start_date === null) continue; // never ran
    assert.ok(a.stop_date !== null && a.stop_date <= b.start_date, `${a.name} before ${b.name}`);
  }
}

async function stopAll(services: Service[]): Promise<void> {
  for (const service of services) service.child.kill('SIGTERM');
  await Promise.all(services.map((service) => exited(service.child)));
}

const NO_EXECUTOR = (engine: string) =>
  `no executor offers engine ${engine}: start one with baton executor and pass --executor`;

describe('the TOSCA fixtures are the shared templates in tosca2gorch’s shape', () => {
  for (const fixture of FIXTURE_LIST) {
    it(`${fixture.file}: ${fixture.template} as gorchestrator's client writes it`, () => {
      const doc = fixtureDoc(fixture);
      const template = parseYaml(readFileSync(join(TOSCA, fixture.template), 'utf8'));
      // named after the template's description, whole (the ELK one is 259 characters)
      assert.equal(doc.name, template.description);
      // nodes in map order: the ids are 0..N-1, not in order
      const ids = doc.nodes.map((node) => node.id);
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids.map((_, i) => i),
      );
      assert.notDeepEqual(
        ids,
        ids.map((_, i) => i),
      );
      // the same nodes and edges as Baton's own conversion, under TEMPLATE:OPERATION names
      const reference = convertTosca(join(TOSCA, fixture.template), { inputs: fixture.inputs });
      const batonName = (name: string) => name.replace(/:noop$/, '').replace(':', '_');
      const byName = new Map(reference.nodes.map((node) => [node.name, node]));
      for (const node of doc.nodes) {
        const ref = byName.get(batonName(node.name));
        assert.ok(ref, `${node.name} is a node of the template`);
        assert.equal(node.engine, node.name.endsWith(':noop') ? 'nil' : 'toscassh');
        assert.equal(node.engine, ref.engine);
        assert.equal(node.target, ref.target);
        assert.equal(node.artifact, ref.artifact);
        assert.deepEqual(
          node.args ?? [],
          ref.args.map((arg) => arg.replace(/=get_attribute ([^:]+):/, '=get_attribute $1*:')),
        );
      }
      assert.equal(doc.nodes.length, reference.nodes.length);
      const nameOf = new Map(doc.nodes.map((node) => [node.id, batonName(node.name)]));
      assert.deepEqual(
        new Set(edgesOf(doc).map(([a, b]) => `${nameOf.get(a)}->${nameOf.get(b)}`)),
        new Set(
          reference.edges.map(([a, b]) => `${reference.nodes[a].name}->${reference.nodes[b].name}`),
        ),
      );
    });
  }
});

describe('baton serve without an executor', () => {
  const dir = tempDir('baton-compat-plain-');
  let server: Service;
  before(async () => {
    server = await serve(join(dir.path, 'data'));
  });
  after(async () => {
    await stopAll([server]);
    dir.remove();
  });

  it('ids in any order: the matrix is read by id, the answer lists the nodes as submitted', async () => {
    // c (2) -> a (0) -> b (1), listed b, c, a; b reads a's sleep result through get_attribute
    const digraph = [0, 1, 0, 0, 0, 0, 1, 0, 0];
    const nodes = [
      { id: 1, name: 'b', engine: 'nil', args: ['seen=get_attribute a:result'] },
      { id: 2, name: 'c', engine: 'sleep', args: ['0'] },
      { id: 0, name: 'a', engine: 'sleep', args: ['0'], output: { result: '' } },
    ];
    const text = JSON.stringify({ name: 'permuted', state: 0, digraph, nodes });
    const run = await runToEnd(server.url, text);
    assert.equal(run.state, State.success);
    assert.deepEqual(
      run.nodes.map((node) => [node.id, node.name, node.state]),
      [
        [1, 'b', State.success],
        [2, 'c', State.success],
        [0, 'a', State.success],
      ],
    );
    assert.deepEqual(run.digraph, digraph);
    assertOrder(run, edgesOf({ digraph, nodes }));
    assert.match(run.nodes[2].output.result, /^a_\d+$/);
    assert.deepEqual(run.nodes[0].get_attribute, [{ arg: 0, node: 0, name: 'a', match: 'full' }]);
  });

  it('nodes without a name are named node-ID', async () => {
    const run = await runToEnd(
      server.url,
      JSON.stringify({
        edges: [
          [0, 1],
          [0, 2],
        ],
        nodes: [
          { id: 0, engine: 'sleep', args: ['0'], output: { result: '' } },
          { id: 1, name: '', engine: 'nil', args: ['r=get_attribute node-0:result'] },
          { id: 2, name: null, engine: 'nil', depends: 'node-0.success' },
        ],
      }),
    );
    assert.equal(run.state, State.success);
    assert.deepEqual(
      run.nodes.map((node) => node.name),
      ['node-0', 'node-1', 'node-2'],
    );
  });

  it("gorchestrator's example (toscassh) is accepted; its toscassh nodes fail at dispatch", async () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const doc = JSON.parse(text) as RawDocument;
    const run = await runToEnd(server.url, text);
    assert.equal(run.state, State.failure);
    const failed = new Set(doc.nodes.filter((n) => n.engine === 'toscassh').map((n) => n.id));
    // below a failed node nothing runs
    const below = new Set<number>();
    const edges = edgesOf(doc);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [a, b] of edges) {
        if ((failed.has(a) || below.has(a)) && !below.has(b)) {
          below.add(b);
          grew = true;
        }
      }
    }
    for (const node of run.nodes) {
      if (failed.has(node.id) && !below.has(node.id)) {
        assert.equal(node.state, State.failure, node.name);
        assert.equal(node.error, NO_EXECUTOR('toscassh'));
      } else if (below.has(node.id)) {
        assert.equal(node.state, State.notrunnable, node.name);
      } else assert.equal(node.state, State.success, node.name);
    }
  });

  it('an engine no Baton driver knows is still a 400 that lists them', async () => {
    const answer = await submit(
      server.url,
      JSON.stringify({ edges: [], nodes: [{ id: 0, name: 'a', engine: 'toscash' }] }),
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.body.path, 'nodes[0].engine');
    assert.equal(
      answer.body.message,
      'nodes[0].engine: unknown engine "toscash", expected one of ansible, docker, http, nil, shell, sleep, ssh, toscassh',
    );
  });

  it('the TOSCA fixtures are accepted, named in full, and end honestly without an executor', async () => {
    for (const fixture of FIXTURE_LIST) {
      const doc = fixtureDoc(fixture);
      const run = await runToEnd(server.url, fixtureText(fixture));
      assert.equal(run.name, doc.name);
      assert.equal(run.state, State.failure, fixture.file);
      // the nil Compute nodes succeed; a toscassh node whose predecessors all succeeded was
      // dispatched and failed for want of an executor, the others never ran
      const byId = new Map(run.nodes.map((node) => [node.id, node]));
      const preds = (id: number) => edgesOf(doc).filter(([, b]) => b === id);
      for (const node of run.nodes) {
        if (node.engine === 'nil') assert.equal(node.state, State.success, node.name);
        else if (preds(node.id).every(([a]) => byId.get(a)!.state === State.success)) {
          assert.equal(node.state, State.failure, node.name);
          assert.equal(node.error, NO_EXECUTOR('toscassh'));
        } else assert.equal(node.state, State.notrunnable, node.name);
      }
      // listed with its whole name
      const list = (await (await fetch(`${server.url}/v1/tasks?limit=1`)).json()) as {
        tasks: Array<{ id: string; name: string }>;
      };
      assert.deepEqual(list.tasks[0], { ...list.tasks[0], id: run.id, name: doc.name });
      // baton show -o dot colours each node by its own state, whatever its place
      const dot = await baton(['show', run.id, '-o', 'dot', '--server', server.url]);
      assert.equal(dot.code, 0, dot.stderr);
      const names = Object.keys(State) as StateName[];
      for (const node of run.nodes) {
        const colour = STATE_COLOURS[names.find((name) => State[name] === node.state)!];
        assert.match(dot.stdout, new RegExp(`  n${node.id} \\[.*fillcolor="${colour}"`));
      }
    }
  });

  it('baton validate accepts them and warns about the executor engines', async () => {
    const example = await baton(['validate', EXAMPLE]);
    assert.equal(example.code, 0, example.stderr);
    assert.match(example.stdout, /valid, 8 nodes, 9 edges/);
    assert.match(
      example.stderr,
      /gorch-example\.json: warning: 3 nodes use engine toscassh \("a", "c", "d"\), which only an executor runs: .*\(start one with baton executor and pass --executor to baton serve\)\n$/,
    );
    const elk = await baton(['validate', join(FIXTURES, 'tosca2gorch-elk.json')]);
    assert.equal(elk.code, 0, elk.stderr);
    assert.match(elk.stderr, /warning: 20 nodes use engine toscassh \(.* and 15 more\)/);
    const typo = join(dir.path, 'typo.json');
    writeFileSync(typo, JSON.stringify({ edges: [], nodes: [{ id: 0, engine: 'toscash' }] }));
    const refused = await baton(['validate', typo]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /unknown engine "toscash", expected one of/);
  });
});

describe('baton serve with an executor reaching the TOSCA hosts over ssh', () => {
  const dir = tempDir('baton-compat-ssh-');
  const services: Service[] = [];
  let sshd: TestSshd;
  let url: string;
  before(async () => {
    sshd = await startSshd();
    // every Compute host of the templates is the test sshd, as `Host test` reaches it
    const config = readFileSync(sshd.configPath, 'utf8');
    const hosts = new Set(FIXTURE_LIST.flatMap((fixture) => fixture.hosts));
    const sshConfig = join(dir.path, 'ssh_config');
    writeFileSync(sshConfig, config.replace(/^Host test$/m, `Host test ${[...hosts].join(' ')}`));
    const certs = join(dir.path, 'certs');
    await writeCerts(certs);
    const executor = await spawnService([
      'executor',
      '--tls',
      certs,
      '--artifacts',
      ARTIFACTS,
      '--ssh-config',
      sshConfig,
      '--data',
      join(dir.path, 'executor'),
      '--port',
      '0',
    ]);
    services.push(executor);
    const server = await serve(join(dir.path, 'data'), [
      '--executor',
      `default=${executor.url}`,
      '--tls',
      certs,
    ]);
    services.push(server);
    url = server.url;
  });
  after(async () => {
    await stopAll(services);
    await sshd.stop();
    dir.remove();
  });

  for (const fixture of FIXTURE_LIST) {
    it(`${fixture.file} runs to success, its get_attribute bound as gorchestrator bound it`, async () => {
      const doc = fixtureDoc(fixture);
      const run = await runToEnd(url, fixtureText(fixture));
      const failed = run.nodes.filter((node) => node.state !== State.success);
      assert.deepEqual(
        failed.map((node) => `${node.name}: ${node.state} ${node.error}`),
        [],
        `${fixture.file} failed:\n${sshd.log()}`,
      );
      assert.equal(run.state, State.success);
      assert.equal(run.name, doc.name);
      assert.deepEqual(
        run.nodes.map((node) => node.id),
        doc.nodes.map((node) => node.id),
      );
      assertOrder(run, edgesOf(doc));
      // `TEMPLATE*` matches no name whole: bound to the template's node by the unanchored match
      for (const node of run.nodes) {
        const reads = (node.args ?? []).flatMap((arg, i) => {
          const m = /=get_attribute (\w+)\*:/.exec(arg);
          return m ? [{ arg: i, template: m[1] }] : [];
        });
        if (reads.length === 0) {
          assert.equal(node.get_attribute, undefined, node.name);
          continue;
        }
        assert.deepEqual(
          node.get_attribute,
          reads.map(({ arg, template }) => ({
            arg,
            node: doc.nodes.find((n) => n.name === `${template}:noop`)!.id,
            name: `${template}:noop`,
            match: 'unanchored',
          })),
          node.name,
        );
        // a Compute node is nil and outputs nothing, in gorchestrator as here: the input is
        // there, empty
        const log = await (await fetch(`${url}/v1/tasks/${run.id}/nodes/${node.id}/log`)).text();
        for (const arg of node.args) {
          const key = arg.slice(0, arg.indexOf('='));
          if (arg.includes('=get_attribute ')) assert.match(log, new RegExp(`${key}=\\[\\]`));
        }
      }
      // every operation's script ran on its host and saw its inputs
      for (const node of run.nodes.filter((n) => n.engine === 'toscassh')) {
        const log = await (await fetch(`${url}/v1/tasks/${run.id}/nodes/${node.id}/log`)).text();
        const [template, op] = node.name.split(':');
        assert.match(log, new RegExp(`${template} ${op}: done on `), node.name);
      }
    });
  }

  it("gorchestrator's example runs end to end: d's ip_address reaches c", async () => {
    const run = await runToEnd(url, readFileSync(EXAMPLE, 'utf8'));
    assert.equal(run.state, State.success, JSON.stringify(run.nodes.map((n) => n.error)));
    const node = (name: string) => run.nodes.find((n) => n.name === name)!;
    assert.deepEqual(node('d').output, { network: '10.0.0.0/24', ip_address: '10.0.0.7' });
    assert.deepEqual(node('c').output, { my_ip: '10.0.0.7' });
    assert.deepEqual(node('c').get_attribute, [{ arg: 0, node: 3, name: 'd', match: 'full' }]);
  });
});
