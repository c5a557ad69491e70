/**
 * `KEY=get_attribute NODE:ATTR` args are resolved just before dispatch from the outputs of
 * the upstream node the parser bound them to (graph.refs).
 */
import type { GorchNode, Graph } from '../graph/model.ts';

export function resolveArgs(
  graph: Graph,
  node: GorchNode,
  outputs: ReadonlyArray<Record<string, string> | undefined>,
): GorchNode {
  const refs = graph.refs.get(node.id);
  if (!refs) return node;
  const args = [...node.args];
  for (const ref of refs)
    args[ref.arg] = `${ref.key}=${outputs[ref.source]?.[ref.attribute] ?? ''}`;
  return { ...node, args };
}
