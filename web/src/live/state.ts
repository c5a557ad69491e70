/**
 * Live node states of one run, as the SSE stream (`GET /v1/tasks/{id}/events`) tells them:
 * a `snapshot` replaces everything, each `state` event changes one node or the run. Pure: a
 * batch of events gives a new LiveState (typed arrays copied once per batch, not per event)
 * and the ids of the nodes that changed, so only those are redrawn.
 */

export interface SnapshotData {
  run: string;
  state: number;
  nodes: Array<{ node: number; state: number; attempts: number }>;
}

/** One state change (src/orchestrator/bus.ts RunEvent); `node` absent for the run itself. */
export interface StateData {
  run: string;
  node?: number;
  name?: string;
  state: number;
  attempt?: number;
  error?: string;
  time: number;
}

export type StreamEvent =
  | { type: 'snapshot'; data: SnapshotData }
  | { type: 'state'; data: StateData };

export interface LiveState {
  runState: number;
  /** state code of node i */
  states: Uint8Array;
  /** attempts of node i so far */
  attempts: Uint16Array;
  /** last error of a node, by node id */
  errors: ReadonlyMap<number, string>;
  /** bumped by every batch that changed something */
  version: number;
}

export function liveFromNodes(
  runState: number,
  nodes: ReadonlyArray<{ state: number; attempts: number; error?: string | null }>,
): LiveState {
  const states = new Uint8Array(nodes.length);
  const attempts = new Uint16Array(nodes.length);
  const errors = new Map<number, string>();
  for (let i = 0; i < nodes.length; i++) {
    states[i] = nodes[i].state;
    attempts[i] = nodes[i].attempts;
    const error = nodes[i].error;
    if (error) errors.set(i, error);
  }
  return { runState, states, attempts, errors, version: 0 };
}

export interface Applied {
  next: LiveState;
  /** node ids whose state or attempts changed, each once */
  changed: number[];
  runChanged: boolean;
}

export function applyEvents(prev: LiveState, events: readonly StreamEvent[]): Applied {
  const n = prev.states.length;
  const states = prev.states.slice();
  const attempts = prev.attempts.slice();
  let errors: Map<number, string> | undefined;
  let runState = prev.runState;
  const seen = new Uint8Array(n);
  const changed: number[] = [];
  const mark = (i: number) => {
    if (seen[i] === 0) {
      seen[i] = 1;
      changed.push(i);
    }
  };
  for (const event of events) {
    if (event.type === 'snapshot') {
      runState = event.data.state;
      for (const node of event.data.nodes) {
        const i = node.node;
        if (i < 0 || i >= n) continue;
        if (states[i] !== node.state || attempts[i] !== node.attempts) {
          states[i] = node.state;
          attempts[i] = node.attempts;
          mark(i);
        }
      }
      continue;
    }
    const { node, state, attempt, error } = event.data;
    if (node === undefined) {
      runState = state;
      continue;
    }
    if (node < 0 || node >= n) continue;
    if (states[node] !== state || (attempt !== undefined && attempts[node] !== attempt)) mark(node);
    states[node] = state;
    if (attempt !== undefined && attempt > attempts[node]) attempts[node] = attempt;
    if (error !== undefined) {
      errors ??= new Map(prev.errors);
      errors.set(node, error);
    }
  }
  const runChanged = runState !== prev.runState;
  if (changed.length === 0 && !runChanged && errors === undefined) {
    return { next: prev, changed, runChanged };
  }
  return {
    next: {
      runState,
      states,
      attempts,
      errors: errors ?? prev.errors,
      version: prev.version + 1,
    },
    changed,
    runChanged,
  };
}

/** How many nodes are in each state code. */
export function countStates(states: Uint8Array): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < states.length; i++) counts.set(states[i], (counts.get(states[i]) ?? 0) + 1);
  return counts;
}

/** State code of a running node (src/graph/states.ts). */
const RUNNING = 2;

/** Whether any node is running (its duration still grows). */
export function anyRunning(states: Uint8Array): boolean {
  return states.includes(RUNNING);
}
