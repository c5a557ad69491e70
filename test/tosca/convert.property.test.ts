/**
 * Property test of the converter on random topologies: Compute and component templates with
 * random lifecycle operations, host requirements and other requirements (both notations,
 * relationship types, a relationship template, a custom relationship type) to earlier
 * templates, converted with a random --ops selection. Every document passes the gorch parser
 * and matches a direct model: one node per (template, operation of the selection's kind), or
 * one nil node; the chosen operations run on toscassh; targets follow the host chain; the
 * edges are exactly the lifecycle chains and one edge per requirement.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseDocument } from '../../src/graph/parse.ts';
import { convertTosca, LIFECYCLE, type Op } from '../../src/tosca/index.ts';
import { tempTemplates } from './helpers.ts';

interface Req {
  target: number;
  notation: 'short' | 'long' | 'type' | 'template' | 'custom';
}
interface Tpl {
  compute: boolean;
  ops: Op[];
  host?: number;
  deps: Req[];
}
interface Case {
  templates: Tpl[];
  ops: Op[];
}

const DEPLOY: Op[] = ['create', 'configure', 'start'];
const TEARDOWN: Op[] = ['stop', 'delete'];

const reqArbitrary = (i: number): fc.Arbitrary<Req[]> =>
  i === 0
    ? fc.constant([])
    : fc.uniqueArray(
        fc.record({
          target: fc.nat(i - 1),
          notation: fc.constantFrom<Req['notation']>('short', 'long', 'type', 'template', 'custom'),
        }),
        { maxLength: 3, selector: (r) => r.target },
      );

/** Template i: its requirements point to earlier templates, so the topology is a DAG. */
const tplArbitrary = (i: number): fc.Arbitrary<Tpl> =>
  fc
    .record({
      compute: fc.boolean(),
      ops: fc.subarray([...LIFECYCLE]),
      host: i === 0 ? fc.constant(undefined) : fc.option(fc.nat(i - 1), { nil: undefined }),
      deps: reqArbitrary(i),
    })
    .map((t) => {
      // a Compute is never hosted; a host requirement does not double as another requirement
      const host = t.compute ? undefined : t.host;
      return { ...t, host, deps: t.deps.filter((d) => d.target !== host) };
    });

const caseArbitrary: fc.Arbitrary<Case> = fc.integer({ min: 1, max: 7 }).chain((n) =>
  fc.record({
    templates: fc.tuple(...Array.from({ length: n }, (_, i) => tplArbitrary(i))),
    ops: fc.oneof(fc.subarray(DEPLOY, { minLength: 1 }), fc.subarray(TEARDOWN, { minLength: 1 })),
  }),
);

function toYaml(c: Case): string {
  const nodeTemplates: Record<string, unknown> = {};
  c.templates.forEach((t, i) => {
    const requirements: unknown[] = [];
    if (t.host !== undefined) requirements.push({ host: `t${t.host}` });
    t.deps.forEach((d, k) => {
      const node = `t${d.target}`;
      const name = `needs${k}`;
      const value = {
        short: node,
        long: { node },
        type: { node, relationship: 'tosca.relationships.ConnectsTo' },
        template: { node, relationship: 'link' },
        custom: { node, relationship: { type: 'my.Uses' } },
      }[d.notation];
      requirements.push({ [name]: value });
    });
    const standard = Object.fromEntries(t.ops.map((op) => [op, `t${i}/${op}.sh`]));
    nodeTemplates[`t${i}`] = {
      type: t.compute ? 'tosca.nodes.Compute' : 'tosca.nodes.SoftwareComponent',
      ...(requirements.length > 0 ? { requirements } : {}),
      ...(t.ops.length > 0 ? { interfaces: { Standard: standard } } : {}),
    };
  });
  return stringify({
    tosca_definitions_version: 'tosca_simple_yaml_1_0',
    relationship_types: { 'my.Uses': { derived_from: 'tosca.relationships.DependsOn' } },
    topology_template: {
      relationship_templates: { link: { type: 'AttachesTo' } },
      node_templates: nodeTemplates,
    },
  });
}

/** The expected document, modelled directly. */
function model(c: Case) {
  const teardown = c.ops.every((op) => TEARDOWN.includes(op));
  const kind = teardown ? TEARDOWN : DEPLOY;
  const slots = c.templates.map((t, i) => {
    const ops = LIFECYCLE.filter((op) => kind.includes(op) && t.ops.includes(op));
    return ops.length === 0
      ? [{ name: `t${i}`, op: undefined }]
      : ops.map((op) => ({ name: `t${i}_${op}`, op }));
  });
  const first = (i: number) => slots[i][0].name;
  const last = (i: number) => slots[i][slots[i].length - 1].name;
  const configurePoint = (i: number) => {
    const s = slots[i];
    const configure = s.find((x) => x.op === 'configure');
    if (configure) return configure.name;
    return s[0].op === 'create' && s.length > 1 ? s[1].name : s[0].name;
  };
  const edges = new Set<string>();
  slots.forEach((s) => {
    for (let k = 1; k < s.length; k++) edges.add(`${s[k - 1].name}->${s[k].name}`);
  });
  c.templates.forEach((t, i) => {
    const reqs = [
      ...(t.host === undefined ? [] : [{ target: t.host, hosted: true }]),
      ...t.deps.map((d) => ({ target: d.target, hosted: false })),
    ];
    for (const r of reqs) {
      if (teardown) edges.add(`${last(i)}->${first(r.target)}`);
      else edges.add(`${last(r.target)}->${r.hosted ? first(i) : configurePoint(i)}`);
    }
  });
  const target = (i: number): string => {
    for (let h: number | undefined = i; h !== undefined; h = c.templates[h].host) {
      if (c.templates[h].compute) return `t${h}`;
    }
    return `t${i}`;
  };
  const nodes = slots.flatMap((s, i) =>
    s.map((x) => ({
      name: x.name,
      target: target(i),
      engine: x.op !== undefined && c.ops.includes(x.op) ? 'toscassh' : 'nil',
    })),
  );
  return { nodes, edges };
}

describe('convertTosca on random topologies', () => {
  it('gives a valid document that matches the model', () => {
    const dir = tempTemplates({});
    const file = join(dir, 'random.yaml');
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        writeFileSync(file, toYaml(c));
        const doc = convertTosca(file, { ops: c.ops });
        parseDocument(doc);
        const expected = model(c);
        assert.deepEqual(
          doc.nodes.map((n) => ({ name: n.name, target: n.target, engine: n.engine })),
          expected.nodes,
        );
        assert.deepEqual(
          new Set(doc.edges.map(([a, b]) => `${doc.nodes[a].name}->${doc.nodes[b].name}`)),
          expected.edges,
        );
      }),
      { numRuns: 150 },
    );
  });
});
