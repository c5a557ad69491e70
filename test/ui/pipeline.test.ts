/**
 * The UI's pure steps, in Node: domain graph -> ELK input -> (ELK | layered fallback) ->
 * flatten -> React Flow nodes with live states merged in; the live-state reducer, the
 * per-frame batcher, the submit preview, formatting and routing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ELK from 'elkjs/lib/elk.bundled.js';
import { STATE_COLOURS } from '../../src/graph/export.ts';
import { State } from '../../src/graph/states.ts';
import { byId, type RunDetail } from '../../web/src/api.ts';
import { barsOf, durationOf, formatDuration } from '../../web/src/format.ts';
import { domainGraph, edgesOf, ShapeError, structureKey } from '../../web/src/graph/domain.ts';
import { ELK_THOROUGH_NODES, toElkInput } from '../../web/src/graph/elk-input.ts';
import { flattenElk } from '../../web/src/graph/flatten.ts';
import { mergeStates, moveSelection, toFlowEdges, toFlowNodes } from '../../web/src/graph/flow.ts';
import { layeredLayout, longestPathLayers } from '../../web/src/graph/layered.ts';
import { computeLayout, ELK_MAX_NODES, type ElkLike } from '../../web/src/graph/layout-core.ts';
import { LAYER_GAP, NODE_HEIGHT, NODE_WIDTH } from '../../web/src/graph/layout-types.ts';
import {
  BUFFER_MAX_AREA,
  BUFFER_MAX_SIDE,
  bufferRect,
  countInView,
} from '../../web/src/graph/overview.ts';
import { EXAMPLE_DOCUMENT, previewDocument } from '../../web/src/graph/preview.ts';
import { polylinePath } from '../../web/src/graph/route-path.ts';
import {
  DOM_ALWAYS_NODES,
  FIT_MAX_ZOOM,
  fitViewport,
  grow,
  layoutBounds,
  minZoomFor,
  nodeAt,
  OVERVIEW_ZOOM,
  usesOverview,
  visibleRect,
  windowOf,
} from '../../web/src/graph/viewport.ts';
import { frameBatcher } from '../../web/src/live/batch.ts';
import {
  applyEvents,
  countStates,
  liveFromNodes,
  type StreamEvent,
} from '../../web/src/live/state.ts';
import { matchRoute } from '../../web/src/router.ts';
import { swatchOf } from '../../web/src/states.ts';
import {
  batchSchedule,
  chain,
  diamond,
  doc,
  graph,
  grid,
  labelsOf,
  layersOf,
  statesOf,
} from './builders.ts';

// a CommonJS module: under Node the default import is module.exports, which has .default
const elk = () => Promise.resolve(new ELK.default() as unknown as ElkLike);
const noElk = () => Promise.reject(new Error('ELK must not be loaded for this graph'));
const clock = () => 0;

describe('domain graph', () => {
  it('reads edges from a digraph matrix, row-major', () => {
    const edges = edgesOf({ digraph: [0, 1, 0, 0, 0, 1, 0, 0, 0], nodes: [{}, {}, {}] });
    assert.deepEqual(Array.from(edges), [0, 1, 1, 2]);
  });

  it('reads edges from an edge list and names what is wrong', () => {
    assert.deepEqual(
      Array.from(
        edgesOf(
          doc(3, [
            [2, 0],
            [0, 1],
          ]),
        ),
      ),
      [2, 0, 0, 1],
    );
    assert.throws(
      () => edgesOf(doc(2, [[0, 2]])),
      (err: ShapeError) => err.path === 'edges[0]' && /0 to 1/.test(err.message),
    );
    assert.throws(
      () => edgesOf({ digraph: [0, 1, 0], nodes: [{}, {}] }),
      (err: ShapeError) => err.path === 'digraph' && /expected 4 entries/.test(err.message),
    );
    assert.throws(() => edgesOf({ digraph: [0], edges: [], nodes: [{}] }), ShapeError);
  });

  it('keys the structure: equal shapes share a key, any edge change makes another', () => {
    assert.equal(diamond().key, diamond().key);
    assert.equal(
      graph(3, [
        [0, 1],
        [1, 2],
      ]).key,
      domainGraph({ digraph: [0, 1, 0, 0, 0, 1, 0, 0, 0], nodes: [{}, {}, {}] }).key,
    );
    assert.notEqual(
      graph(3, [
        [0, 1],
        [1, 2],
      ]).key,
      graph(3, [
        [0, 2],
        [1, 2],
      ]).key,
    );
    assert.notEqual(graph(3, []).key, graph(4, []).key);
    assert.equal(structureKey(0, new Int32Array(0)), structureKey(0, new Int32Array(0)));
  });
});

describe('ELK input', () => {
  it('has one child per node and one edge per edge, ids by index, left to right', () => {
    const input = toElkInput(4, diamond().edges);
    assert.deepEqual(
      input.children.map((c) => [c.id, c.width, c.height]),
      [0, 1, 2, 3].map((i) => [String(i), NODE_WIDTH, NODE_HEIGHT]),
    );
    assert.deepEqual(input.edges[3], { id: 'e3', sources: ['2'], targets: ['3'] });
    assert.equal(input.layoutOptions['elk.algorithm'], 'layered');
    assert.equal(input.layoutOptions['elk.direction'], 'RIGHT');
  });

  it('spends less effort on larger graphs', () => {
    const small = toElkInput(ELK_THOROUGH_NODES, new Int32Array(0)).layoutOptions;
    const large = toElkInput(ELK_THOROUGH_NODES + 1, new Int32Array(0)).layoutOptions;
    assert.equal(small['elk.layered.thoroughness'], undefined);
    assert.equal(large['elk.layered.thoroughness'], '1');
  });
});

describe('layered fallback layout', () => {
  it('puts every node one layer right of its furthest predecessor', () => {
    assert.deepEqual(Array.from(longestPathLayers(4, diamond().edges)), [0, 1, 1, 2]);
    // 0 -> 1 -> 2 and 0 -> 2: node 2 goes after 1, not next to it
    assert.deepEqual(
      Array.from(
        longestPathLayers(
          3,
          graph(3, [
            [0, 1],
            [1, 2],
            [0, 2],
          ]).edges,
        ),
      ),
      [0, 1, 2],
    );
  });

  it('sends the nodes of a cycle to one extra last layer instead of looping', () => {
    const layers = longestPathLayers(
      4,
      graph(4, [
        [0, 1],
        [1, 2],
        [2, 1],
        [2, 3],
      ]).edges,
    );
    assert.deepEqual(Array.from(layers), [0, 1, 1, 1]);
  });

  it('places layers left to right and never two nodes of a layer on each other', () => {
    const { positions, width, height } = layeredLayout(4, diamond().edges);
    assert.deepEqual(layersOf(positions), [0, 1, 1, 2]);
    assert.equal(positions[2], NODE_WIDTH + LAYER_GAP);
    assert.ok(Math.abs(positions[3] - positions[5]) >= NODE_HEIGHT, 'nodes 1 and 2 apart');
    assert.equal(width, 3 * NODE_WIDTH + 2 * LAYER_GAP);
    assert.ok(height >= 2 * NODE_HEIGHT);
  });

  it('orders a layer by its predecessors, so parallel chains do not cross', () => {
    // chains 0 -> 3 and 1 -> 2: by id, layer 1 would be [2, 3] and the edges would cross
    const { positions } = layeredLayout(
      4,
      graph(4, [
        [0, 3],
        [1, 2],
      ]).edges,
    );
    const y = (i: number) => positions[2 * i + 1];
    assert.equal(Math.sign(y(0) - y(1)), Math.sign(y(3) - y(2)));
  });

  it('puts a source next to what consumes it, not in the first column', () => {
    // 0 -> 1 -> 2 -> 3 and 4 -> 3: node 4 goes right beside 3
    const { positions } = layeredLayout(
      5,
      graph(5, [
        [0, 1],
        [1, 2],
        [2, 3],
        [4, 3],
      ]).edges,
    );
    assert.deepEqual(layersOf(positions), [0, 1, 2, 3, 2]);
  });

  it('draws a chain as a straight line and keeps the drawing compact', () => {
    const straight = layeredLayout(6, chain(6).edges);
    for (let i = 1; i < 6; i++) assert.equal(straight.positions[2 * i + 1], straight.positions[1]);
    assert.equal(straight.height, NODE_HEIGHT);
    // 500 nodes in 25 steps of 20: no taller than 20 nodes stacked, twice over
    const g = grid(500, 20);
    const { height, width } = layeredLayout(g.n, g.edges);
    assert.ok(height <= 2 * 20 * (NODE_HEIGHT + 16), `height ${height}`);
    assert.equal(width, 25 * (NODE_WIDTH + LAYER_GAP) - LAYER_GAP);
  });

  it('wraps a layer far taller than the drawing into columns, every edge still pointing right', () => {
    for (const g of [
      graph(2000, []),
      graph(
        200,
        Array.from({ length: 199 }, (_, i) => [0, i + 1] as [number, number]),
      ),
    ]) {
      const { positions, width, height } = layeredLayout(g.n, g.edges);
      assert.ok(width / height > 0.8 && width / height < 4, `${g.n}: ${width} x ${height}`);
      for (let k = 0; k < g.edges.length / 2; k++) {
        assert.ok(positions[2 * g.edges[2 * k + 1]] > positions[2 * g.edges[2 * k]]);
      }
      const seen = new Set<string>();
      for (let i = 0; i < g.n; i++) {
        const at = `${positions[2 * i]},${positions[2 * i + 1]}`;
        assert.ok(!seen.has(at), `two nodes at ${at}`);
        seen.add(at);
      }
    }
  });

  it('lays out 100,000 nodes without quadratic work', () => {
    const started = performance.now();
    const big = grid(100_000, 300);
    const { positions } = layeredLayout(big.n, big.edges);
    assert.equal(positions.length, 200_000);
    assert.ok(performance.now() - started < 5000, 'well under a second on a laptop');
  });
});

describe('flatten', () => {
  it('maps ELK children and edge sections back to typed arrays by index', () => {
    const layout = flattenElk(
      {
        width: 500,
        height: 100,
        children: [
          { id: '1', x: 250, y: 10 },
          { id: '0', x: 0, y: 20 },
        ],
        edges: [
          {
            id: 'e0',
            sections: [
              {
                startPoint: { x: 180, y: 44 },
                bendPoints: [
                  { x: 215, y: 44 },
                  { x: 215, y: 34 },
                ],
                endPoint: { x: 250, y: 34 },
              },
            ],
          },
        ],
      },
      2,
      2,
    );
    assert.deepEqual(Array.from(layout.positions), [0, 20, 250, 10]);
    assert.deepEqual(Array.from(layout.routes![0]!), [180, 44, 215, 44, 215, 34, 250, 34]);
    assert.equal(layout.routes![1], null, 'an edge ELK did not route is drawn by React Flow');
    assert.equal(layout.engine, 'elk');
  });
});

describe('computeLayout (the worker, without the worker)', () => {
  it('lays a small graph out with the real ELK: layers left to right, routed edges', async () => {
    const { edges } = diamond();
    const layout = await computeLayout({ n: 4, edges }, elk, clock);
    assert.equal(layout.engine, 'elk');
    assert.deepEqual(layersOf(layout.positions), [0, 1, 1, 2]);
    for (let k = 0; k < 4; k++) {
      const route = layout.routes![k]!;
      const from = edges[2 * k];
      const to = edges[2 * k + 1];
      assert.equal(
        route[0],
        layout.positions[2 * from] + NODE_WIDTH,
        `edge ${k} leaves its source's right side`,
      );
      assert.equal(
        route[route.length - 2],
        layout.positions[2 * to],
        `edge ${k} enters its target's left side`,
      );
    }
  });

  it('uses the fast layered layout above ELK_MAX_NODES, without loading ELK', async () => {
    const big = grid(ELK_MAX_NODES + 1, 40);
    const layout = await computeLayout({ n: big.n, edges: big.edges }, noElk, clock);
    assert.equal(layout.engine, 'layered');
    assert.equal(layout.routes, null);
  });

  it('falls back to the layered layout when ELK fails', async () => {
    const layout = await computeLayout({ n: 3, edges: chain(3).edges }, noElk, clock);
    assert.equal(layout.engine, 'layered');
    assert.deepEqual(layersOf(layout.positions), [0, 1, 2]);
  });
});

describe('React Flow nodes with live states', () => {
  const { n, edges } = diamond();
  const layout = { ...layeredLayout(n, edges), ms: 0 };

  it('builds positioned nodes with their state, handles known in advance', () => {
    const nodes = toFlowNodes(layout, labelsOf(n), statesOf([3, 2, 1, 0]), 2);
    assert.deepEqual(nodes[1].position, { x: layout.positions[2], y: layout.positions[3] });
    assert.deepEqual(
      nodes.map((node) => [node.id, node.data.state, node.selected]),
      [
        ['0', 3, false],
        ['1', 2, false],
        ['2', 1, true],
        ['3', 0, false],
      ],
    );
    assert.equal(nodes[1].ariaLabel, 'n1 (nil): running');
    assert.equal(nodes[0].handles?.length, 2, 'culling needs no DOM measurement');
    const flowEdges = toFlowEdges(edges, layout);
    assert.deepEqual(
      flowEdges.map((e) => [e.id, e.source, e.target]),
      [
        ['e0', '0', '1'],
        ['e1', '0', '2'],
        ['e2', '1', '3'],
        ['e3', '2', '3'],
      ],
    );
  });

  it('replaces only the nodes whose state changed, and never moves one', () => {
    const before = toFlowNodes(layout, labelsOf(n), statesOf([3, 2, 1, 0]));
    const after = mergeStates(before, statesOf([3, 3, 2, 0]));
    assert.notEqual(after, before);
    assert.equal(after[0], before[0]);
    assert.equal(after[3], before[3]);
    assert.equal(after[1].data.state, 3);
    assert.equal(after[1].ariaLabel, 'n1 (nil): success');
    assert.equal(after[2].position, before[2].position, 'same position object: no re-layout');
    assert.equal(mergeStates(after, statesOf([3, 3, 2, 0])), after, 'nothing changed, same array');
    const only = mergeStates(before, statesOf([4, 3, 2, 0]), [1]);
    assert.equal(only[0], before[0], 'only the listed ids are looked at');
  });

  it('moves the selection touching two nodes', () => {
    const nodes = toFlowNodes(layout, labelsOf(n), statesOf([0, 0, 0, 0]), 0);
    const moved = moveSelection(nodes, 0, 3);
    assert.deepEqual(
      moved.map((node) => node.selected),
      [false, false, false, true],
    );
    assert.equal(moved[1], nodes[1]);
    assert.equal(moveSelection(moved, 3, 3), moved);
  });

  it('colours states as the DOT export does, with readable text', () => {
    assert.deepEqual(swatchOf(State.success), {
      background: STATE_COLOURS.success,
      color: '#000000',
    });
    assert.deepEqual(swatchOf('canceled'), {
      background: STATE_COLOURS.canceled,
      color: '#ffffff',
    });
  });
});

describe('viewport', () => {
  const view = { width: 1000, height: 600 };
  /** every corner of every node of `layout` inside `view` at `viewport` */
  const allInView = (positions: Float64Array, viewport: { x: number; y: number; zoom: number }) => {
    const r = visibleRect(viewport, view);
    for (let i = 0; i < positions.length / 2; i++) {
      const x = positions[2 * i];
      const y = positions[2 * i + 1];
      if (x < r.x || y < r.y || x + NODE_WIDTH > r.x + r.width || y + NODE_HEIGHT > r.y + r.height)
        return false;
    }
    return true;
  };

  it('fits every node of the layout, whatever its size, and centres it', () => {
    for (const g of [chain(11), grid(500, 20), grid(5000, 100), grid(20_000, 200)]) {
      const layout = layeredLayout(g.n, g.edges);
      const bounds = layoutBounds(layout);
      assert.equal(bounds.width, layout.width);
      assert.equal(bounds.height, layout.height);
      const viewport = fitViewport(bounds, view);
      assert.ok(allInView(layout.positions, viewport), `${g.n} nodes fit`);
      // centred: equal margins on the axis that does not limit the zoom
      const left = viewport.x + bounds.x * viewport.zoom;
      const right = view.width - (left + bounds.width * viewport.zoom);
      const top = viewport.y + bounds.y * viewport.zoom;
      const bottom = view.height - (top + bounds.height * viewport.zoom);
      assert.ok(Math.abs(left - right) < 1e-6 && Math.abs(top - bottom) < 1e-6);
      assert.ok(viewport.zoom >= minZoomFor(bounds), 'the fit zoom is allowed');
    }
  });

  it('fits a phone-sized view and never zooms a small graph in past FIT_MAX_ZOOM', () => {
    const g = chain(8);
    const layout = layeredLayout(g.n, g.edges);
    const phone = fitViewport(layoutBounds(layout), { width: 360, height: 500 });
    assert.ok(phone.zoom * layout.width <= 360);
    const one = layeredLayout(1, new Int32Array(0));
    assert.equal(fitViewport(layoutBounds(one), view).zoom, FIT_MAX_ZOOM);
  });

  it('uses the overview only for graphs above DOM_ALWAYS_NODES zoomed out below OVERVIEW_ZOOM', () => {
    assert.equal(usesOverview(DOM_ALWAYS_NODES, 0.01), false);
    assert.equal(usesOverview(DOM_ALWAYS_NODES + 1, OVERVIEW_ZOOM - 0.01), true);
    assert.equal(usesOverview(DOM_ALWAYS_NODES + 1, OVERVIEW_ZOOM), false);
  });

  it('cuts a window of a large graph: the nodes touching it', () => {
    const g = grid(5000, 100);
    const layout = layeredLayout(g.n, g.edges);
    const view = visibleRect({ x: -2000, y: -1000, zoom: 0.5 }, { width: 1000, height: 600 });
    const rect = grow(view, 1);
    const chosen = windowOf(layout.positions, rect);
    const touching: number[] = [];
    for (let i = 0; i < g.n; i++) {
      const x = layout.positions[2 * i];
      const y = layout.positions[2 * i + 1];
      if (
        x + NODE_WIDTH >= rect.x &&
        x <= rect.x + rect.width &&
        y + NODE_HEIGHT >= rect.y &&
        y <= rect.y + rect.height
      ) {
        touching.push(i);
      }
    }
    assert.deepEqual(Array.from(chosen), touching);
    assert.ok(touching.length > 0 && touching.length < g.n / 2, `${touching.length} of ${g.n}`);
  });

  it('counts what the overview shows and renders a bounded bitmap around the view', () => {
    const g = grid(20_000, 200);
    const layout = layeredLayout(g.n, g.edges);
    const bounds = layoutBounds(layout);
    const fit = fitViewport(bounds, view);
    assert.deepEqual(countInView(layout.positions, visibleRect(fit, view)), {
      drawn: 20_000,
      inView: 20_000,
    });
    // fitted, the bitmap is the graph itself; zoomed in, the view and some around it
    assert.deepEqual(bufferRect(visibleRect(fit, view), bounds, fit.zoom, 2), bounds);
    // zoomed in on the middle: the view and half a view around it, within the limits
    const centred = (zoom: number, size: { width: number; height: number }) => ({
      x: size.width / 2 - (bounds.x + bounds.width / 2) * zoom,
      y: size.height / 2 - (bounds.y + bounds.height / 2) * zoom,
      zoom,
    });
    const shown = visibleRect(centred(0.4, view), view);
    const rect = bufferRect(shown, bounds, 0.4, 2)!;
    assert.deepEqual(rect, grow(shown, 0.5));
    assert.ok(rect.width * 0.4 * 2 <= BUFFER_MAX_SIDE);
    assert.ok(rect.width * rect.height * (0.4 * 2) ** 2 <= BUFFER_MAX_AREA);
    // a huge screen at pixel ratio 3: no margin rather than a bitmap past the limits
    const huge = { width: 3000, height: 2000 };
    const hugeShown = visibleRect(centred(0.4, huge), huge);
    assert.deepEqual(bufferRect(hugeShown, bounds, 0.4, 3), hugeShown);
    assert.equal(bufferRect({ x: -1e6, y: -1e6, width: 10, height: 10 }, bounds, 1, 1), null);
  });

  it('finds the node under a point of the plane', () => {
    const layout = layeredLayout(4, diamond().edges);
    for (let i = 0; i < 4; i++) {
      const x = layout.positions[2 * i] + NODE_WIDTH / 2;
      const y = layout.positions[2 * i + 1] + NODE_HEIGHT / 2;
      assert.equal(nodeAt(layout.positions, x, y), i);
    }
    assert.equal(nodeAt(layout.positions, -10, -10), -1);
    assert.equal(nodeAt(layout.positions, NODE_WIDTH + LAYER_GAP / 2, 0), -1, 'between layers');
  });
});

