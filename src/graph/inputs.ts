/**
 * Run inputs: a document declares `inputs` (name -> {default?, description?}); a submission
 * gives `values` (name -> string, from the body or `?input=k=v`); args reference them as
 * `{{inputs.name}}` and are resolved at submission, so the stored run shows what ran.
 * A declared input without a default must be given a value.
 */
import { DocumentError } from './errors.ts';
import type { GorchNode } from './model.ts';

export interface InputDeclaration {
  default?: string;
  description?: string;
}

const REFERENCE = /\{\{\s*inputs\.([A-Za-z_][\w-]*)\s*\}\}/g;

/** Resolves `{{inputs.x}}` in every node's args; throws DocumentError naming the field. */
export function resolveInputs(
  declared: Record<string, InputDeclaration> | undefined,
  given: Record<string, string> | undefined,
  nodes: GorchNode[],
): Record<string, string> {
  const declarations = declared ?? {};
  const values: Record<string, string> = {};
  for (const name of Object.keys(given ?? {})) {
    if (!Object.hasOwn(declarations, name)) {
      const known = Object.keys(declarations).join(', ') || 'none';
      throw DocumentError.at(
        'shape',
        `values.${name}`,
        `no input "${name}" is declared (declared: ${known})`,
      );
    }
  }
  const missing: string[] = [];
  for (const [name, declaration] of Object.entries(declarations)) {
    const value = given && Object.hasOwn(given, name) ? given[name] : declaration.default;
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  if (missing.length > 0) {
    throw DocumentError.at(
      'shape',
      `inputs.${missing[0]}`,
      `required input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} ` +
        `not given: pass ?input=${missing[0]}=VALUE or "values": {"${missing[0]}": "..."}`,
    );
  }
  for (const node of nodes) {
    node.args.forEach((arg, a) => {
      if (!arg.includes('{{')) return;
      node.args[a] = arg.replace(REFERENCE, (_match, name: string) => {
        if (!Object.hasOwn(values, name)) {
          throw DocumentError.at(
            'shape',
            `nodes[${node.id}].args[${a}]`,
            `{{inputs.${name}}} names no declared input (declared: ${Object.keys(values).join(', ') || 'none'})`,
          );
        }
        return values[name];
      });
    });
  }
  return values;
}
