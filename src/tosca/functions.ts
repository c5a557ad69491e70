/**
 * TOSCA intrinsic functions, evaluated at conversion time where the value is static:
 *
 * - `get_input: name` (or `[name, key...]`): the input's given value, else its default.
 * - `get_property: [ENTITY, name, key...]` and `[ENTITY, req_or_cap, name, key...]`: ENTITY is
 *   SELF, HOST (the nearest template up the host chain that has the property), or a node
 *   template. A requirement name reads the capability of the same name on the requirement's
 *   target (`[SELF, host, num_cpus]` on a component reads its Compute's `host` capability); a
 *   capability name reads the template's own capability (`[server, host, mem_size]`).
 *   Values come from the template, else the type's property defaults (derived_from walked),
 *   and are themselves evaluated (a property may be a `get_input`).
 * - `concat`, `join`, `token`: evaluated when every part is static; else an error.
 * - `get_attribute: [ENTITY, name]` (or `[ENTITY, req_or_cap, name]`) and
 *   `get_operation_output: [ENTITY, Standard, op, name]` are run-time values: they come back
 *   as `runtime` results that convert.ts turns into `KEY=get_attribute NODE:ATTR` args.
 *
 * SOURCE and TARGET only mean something inside a relationship's operations, which are not
 * converted, so they are refused here.
 */
import { at, fail, type Where } from './errors.ts';
import type { Inputs } from './inputs.ts';
import { isMapping } from './load.ts';
import { LIFECYCLE, type Op } from './operations.ts';
import { hostChain, type NodeTemplate, type Topology } from './topology.ts';
import { STANDARD_INTERFACE, type TypeRegistry } from './types.ts';
import { show } from './values.ts';

export interface Scope {
  topology: Topology;
  registry: TypeRegistry;
  inputs: Inputs;
}

export type Result =
  | { kind: 'value'; value: unknown }
  | {
      kind: 'runtime';
      /** the node template whose attribute or operation output is read */
      template: string;
      attribute: string;
      /** for get_operation_output: the operation that produces it */
      op?: Op;
      /** the function as written, for messages */
      text: string;
    };

const FUNCTIONS: ReadonlySet<string> = new Set([
  'get_input',
  'get_property',
  'get_attribute',
  'get_operation_output',
  'concat',
  'join',
  'token',
  'get_nodes_of_type',
  'get_artifact',
]);

/** Properties may refer to properties; deeper than this is a loop. */
const MAX_DEPTH = 32;

