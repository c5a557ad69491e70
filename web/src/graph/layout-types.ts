/** The result of a layout, whichever engine made it, and the node box every engine uses. */

/** Every node is drawn as a box of this size; names longer than the box are ellipsed. */
export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 48;
/** horizontal space between layers, vertical space between nodes of a layer */
export const LAYER_GAP = 70;
export const NODE_GAP = 16;

export type LayoutEngine = 'elk' | 'layered';

export interface Layout {
  engine: LayoutEngine;
  /** top-left corner of node i at positions[2i], positions[2i + 1] */
  positions: Float64Array;
  width: number;
  height: number;
  /**
   * per edge index, the route ELK drew as flat points `[x0, y0, x1, y1, ...]` from the source's
   * side to the target's; null when the engine leaves edge drawing to React Flow
   */
  routes: Array<Float64Array | null> | null;
  /** time the layout took in the worker, in ms */
  ms: number;
}
