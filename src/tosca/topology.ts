/**
 * The node templates of a topology with their types and requirements resolved.
 *
 * A requirement is written `- host: server` or `- host: { node: server, relationship: R }`,
 * where R is a relationship template of `relationship_templates`, a relationship type, or
 * `{ type: T, properties: ... }`. Without one, the relationship comes from the node type's
 * requirement definition of the same name, else it is DependsOn. A requirement is a *host*
 * requirement when it is named `host` or its relationship is (derived from) HostedOn.
 */
import { at, fail, type Source, type Where } from './errors.ts';
import { isMapping, type LoadedFile } from './load.ts';
import type { TypeRegistry } from './types.ts';

export interface Requirement {
  name: string;
  /** the target node template */
  target: string;
  /** full name of the relationship type */
  relationship: string;
  hosted: boolean;
  where: Where;
}

export interface NodeTemplate {
  name: string;
  /** full name of the node type */
  type: string;
  def: Record<string, unknown>;
  where: Where;
  requirements: Requirement[];
}

export interface Topology {
  src: Source;
  /** in file order */
  templates: Map<string, NodeTemplate>;
}

const TOPOLOGY_KEYS: ReadonlySet<string> = new Set([
  'description',
  'inputs',
  'node_templates',
  'relationship_templates',
  'outputs',
  'groups',
  'policies',
  'substitution_mappings',
  'workflows',
]);

const TEMPLATE_KEYS: ReadonlySet<string> = new Set([
  'type',
  'description',
  'metadata',
  'directives',
  'properties',
  'attributes',
  'requirements',
  'capabilities',
  'interfaces',
  'artifacts',
  'node_filter',
  'copy',
]);

const HOSTED_ON = 'tosca.relationships.HostedOn';
const DEPENDS_ON = 'tosca.relationships.DependsOn';

export function readTopology(main: LoadedFile, registry: TypeRegistry): Topology {
  const topology = main.data.topology_template;
  const where: Where = { src: main.src, path: ['topology_template'] };
  if (topology === undefined || topology === null) {
    fail(
      { src: main.src, path: [] },
      'no topology_template: there are no node templates to convert',
    );
  }
  if (!isMapping(topology)) fail(where, 'expected a map');
  for (const key of Object.keys(topology)) {
    if (!TOPOLOGY_KEYS.has(key)) {
      fail(at(where, key), `unknown field "${key}" (known: ${[...TOPOLOGY_KEYS].join(', ')})`);
    }
  }
  const nodes = topology.node_templates;
  const nodesWhere = at(where, 'node_templates');
  if (nodes === undefined || nodes === null) fail(where, 'node_templates is missing');
  if (!isMapping(nodes) || Object.keys(nodes).length === 0) {
    fail(nodesWhere, 'expected a map of one or more node templates');
  }
  const relationships = relationshipTemplates(
    topology.relationship_templates,
    at(where, 'relationship_templates'),
    registry,
  );

  const templates = new Map<string, NodeTemplate>();
  for (const [name, def] of Object.entries(nodes)) {
    const tWhere = at(nodesWhere, name);
    if (!isMapping(def)) fail(tWhere, 'expected a node template (a map with a type)');
    for (const key of Object.keys(def)) {
      if (!TEMPLATE_KEYS.has(key)) {
        fail(at(tWhere, key), `unknown field "${key}" (known: ${[...TEMPLATE_KEYS].join(', ')})`);
      }
    }
    if (typeof def.type !== 'string') fail(at(tWhere, 'type'), 'expected the name of a node type');
    const type = registry.resolve('node', def.type);
    if (type === undefined) {
      fail(
        at(tWhere, 'type'),
        `unknown node type "${def.type}" (not normative, not imported, not in node_types)`,
      );
    }
    templates.set(name, { name, type, def, where: tWhere, requirements: [] });
  }
  for (const template of templates.values()) {
    template.requirements = requirementsOf(template, templates, relationships, registry);
  }
  return { src: main.src, templates };
}

/** Relationship template name → full relationship type name. */
function relationshipTemplates(
  section: unknown,
  where: Where,
  registry: TypeRegistry,
): Map<string, string> {
  const result = new Map<string, string>();
  if (section === undefined || section === null) return result;
  if (!isMapping(section)) fail(where, 'expected a map of relationship templates');
  for (const [name, def] of Object.entries(section)) {
    const rWhere = at(where, name);
    if (!isMapping(def) || typeof def.type !== 'string') {
      fail(rWhere, 'expected a relationship template with a type');
    }
    const type = registry.resolve('relationship', def.type);
    if (type === undefined) fail(at(rWhere, 'type'), `unknown relationship type "${def.type}"`);
    result.set(name, type);
  }
  return result;
}