/** `{ name: args }` when `value` is a function call. */
export function asFunction(value: unknown): { name: string; args: unknown } | undefined {
  if (!isMapping(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !FUNCTIONS.has(keys[0])) return undefined;
  return { name: keys[0], args: value[keys[0]] };
}

function text(name: string, args: unknown): string {
  return `${name}: ${show(args)}`;
}

/** Every `get_input` inside `value` must name a declared input. */
export function checkInputRefs(inputs: Inputs, value: unknown, where: Where): void {
  const fn = asFunction(value);
  if (fn?.name === 'get_input') {
    const name = Array.isArray(fn.args) ? fn.args[0] : fn.args;
    if (typeof name !== 'string') fail(where, `${text(fn.name, fn.args)}: expected an input name`);
    if (!inputs.declared.has(name))
      fail(where, `get_input "${name}": no such input is declared in topology_template.inputs`);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkInputRefs(inputs, value[i], at(where, i));
  } else if (isMapping(value)) {
    for (const [k, v] of Object.entries(value)) checkInputRefs(inputs, v, at(where, k));
  }
}

/** Evaluates `value` as seen from the template `self`. */
export function evaluate(
  scope: Scope,
  self: string,
  value: unknown,
  where: Where,
  depth = 0,
): Result {
  if (depth > MAX_DEPTH) fail(where, 'get_property refers back to itself (a loop of properties)');
  const fn = asFunction(value);
  if (fn === undefined) {
    if (Array.isArray(value)) {
      return {
        kind: 'value',
        value: value.map((v, i) => staticValue(scope, self, v, at(where, i), depth, 'a list')),
      };
    }
    if (isMapping(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value))
        out[k] = staticValue(scope, self, v, at(where, k), depth, 'a map');
      return { kind: 'value', value: out };
    }
    return { kind: 'value', value };
  }
  const { name, args } = fn;
  const written = text(name, args);
  switch (name) {
    case 'get_input':
      return { kind: 'value', value: getInput(scope, args, where, written) };
    case 'get_property':
      return getProperty(scope, self, args, where, written, depth);
    case 'get_attribute':
      return getAttribute(scope, self, args, where, written);
    case 'get_operation_output': {
      if (!Array.isArray(args) || args.length !== 4 || !args.every((a) => typeof a === 'string')) {
        fail(where, `${written}: expected [ENTITY, interface, operation, output]`);
      }
      const [entity, iface, op, output] = args as string[];
      if (
        scope.registry.resolve('interface', iface) !== STANDARD_INTERFACE &&
        iface !== 'Standard'
      ) {
        fail(where, `${written}: only Standard lifecycle operations are converted`);
      }
      if (!(LIFECYCLE as readonly string[]).includes(op))
        fail(where, `${written}: unknown operation "${op}"`);
      const template = entityOf(scope, self, entity, where, written).name;
      return { kind: 'runtime', template, attribute: output, op: op as Op, text: written };
    }
    case 'concat': {
      if (!Array.isArray(args)) fail(where, `${written}: expected a list of values`);
      const parts = args.map((a, i) =>
        staticValue(scope, self, a, at(where, 'concat', i), depth, 'concat'),
      );
      return { kind: 'value', value: parts.map(toText).join('') };
    }
    case 'join': {
      if (!Array.isArray(args) || !Array.isArray(args[0]) || args.length > 2) {
        fail(where, `${written}: expected [ [values...], delimiter ]`);
      }
      const delimiter =
        args[1] === undefined ? '' : staticValue(scope, self, args[1], where, depth, 'join');
      const parts = (args[0] as unknown[]).map((a, i) =>
        staticValue(scope, self, a, at(where, 'join', 0, i), depth, 'join'),
      );
      return { kind: 'value', value: parts.map(toText).join(toText(delimiter)) };
    }
    case 'token': {
      if (
        !Array.isArray(args) ||
        args.length !== 3 ||
        typeof args[1] !== 'string' ||
        !Number.isInteger(args[2])
      ) {
        fail(where, `${written}: expected [string, separator characters, index]`);
      }
      const source = toText(staticValue(scope, self, args[0], where, depth, 'token'));
      const separators = new Set(args[1]);
      const pieces: string[] = [''];
      for (const c of source) {
        if (separators.has(c)) pieces.push('');
        else pieces[pieces.length - 1] += c;
      }
      const index = args[2] as number;
      if (index < 0 || index >= pieces.length) {
        fail(where, `${written}: index ${index} is out of range (${pieces.length} tokens)`);
      }
      return { kind: 'value', value: pieces[index] };
    }
    default:
      fail(where, `${name} is not supported: it has no value before the deployment runs`);
  }
}

/** A value of an argument, list or map, where a run-time value cannot be carried. */
function staticValue(
  scope: Scope,
  self: string,
  value: unknown,
  where: Where,
  depth: number,
  inside: string,
): unknown {
  const result = evaluate(scope, self, value, where, depth);
  if (result.kind === 'runtime') {
    fail(
      where,
      `${result.text} inside ${inside} cannot be evaluated before the run: a gorch arg can only be one whole get_attribute`,
    );
  }
  return result.value;
}

/** How a static value becomes text in `KEY=VALUE`. */
export function toText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function getInput(scope: Scope, args: unknown, where: Where, written: string): unknown {
  const [name, ...keys] = Array.isArray(args) ? args : [args];
  if (typeof name !== 'string') fail(where, `${written}: expected an input name`);
  if (!scope.inputs.declared.has(name)) {
    fail(where, `get_input "${name}": no such input is declared in topology_template.inputs`);
  }
  return index(scope.inputs.values.get(name) ?? null, keys, where, written);
}

