/**
 * A run's DAG, left to right, coloured by state. The pipeline: DomainGraph -> layout worker
 * (cached on graph.key) -> toFlowNodes once per layout -> mergeStates on every live change.
 * The graph opens fitted (graph/viewport.ts: from the layout's bounds, never from measured
 * nodes) and stays fitted as the view resizes until the user moves it; Fit brings it back.
 * Zoomed in, React Flow draws the nodes in view (onlyRenderVisibleElements) with their
 * names; zoomed out below OVERVIEW_ZOOM, a large graph is the canvas overview
 * (OverviewLayer) and React Flow gets no nodes at all.
 * The container's data attributes say what is on screen, for tests and the bench:
 * data-ready, data-layout, data-render (dom | overview), data-edges (svg | canvas),
 * data-fitted, data-zoom, and in the
 * overview data-overview-drawn / data-overview-in-view (nodes partly / wholly in view) and
 * data-overview-settled (the canvas shows exactly that, not a bitmap being re-rendered).
 */
import {
  Background,
  BaseEdge,
  ControlButton,
  Controls,
  type EdgeProps,
  type Viewport as FlowViewport,
  getBezierPath,
  Handle,
  MarkerType,
  MiniMap,
  type NodeChange,
  type NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  useStore,
} from '@xyflow/react';
import {
  memo,
  type MouseEvent as ReactMouseEvent,
  type RefObject,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import type { DomainGraph } from '../graph/domain.ts';
import {
  type BatonEdge,
  type BatonNode,
  mergeStates,
  moveSelection,
  type NodeLabel,
  type NodeStates,
  toFlowEdges,
  toFlowNodes,
} from '../graph/flow.ts';
import { layoutClient } from '../graph/layout-client.ts';
import type { Layout } from '../graph/layout-types.ts';
import { polylinePath } from '../graph/route-path.ts';
import {
  type Bounds,
  DOM_ALWAYS_NODES,
  fitViewport,
  grow,
  inside,
  layoutBounds,
  MAX_ZOOM,
  minZoomFor,
  nodeAt,
  usesOverview,
  type Viewport,
  visibleRect,
  windowOf,
} from '../graph/viewport.ts';
import { nameOf, swatchOf } from '../states.ts';
import { type OverviewFrame, OverviewLayer } from './OverviewLayer.tsx';

/** Above this many nodes: no minimap (the overview is the map). */
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
        // a new layout (the submit page's preview as the document changes) opens fitted anew
        <ReactFlowProvider key={layoutKey(layout)}>
          <Flow
            layout={layout}
            graphEdges={graph.edges}
            nodes={nodes}
            edges={edges}
            live={live}
            selected={selected}
            onSelect={onSelect}
            label={label}
            container={container}
          />
        </ReactFlowProvider>
      ) : null}
    </div>
  );
}

const layoutKeys = new WeakMap<Layout, number>();
let nextLayoutKey = 1;
/** A key per layout object, to give each its own React Flow. */
function layoutKey(layout: Layout): number {
  let key = layoutKeys.get(layout);
  if (key === undefined) {
    key = nextLayoutKey++;
    layoutKeys.set(layout, key);
  }
  return key;
}

const NO_NODES: BatonNode[] = [];
const NO_EDGES: BatonEdge[] = [];
const fitViewIcon = (
  <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 30" aria-hidden="true">
    <path d="M3.692 4.63c0-.53.4-.938.939-.938h5.215V0H4.708C2.13 0 0 2.054 0 4.63v5.216h3.692V4.631zM27.354 0h-5.2v3.692h5.17c.53 0 .984.4.984.939v5.215H32V4.631A4.624 4.624 0 0027.354 0zm.954 24.83c0 .532-.4.94-.939.94h-5.215v3.768h5.215c2.577 0 4.631-2.13 4.631-4.707v-5.139h-3.692v5.139zm-23.677.94c-.531 0-.939-.4-.939-.94v-5.138H0v5.139c0 2.577 2.13 4.707 4.708 4.707h5.138V25.77H4.631z" />
  </svg>
);

