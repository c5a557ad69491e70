/**
 * The canvas overview inside React Flow (below its transparent pane, so panning and zooming
 * stay React Flow's): redrawn once per animation frame when the viewport, the view's size,
 * the states or the selection change. The drawing itself is graph/overview.ts; React
 * renders this component only when those inputs change, never per frame.
 */
import { useStoreApi } from '@xyflow/react';
import { useCallback, useEffect, useRef } from 'react';
import type { Layout } from '../graph/layout-types.ts';
import { drawOverview, type OverviewStats } from '../graph/overview.ts';
import { STATE_NAMES, State, swatchOf } from '../states.ts';

/** fill colour by state code */
const FILLS: string[] = [];
for (const name of STATE_NAMES) FILLS[State[name]] = swatchOf(name).background;

export interface OverviewLayerProps {
  layout: Layout;
  edges: Int32Array;
  states: ArrayLike<number>;
  selected: number;
  /** called after each frame drawn */
  onDrawn(stats: OverviewStats): void;
}

export function OverviewLayer({ layout, edges, states, selected, onDrawn }: OverviewLayerProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const store = useStoreApi();
  const frame = useRef(0);
  const inputs = useRef({ layout, edges, states, selected, onDrawn });
  inputs.current = { layout, edges, states, selected, onDrawn };

  const draw = useCallback(() => {
    frame.current = 0;
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d', { alpha: true });
    if (!canvas || !ctx) return;
    const { transform, width, height } = store.getState();
    if (width === 0 || height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    const pixelWidth = Math.round(width * ratio);
    const pixelHeight = Math.round(height * ratio);
    if (canvas.width !== pixelWidth || canvas.height !== pixelHeight) {
      canvas.width = pixelWidth;
      canvas.height = pixelHeight;
    }
    const style = getComputedStyle(canvas);
    const { layout, edges, states, selected, onDrawn } = inputs.current;
    const stats = drawOverview(
      ctx,
      {
        positions: layout.positions,
        edges,
        states,
        fills: FILLS,
        selected,
        edgeColour: style.getPropertyValue('--edge').trim() || '#8c959f',
        selectedColour: style.getPropertyValue('--selected').trim() || '#1f6feb',
      },
      { x: transform[0], y: transform[1], zoom: transform[2] },
      { width, height },
      ratio,
    );
    onDrawn(stats);
  }, [store]);

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
  // biome-ignore lint/correctness/useExhaustiveDependencies: these are what the frame shows
  useEffect(schedule, [layout, edges, states, selected, schedule]);
  useEffect(
    () => () => {
      cancelAnimationFrame(frame.current);
      frame.current = 0;
    },
    [],
  );

  return <canvas ref={canvasRef} className="graph-overview" />;
}