function index(value: unknown, keys: readonly unknown[], where: Where, written: string): unknown {
  let v = value;
  for (const key of keys) {
    if (Array.isArray(v) && typeof key === 'number' && key >= 0 && key < v.length) v = v[key];
    else if (isMapping(v) && typeof key === 'string' && Object.hasOwn(v, key)) v = v[key];
    else fail(where, `${written}: ${show(v)} has no ${show(key)}`);
  }
  return v;
}

function entityOf(
  scope: Scope,
  self: string,
  entity: string,
  where: Where,
  written: string,
): NodeTemplate {
  if (entity === 'SOURCE' || entity === 'TARGET') {
    fail(
      where,
      `${written}: ${entity} only means something in a relationship's operations, which are not converted`,
    );
  }
  if (entity === 'HOST') {
    const host = hostChain(scope.topology, self)[0];
    if (host === undefined) fail(where, `${written}: ${self} has no host requirement`);
    return host;
  }
  const name = entity === 'SELF' ? self : entity;
  const template = scope.topology.templates.get(name);
  if (template === undefined) fail(where, `${written}: node template "${name}" is not defined`);
  return template;
}

function hasRequirement(t: NodeTemplate, name: string): boolean {
  return t.requirements.some((r) => r.name === name);
}

function hasCapability(scope: Scope, t: NodeTemplate, name: string): boolean {
  const caps = t.def.capabilities;
  return (
    (isMapping(caps) && Object.hasOwn(caps, name)) ||
    scope.registry.capabilityDefs(t.type).has(name)
  );
}

function hasProperty(scope: Scope, t: NodeTemplate, name: string): boolean {
  const props = t.def.properties;
  return (
    (isMapping(props) && Object.hasOwn(props, name)) ||
    scope.registry.propertyDefs('node', t.type).has(name)
  );
}

function getProperty(
  scope: Scope,
  self: string,
  args: unknown,
  where: Where,
  written: string,
  depth: number,
): Result {
  if (
    !Array.isArray(args) ||
    args.length < 2 ||
    typeof args[0] !== 'string' ||
    typeof args[1] !== 'string'
  ) {
    fail(
      where,
      `${written}: expected [ENTITY, property] or [ENTITY, requirement or capability, property]`,
    );
  }
  const [entity, first, ...rest] = args as [string, string, ...unknown[]];
  const viaCapability = (t: NodeTemplate) =>
    rest.length > 0 &&
    typeof rest[0] === 'string' &&
    (hasRequirement(t, first) || hasCapability(scope, t, first));
  let template: NodeTemplate;
  if (entity === 'HOST') {
    const chain = hostChain(scope.topology, self);
    if (chain.length === 0) fail(where, `${written}: ${self} has no host requirement`);
    const found = chain.find((t) => viaCapability(t) || hasProperty(scope, t, first));
    if (found === undefined) {
      fail(
        where,
        `${written}: no template hosting ${self} (${chain.map((t) => t.name).join(', ')}) has "${first}"`,
      );
    }
    template = found;
  } else {
    template = entityOf(scope, self, entity, where, written);
  }
  if (viaCapability(template)) {
    const requirement = template.requirements.find((r) => r.name === first);
    const owner =
      requirement === undefined ? template : scope.topology.templates.get(requirement.target)!;
    const result = capabilityProperty(
      scope,
      owner,
      first,
      rest[0] as string,
      where,
      written,
      depth,
    );
    return withKeys(result, rest.slice(1), where, written);
  }
  return withKeys(property(scope, template, first, where, written, depth), rest, where, written);
}

function withKeys(result: Result, keys: readonly unknown[], where: Where, written: string): Result {
  if (keys.length === 0) return result;
  if (result.kind === 'runtime') fail(where, `${written}: cannot index into ${result.text}`);
  return { kind: 'value', value: index(result.value, keys, where, written) };
}