describe('live states', () => {
  const initial = liveFromNodes(State.running, [
    { state: 0, attempts: 0 },
    { state: 0, attempts: 0 },
    { state: 0, attempts: 0 },
  ]);
  const event = (
    node: number | undefined,
    state: number,
    extra: Record<string, unknown> = {},
  ): StreamEvent => ({
    type: 'state',
    data: { run: 'r', node, state, time: 0, ...extra },
  });

  it('applies a batch at once and lists each changed node once', () => {
    const { next, changed, runChanged } = applyEvents(initial, [
      event(0, State.running, { attempt: 1 }),
      event(0, State.success, { attempt: 1 }),
      event(2, State.failure, { attempt: 1, error: 'boom' }),
    ]);
    assert.deepEqual(Array.from(next.states), [State.success, 0, State.failure]);
    assert.deepEqual(Array.from(next.attempts), [1, 0, 1]);
    assert.deepEqual(changed, [0, 2]);
    assert.equal(runChanged, false);
    assert.equal(next.errors.get(2), 'boom');
    assert.equal(next.version, initial.version + 1);
    assert.deepEqual(Array.from(initial.states), [0, 0, 0], 'the previous state is untouched');
  });

  it('replaces everything on a snapshot and follows the run state', () => {
    const { next, runChanged } = applyEvents(initial, [
      {
        type: 'snapshot',
        data: {
          run: 'r',
          state: State.failure,
          nodes: [{ node: 1, state: State.notrunnable, attempts: 0 }],
        },
      },
    ]);
    assert.equal(next.runState, State.failure);
    assert.equal(next.states[1], State.notrunnable);
    assert.ok(runChanged);
    const run = applyEvents(initial, [event(undefined, State.canceled)]);
    assert.equal(run.next.runState, State.canceled);
  });

  it('returns the same state when a batch changes nothing', () => {
    assert.equal(applyEvents(initial, [event(0, 0), event(7, 3)]).next, initial);
  });

  it('counts nodes per state', () => {
    assert.deepEqual(
      [...countStates(Uint8Array.from([3, 3, 4]))],
      [
        [3, 2],
        [4, 1],
      ],
    );
  });
});

