/**
 * TOSCA Simple Profile YAML service template → gorch document (docs/architecture.md §8), as
 * gorchestrator's TOSCA client did. `convertTosca` reads the file and its imports, resolves
 * types, inputs and functions, builds the nodes and edges (convert.ts says how) and checks
 * the result with the gorch parser; every problem is a `ToscaError` naming the file, the
 * field and the line.
 *
 *   load.ts        reading files and imports
 *   types.ts       type registry, normative types (normative.ts), derived_from chains
 *   values.ts      data types and constraints; inputs.ts: topology inputs
 *   topology.ts    node templates, requirements, hosts
 *   operations.ts  Standard lifecycle operations merged from types and template
 *   functions.ts   get_input, get_property, get_attribute, concat, join, token
 *   convert.ts     nodes, args, edges
 */
import { type ConvertOptions, convert, type ToscaDocument } from './convert.ts';
import { ToscaError } from './errors.ts';
import { loadTemplate } from './load.ts';
import { TypeRegistry } from './types.ts';

export type { ConvertOptions, ToscaDocument } from './convert.ts';
export { DEFAULT_OPS } from './convert.ts';
export { ToscaError } from './errors.ts';
export { LIFECYCLE, type Op } from './operations.ts';

/** Converts the service template at `file`; throws `ToscaError`. */
export function convertTosca(file: string, options: ConvertOptions = {}): ToscaDocument {
  const loaded = loadTemplate(file);
  const registry = TypeRegistry.build(loaded.files);
  return convert(loaded, registry, options);
}

/** `['db_port=3306', 'name=a=b']` (repeated `--input k=v` flags) → `{ db_port: '3306', name: 'a=b' }`. */
export function parseInputOptions(assignments: readonly string[]): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      throw new ToscaError(`--input ${assignment}: expected KEY=VALUE`);
    }
    const key = assignment.slice(0, eq);
    if (Object.hasOwn(inputs, key)) throw new ToscaError(`--input ${key} is given twice`);
    inputs[key] = assignment.slice(eq + 1);
  }
  return inputs;
}

/** `'create,configure'` (the `--ops` flag) → `['create', 'configure']`; checked by convertTosca. */
export function parseOpsOption(value: string): string[] {
  return value
    .split(',')
    .map((op) => op.trim())
    .filter((op) => op !== '');
}
