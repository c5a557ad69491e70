/**
 * The Standard lifecycle operations of a node template, merged from its type chain (root
 * first) and the template itself, later layers overriding earlier ones.
 *
 * - The Standard interface is the one named `Standard` (or its full or `tosca:` name), or any
 *   interface whose definition has `type: tosca.interfaces.node.lifecycle.Standard`.
 * - Operation: `create: script.sh`, or `{ implementation: script.sh | { primary: script.sh },
 *   inputs: {...} }`; TOSCA 1.3's `operations:` sub-map is read too. An implementation that
 *   names an entry of `artifacts` is that artifact's file.
 * - Inputs: interface-level inputs apply to every operation; per layer, the interface's
 *   inputs, then the operation's. In a type, an input given as a definition (`{ type: ... }`)
 *   contributes its `default`, if any; in the template every input is a value.
 * - Implementations written in an imported file are relative to that file, so they are
 *   rebased onto the main template's folder (`custom_types/scripts/x.sh`).
 * - An operation exists when it has an implementation; declared-only operations do not run.
 */
import { posix } from 'node:path';
import { at, fail, type Where } from './errors.ts';
import { isMapping } from './load.ts';
import type { NodeTemplate } from './topology.ts';
import { STANDARD_INTERFACE, type TypeRegistry } from './types.ts';

export type Op = 'create' | 'configure' | 'start' | 'stop' | 'delete';

/** The Standard lifecycle operations in the order they run. */
export const LIFECYCLE: readonly Op[] = ['create', 'configure', 'start', 'stop', 'delete'];

export interface Assigned {
  value: unknown;
  where: Where;
}

export interface Operation {
  op: Op;
  artifact: string;
  /** input name → value, in first-declared order */
  inputs: Map<string, Assigned>;
  where: Where;
}

/** A template or one of its types, as far as its interfaces and artifacts go. */
interface Layer {
  def: Record<string, unknown>;
  where: Where | undefined;
  folder: string;
  /** inputs given as definitions contribute their default (types), else they are values */
  definitions: boolean;
}

const INTERFACE_KEYS: ReadonlySet<string> = new Set([
  'type',
  'description',
  'inputs',
  'operations',
  'notifications',
]);

function isOp(name: string): name is Op {
  return (LIFECYCLE as readonly string[]).includes(name);
}

/** A URL or absolute path is kept; a relative path from an imported file is rebased. */
function rebase(path: string, folder: string): string {
  if (folder === '' || posix.isAbsolute(path) || /^[a-z][a-z0-9+.-]*:/i.test(path)) return path;
  return posix.normalize(posix.join(folder, path));
}

export function operationsOf(template: NodeTemplate, registry: TypeRegistry): Map<Op, Operation> {
  const layers: Layer[] = registry
    .chain('node', template.type)
    .reverse()
    .map((t) => ({ def: t.def, where: t.where, folder: t.folder, definitions: true }));
  layers.push({ def: template.def, where: template.where, folder: '', definitions: false });

  const standardNames = new Set(['Standard', 'tosca:Standard', STANDARD_INTERFACE]);
  const artifacts = new Map<string, string>();
  const implementation = new Map<Op, { artifact: string; where: Where }>();
  /** per layer: interface-level inputs, then each operation's */
  const inputLayers: { common: Map<string, Assigned>; ops: Map<Op, Map<string, Assigned>> }[] = [];

  for (const layer of layers) {
    // a type's problems are reported at the type; normative types have none
    const here = (...path: (string | number)[]): Where =>
      at(layer.where ?? template.where, ...path);
    if (isMapping(layer.def.artifacts)) {
      for (const [name, artifact] of Object.entries(layer.def.artifacts)) {
        const file = isMapping(artifact) ? artifact.file : artifact;
        if (typeof file === 'string') artifacts.set(name, rebase(file, layer.folder));
      }
    }
    const interfaces = layer.def.interfaces;
    const common = new Map<string, Assigned>();
    const ops = new Map<Op, Map<string, Assigned>>();
    inputLayers.push({ common, ops });
    if (interfaces === undefined || interfaces === null) continue;
    if (!isMapping(interfaces)) fail(here('interfaces'), 'expected a map of interfaces');
    for (const [name, raw] of Object.entries(interfaces)) {
      const iface = raw ?? {};
      if (!isMapping(iface))
        fail(here('interfaces', name), 'expected an interface (a map of operations)');
      if (
        typeof iface.type === 'string' &&
        registry.resolve('interface', iface.type) === STANDARD_INTERFACE
      ) {
        standardNames.add(name);
      }
      if (!standardNames.has(name)) continue;
      collectInputs(iface.inputs, common, layer, here('interfaces', name, 'inputs'));
      const entries: [string, unknown, Where][] = Object.entries(iface)
        .filter(([key]) => !INTERFACE_KEYS.has(key))
        .map(([key, value]) => [key, value, here('interfaces', name, key)]);
      if (isMapping(iface.operations)) {
        for (const [key, value] of Object.entries(iface.operations)) {
          entries.push([key, value, here('interfaces', name, 'operations', key)]);
        }
      }
      for (const [key, value, where] of entries) {
        if (!isOp(key)) {
          fail(
            where,
            `unknown operation "${key}" of the Standard interface (expected one of ${LIFECYCLE.join(', ')})`,
          );
        }
        const opInputs = ops.get(key) ?? new Map<string, Assigned>();
        ops.set(key, opInputs);
        let impl: unknown = value;
        if (isMapping(value)) {
          collectInputs(value.inputs, opInputs, layer, at(where, 'inputs'));
          impl = value.implementation;
          if (isMapping(impl)) impl = isMapping(impl.primary) ? impl.primary.file : impl.primary;
        }
        if (impl === undefined || impl === null) continue;
        if (typeof impl !== 'string') fail(where, 'expected the implementation as a file name');
        if (impl !== '')
          implementation.set(key, {
            artifact: artifacts.get(impl) ?? rebase(impl, layer.folder),
            where,
          });
      }
    }
  }

  const result = new Map<Op, Operation>();
  for (const op of LIFECYCLE) {
    const impl = implementation.get(op);
    if (impl === undefined) continue;
    const inputs = new Map<string, Assigned>();
    for (const layer of inputLayers) {
      for (const [k, v] of layer.common) inputs.set(k, v);
      for (const [k, v] of layer.ops.get(op) ?? []) inputs.set(k, v);
    }
    result.set(op, { op, artifact: impl.artifact, inputs, where: impl.where });
  }
  return result;
}

function collectInputs(
  section: unknown,
  into: Map<string, Assigned>,
  layer: Layer,
  where: Where,
): void {
  if (section === undefined || section === null) return;
  if (!isMapping(section)) fail(where, 'expected a map of inputs');
  for (const [name, value] of Object.entries(section)) {
    const inputWhere = at(where, name);
    if (layer.definitions && isMapping(value) && typeof value.type === 'string') {
      if (value.default !== undefined)
        into.set(name, { value: value.default, where: at(inputWhere, 'default') });
      continue;
    }
    into.set(name, { value, where: inputWhere });
  }
}