describe('frame batcher', () => {
  it('hands a burst of events over once per frame', () => {
    const schedule = batchSchedule();
    const batches: number[][] = [];
    const batcher = frameBatcher<number>((items) => batches.push(items), schedule);
    for (let i = 0; i < 1000; i++) batcher.push(i);
    assert.equal(schedule.pending(), 1, 'one frame requested for the whole burst');
    assert.equal(batches.length, 0);
    schedule.run();
    assert.equal(batches.length, 1);
    assert.equal(batches[0].length, 1000);
    batcher.push(1000);
    batcher.flush();
    assert.deepEqual(batches[1], [1000]);
    assert.equal(schedule.pending(), 0, 'flush cancels the frame');
    batcher.push(1001);
    batcher.cancel();
    schedule.run();
    batcher.push(1002);
    assert.equal(batches.length, 2, 'nothing after cancel');
  });
});

describe('run detail', () => {
  it('puts nodes answered in submitted order back at their ids, as the views index them', () => {
    const node = (id: number) => ({ id, name: `n${id}` }) as RunDetail['nodes'][number];
    const run = (ids: number[]) => ({ id: 'r', nodes: ids.map(node) }) as unknown as RunDetail;
    const permuted = run([2, 0, 1]);
    assert.deepEqual(
      byId(permuted).nodes.map((n) => n.name),
      ['n0', 'n1', 'n2'],
    );
    const inOrder = run([0, 1, 2]);
    assert.equal(byId(inOrder), inOrder);
    const broken = run([0, 0, 1]);
    assert.equal(byId(broken), broken, 'not a permutation: shown as it came');
  });
});

