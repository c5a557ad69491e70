/**
 * A node attempt's life in the run loop (docs/architecture.md §4, steps 3 and 4): the
 * engine's `ready` asks admission (admission.ts) for capacity and is admitted now or once it
 * fits; the committed `dispatch` hands the attempt to its TaskRunner (runners.ts) with its
 * `get_attribute` args resolved and an idempotency key, under the node's own timeout; the
 * runner's outcome, cleaned of what the store cannot hold and of the node's secrets, goes back
 * to the engine as `attemptEnded`. Each attempt holds its admission until it ends.
 */
import { type AttemptResult, admit, attemptEnded, type EngineEvent } from '../engine/events.ts';
import type { GorchNode, Graph } from '../graph/model.ts';
import { State } from '../graph/states.ts';
import type { ActiveRun } from './active-run.ts';
import type { Admission, Demand } from './admission.ts';
import { resolveArgs } from './attributes.ts';
import type { CommitBatcher } from './commit-batcher.ts';
import type { RunObserver } from './observer.ts';
import type { AttemptOutcome, TaskRunner } from './runners.ts';

/** What attempts need of the run loop (run-loop.ts). */
export interface Loop {
  readonly stopped: boolean;
  /** `run` is the one driven here (not finished, failed or handed over since) */
  drives(run: ActiveRun): boolean;
  feed(run: ActiveRun, event: EngineEvent): void;
  poison(run: ActiveRun, err: unknown): void;
}

export interface AttemptsOptions {
  loop: Loop;
  batcher: CommitBatcher;
  observer: RunObserver;
  runners: ReadonlyMap<string, TaskRunner>;
  admission: Admission;
  /** the executor a node would run on ('' for engines run in the orchestrator) */
  executorOf: (node: GorchNode) => string;
  now: () => number;
  /** see OrchestratorOptions.scrubAttemptError */
  scrubAttemptError?: AttemptErrorScrubber;
}

/** Takes the secrets a node was given or produced out of its attempt's error. */
export type AttemptErrorScrubber = (
  graph: Graph,
  node: GorchNode,
  outputs: ReadonlyArray<Readonly<Record<string, string>> | undefined>,
  error: string,
) => string;

/** NUL cannot be stored in PostgreSQL text: an executor's error or output may carry one. */
export const clean = (text: string): string => text.replaceAll('\u0000', '\uFFFD');

function cleanOutputs(output: Record<string, string>): Record<string, string> {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(output)) cleaned[clean(key)] = clean(String(value));
  return cleaned;
}

export class Attempts {
  readonly #o: AttemptsOptions;

  constructor(options: AttemptsOptions) {
    this.#o = options;
  }

  /** A node is ready: admission starts its attempt now, or once capacity frees up. */
  request(run: ActiveRun, nodeId: number, attempt: number): void {
    const { loop } = this.#o;
    // Admission may start it at once: the engine has returned, so feeding it is safe.
    const demand: Demand = this.#demand(run, nodeId, () => {
      if (!loop.drives(run) || !run.engine.isQueued(nodeId)) return false;
      run.admitted.set(nodeId, demand);
      loop.feed(run, admit(nodeId, attempt));
      return true;
    });
    this.#o.admission.request(demand);
  }

  /** Gives back the capacity of a run that stops being driven here, and its queued demands. */
  releaseAll(run: ActiveRun): void {
    const admitted = [...run.admitted.values()];
    run.admitted.clear();
    this.#o.admission.drop(run.id);
    for (const demand of admitted) this.#o.admission.release(demand);
  }

  /** Hands an attempt whose `running` state is committed to its runner. */
  dispatch(run: ActiveRun, nodeId: number, attempt: number, reattach: boolean): void {
    const { loop, batcher, observer } = this.#o;
    const readyAt = run.readyAt.get(nodeId); // observability
    run.readyAt.delete(nodeId);
    if (loop.stopped || !loop.drives(run)) return;
    const node = resolveArgs(run.graph, run.graph.nodes[nodeId], run.outputs);
    const runner = this.#o.runners.get(node.engine);
    const controller = new AbortController();
    run.attempts.set(nodeId, controller);
    if (reattach && !run.admitted.has(nodeId)) {
      // running before a restart or takeover: it holds its capacity without queuing again
      const held = this.#demand(run, nodeId, () => true);
      run.admitted.set(nodeId, held);
      this.#o.admission.hold(held);
    }
    // this attempt's admission; a late result of an earlier attempt must not free the next one's
    const demand = run.admitted.get(nodeId);
    const finish = (outcome: AttemptOutcome) => {
      try {
        ended(outcome);
      } catch (err) {
        loop.poison(run, err);
        batcher.schedule();
      }
    };
    const ended = (outcome: AttemptOutcome) => {
      if (run.attempts.get(nodeId) === controller) run.attempts.delete(nodeId);
      if (demand && run.admitted.get(nodeId) === demand) {
        run.admitted.delete(nodeId);
        this.#o.admission.release(demand);
      }
      if (loop.stopped || !loop.drives(run)) return;
      // Only the current attempt of a still-running node may record outputs.
      if (run.engine.nodeState(nodeId) !== State.running || run.engine.attempts(nodeId) !== attempt)
        return;
      if (outcome.output) run.outputs[nodeId] = cleanOutputs(outcome.output);
      // no secret the node was given or produced is recorded, published or logged
      if (outcome.error !== undefined) {
        const error = clean(outcome.error);
        const scrub = this.#o.scrubAttemptError;
        outcome.error = scrub ? scrub(run.graph, node, run.outputs, error) : error;
      }
      observer.attemptEnd(run, nodeId, attempt, outcome.state, outcome.error);
      loop.feed(run, attemptEnded(nodeId, attempt, outcome.state as AttemptResult, outcome.error));
    };
    observer.dispatch(run, nodeId, attempt, reattach, readyAt);
    if (!runner) {
      finish({ state: State.failure, error: `no runner for engine "${node.engine}"` });
      return;
    }
    if (node.timeout) {
      // Counted from the attempt's recorded start, so a re-attached attempt keeps its deadline.
      // never more than the whole timeout: a clock set back must not extend it
      const full = node.timeout * 1000;
      const left = Math.min(full, full - (this.#o.now() - run.started[nodeId]));
      run.timers.after(Math.max(0, left), () => {
        if (run.attempts.get(nodeId) !== controller) return;
        controller.abort(new Error('timeout'));
        finish({ state: State.timeout, error: `node timed out after ${node.timeout} s` });
      });
    }
    runner
      .run({
        runId: run.id,
        node,
        attempt,
        key: `${run.id}/${nodeId}/${attempt}/${run.started[nodeId]}`,
        signal: controller.signal,
        reattach,
        onDispatched: (executor, taskId) => {
          if (run.attempts.get(nodeId) !== controller || !loop.drives(run)) return;
          batcher.changesOf(run).nodes.push({ node: nodeId, executor, taskId });
          batcher.schedule();
        },
      })
      .then(finish, (err: unknown) =>
        finish({ state: State.failure, error: err instanceof Error ? err.message : String(err) }),
      );
  }

  /** What admission needs to know of a node's next attempt; `start` admits it. */
  #demand(run: ActiveRun, nodeId: number, start: () => boolean): Demand {
    const node = run.graph.nodes[nodeId];
    return {
      run: run.id,
      node: nodeId,
      priority: run.graph.priority ?? 50,
      parallelism: run.graph.parallelism ?? 0,
      pool: node.pool,
      target: node.target,
      executor: this.#o.executorOf(node),
      start,
    };
  }
}
