/**
 * The canvas layer inside React Flow (below its transparent pane, so panning and zooming
 * stay React Flow's): the overview (`boxes`), or the edges alone under React Flow's nodes.
 * The graph is rendered (graph/overview.ts) into an off-screen bitmap
 * covering the view and half a view around it; each frame only copies that bitmap into
 * place. So panning costs one copy whatever the graph's size, and rasterising thousands of
 * edges (most of the cost: ~0.5 s for 40,000 on a 2-core machine without a GPU) happens
 * when the zoom settles, the view leaves the bitmap, or states change. While the zoom is
 * moving, the bitmap is scaled (zooming out: down to any size, the rest of the view blank
 * for a moment; in: up to twice); it is rendered anew once the view has rested for
 * SETTLE_MS. React renders this component only when its inputs change, never per frame.
 */
import { useStoreApi } from '@xyflow/react';
import { useCallback, useEffect, useRef } from 'react';
import type { Layout } from '../graph/layout-types.ts';
import {
  bufferRect,
  countInView,
  drawOverview,
  intersect,
  type OverviewStats,
} from '../graph/overview.ts';
import { type Bounds, inside, visibleRect } from '../graph/viewport.ts';
import { STATE_NAMES, State, swatchOf } from '../states.ts';

/** fill colour by state code */
const FILLS: string[] = [];
for (const name of STATE_NAMES) FILLS[State[name]] = swatchOf(name).background;

/** How long the view must rest before a scaled bitmap is rendered again at its zoom. */
const SETTLE_MS = 120;
/** Margin kept around the graph in the bitmap, in flow units (the selection ring). */
const GRAPH_MARGIN = 40;

export interface OverviewLayerProps {
  layout: Layout;
  bounds: Bounds;
  edges: Int32Array;
  states: ArrayLike<number>;
  selected: number;
  /** draw the nodes as boxes (the overview); else only the edges */
  boxes: boolean;
  /** called after each frame drawn */
  onDrawn(stats: OverviewFrame): void;
}

export interface OverviewFrame extends OverviewStats {
  /** whether the frame drew boxes (the overview) or edges alone */
  boxes: boolean;
  /** time spent in the frame, ms */
  ms: number;
  /** whether the bitmap was rendered in this frame (else copied, maybe scaled) */
  rendered: boolean;
  /** whether the frame shows exactly the view and the current states (not a scaled or
   * stale bitmap waiting to be rendered again) */
  settled: boolean;
}

interface Buffer {
  canvas: HTMLCanvasElement;
  /** plane rectangle the bitmap shows, at `zoom` × `ratio` device pixels per flow unit */
  rect: Bounds;
  zoom: number;
  ratio: number;
  version: number;
}

