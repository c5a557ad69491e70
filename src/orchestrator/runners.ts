/**
 * How an attempt of a node is carried out. The orchestrator knows only this interface:
 * in-process runners for `nil` and `sleep` live here; executor-backed runners call remote
 * executor services.
 */
import { sleepOutput, sleepRequest } from '../graph/engine-args.ts';
import type { GorchNode } from '../graph/model.ts';
import { State } from '../graph/states.ts';

export interface Attempt {
  runId: string;
  /** the node with its get_attribute args already resolved */
  node: GorchNode;
  attempt: number;
  /** unique per attempt, stable across restarts: executors run a key at most once */
  key: string;
  /** aborted on cancel, graph timeout or the node's own timeout */
  signal: AbortSignal;
  /** this attempt was running before a restart: re-attach to it instead of starting anew */
  reattach: boolean;
  /** an executor accepted the attempt as task `taskId`: recorded so logs can be found */
  onDispatched?: (executor: string, taskId: string) => void;
}

export interface AttemptOutcome {
  state: typeof State.success | typeof State.failure | typeof State.timeout;
  output?: Record<string, string>;
  error?: string;
}

export interface TaskRunner {
  run(attempt: Attempt): Promise<AttemptOutcome>;
  /** the captured output of a task this runner dispatched, if it keeps any */
  log?(executor: string, taskId: string): Promise<string>;
}

export const nilRunner: TaskRunner = {
  run: async () => ({ state: State.success }),
};

/**
 * The runner of an engine that only executors run, in an orchestrator started without any:
 * the document is accepted, as gorchestrator accepted it, and each such node fails when it
 * is dispatched, saying what would run it.
 */
export function noExecutorRunner(engine: string): TaskRunner {
  const error = `no executor offers engine ${engine}: start one with baton executor and pass --executor`;
  return { run: async () => ({ state: State.failure, error }) };
}

/**
 * `sleep` sleeps args[0] seconds, or a random 0-1 s without a number, and outputs `result`, as
 * gorchestrator's did (graph/engine-args.ts). `now` stamps the output.
 */
export function sleepRunner(random: () => number, now: () => number = Date.now): TaskRunner {
  return {
    run: ({ node, signal }) => {
      const request = sleepRequest(node.args);
      if ('invalid' in request) {
        // refused at submission since; a document stored before that still ends cleanly
        return Promise.resolve({
          state: State.failure,
          error: `sleep: args[0] must be a number of seconds >= 0, ${request.invalid}`,
        });
      }
      const seconds = 'seconds' in request ? request.seconds : random();
      return new Promise((resolve) => {
        let timer: ReturnType<typeof setTimeout>;
        // setTimeout fires at once past 2^31-1 ms: a long sleep waits in steps
        const wait = (ms: number) => {
          const step = Math.min(ms, 2 ** 31 - 1);
          timer = setTimeout(
            () =>
              ms > step
                ? wait(ms - step)
                : resolve({ state: State.success, output: sleepOutput(node.name, now()) }),
            step,
          );
        };
        wait(seconds * 1000);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve({ state: State.failure, error: 'aborted' });
          },
          { once: true },
        );
      });
    },
  };
}