function requirementsOf(
  template: NodeTemplate,
  templates: ReadonlyMap<string, NodeTemplate>,
  relationships: ReadonlyMap<string, string>,
  registry: TypeRegistry,
): Requirement[] {
  const list = template.def.requirements;
  const listWhere = at(template.where, 'requirements');
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) fail(listWhere, 'expected a list of requirements (`- name: node`)');
  const defs = registry.requirementDefs(template.type);
  return list.map((entry, i): Requirement => {
    const where = at(listWhere, i);
    if (!isMapping(entry) || Object.keys(entry).length !== 1) {
      fail(
        where,
        'expected one requirement: `- name: node` or `- name: { node: ..., relationship: ... }`',
      );
    }
    const [name, value] = Object.entries(entry)[0];
    const assignment = isMapping(value) ? value : { node: value };
    const node = assignment.node;
    if (node === undefined || node === null) {
      fail(where, `requirement "${name}" names no node template (give \`node: <template>\`)`);
    }
    if (typeof node !== 'string')
      fail(where, `requirement "${name}": expected a node template name`);
    if (!templates.has(node)) {
      const type = registry.resolve('node', node);
      fail(
        where,
        type === undefined
          ? `node "${node}" is not defined`
          : `node "${node}" is a node type; a requirement must name a node template of the topology`,
      );
    }
    if (node === template.name) fail(where, `requirement "${name}" points to its own template`);
    const relationship = relationshipOf(
      assignment.relationship,
      defs.get(name),
      relationships,
      registry,
      at(where, name),
    );
    const hosted = name === 'host' || registry.derivesFrom('relationship', relationship, HOSTED_ON);
    return { name, target: node, relationship, hosted, where };
  });
}

function relationshipOf(
  assigned: unknown,
  definition: Record<string, unknown> | undefined,
  relationships: ReadonlyMap<string, string>,
  registry: TypeRegistry,
  where: Where,
): string {
  const named = (name: string, from: Where): string => {
    const type = relationships.get(name) ?? registry.resolve('relationship', name);
    if (type === undefined) {
      fail(
        from,
        `relationship "${name}" is neither a relationship template nor a relationship type`,
      );
    }
    return type;
  };
  const relWhere = at(where, 'relationship');
  if (typeof assigned === 'string') return named(assigned, relWhere);
  if (isMapping(assigned) && assigned.type !== undefined) {
    if (typeof assigned.type !== 'string')
      fail(at(relWhere, 'type'), 'expected a relationship type name');
    return named(assigned.type, at(relWhere, 'type'));
  }
  if (assigned !== undefined && assigned !== null && !isMapping(assigned)) {
    fail(relWhere, 'expected a relationship template or type name, or { type: ... }');
  }
  const fromType = definition?.relationship;
  const typeName = isMapping(fromType) ? fromType.type : fromType;
  if (typeof typeName === 'string') return registry.resolve('relationship', typeName) ?? DEPENDS_ON;
  return DEPENDS_ON;
}

/** The template `name` is directly hosted on, through its first host requirement. */
export function hostOf(topology: Topology, name: string): NodeTemplate | undefined {
  const host = topology.templates.get(name)?.requirements.find((r) => r.hosted);
  return host && topology.templates.get(host.target);
}

/** The templates up the host chain of `name`, nearest first; stops on a loop. */
export function hostChain(topology: Topology, name: string): NodeTemplate[] {
  const chain: NodeTemplate[] = [];
  const seen = new Set([name]);
  for (
    let h = hostOf(topology, name);
    h !== undefined && !seen.has(h.name);
    h = hostOf(topology, h.name)
  ) {
    chain.push(h);
    seen.add(h.name);
  }
  return chain;
}

/** The Compute template that hosts `name` (itself if it is a Compute), if any. */
export function computeHost(
  topology: Topology,
  registry: TypeRegistry,
  name: string,
): string | undefined {
  const self = topology.templates.get(name);
  if (self === undefined) return undefined;
  return [self, ...hostChain(topology, name)].find((t) =>
    registry.derivesFrom('node', t.type, 'tosca.nodes.Compute'),
  )?.name;
}
