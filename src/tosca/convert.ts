/**
 * A loaded TOSCA topology → a gorch document (docs/architecture.md §8).
 *
 * Nodes. Each node template gives one gorch node per Standard lifecycle operation it has,
 * named `<template>_<op>`, in lifecycle order (create, configure, start), with engine
 * `toscassh`, `target` = the Compute template hosting it (host requirements followed
 * transitively; a Compute hosts itself; without one, the template's own name, as
 * gorchestrator did), `artifact` = the implementation and `args` = the operation inputs as
 * `KEY=VALUE`. A template without operations is one `nil` node named after it. Operations not
 * chosen with `ops` become `nil` nodes, so the graph keeps its shape.
 *
 * get_attribute. `KEY=get_attribute NODE:ATTR` where NODE is the node of the referenced
 * template that runs last: its last chosen operation (a run-time output needs a node that
 * runs), else its last node (a template without operations, e.g. a Compute: its single nil
 * node). A template reading its own attribute (SELF) reads its latest operation before the
 * reading one. When NODE is an operation that runs, ATTR is added to its `output` map so
 * that a `ATTR=value` line on its stdout fills it. get_operation_output names its operation.
 *
 * Edges. Inside a template: its operations in order. A host requirement: the target's last
 * node → the source's first. Any other requirement (DependsOn, ConnectsTo, AttachesTo, custom
 * types and relationship templates): the target's last node → the source's `configure`, else
 * its first node after `create`, else its first node — "the target is started before the
 * source is configured".
 *
 * Teardown. stop and delete are never part of a deployment document. When `ops` chooses them
 * (and only them: a mix is refused), each template's nodes are its stop and delete operations
 * and every requirement edge is reversed: a component stops before its host, a source before
 * what it depends on.
 */
import { basename, extname } from 'node:path';
import { DocumentError } from '../graph/errors.ts';
import type { GorchNode } from '../graph/model.ts';
import { parseDocument } from '../graph/parse.ts';
import { at, fail, type ToscaError, toscaError, type Where } from './errors.ts';
import { checkInputRefs, evaluate, type Scope, toText } from './functions.ts';
import { resolveInputs } from './inputs.ts';
import { isMapping, type Loaded } from './load.ts';
import { LIFECYCLE, type Op, type Operation, operationsOf } from './operations.ts';
import { computeHost, type Requirement, readTopology } from './topology.ts';
import type { TypeRegistry } from './types.ts';

export interface ConvertOptions {
  /** input values as text, as given with `--input key=value` */
  inputs?: Readonly<Record<string, string>>;
  /** the lifecycle operations to run; default create, configure, start */
  ops?: readonly string[];
}

/** A gorch document in its `edges` form. */
export interface ToscaDocument {
  name: string;
  edges: [number, number][];
  nodes: GorchNode[];
}

export const DEFAULT_OPS: readonly Op[] = ['create', 'configure', 'start'];
const TEARDOWN: ReadonlySet<Op> = new Set(['stop', 'delete']);

/** The gorch nodes of one template, in order, and the operation of each (undefined: nil). */
interface Slot {
  ids: number[];
  ops: (Op | undefined)[];
}

/** Where an arg came from, to explain a get_attribute the parser rejects. */
interface ArgOrigin {
  where: Where;
  text: string;
  source: string;
}

const REGEX_SYNTAX = /[\\^$.|?*+()[\]{}]/g;

/** The operations to run and whether they tear down (stop, delete) rather than deploy. */
export function chooseOps(
  ops: readonly string[] | undefined,
  where: Where,
): { chosen: Set<Op>; teardown: boolean } {
  const chosen = new Set<Op>(ops === undefined ? DEFAULT_OPS : []);
  for (const op of ops ?? []) {
    if (!(LIFECYCLE as readonly string[]).includes(op)) {
      fail(where, `unknown operation "${op}" in --ops, expected some of ${LIFECYCLE.join(', ')}`);
    }
    chosen.add(op as Op);
  }
  if (chosen.size === 0) fail(where, `--ops is empty, expected some of ${LIFECYCLE.join(', ')}`);
  const teardown = [...chosen].filter((op) => TEARDOWN.has(op)).length;
  if (teardown > 0 && teardown < chosen.size) {
    fail(
      where,
      `--ops mixes deployment (create, configure, start) and teardown (stop, delete) operations; ` +
        'convert them into two documents',
    );
  }
  return { chosen, teardown: teardown > 0 };
}

