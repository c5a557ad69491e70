/**
 * A graph on a 2D canvas: edges as one stroked path, nodes as boxes filled once per state
 * colour, only what is in view. What React Flow would need thousands of DOM elements for
 * (and seconds to create) is one pass over typed arrays. Zoomed out (the overview) it draws
 * both, without names; zoomed in on a large graph it draws the edges alone, with their
 * arrowheads, under React Flow's named DOM nodes: hundreds of long SVG edges crossing the
 * view made every frame of a pan a repaint of all of them.
 */
import { NODE_HEIGHT, NODE_WIDTH } from './layout-types.ts';
import { type Bounds, type Viewport, visibleRect } from './viewport.ts';

export interface OverviewScene {
  /** top-left corner of node i at positions[2i], positions[2i + 1] */
  positions: Float64Array;
  /** edge k from edges[2k] to edges[2k + 1] */
  edges: Int32Array;
  states: ArrayLike<number>;
  /** fill colour per state code */
  fills: readonly string[];
  selected: number;
  edgeColour: string;
  selectedColour: string;
  /** false: edges only (the nodes are React Flow's) */
  boxes: boolean;
}

export interface OverviewStats {
  /** nodes at least partly in view */
  drawn: number;
  /** nodes wholly in view */
  inView: number;
}

/** How many nodes the rectangle shows, partly and wholly: one pass over the positions. */
export function countInView(positions: Float64Array, rect: Bounds): OverviewStats {
  const n = positions.length / 2;
  const right = rect.x + rect.width;
  const bottom = rect.y + rect.height;
  let drawn = 0;
  let inView = 0;
  for (let i = 0; i < n; i++) {
    const x = positions[2 * i];
    const y = positions[2 * i + 1];
    if (x + NODE_WIDTH < rect.x || x > right || y + NODE_HEIGHT < rect.y || y > bottom) continue;
    drawn++;
    if (x >= rect.x && x + NODE_WIDTH <= right && y >= rect.y && y + NODE_HEIGHT <= bottom) {
      inView++;
    }
  }
  return { drawn, inView };
}

/** Arrowhead length, flow units. */
const ARROW = 9;
/** Boxes narrower than this on screen get no outline (it would be all there is to see). */
const OUTLINE_MIN_PX = 14;

// per-frame scratch, grown as needed: nodes in view bucketed by state (a counting sort)
let bucketed = new Int32Array(0);
let stateOf = new Uint8Array(0);

