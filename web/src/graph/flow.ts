/**
 * Step 5 of the graph pipeline (pure): a layout plus live states as React Flow nodes and
 * edges. The layout depends on structure only; states are merged in afterwards, and a batch
 * of state changes replaces only the node objects that changed, so React Flow re-renders
 * those and nothing is laid out again.
 */
import type { Edge, Node, Position } from '@xyflow/react';
import { nameOf } from '../states.ts';
import type { Layout } from './layout-types.ts';
import { NODE_HEIGHT, NODE_WIDTH } from './layout-types.ts';

export interface NodeLabel {
  name: string;
  engine: string;
}

export interface BatonNodeData extends Record<string, unknown> {
  index: number;
  name: string;
  engine: string;
  state: number;
  attempts: number;
}

export type BatonNode = Node<BatonNodeData, 'baton'>;

export interface RouteData extends Record<string, unknown> {
  /** flat polyline points from ELK, see Layout.routes */
  points: Float64Array | null;
}

export type BatonEdge = Edge<RouteData, 'route'>;

export interface NodeStates {
  states: ArrayLike<number>;
  attempts: ArrayLike<number>;
}

/** One target handle in the middle of the left side, one source in the middle of the right. */
// (Position's values as literals: this module must not load React Flow, so tests run in Node)
const HANDLES: NonNullable<BatonNode['handles']> = [
  {
    type: 'target',
    position: 'left' as Position,
    x: -0.5,
    y: NODE_HEIGHT / 2 - 0.5,
    width: 1,
    height: 1,
  },
  {
    type: 'source',
    position: 'right' as Position,
    x: NODE_WIDTH - 0.5,
    y: NODE_HEIGHT / 2 - 0.5,
    width: 1,
    height: 1,
  },
];

function flowNode(
  i: number,
  layout: Layout,
  label: NodeLabel,
  live: NodeStates,
  selected: boolean,
): BatonNode {
  return withState(
    {
      id: String(i),
      type: 'baton',
      position: { x: layout.positions[2 * i], y: layout.positions[2 * i + 1] },
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      // Known handles: React Flow need not measure a node before culling it, so it draws
      // only the nodes in view from the first frame (onlyRenderVisibleElements).
      handles: HANDLES,
      draggable: false,
      connectable: false,
      selected,
      data: { index: i, name: label.name, engine: label.engine, state: -1, attempts: 0 },
    },
    live.states[i],
    live.attempts[i],
  );
}

/** The node with a new state: new data, new accessible label; everything else shared. */
function withState(node: BatonNode, state: number, attempts: number): BatonNode {
  const { name, engine } = node.data;
  return {
    ...node,
    ariaLabel: `${name} (${engine}): ${nameOf(state)}${attempts > 1 ? `, attempt ${attempts}` : ''}`,
    data: { ...node.data, state, attempts },
  };
}

export function toFlowNodes(
  layout: Layout,
  labels: ArrayLike<NodeLabel>,
  live: NodeStates,
  selected = -1,
): BatonNode[] {
  const nodes: BatonNode[] = new Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    nodes[i] = flowNode(i, layout, labels[i], live, i === selected);
  }
  return nodes;
}

/**
 * The same nodes with those whose state or attempts differ from `live` rebuilt (only the
 * `changed` ids are looked at when given, else all: one comparison per node); every other
 * node object is reused as is. Returns `nodes` itself when nothing changed.
 */
export function mergeStates(
  nodes: readonly BatonNode[],
  live: NodeStates,
  changed?: Iterable<number>,
): BatonNode[] {
  let next: BatonNode[] | undefined;
  const merge = (i: number) => {
    const node = nodes[i];
    if (!node) return;
    if (node.data.state === live.states[i] && node.data.attempts === live.attempts[i]) return;
    next ??= nodes.slice();
    next[i] = withState(node, live.states[i], live.attempts[i]);
  };
  if (changed) for (const i of changed) merge(i);
  else for (let i = 0; i < nodes.length; i++) merge(i);
  return next ?? (nodes as BatonNode[]);
}

/** Moves the selection from `from` to `to` (either may be -1), touching only those two nodes. */
export function moveSelection(nodes: readonly BatonNode[], from: number, to: number): BatonNode[] {
  if (from === to) return nodes as BatonNode[];
  const next = nodes.slice();
  if (next[from]) next[from] = { ...next[from], selected: false };
  if (next[to]) next[to] = { ...next[to], selected: true };
  return next;
}

export function toFlowEdges(edges: Int32Array, layout: Layout): BatonEdge[] {
  const m = edges.length / 2;
  const out: BatonEdge[] = new Array(m);
  for (let k = 0; k < m; k++) {
    out[k] = {
      id: `e${k}`,
      source: String(edges[2 * k]),
      target: String(edges[2 * k + 1]),
      type: 'route',
      selectable: false,
      focusable: false,
      data: { points: layout.routes?.[k] ?? null },
    };
  }
  return out;
}