export function convert(
  loaded: Loaded,
  registry: TypeRegistry,
  options: ConvertOptions = {},
): ToscaDocument {
  const { main } = loaded;
  const root: Where = { src: main.src, path: [] };
  const { chosen, teardown } = chooseOps(options.ops, root);
  const included = (op: Op) => TEARDOWN.has(op) === teardown;

  const inputs = resolveInputs(main, registry, options.inputs ?? {});
  const topology = readTopology(main, registry);
  const topologyWhere = at(root, 'topology_template');
  const topologyData = main.data.topology_template as Record<string, unknown>;
  for (const section of ['node_templates', 'relationship_templates', 'outputs']) {
    checkInputRefs(inputs, topologyData[section], at(topologyWhere, section));
  }
  const scope: Scope = { topology, registry, inputs };

  // 1. nodes
  const nodes: GorchNode[] = [];
  const slots = new Map<string, Slot>();
  const operations = new Map<number, { template: string; operation: Operation }>();
  const owner: string[] = [];
  const byName = new Map<string, string>();
  const addNode = (
    template: string,
    name: string,
    where: Where,
    node: Omit<GorchNode, 'id' | 'name'>,
  ) => {
    const other = byName.get(name);
    if (other !== undefined) {
      fail(
        where,
        `the gorch node name "${name}" is made twice (by ${other} and ${template}); rename a template`,
      );
    }
    byName.set(name, template);
    owner.push(template);
    nodes.push({ id: nodes.length, name, ...node });
    return nodes.length - 1;
  };
  for (const template of topology.templates.values()) {
    const target = computeHost(topology, registry, template.name) ?? template.name;
    const ops = operationsOf(template, registry);
    const slot: Slot = { ids: [], ops: [] };
    for (const op of LIFECYCLE) {
      const operation = ops.get(op);
      if (operation === undefined || !included(op)) continue;
      const engine = chosen.has(op) ? 'toscassh' : 'nil';
      const id = addNode(template.name, `${template.name}_${op}`, template.where, {
        target,
        engine,
        artifact: operation.artifact,
        args: [],
        output: {},
      });
      operations.set(id, { template: template.name, operation });
      slot.ids.push(id);
      slot.ops.push(op);
    }
    if (slot.ids.length === 0) {
      slot.ids.push(
        addNode(template.name, template.name, template.where, {
          target,
          engine: 'nil',
          artifact: '',
          args: [],
          output: {},
        }),
      );
      slot.ops.push(undefined);
    }
    slots.set(template.name, slot);
  }

  // 2. args
  const origins = new Map<string, ArgOrigin>();
  for (const [id, { template, operation }] of operations) {
    const node = nodes[id];
    for (const [key, assigned] of operation.inputs) {
      if (key === '' || key.includes('='))
        fail(assigned.where, `input name "${key}" cannot be a KEY of KEY=VALUE`);
      const result = evaluate(scope, template, assigned.value, assigned.where);
      if (result.kind === 'value') {
        node.args.push(`${key}=${toText(result.value)}`);
        continue;
      }
      const source = producer(
        slots.get(result.template)!,
        nodes,
        id,
        result.template === template,
        result.op,
      );
      if (source === undefined) {
        fail(
          assigned.where,
          result.op === undefined
            ? `${result.text}: no operation of ${template} runs before ${node.name} to produce it`
            : `${result.text}: ${result.template} has no ${result.op} operation in this graph`,
        );
      }
      const producerNode = nodes[source];
      if (producerNode.engine === 'toscassh') producerNode.output[result.attribute] = '';
      origins.set(`${id}:${node.args.length}`, {
        where: assigned.where,
        text: result.text,
        source: producerNode.name,
      });
      node.args.push(
        `${key}=get_attribute ${producerNode.name.replace(REGEX_SYNTAX, '\\$&')}:${result.attribute}`,
      );
    }
  }

  // 3. edges
  const edges: [number, number][] = [];
  const edgeOrigin = new Map<string, Requirement>();
  const seen = new Set<string>();
  const link = (from: number, to: number, requirement?: Requirement) => {
    const key = `${from},${to}`;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push([from, to]);
    if (requirement !== undefined) edgeOrigin.set(key, requirement);
  };
  for (const slot of slots.values()) {
    for (let k = 1; k < slot.ids.length; k++) link(slot.ids[k - 1], slot.ids[k]);
  }
  for (const template of topology.templates.values()) {
    const source = slots.get(template.name)!;
    for (const requirement of template.requirements) {
      const target = slots.get(requirement.target)!;
      if (teardown) link(last(source), target.ids[0], requirement);
      else
        link(
          last(target),
          requirement.hosted ? source.ids[0] : configurePoint(source),
          requirement,
        );
    }
  }

  const document: ToscaDocument = { name: documentName(main.data, main.src.path), edges, nodes };
  try {
    parseDocument(document);
  } catch (err) {
    if (err instanceof DocumentError)
      throw explain(err, nodes, owner, edgeOrigin, origins, topologyWhere);
    throw err;
  }
  return document;
}

