/**
 * A run's DAG, left to right, coloured by state. The pipeline: DomainGraph -> layout worker
 * (cached on graph.key) -> toFlowNodes once per layout -> mergeStates on every live change.
 * Large graphs open at a readable zoom on their first layer and React Flow draws only what
 * is in view (onlyRenderVisibleElements).
 */
import {
  Background,
  BaseEdge,
  Controls,
  type EdgeProps,
  getBezierPath,
  Handle,
  MarkerType,
  MiniMap,
  type NodeChange,
  type NodeProps,
  Position,
  ReactFlow,
  type Viewport,
} from '@xyflow/react';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { DomainGraph } from '../graph/domain.ts';
import {
  type BatonEdge,
  type BatonNode,
  mergeStates,
  moveSelection,
  type NodeLabel,
  type NodeStates,
  startViewport,
  toFlowEdges,
  toFlowNodes,
} from '../graph/flow.ts';
import { layoutClient } from '../graph/layout-client.ts';
import type { Layout } from '../graph/layout-types.ts';
import { polylinePath } from '../graph/route-path.ts';
import { nameOf, swatchOf } from '../states.ts';

/** Above this many nodes: no minimap, open on the first layer instead of fitting all. */
export const LARGE_GRAPH = 1500;

const BatonNodeView = memo(function BatonNodeView({ data, selected }: NodeProps<BatonNode>) {
  const state = nameOf(data.state);
  const { background, color } = swatchOf(data.state);
  return (
    <div
      className={`node state-${state}${selected ? ' selected' : ''}`}
      data-node={data.index}
      data-node-name={data.name}
      data-state={state}
      style={{ background, color }}
      title={`${data.name} (${data.engine}): ${state}`}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="node-name">{data.name}</span>
      <span className="node-meta">
        {data.engine} · {state}
        {data.attempts > 1 ? ` · attempt ${data.attempts}` : ''}
      </span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

function RouteEdge(props: EdgeProps<BatonEdge>) {
  const points = props.data?.points;
  const path = points
    ? polylinePath(points)
    : getBezierPath({
        sourceX: props.sourceX,
        sourceY: props.sourceY,
        sourcePosition: Position.Right,
        targetX: props.targetX,
        targetY: props.targetY,
        targetPosition: Position.Left,
      })[0];
  return <BaseEdge id={props.id} path={path} markerEnd={props.markerEnd} />;
}

const nodeTypes = { baton: BatonNodeView };
const edgeTypes = { route: RouteEdge };
const defaultEdgeOptions = {
  markerEnd: { type: MarkerType.ArrowClosed, width: 14, height: 14 },
};
const proOptions = { hideAttribution: true };
const minimapColour = (node: BatonNode) => swatchOf(node.data.state).background;

export interface GraphCanvasProps {
  graph: DomainGraph;
  labels: readonly NodeLabel[];
  live: NodeStates;
  /** selected node id, -1 for none */
  selected?: number;
  onSelect?(node: number): void;
  label: string;
}

export function GraphCanvas({
  graph,
  labels,
  live,
  selected = -1,
  onSelect,
  label,
}: GraphCanvasProps) {
  const [layout, setLayout] = useState<Layout | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [nodes, setNodes] = useState<BatonNode[]>([]);
  const container = useRef<HTMLDivElement>(null);
  const liveRef = useRef(live);
  liveRef.current = live;
  const selectedRef = useRef(selected);

  // Layout: once per structure. A state change never gets here.
  useEffect(() => {
    let current = true;
    setError(null);
    layoutClient.layout(graph).then(
      (result) => {
        if (!current) return;
        performance.mark('baton:layout', { detail: { engine: result.engine, ms: result.ms } });
        setLayout(result);
      },
      (err: Error) => current && setError(err),
    );
    return () => {
      current = false;
    };
  }, [graph]);

  // Nodes: once per layout, with the states of the moment.
  useLayoutEffect(() => {
    if (!layout || layout.positions.length !== labels.length * 2) return;
    setNodes(toFlowNodes(layout, labels, liveRef.current, selectedRef.current));
  }, [layout, labels]);

  // Live states: only the nodes whose state changed get new objects.
  useEffect(() => {
    setNodes((previous) => mergeStates(previous, live));
  }, [live]);

  useEffect(() => {
    const from = selectedRef.current;
    selectedRef.current = selected;
    setNodes((previous) => moveSelection(previous, from, selected));
  }, [selected]);

  const edges = useMemo(() => (layout ? toFlowEdges(graph.edges, layout) : []), [graph, layout]);

  const large = labels.length > LARGE_GRAPH;
  const initialViewport = useMemo<Viewport | undefined>(() => {
    if (!layout || !large) return undefined;
    const box = container.current?.getBoundingClientRect();
    return startViewport(layout, { width: box?.width ?? 1000, height: box?.height ?? 600 }, 0.8);
  }, [layout, large]);

  // Time to the first drawn nodes, for the performance test and for anyone curious.
  useEffect(() => {
    if (nodes.length === 0) return;
    const frame = requestAnimationFrame(() => {
      if (container.current?.querySelector('.react-flow__node')) {
        if (performance.getEntriesByName('baton:graph-visible').length === 0) {
          performance.mark('baton:graph-visible', { detail: { nodes: nodes.length } });
        }
      }
    });
    return () => cancelAnimationFrame(frame);
  }, [nodes]);

  const onNodesChange = useCallback(
    (changes: NodeChange<BatonNode>[]) => {
      for (const change of changes) {
        if (change.type === 'select' && change.selected) onSelect?.(Number(change.id));
      }
    },
    [onSelect],
  );

  const ready = layout !== null && nodes.length === labels.length;
  return (
    <div className="graph" ref={container} data-layout={layout?.engine} data-ready={ready}>
      {error ? (
        <p className="notice error" role="alert">
          The graph could not be laid out: {error.message}. The Table view lists every node.
        </p>
      ) : null}
      {!ready && !error ? (
        <p className="graph-loading" role="status">
          Laying out {labels.length} {labels.length === 1 ? 'node' : 'nodes'}…
        </p>
      ) : null}
      {ready ? (
        <ReactFlow<BatonNode, BatonEdge>
          aria-label={label}
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          defaultEdgeOptions={defaultEdgeOptions}
          onNodesChange={onNodesChange}
          onlyRenderVisibleElements
          nodesDraggable={false}
          nodesConnectable={false}
          nodesFocusable
          edgesFocusable={false}
          elementsSelectable
          deleteKeyCode={null}
          selectionKeyCode={null}
          multiSelectionKeyCode={null}
          fitView={!large}
          fitViewOptions={{ padding: 0.12, maxZoom: 1.2 }}
          defaultViewport={initialViewport}
          minZoom={0.02}
          maxZoom={2.5}
          colorMode="system"
          proOptions={proOptions}
        >
          <Background gap={24} />
          <Controls showInteractive={false} />
          {large ? null : (
            <MiniMap<BatonNode> nodeColor={minimapColour} pannable zoomable ariaLabel="Minimap" />
          )}
        </ReactFlow>
      ) : null}
    </div>
  );
}
