/**
 * Run inputs: a document declares `inputs` (name -> {default?, description?}); a submission
 * gives `values` (name -> string, from the body or `?input=k=v`); args reference them as
 * `{{inputs.name}}` and are resolved at submission, so the stored run shows what ran.
 * A declared input without a default must be given a value.
 */
import { DocumentError } from './errors.ts';
import type { GorchNode } from './model.ts';
import type { NodePath } from './node-fields.ts';

export interface InputDeclaration {
  default?: string;
  description?: string;
}

const REFERENCE = /\{\{\s*inputs\.([A-Za-z_][\w-]*)\s*\}\}/g;

/** The limits args are held to once their references are substituted. */
export interface SubstitutionLimits {
  /** characters per arg */
  maxArgLength: number;
  /** characters of all args of the document together */
  maxArgsLength: number;
}

/**
 * Resolves `{{inputs.x}}` in every node's args; throws DocumentError naming the field. The
 * length of every arg after substitution is computed, and held to the limits, before any
 * substituted string is built: a large value referenced many times is refused, not built.
 */
export function resolveInputs(
  declared: Record<string, InputDeclaration> | undefined,
  given: Record<string, string> | undefined,
  nodes: GorchNode[],
  limits: SubstitutionLimits,
  at: NodePath,
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
  let total = 0;
  for (const node of nodes) {
    for (let a = 0; a < node.args.length; a++) {
      const arg = node.args[a];
      let length = arg.length;
      if (arg.includes('{{')) {
        for (const match of arg.matchAll(REFERENCE)) {
          const name = match[1];
          if (!Object.hasOwn(values, name)) {
            throw DocumentError.at(
              'shape',
              `${at(node.id)}.args[${a}]`,
              `{{inputs.${name}}} names no declared input (declared: ${Object.keys(values).join(', ') || 'none'})`,
            );
          }
          length += values[name].length - match[0].length;
        }
        if (length > limits.maxArgLength) {
          throw DocumentError.at(
            'limit',
            `${at(node.id)}.args[${a}]`,
            `${length} characters once {{inputs.*}} are substituted is over the limit of ${limits.maxArgLength}`,
          );
        }
      }
      total += length;
      if (total > limits.maxArgsLength) {
        throw DocumentError.at(
          'limit',
          `${at(node.id)}.args[${a}]`,
          `the args of the document come to ${total} characters up to here once ` +
            `{{inputs.*}} are substituted, over the limit of ${limits.maxArgsLength} for all args together`,
        );
      }
    }
  }
  for (const node of nodes) {
    for (let a = 0; a < node.args.length; a++) {
      const arg = node.args[a];
      if (arg.includes('{{')) {
        node.args[a] = arg.replace(REFERENCE, (_match, name: string) => values[name]);
      }
    }
  }
  return values;
}