function last(slot: Slot): number {
  return slot.ids[slot.ids.length - 1];
}

/** The node a non-host requirement's target must precede: configure, else after create. */
function configurePoint(slot: Slot): number {
  const configure = slot.ops.indexOf('configure');
  if (configure >= 0) return slot.ids[configure];
  if (slot.ops[0] === 'create' && slot.ids.length > 1) return slot.ids[1];
  return slot.ids[0];
}

/**
 * The node whose output a run-time value is read from: the named operation; for the reading
 * template itself, its latest node before the reader; else the template's last node that
 * runs, or its last node. Undefined when there is none.
 */
function producer(
  slot: Slot,
  nodes: readonly GorchNode[],
  reader: number,
  self: boolean,
  op: Op | undefined,
): number | undefined {
  if (op !== undefined) {
    const k = slot.ops.indexOf(op);
    return k < 0 ? undefined : slot.ids[k];
  }
  const candidates = self ? slot.ids.slice(0, slot.ids.indexOf(reader)) : slot.ids;
  if (candidates.length === 0) return undefined;
  for (let k = candidates.length - 1; k >= 0; k--) {
    if (nodes[candidates[k]].engine !== 'nil') return candidates[k];
  }
  return candidates[candidates.length - 1];
}

function documentName(data: Record<string, unknown>, path: string): string {
  const metadata = data.metadata;
  const fromMetadata = isMapping(metadata) ? metadata.template_name : undefined;
  for (const name of [fromMetadata, data.template_name]) {
    if (typeof name === 'string' && name !== '') return name;
  }
  return basename(path, extname(path));
}

/** The parser's complaint about the converted document, in terms of the template. */
function explain(
  err: DocumentError,
  nodes: readonly GorchNode[],
  owner: readonly string[],
  edgeOrigin: ReadonlyMap<string, Requirement>,
  origins: ReadonlyMap<string, ArgOrigin>,
  topologyWhere: Where,
): ToscaError {
  if (err.kind === 'cycle' && err.cycle !== undefined) {
    const cycle = err.cycle;
    let where = at(topologyWhere, 'node_templates');
    for (let k = 1; k < cycle.length; k++) {
      const requirement = edgeOrigin.get(`${cycle[k - 1]},${cycle[k]}`);
      if (requirement !== undefined) {
        where = requirement.where;
        break;
      }
    }
    const templates = [...new Set(cycle.map((id) => owner[id]))];
    return toscaError(
      where,
      `the requirements form a cycle: ${cycle.map((id) => nodes[id].name).join(' -> ')} (templates ${templates.join(', ')})`,
      err,
    );
  }
  const arg = /^nodes\[(\d+)\]\.args\[(\d+)\]/.exec(err.path);
  const origin = arg && origins.get(`${arg[1]}:${arg[2]}`);
  if (err.kind === 'get-attribute' && origin) {
    const reader = nodes[Number(arg[1])].name;
    return toscaError(
      origin.where,
      `${origin.text}: ${origin.source} does not run before ${reader}; add a requirement from ${owner[Number(arg[1])]} ` +
        `to ${owner[nodes.findIndex((n) => n.name === origin.source)]} (or to a template hosted on it)`,
      err,
    );
  }
  return toscaError(
    topologyWhere,
    `the converted gorch document is not valid: ${err.message}`,
    err,
  );
}