export function OverviewLayer({
  layout,
  bounds,
  edges,
  states,
  selected,
  boxes,
  onDrawn,
}: OverviewLayerProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const store = useStoreApi();
  const frame = useRef(0);
  const settle = useRef(0);
  const mustRender = useRef(false);
  const buffer = useRef<Buffer | null>(null);
  const version = useRef(0);
  const lastRender = useRef({ at: 0, ms: 0 });
  const inputs = useRef({ layout, bounds, edges, states, selected, boxes, onDrawn });
  inputs.current = { layout, bounds, edges, states, selected, boxes, onDrawn };

  const render = useCallback(
    (canvas: HTMLCanvasElement, rect: Bounds, zoom: number, ratio: number) => {
      const { layout, edges, states, selected, boxes } = inputs.current;
      const previous = buffer.current;
      const target = previous?.canvas ?? document.createElement('canvas');
      const width = Math.max(1, Math.ceil(rect.width * zoom * ratio));
      const height = Math.max(1, Math.ceil(rect.height * zoom * ratio));
      if (target.width !== width || target.height !== height) {
        target.width = width;
        target.height = height;
      }
      const ctx = target.getContext('2d');
      if (!ctx) return null;
      const style = getComputedStyle(canvas);
      drawOverview(
        ctx,
        {
          positions: layout.positions,
          edges,
          states,
          fills: FILLS,
          selected,
          edgeColour: style.getPropertyValue('--edge').trim() || '#8c959f',
          selectedColour: style.getPropertyValue('--selected').trim() || '#1f6feb',
          boxes,
        },
        { x: -rect.x * zoom, y: -rect.y * zoom, zoom },
        { width: rect.width * zoom, height: rect.height * zoom },
        ratio,
      );
      buffer.current = { canvas: target, rect, zoom, ratio, version: version.current };
      return buffer.current;
    },
    [],
  );

  const draw = useCallback(() => {
    frame.current = 0;
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    const { transform, width, height } = store.getState();
    if (width === 0 || height === 0) return;
    const started = performance.now();
    const ratio = window.devicePixelRatio || 1;
    const pixelWidth = Math.round(width * ratio);
    const pixelHeight = Math.round(height * ratio);
    if (canvas.width !== pixelWidth || canvas.height !== pixelHeight) {
      canvas.width = pixelWidth;
      canvas.height = pixelHeight;
    }
    const [x, y, zoom] = transform;
    const visible = visibleRect({ x, y, zoom }, { width, height });
    const { layout, bounds, onDrawn } = inputs.current;
    const graph = {
      x: bounds.x - GRAPH_MARGIN,
      y: bounds.y - GRAPH_MARGIN,
      width: bounds.width + 2 * GRAPH_MARGIN,
      height: bounds.height + 2 * GRAPH_MARGIN,
    };
    const shown = intersect(visible, graph);

    let current = buffer.current;
    const usable = current !== null && current.ratio === ratio;
    const placed =
      usable && current!.zoom === zoom && (shown === null || inside(shown, current!.rect));
    const upToDate = usable && current!.version === version.current;
    let rendered = false;
    // whether the canvas shows exactly what is in view, states included
    let settled = shown === null || (placed && upToDate);
    const later = (ms: number) => {
      clearTimeout(settle.current);
      settle.current = window.setTimeout(() => {
        mustRender.current = true;
        if (frame.current === 0) frame.current = requestAnimationFrame(draw);
      }, ms);
    };
    if (shown !== null && !(placed && upToDate)) {
      const scale = usable ? zoom / current!.zoom : 0;
      // New states while the bitmap is in place: render again, but spend at most a fifth of
      // the time rendering (a 20,000-node run streams changes for as long as it runs).
      const wait = lastRender.current.at + 5 * lastRender.current.ms - started;
      if (placed && !mustRender.current && wait > 0) {
        later(wait);
      } else if (
        !mustRender.current &&
        scale > 0 &&
        scale < 2 &&
        intersect(current!.rect, shown) !== null
      ) {
        // the zoom is moving: show the bitmap scaled, render properly once it rests
        later(SETTLE_MS);
      } else {
        const rect = bufferRect(visible, graph, zoom, ratio);
        current = rect ? render(canvas, rect, zoom, ratio) : null;
        rendered = true;
        settled = true;
      }
    }
    mustRender.current = false;

    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (current && shown !== null) {
      const scale = zoom / current.zoom;
      ctx.imageSmoothingEnabled = scale !== 1;
      ctx.drawImage(
        current.canvas,
        (current.rect.x * zoom + x) * ratio,
        (current.rect.y * zoom + y) * ratio,
        current.canvas.width * scale,
        current.canvas.height * scale,
      );
    }
    const ms = performance.now() - started;
    // (the bitmap is rasterised when it is first copied: `ms` covers both)
    if (rendered) lastRender.current = { at: started, ms };
    const stats = countInView(layout.positions, visible);
    onDrawn({ ...stats, boxes: inputs.current.boxes, ms, rendered, settled });
  }, [store, render]);

  const schedule = useCallback(() => {
    if (frame.current === 0) frame.current = requestAnimationFrame(draw);
  }, [draw]);

  // the viewport and the view's size, straight from React Flow's store: no React render
  useEffect(
    () =>
      store.subscribe((state, previous) => {
        if (
          state.transform !== previous.transform ||
          state.width !== previous.width ||
          state.height !== previous.height
        ) {
          schedule();
        }
      }),
    [store, schedule],
  );
  // What the bitmap shows changed: render it again on the next frame. (Edges alone do not
  // change with states or the selection.)
  const shownStates = boxes ? states : null;
  const shownSelected = boxes ? selected : -1;
  // biome-ignore lint/correctness/useExhaustiveDependencies: these are what the bitmap shows
  useEffect(() => {
    version.current++;
    schedule();
  }, [layout, edges, shownStates, shownSelected, boxes, schedule]);
  // Light and dark schemes draw edges in different colours.
  useEffect(() => {
    const scheme = window.matchMedia('(prefers-color-scheme: dark)');
    const changed = () => {
      version.current++;
      schedule();
    };
    scheme.addEventListener('change', changed);
    return () => scheme.removeEventListener('change', changed);
  }, [schedule]);
  useEffect(
    () => () => {
      cancelAnimationFrame(frame.current);
      clearTimeout(settle.current);
      frame.current = 0;
      buffer.current = null;
    },
    [],
  );

  return <canvas ref={canvasRef} className="graph-overview" />;
}