/** Whether `a` is (up to rounding) the viewport `b`. */
const sameViewport = (a: Viewport, b: Viewport) =>
  Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5 && Math.abs(a.zoom / b.zoom - 1) < 1e-3;

interface FlowProps {
  layout: Layout;
  graphEdges: Int32Array;
  nodes: BatonNode[];
  edges: BatonEdge[];
  live: NodeStates;
  selected: number;
  onSelect?(node: number): void;
  label: string;
  container: RefObject<HTMLDivElement | null>;
}

/** React Flow and the overview, inside the provider so both can reach its store. */
function Flow({
  layout,
  graphEdges,
  nodes,
  edges,
  live,
  selected,
  onSelect,
  label,
  container,
}: FlowProps) {
  const n = nodes.length;
  const { setViewport, screenToFlowPosition } = useReactFlow<BatonNode, BatonEdge>();
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  const bounds = useMemo<Bounds>(() => layoutBounds(layout), [layout]);
  const minZoom = useMemo(() => minZoomFor(bounds), [bounds]);

  // The first frame is already fitted, from the container's size (React Flow measures its
  // own a moment later; the effect below refits if they differ).
  const [initial] = useState<Viewport>(() => {
    const box = container.current;
    return fitViewport(bounds, {
      width: box?.clientWidth || 1000,
      height: box?.clientHeight || 600,
    });
  });
  const windowed = n > LARGE_GRAPH;
  const [overview, setOverview] = useState(() => usesOverview(n, initial.zoom));
  const [fitted, setFitted] = useState(true);
  const fittedRef = useRef(true);
  const lastFit = useRef<Viewport>(initial);
  // Zoomed in on a large graph, React Flow gets only the nodes around the view (windowOf):
  // `core` is what was in view when the window was cut, `rect` the window itself.
  const [win, setWin] = useState<{ core: Bounds; rect: Bounds } | null>(() => {
    if (!windowed || usesOverview(n, initial.zoom)) return null;
    const box = container.current;
    const visible = visibleRect(initial, {
      width: box?.clientWidth || 1000,
      height: box?.clientHeight || 600,
    });
    return { core: visible, rect: grow(visible, 1) };
  });
  const winRef = useRef(win);

  /** The drawing mode and the window for a viewport the view is at or moving to. */
  const follow = useCallback(
    (viewport: Viewport, view: { width: number; height: number }) => {
      const zoomedOut = usesOverview(n, viewport.zoom);
      setOverview(zoomedOut);
      if (!windowed || zoomedOut || view.width === 0) return;
      const visible = visibleRect(viewport, view);
      const current = winRef.current;
      // a new window once the view has moved half its size away from the last one's core
      if (current && inside(visible, grow(current.core, 0.5))) return;
      winRef.current = { core: visible, rect: grow(visible, 1) };
      setWin(winRef.current);
    },
    [n, windowed],
  );
  const fit = useCallback(() => {
    if (width === 0 || height === 0) return;
    const viewport = fitViewport(bounds, { width, height });
    lastFit.current = viewport;
    fittedRef.current = true;
    setFitted(true);
    follow(viewport, { width, height });
    void setViewport(viewport);
  }, [bounds, width, height, follow, setViewport]);

  // Fitted stays fitted: on open, when the view resizes (a panel opens, the window turns),
  // when the graph changes. Once the user has moved the view, only Fit fits again.
  useLayoutEffect(() => {
    if (fittedRef.current) fit();
  }, [fit]);

  const onMove = useCallback(
    (_: unknown, viewport: FlowViewport) => follow(viewport, { width, height }),
    [follow, width, height],
  );
  const subset = useMemo(
    () => (windowed && win ? windowOf(layout.positions, win.rect) : null),
    [windowed, win, layout],
  );
  const flowNodes = useMemo(
    () => (overview ? NO_NODES : subset ? Array.from(subset, (i) => nodes[i]) : nodes),
    [overview, subset, nodes],
  );
  // Above DOM_ALWAYS_NODES the edges are always the canvas's (see graph/overview.ts).
  const canvasEdges = n > DOM_ALWAYS_NODES;
  const onMoveEnd = useCallback(
    (_: unknown, viewport: FlowViewport) => {
      const still = sameViewport(viewport, lastFit.current);
      fittedRef.current = still;
      setFitted(still);
      if (container.current) container.current.dataset.zoom = viewport.zoom.toPrecision(4);
    },
    [container],
  );

  useLayoutEffect(() => {
    const el = container.current;
    if (!el) return;
    el.dataset.render = overview ? 'overview' : 'dom';
    el.dataset.edges = overview || canvasEdges ? 'canvas' : 'svg';
    el.dataset.fitted = String(fitted);
    if (!overview) {
      delete el.dataset.overviewDrawn;
      delete el.dataset.overviewInView;
      delete el.dataset.overviewSettled;
    }
  }, [overview, canvasEdges, fitted, container]);
  useLayoutEffect(() => {
    if (container.current) container.current.dataset.zoom = initial.zoom.toPrecision(4);
  }, [container, initial]);

  const onDrawn = useCallback(
    (stats: OverviewFrame) => {
      const el = container.current;
      if (!el || !stats.boxes) return;
      el.dataset.overviewMs = stats.ms.toFixed(1);
      el.dataset.overviewDrawn = String(stats.drawn);
      el.dataset.overviewInView = String(stats.inView);
      el.dataset.overviewSettled = String(stats.settled);
      if (stats.drawn > 0) markVisible(stats.drawn);
    },
    [container],
  );

  // In the overview there are no DOM nodes to click: a click on the pane picks the box.
  const onPaneClick = useCallback(
    (event: ReactMouseEvent) => {
      if (!overview) return;
      const at = screenToFlowPosition({ x: event.clientX, y: event.clientY });
      const node = nodeAt(layout.positions, at.x, at.y);
      if (node >= 0) onSelect?.(node);
    },
    [overview, screenToFlowPosition, layout, onSelect],
  );

  // Time to the first drawn nodes, for the performance test and for anyone curious.
  useEffect(() => {
    if (overview || n === 0) return;
    const frame = requestAnimationFrame(() => {
      const drawn = container.current?.querySelectorAll('.react-flow__node').length ?? 0;
      if (drawn > 0) markVisible(drawn);
    });
    return () => cancelAnimationFrame(frame);
  }, [overview, n, container]);

  const onNodesChange = useCallback(
    (changes: NodeChange<BatonNode>[]) => {
      for (const change of changes) {
        if (change.type === 'select' && change.selected) onSelect?.(Number(change.id));
      }
    },
    [onSelect],
  );

  const large = n > LARGE_GRAPH;
  return (
    <ReactFlow<BatonNode, BatonEdge>
      aria-label={
        overview
          ? `${label}. Zoomed out: zoom in to reach the nodes by keyboard, or use the Table view.`
          : label
      }
      nodes={flowNodes}
      edges={canvasEdges ? NO_EDGES : edges}
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
      defaultViewport={initial}
      minZoom={minZoom}
      maxZoom={MAX_ZOOM}
      onMove={onMove}
      onMoveEnd={onMoveEnd}
      onPaneClick={onPaneClick}
      colorMode="system"
      proOptions={proOptions}
    >
      {/* the dots would be sub-pixel tiles at overview zooms: costly and invisible */}
      {overview ? null : <Background gap={24} />}
      {overview || canvasEdges ? (
        <OverviewLayer
          layout={layout}
          bounds={bounds}
          edges={graphEdges}
          states={live.states}
          selected={selected}
          boxes={overview}
          onDrawn={onDrawn}
        />
      ) : null}
      <Controls showInteractive={false} showFitView={false}>
        <ControlButton
          className="react-flow__controls-fitview"
          onClick={fit}
          title="Fit the whole graph"
          aria-label="Fit View"
        >
          {fitViewIcon}
        </ControlButton>
      </Controls>
      {large || overview ? null : (
        <MiniMap<BatonNode> nodeColor={minimapColour} pannable zoomable ariaLabel="Minimap" />
      )}
    </ReactFlow>
  );
}

function markVisible(nodes: number) {
  if (performance.getEntriesByName('baton:graph-visible').length === 0) {
    performance.mark('baton:graph-visible', { detail: { nodes } });
  }
}