describe('submit preview', () => {
  it('draws the example and any document with nodes and digraph or edges', () => {
    const example = previewDocument(EXAMPLE_DOCUMENT);
    assert.ok(example.ok);
    assert.equal(example.graph.n, 4);
    const matrix = previewDocument('{"digraph":[0,1,0,0],"nodes":[{"id":0,"name":"a"},{"id":1}]}');
    assert.ok(matrix.ok);
    assert.deepEqual(matrix.labels, [
      { name: 'a', engine: 'nil' },
      { name: 'node-1', engine: 'nil' },
    ]);
    // ids in any order: each label at its id, where the edges point
    const permuted = previewDocument(
      '{"edges":[[1,0]],"nodes":[{"id":1,"name":"first"},{"id":0,"name":"second"}]}',
    );
    assert.ok(permuted.ok);
    assert.deepEqual(
      permuted.labels.map((label) => label.name),
      ['second', 'first'],
    );
  });

  it('says why it cannot draw, with a path when there is one', () => {
    const notJson = previewDocument('{"nodes": [');
    assert.ok(!notJson.ok && /^not JSON/.test(notJson.message));
    const noNodes = previewDocument('{"edges": []}');
    assert.ok(!noNodes.ok && noNodes.path === 'nodes');
    const badMatrix = previewDocument('{"digraph":[0,1],"nodes":[{},{}]}');
    assert.ok(!badMatrix.ok && badMatrix.path === 'digraph');
    assert.ok(!previewDocument('  ').ok);
  });
});

