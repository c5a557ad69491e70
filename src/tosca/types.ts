/**
 * The TOSCA type system as conversion needs it: node, relationship, capability, data and
 * interface types from the normative set (normative.ts), the imports and the template's own
 * sections, with their `derived_from` chains and merged views (property definitions,
 * capabilities, requirements, attributes) computed once per type.
 *
 * Names: a type is found by its full name, or for normative types by a short name:
 * `Compute`, `tosca:Compute` → `tosca.nodes.Compute`; `PortDef` → `tosca.datatypes.network.PortDef`;
 * `Standard` → `tosca.interfaces.node.lifecycle.Standard`.
 */
import { parse } from 'yaml';
import { at, fail, type Where } from './errors.ts';
import { isMapping, type LoadedFile } from './load.ts';
import { NORMATIVE_TYPES } from './normative.ts';

export type TypeKind = 'node' | 'relationship' | 'capability' | 'data' | 'interface';

const SECTIONS: Readonly<Record<TypeKind, string>> = {
  node: 'node_types',
  relationship: 'relationship_types',
  capability: 'capability_types',
  data: 'data_types',
  interface: 'interface_types',
};

const PREFIXES: Readonly<Record<TypeKind, string>> = {
  node: 'tosca.nodes.',
  relationship: 'tosca.relationships.',
  capability: 'tosca.capabilities.',
  data: 'tosca.datatypes.',
  interface: 'tosca.interfaces.',
};

/** Data types that are not defined by a data_types entry. */
export const PRIMITIVE_TYPES: ReadonlySet<string> = new Set([
  'string',
  'integer',
  'float',
  'boolean',
  'timestamp',
  'null',
  'version',
  'range',
  'list',
  'map',
  'scalar-unit.size',
  'scalar-unit.time',
  'scalar-unit.frequency',
  'scalar-unit.bitrate',
]);

export const STANDARD_INTERFACE = 'tosca.interfaces.node.lifecycle.Standard';

export interface TypeDef {
  name: string;
  kind: TypeKind;
  /** resolved parent type, if any */
  parent?: string;
  /** for data types derived from a primitive type (`derived_from: integer`, or `type: integer`) */
  primitive?: string;
  def: Record<string, unknown>;
  /** where the type is defined; undefined for the normative types */
  where?: Where;
  /** folder of the defining file relative to the main template, posix, '' for normative */
  folder: string;
}

type Definitions = Map<string, Record<string, unknown>>;

let normativeData: Record<string, unknown> | undefined;

export class TypeRegistry {
  readonly #types = new Map<string, TypeDef>();
  readonly #short = new Map<string, string>();
  readonly #cache = new Map<string, unknown>();

  /** The registry of the normative types plus those of `files` (in import order). */
  static build(files: readonly LoadedFile[]): TypeRegistry {
    const registry = new TypeRegistry();
    normativeData ??= parse(NORMATIVE_TYPES) as Record<string, unknown>;
    registry.#addSections(normativeData, undefined, '');
    registry.#addShortNames();
    for (const file of files) registry.#addSections(file.data, file, file.folder);
    for (const type of registry.#types.values()) registry.#link(type);
    return registry;
  }

  #addSections(data: Record<string, unknown>, file: LoadedFile | undefined, folder: string): void {
    for (const kind of Object.keys(SECTIONS) as TypeKind[]) {
      const section = data[SECTIONS[kind]];
      if (section === undefined || section === null) continue;
      const sectionWhere: Where | undefined = file && { src: file.src, path: [SECTIONS[kind]] };
      if (!isMapping(section)) fail(sectionWhere!, 'expected a map of type definitions');
      for (const [name, def] of Object.entries(section)) {
        const where = sectionWhere && at(sectionWhere, name);
        if (def !== null && !isMapping(def)) fail(where!, 'expected a type definition (a map)');
        const previous = this.#types.get(`${kind}:${name}`);
        if (previous?.where !== undefined && where !== undefined) {
          fail(where, `type ${name} is already defined in ${previous.where.src.label}`);
        }
        this.#types.set(`${kind}:${name}`, { name, kind, def: def ?? {}, where, folder });
      }
    }
  }

  /** `rest` and `tosca:rest` for each normative `tosca.<kind>.rest`, and the last segment. */
  #addShortNames(): void {
    const lastSegments = new Map<string, string | null>();
    for (const type of this.#types.values()) {
      const rest = type.name.slice(PREFIXES[type.kind].length);
      this.#short.set(`${type.kind}:${rest}`, type.name);
      this.#short.set(`${type.kind}:tosca:${rest}`, type.name);
      const last = `${type.kind}:${rest.slice(rest.lastIndexOf('.') + 1)}`;
      lastSegments.set(last, lastSegments.has(last) ? null : type.name);
    }
    for (const [key, name] of lastSegments) {
      if (name === null || this.#short.has(key)) continue;
      this.#short.set(key, name);
      this.#short.set(key.replace(':', ':tosca:'), name);
    }
  }