export function drawOverview(
  ctx: CanvasRenderingContext2D,
  scene: OverviewScene,
  viewport: Viewport,
  view: { width: number; height: number },
  pixelRatio: number,
): void {
  const { positions, edges, states, fills } = scene;
  const n = positions.length / 2;
  const { zoom } = viewport;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.setTransform(
    pixelRatio * zoom,
    0,
    0,
    pixelRatio * zoom,
    pixelRatio * viewport.x,
    pixelRatio * viewport.y,
  );
  const r = visibleRect(viewport, view);
  const left = r.x;
  const top = r.y;
  const right = r.x + r.width;
  const bottom = r.y + r.height;

  // Edges first, under the nodes: right side middle to left side middle, the curve React
  // Flow draws (its control points stay inside the end points' box, so culling on that box
  // is exact).
  const half = NODE_HEIGHT / 2;
  ctx.beginPath();
  const m = edges.length / 2;
  for (let k = 0; k < m; k++) {
    const s = edges[2 * k];
    const t = edges[2 * k + 1];
    const sx = positions[2 * s] + NODE_WIDTH;
    const sy = positions[2 * s + 1] + half;
    const tx = positions[2 * t];
    const ty = positions[2 * t + 1] + half;
    if (sx < left && tx < left) continue;
    if (sx > right && tx > right) continue;
    if (sy < top && ty < top) continue;
    if (sy > bottom && ty > bottom) continue;
    const cx = (sx + tx) / 2;
    ctx.moveTo(sx, sy);
    ctx.bezierCurveTo(cx, sy, cx, ty, tx, ty);
  }
  // one screen pixel, or one flow unit zoomed in (as React Flow's SVG edges)
  ctx.lineWidth = Math.max(1, zoom) / zoom;
  ctx.strokeStyle = scene.edgeColour;
  ctx.stroke();

  if (!scene.boxes) {
    // arrowheads where edges enter their targets, as React Flow's markers
    ctx.beginPath();
    for (let k = 0; k < m; k++) {
      const t = edges[2 * k + 1];
      const tx = positions[2 * t];
      const ty = positions[2 * t + 1] + half;
      if (tx < left || tx - ARROW > right || ty + ARROW < top || ty - ARROW > bottom) continue;
      ctx.moveTo(tx, ty);
      ctx.lineTo(tx - ARROW, ty - ARROW / 2);
      ctx.lineTo(tx - ARROW, ty + ARROW / 2);
      ctx.closePath();
    }
    ctx.fillStyle = scene.edgeColour;
    ctx.fill();
    return;
  }

  // Nodes in view, bucketed by state so each colour is filled once.
  if (bucketed.length < n) {
    bucketed = new Int32Array(n);
    stateOf = new Uint8Array(n);
  }
  const colours = fills.length;
  const start = new Int32Array(colours + 1);
  let drawn = 0;
  for (let i = 0; i < n; i++) {
    const x = positions[2 * i];
    const y = positions[2 * i + 1];
    if (x + NODE_WIDTH < left || x > right || y + NODE_HEIGHT < top || y > bottom) continue;
    const state = states[i];
    const colour = state >= 0 && state < colours ? state : 0;
    stateOf[i] = colour;
    start[colour + 1]++;
    bucketed[drawn++] = i;
  }
  for (let c = 0; c < colours; c++) start[c + 1] += start[c];
  const fill = start.slice(0, colours);
  const order = new Int32Array(drawn);
  for (let j = 0; j < drawn; j++) {
    const i = bucketed[j];
    order[fill[stateOf[i]]++] = i;
  }
  const outline = NODE_WIDTH * zoom >= OUTLINE_MIN_PX;
  ctx.lineWidth = 1 / zoom;
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.3)';
  for (let c = 0; c < colours; c++) {
    if (start[c] === start[c + 1]) continue;
    ctx.beginPath();
    for (let j = start[c]; j < start[c + 1]; j++) {
      const i = order[j];
      ctx.rect(positions[2 * i], positions[2 * i + 1], NODE_WIDTH, NODE_HEIGHT);
    }
    ctx.fillStyle = fills[c];
    ctx.fill();
    if (outline) ctx.stroke();
  }

  const selected = scene.selected;
  if (selected >= 0 && selected < n) {
    // a ring that stays visible however far out: at least 3 screen pixels
    const ring = Math.max(6, 3 / zoom);
    ctx.lineWidth = ring;
    ctx.strokeStyle = scene.selectedColour;
    ctx.strokeRect(
      positions[2 * selected] - ring,
      positions[2 * selected + 1] - ring,
      NODE_WIDTH + 2 * ring,
      NODE_HEIGHT + 2 * ring,
    );
  }
}

/** `a` ∩ `b`, or null when they do not overlap. */
export function intersect(a: Bounds, b: Bounds): Bounds | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  return right > x && bottom > y ? { x, y, width: right - x, height: bottom - y } : null;
}

/** Largest bitmap the overview keeps, in device pixels: 4096 a side, 12 M in all (48 MB). */
export const BUFFER_MAX_SIDE = 4096;
export const BUFFER_MAX_AREA = 12_000_000;

/**
 * The part of the plane to render into the overview's bitmap: what is in view plus half a
 * view on each side, so that panning only moves the bitmap, cut to the graph (nothing is
 * drawn outside it), shrunk back towards the view if the bitmap would be too large. Null
 * when no part of the graph is in view.
 */
export function bufferRect(
  visible: Bounds,
  graph: Bounds,
  zoom: number,
  ratio: number,
): Bounds | null {
  for (const margin of [0.5, 0.25, 0]) {
    const around = {
      x: visible.x - margin * visible.width,
      y: visible.y - margin * visible.height,
      width: visible.width * (1 + 2 * margin),
      height: visible.height * (1 + 2 * margin),
    };
    const rect = intersect(around, graph);
    if (rect === null) return null;
    const w = rect.width * zoom * ratio;
    const h = rect.height * zoom * ratio;
    if (
      (w <= BUFFER_MAX_SIDE && h <= BUFFER_MAX_SIDE && w * h <= BUFFER_MAX_AREA) ||
      margin === 0
    ) {
      return rect;
    }
  }
  return null;
}