describe('formatting, timeline and routes', () => {
  it('formats durations for people', () => {
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(4200), '4.2 s');
    assert.equal(formatDuration(184_000), '3 min 04 s');
    assert.equal(formatDuration(7_380_000), '2 h 03 min');
    assert.equal(formatDuration(null), '');
    assert.equal(
      durationOf('2024-01-01T00:00:00Z', null, Date.parse('2024-01-01T00:00:05Z')),
      5000,
    );
    assert.equal(durationOf(null, null, 0), null);
  });

  it('orders timeline bars by start and leaves out nodes that never started', () => {
    const bars = barsOf([
      { start_date: '2024-01-01T00:00:02Z', stop_date: null },
      { start_date: null, stop_date: null },
      { start_date: '2024-01-01T00:00:01Z', stop_date: '2024-01-01T00:00:03Z' },
    ]);
    assert.deepEqual(
      bars.map((b) => [b.node, b.stop === null]),
      [
        [2, false],
        [0, true],
      ],
    );
  });

  it('draws ELK routes with rounded bends', () => {
    assert.equal(polylinePath([0, 0, 10, 0]), 'M0,0 L10,0');
    assert.equal(polylinePath([0, 0, 20, 0, 20, 20], 6), 'M0,0 L14,0 Q20,0 20,6 L20,20');
  });

  it('matches the client-side routes', () => {
    assert.deepEqual(matchRoute('/'), { page: 'runs' });
    assert.deepEqual(matchRoute('/submit/'), { page: 'submit' });
    assert.deepEqual(matchRoute('/runs/a%2Fb'), { page: 'run', id: 'a/b' });
    assert.deepEqual(matchRoute('/runs/x/y'), { page: 'missing', path: '/runs/x/y' });
  });
});
