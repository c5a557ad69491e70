/**
 * Step 6 of the graph pipeline (pure): where the view looks. Fitting is computed from the
 * layout, never from what React Flow has measured: with onlyRenderVisibleElements a node
 * out of view is never measured, and React Flow's own fitView leaves every such node out
 * (a large graph opened on a blank canvas, a small one with its last node cut off).
 * Below OVERVIEW_ZOOM, names cannot be read and a large graph would put thousands of
 * elements in the DOM: the canvas overview draws it instead (components/OverviewLayer.tsx).
 */
import type { Layout } from './layout-types.ts';
import { NODE_HEIGHT, NODE_WIDTH } from './layout-types.ts';

export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/** Below this zoom (node names under ~6.5 px) a graph is drawn as the canvas overview... */
export const OVERVIEW_ZOOM = 0.5;
/** ...unless it has at most this many nodes: then the DOM costs little at any zoom, and keeps
 * every node focusable and clickable. */
export const DOM_ALWAYS_NODES = 150;
/** Fitting never zooms in further than this (a lone node is not drawn huge). */
export const FIT_MAX_ZOOM = 1.2;
export const MAX_ZOOM = 2.5;

/** The box around every node, from the layout's positions: O(n). */
export function layoutBounds(layout: Pick<Layout, 'positions'>): Bounds {
  const { positions } = layout;
  const n = positions.length / 2;
  if (n === 0) return { x: 0, y: 0, width: 0, height: 0 };
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const x = positions[2 * i];
    const y = positions[2 * i + 1];
    if (x < minX) minX = x;
    if (y < minY) minY = y;
    if (x > maxX) maxX = x;
    if (y > maxY) maxY = y;
  }
  return { x: minX, y: minY, width: maxX - minX + NODE_WIDTH, height: maxY - minY + NODE_HEIGHT };
}

/** Margin around a fitted graph, in screen pixels: 4% of the smaller side, 8 to 24 px. */
export function fitPadding(view: { width: number; height: number }): number {
  return Math.max(8, Math.min(24, Math.round(0.04 * Math.min(view.width, view.height))));
}

/** The viewport that shows all of `bounds` centred in `view`, at most FIT_MAX_ZOOM. */
export function fitViewport(bounds: Bounds, view: { width: number; height: number }): Viewport {
  const pad = fitPadding(view);
  const width = Math.max(1, view.width - 2 * pad);
  const height = Math.max(1, view.height - 2 * pad);
  const zoom = Math.min(
    FIT_MAX_ZOOM,
    width / Math.max(1, bounds.width),
    height / Math.max(1, bounds.height),
  );
  return {
    x: (view.width - bounds.width * zoom) / 2 - bounds.x * zoom,
    y: (view.height - bounds.height * zoom) / 2 - bounds.y * zoom,
    zoom,
  };
}

/**
 * How far out the user may zoom: 0.02, or less when that is what fitting the graph in a
 * 320 × 240 view takes (a 20,000-node graph is ~60,000 px long).
 */
export function minZoomFor(bounds: Bounds): number {
  const fit = fitViewport(bounds, { width: 320, height: 240 }).zoom;
  return Math.min(0.02, fit * 0.8);
}

/** Whether a graph of `n` nodes is drawn as the canvas overview at `zoom`. */
export function usesOverview(n: number, zoom: number): boolean {
  return n > DOM_ALWAYS_NODES && zoom < OVERVIEW_ZOOM;
}

/** The visible part of the flow plane for a viewport and a view size. */
export function visibleRect(viewport: Viewport, view: { width: number; height: number }): Bounds {
  return {
    x: -viewport.x / viewport.zoom,
    y: -viewport.y / viewport.zoom,
    width: view.width / viewport.zoom,
    height: view.height / viewport.zoom,
  };
}

/**
 * The node whose box contains the flow point (x, y), -1 for none: one pass over the
 * positions, for a click on the overview (where there are no DOM nodes to click).
 */
export function nodeAt(positions: ArrayLike<number>, x: number, y: number): number {
  const n = positions.length / 2;
  for (let i = 0; i < n; i++) {
    const left = positions[2 * i];
    const top = positions[2 * i + 1];
    if (x >= left && x <= left + NODE_WIDTH && y >= top && y <= top + NODE_HEIGHT) return i;
  }
  return -1;
}

/** `rect` grown by `margin` times its own size on every side. */
export function grow(rect: Bounds, margin: number): Bounds {
  return {
    x: rect.x - margin * rect.width,
    y: rect.y - margin * rect.height,
    width: rect.width * (1 + 2 * margin),
    height: rect.height * (1 + 2 * margin),
  };
}

/** Whether `inner` lies wholly inside `outer`. */
export function inside(inner: Bounds, outer: Bounds): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

/**
 * The nodes React Flow gets when zoomed in on a large graph (ascending indices): those that
 * touch `rect`. React Flow keeps every node it is given in its store and walks them all on
 * each frame, and taking 20,000 nodes in costs it over a second. (Edges are then drawn on
 * the canvas, which needs no nodes.) O(V).
 */
export function windowOf(positions: ArrayLike<number>, rect: Bounds): Int32Array {
  const n = positions.length / 2;
  const right = rect.x + rect.width;
  const bottom = rect.y + rect.height;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = positions[2 * i];
    const y = positions[2 * i + 1];
    if (x + NODE_WIDTH >= rect.x && x <= right && y + NODE_HEIGHT >= rect.y && y <= bottom) {
      out.push(i);
    }
  }
  return Int32Array.from(out);
}
