/**
 * The engine alone: a whole run of a layered random DAG whose tasks succeed the moment they
 * are dispatched. Measures scheduling cost only (no I/O): target < 1 s for 100,000 nodes and
 * ~300,000 edges, < 100 ms for 10,000 nodes.
 */
import { RunEngine } from '../src/engine/engine.ts';
import { admit, attemptEnded, start } from '../src/engine/events.ts';
import { parseDocument } from '../src/graph/parse.ts';
import { State } from '../src/graph/states.ts';
import { edgesDocument, layeredEdges } from './generate.ts';

function runOnce(graph: ReturnType<typeof parseDocument>): number {
  const t0 = performance.now();
  const engine = new RunEngine(graph, { random: () => 0.5 });
  let pending = engine.handle(start());
  while (pending.length > 0) {
    const next = [];
    for (const c of pending) {
      if (c.type === 'ready') next.push(...engine.handle(admit(c.node, c.attempt)));
      if (c.type === 'dispatch') {
        next.push(...engine.handle(attemptEnded(c.node, c.attempt, State.success)));
      }
    }
    pending = next;
  }
  if (engine.runState !== State.success) throw new Error(`run ended ${engine.runState}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchEngine(): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [label, nodes, width] of [
    ['layered10k', 10_000, 100],
    ['layered100k', 100_000, 300],
  ] as const) {
    const edges = layeredEdges(nodes, width, 3);
    const graph = parseDocument(edgesDocument(nodes, edges));
    const times = Array.from({ length: 5 }, () => runOnce(graph));
    result[`engine.${label}.edges`] = edges.length;
    result[`engine.${label}.ms`] = Math.round(median(times) * 10) / 10;
  }
  return result;
}

if (import.meta.main) console.log(JSON.stringify(await benchEngine(), null, 2));
