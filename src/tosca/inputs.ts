/**
 * Topology inputs: the declarations of `topology_template.inputs`, the values given by the
 * user (text, as from `--input key=value`) and their defaults, each checked against the
 * declared type and constraints. Every check happens up front, whether or not an operation
 * reads the input: a template that cannot be deployed as given fails before anything runs.
 */
import { at, fail, type Where } from './errors.ts';
import { isMapping, type LoadedFile } from './load.ts';
import type { TypeRegistry } from './types.ts';
import { checkConstraints, checkValue, typeConstraints } from './values.ts';

export interface Inputs {
  /** declared input names, with where each is declared */
  declared: Map<string, Where>;
  /** the value of each input that has one (given, else its default) */
  values: Map<string, unknown>;
}

/** `required: false` (also `no`, which YAML 1.2 reads as a string) makes an input optional. */
function isRequired(decl: Record<string, unknown>): boolean {
  const r = decl.required;
  return !(r === false || r === 'no' || r === 'false' || r === 'False');
}

export function resolveInputs(
  main: LoadedFile,
  registry: TypeRegistry,
  given: Readonly<Record<string, string>>,
): Inputs {
  const topology = main.data.topology_template;
  const section = isMapping(topology) ? topology.inputs : undefined;
  const sectionWhere: Where = { src: main.src, path: ['topology_template', 'inputs'] };
  if (section !== undefined && section !== null && !isMapping(section)) {
    fail(sectionWhere, 'expected a map of input definitions');
  }
  const decls = section ?? {};
  const declared = new Map<string, Where>();
  const values = new Map<string, unknown>();

  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(decls, name)) {
      const known = Object.keys(decls);
      fail(
        sectionWhere,
        `unknown input "${name}": the template declares ${
          known.length === 0 ? 'no inputs' : known.join(', ')
        }`,
      );
    }
  }

  const missing: string[] = [];
  let firstMissing: Where | undefined;
  for (const [name, raw] of Object.entries(decls)) {
    const where = at(sectionWhere, name);
    declared.set(name, where);
    if (raw !== null && !isMapping(raw)) fail(where, 'expected an input definition (a map)');
    const decl = raw ?? {};
    const typeName = decl.type ?? 'string';
    if (typeof typeName !== 'string') fail(at(where, 'type'), 'expected a type name');
    if (registry.primitiveOf(typeName) === undefined && !registry.get('data', typeName)) {
      fail(at(where, 'type'), `unknown data type "${typeName}"`);
    }
    const constraints = [
      ...typeConstraints(typeName, registry),
      ...(Array.isArray(decl.constraints) ? decl.constraints : []),
    ];
    const check = (value: unknown, fromText: boolean, whereValue: Where, origin: string) => {
      const checked = checkValue(value, typeName, registry, fromText);
      if (!checked.ok) fail(whereValue, `${checked.reason}${origin} (input of type ${typeName})`);
      const broken = checkConstraints(checked.value, typeName, constraints, registry);
      if (broken !== undefined) fail(whereValue, `${broken}${origin}`);
      return checked.value;
    };

    const hasDefault = decl.default !== undefined && decl.default !== null;
    const fallback = hasDefault ? check(decl.default, false, at(where, 'default'), '') : undefined;
    if (Object.hasOwn(given, name)) {
      values.set(name, check(given[name], true, where, ` (given ${name}=${given[name]})`));
    } else if (hasDefault) {
      values.set(name, fallback);
    } else if (isRequired(decl)) {
      missing.push(name);
      firstMissing ??= where;
    }
  }
  if (firstMissing !== undefined) {
    const one = missing.length === 1;
    fail(
      firstMissing,
      `required input${one ? '' : 's'} ${missing.map((m) => `"${m}"`).join(', ')} ${
        one ? 'is' : 'are'
      } missing (no default): give ${missing.map((m) => `--input ${m}=VALUE`).join(' ')}`,
    );
  }
  return { declared, values };
}