function property(
  scope: Scope,
  t: NodeTemplate,
  name: string,
  where: Where,
  written: string,
  depth: number,
): Result {
  const props = t.def.properties;
  if (isMapping(props) && Object.hasOwn(props, name)) {
    return evaluate(scope, t.name, props[name], at(t.where, 'properties', name), depth + 1);
  }
  const def = scope.registry.propertyDefs('node', t.type).get(name);
  if (def === undefined) fail(where, `${written}: ${t.name} (${t.type}) has no property "${name}"`);
  if (def.default === undefined) {
    fail(
      where,
      `${written}: property "${name}" of ${t.name} is not set and ${t.type} gives no default`,
    );
  }
  return evaluate(scope, t.name, def.default, where, depth + 1);
}

function capabilityProperty(
  scope: Scope,
  t: NodeTemplate,
  capability: string,
  name: string,
  where: Where,
  written: string,
  depth: number,
): Result {
  const caps = t.def.capabilities;
  const assigned = isMapping(caps) ? caps[capability] : undefined;
  const props = isMapping(assigned) ? assigned.properties : undefined;
  if (isMapping(props) && Object.hasOwn(props, name)) {
    const propWhere = at(t.where, 'capabilities', capability, 'properties', name);
    return evaluate(scope, t.name, props[name], propWhere, depth + 1);
  }
  const def = scope.registry.capabilityDefs(t.type).get(capability);
  if (def === undefined && assigned === undefined) {
    fail(where, `${written}: ${t.name} (${t.type}) has no capability "${capability}"`);
  }
  // the node type's capability definition may refine the property (a value or a default)
  const refined = isMapping(def?.properties) ? def.properties[name] : undefined;
  if (refined !== undefined) {
    const value =
      isMapping(refined) && ('type' in refined || 'default' in refined) ? refined.default : refined;
    if (value !== undefined) return evaluate(scope, t.name, value, where, depth + 1);
  }
  const capType =
    typeof def?.type === 'string' ? def.type : isMapping(assigned) ? assigned.type : undefined;
  const typeDef =
    typeof capType === 'string'
      ? scope.registry.propertyDefs('capability', capType).get(name)
      : undefined;
  if (typeDef?.default !== undefined)
    return evaluate(scope, t.name, typeDef.default, where, depth + 1);
  fail(
    where,
    `${written}: property "${name}" of capability ${capability} of ${t.name} is not set and has no default`,
  );
}

const ATTRIBUTE_NAME = /^[^:\s]+$/;

function getAttribute(
  scope: Scope,
  self: string,
  args: unknown,
  where: Where,
  written: string,
): Result {
  if (
    !Array.isArray(args) ||
    args.length < 2 ||
    args.length > 3 ||
    !args.every((a) => typeof a === 'string')
  ) {
    fail(
      where,
      `${written}: expected [ENTITY, attribute] or [ENTITY, requirement or capability, attribute]`,
    );
  }
  const [entity, ...rest] = args as string[];
  const attribute = rest[rest.length - 1];
  if (!ATTRIBUTE_NAME.test(attribute)) {
    fail(
      where,
      `${written}: attribute "${attribute}" cannot be read at run time (no ':' or spaces)`,
    );
  }
  let template: NodeTemplate;
  if (entity === 'HOST' && rest.length === 1) {
    // the nearest host whose type declares the attribute (private_address is a Compute's)
    const chain = hostChain(scope.topology, self);
    if (chain.length === 0) fail(where, `${written}: ${self} has no host requirement`);
    template = chain.find((t) => scope.registry.attributeNames(t.type).has(attribute)) ?? chain[0];
  } else {
    template = entityOf(scope, self, entity, where, written);
  }
  if (rest.length === 2) {
    const requirement = template.requirements.find((r) => r.name === rest[0]);
    if (requirement !== undefined) template = scope.topology.templates.get(requirement.target)!;
    else if (!hasCapability(scope, template, rest[0])) {
      fail(
        where,
        `${written}: ${template.name} has no requirement or capability "${rest[0]}" (nested attribute values are not supported)`,
      );
    }
  }
  return { kind: 'runtime', template: template.name, attribute, text: written };
}
