/**
 * The submit page's preview of a pasted document (pure): JSON parsed, the shape read enough
 * to draw it (nodes, edges from `digraph` or `edges`). The server remains the judge: it
 * names what is wrong with a path (cycles, engines, get_attribute, ...), and the page shows
 * its answer; this only has to draw what it can and say why when it cannot.
 */
import { type DocumentShape, type DomainGraph, domainGraph, ShapeError } from './domain.ts';
import type { NodeLabel } from './flow.ts';

export type Preview =
  | { ok: true; graph: DomainGraph; labels: NodeLabel[]; name: string }
  | { ok: false; message: string; path?: string };

export function previewDocument(text: string): Preview {
  if (text.trim() === '') return { ok: false, message: 'paste or upload a gorch document' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `not JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      message: 'expected a JSON object with nodes and digraph or edges',
      path: '',
    };
  }
  const doc = value as Record<string, unknown>;
  if (!Array.isArray(doc.nodes)) {
    return { ok: false, message: 'nodes: expected an array of nodes', path: 'nodes' };
  }
  if (doc.digraph != null && !Array.isArray(doc.digraph)) {
    return { ok: false, message: 'digraph: expected an array of numbers', path: 'digraph' };
  }
  if (doc.edges != null && !Array.isArray(doc.edges)) {
    return { ok: false, message: 'edges: expected an array of [from, to] pairs', path: 'edges' };
  }
  let graph: DomainGraph;
  try {
    graph = domainGraph(doc as unknown as DocumentShape);
  } catch (err) {
    if (err instanceof ShapeError) return { ok: false, message: err.message, path: err.path };
    throw err;
  }
  // the edges are by id and ids may come in any order: each label goes at its node's id
  const list = doc.nodes as unknown[];
  const labels: NodeLabel[] = new Array(list.length);
  const ids = list.map((node, i) => {
    const id = (node as { id?: unknown } | null)?.id;
    return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < list.length ? id : i;
  });
  const permutation = new Set(ids).size === ids.length;
  list.forEach((node, i) => {
    const o = (node ?? {}) as Record<string, unknown>;
    const id = permutation ? ids[i] : i;
    labels[id] = {
      // as the server names a node without a name
      name: typeof o.name === 'string' && o.name !== '' ? o.name : `node-${id}`,
      engine: typeof o.engine === 'string' && o.engine !== '' ? o.engine : 'nil',
    };
  });
  return { ok: true, graph, labels, name: typeof doc.name === 'string' ? doc.name : '' };
}

/** A small document to start from: two branches joining, with visible progress. */
export const EXAMPLE_DOCUMENT = `{
  "name": "example",
  "edges": [[0, 1], [0, 2], [1, 3], [2, 3]],
  "nodes": [
    { "id": 0, "name": "fetch", "engine": "sleep", "args": ["1"] },
    { "id": 1, "name": "build", "engine": "sleep", "args": ["2"] },
    { "id": 2, "name": "test", "engine": "sleep", "args": ["1.5"] },
    { "id": 3, "name": "deploy", "engine": "nil" }
  ]
}
`;