  #link(type: TypeDef): void {
    const parent = type.def.derived_from;
    if (type.kind === 'data') {
      const own = type.def.type;
      if (typeof own === 'string' && PRIMITIVE_TYPES.has(own)) type.primitive = own;
      if (typeof parent === 'string' && PRIMITIVE_TYPES.has(parent)) {
        type.primitive = parent;
        return;
      }
    }
    if (parent === undefined || parent === null) return;
    const where = type.where && at(type.where, 'derived_from');
    if (typeof parent !== 'string') fail(where!, 'expected the name of the parent type');
    const resolved = this.resolve(type.kind, parent);
    if (resolved === undefined) {
      fail(where!, `unknown ${type.kind} type "${parent}"`);
    }
    type.parent = resolved;
    const seen = new Set([type.name]);
    for (
      let p: string | undefined = resolved;
      p !== undefined;
      p = this.get(type.kind, p)?.parent
    ) {
      if (seen.has(p)) fail(where!, `derived_from goes around in a circle through ${p}`);
      seen.add(p);
    }
  }

  /** The full name of a type given by full or short name, undefined if unknown. */
  resolve(kind: TypeKind, name: string): string | undefined {
    if (this.#types.has(`${kind}:${name}`)) return name;
    return this.#short.get(`${kind}:${name}`);
  }

  get(kind: TypeKind, name: string): TypeDef | undefined {
    const full = this.resolve(kind, name);
    return full === undefined ? undefined : this.#types.get(`${kind}:${full}`);
  }

  /** The type and its ancestors, the type first. */
  chain(kind: TypeKind, name: string): TypeDef[] {
    const chain: TypeDef[] = [];
    for (
      let t = this.get(kind, name);
      t !== undefined;
      t = t.parent === undefined ? undefined : this.get(kind, t.parent)
    ) {
      chain.push(t);
    }
    return chain;
  }

  derivesFrom(kind: TypeKind, name: string, base: string): boolean {
    return this.chain(kind, name).some((t) => t.name === base);
  }

  /** The primitive type a data type name comes down to, or undefined for complex types. */
  primitiveOf(name: string): string | undefined {
    if (PRIMITIVE_TYPES.has(name)) return name;
    for (const t of this.chain('data', name)) if (t.primitive !== undefined) return t.primitive;
    return undefined;
  }

  /** Property definitions by name, merged from the root type down. */
  propertyDefs(kind: TypeKind, name: string): Definitions {
    return this.#merged(`props:${kind}:${name}`, kind, name, (def) => def.properties);
  }

  /** Capability definitions of a node type (`host: tosca.capabilities.Container` expanded). */
  capabilityDefs(name: string): Definitions {
    return this.#merged(`caps:${name}`, 'node', name, (def) => def.capabilities, true);
  }

  /** Requirement definitions of a node type by requirement name. */
  requirementDefs(name: string): Definitions {
    return this.#merged(`reqs:${name}`, 'node', name, (def) => {
      if (!Array.isArray(def.requirements)) return undefined;
      const entries: Record<string, unknown> = {};
      for (const entry of def.requirements) {
        if (isMapping(entry)) Object.assign(entries, entry);
      }
      return entries;
    });
  }

  /** Attribute names of a node type, inherited ones included. */
  attributeNames(name: string): Set<string> {
    return new Set(this.#merged(`attrs:${name}`, 'node', name, (def) => def.attributes).keys());
  }

  /**
   * Merges a per-type map of definitions down the chain: a derived type's entry refines its
   * parent's field by field; a string entry is taken as `{ type: <string> }`.
   */
  #merged(
    key: string,
    kind: TypeKind,
    name: string,
    pick: (def: Record<string, unknown>) => unknown,
    mergeProperties = false,
  ): Definitions {
    const cached = this.#cache.get(key) as Definitions | undefined;
    if (cached !== undefined) return cached;
    const result: Definitions = new Map();
    for (const type of this.chain(kind, name).reverse()) {
      const section = pick(type.def);
      if (!isMapping(section)) continue;
      for (const [entry, value] of Object.entries(section)) {
        const def: Record<string, unknown> =
          typeof value === 'string' ? { type: value } : isMapping(value) ? value : {};
        const before = result.get(entry) ?? {};
        const merged = { ...before, ...def };
        if (mergeProperties && (isMapping(before.properties) || isMapping(def.properties))) {
          merged.properties = {
            ...(isMapping(before.properties) ? before.properties : {}),
            ...(isMapping(def.properties) ? def.properties : {}),
          };
        }
        result.set(entry, merged);
      }
    }
    this.#cache.set(key, result);
    return result;
  }
}
