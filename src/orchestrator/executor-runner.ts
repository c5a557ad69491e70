/**
 * Runs attempts on executor services (docs/architecture.md §6). The executor is the one whose name equals
 * the node's `target`, else the default one. Completion comes by long-poll: the POST itself
 * waits up to a second, then `GET ?wait=` does, so a finished task is seen within a round
 * trip, not after a polling interval. The attempts dispatched in one tick share that POST
 * (the client batches them, client.ts), each answered as soon as its task ends.
 *
 * Exactly once: the attempt's key is the executor's idempotency key, so submitting again after
 * an orchestrator restart re-attaches to the task already running instead of starting another.
 */
import type { ExecutorClient } from '../executor/client.ts';
import { ExecutorError } from '../executor/client.ts';
import type { TaskStatus } from '../executor/types.ts';
import { State } from '../graph/states.ts';
import { Detached } from './orchestrator.ts';
import type { Attempt, AttemptOutcome, TaskRunner } from './runners.ts';

export interface ExecutorPool {
  /** by executor name */
  clients: ReadonlyMap<string, ExecutorClient>;
  /** name of the executor for targets that name none */
  defaultName?: string;
}

/** Engines that only executors run (nil and sleep run in the orchestrator). */
export const EXECUTOR_ENGINES = ['shell', 'ssh', 'toscassh', 'ansible', 'http', 'docker'] as const;

const WAIT_SECONDS = 30;
/**
 * How long the executor may hold the POST for the task to end. Short tasks then cost one
 * round trip; the cost is that the task id (for cancel and logs) is known up to this late.
 */
const SUBMIT_WAIT_SECONDS = 1;
/** transient errors while waiting are retried for this long before the attempt fails */
const WAIT_GIVE_UP_MS = 60_000;

export function pickExecutor(pool: ExecutorPool, target: string): ExecutorClient | undefined {
  return (
    pool.clients.get(target) ?? (pool.defaultName ? pool.clients.get(pool.defaultName) : undefined)
  );
}

export function executorRunner(pool: ExecutorPool): TaskRunner {
  return {
    async run(attempt: Attempt): Promise<AttemptOutcome> {
      const { node, signal } = attempt;
      const client = pickExecutor(pool, node.target);
      const name = pool.clients.has(node.target) ? node.target : pool.defaultName;
      if (!client || !name) {
        return {
          state: State.failure,
          error: `no executor named "${node.target}" and no default executor configured`,
        };
      }
      let accepted: { id: string; status?: TaskStatus };
      try {
        accepted = await submit(client, attempt);
      } catch (err) {
        return { state: State.failure, error: message(err) };
      }
      const { id: taskId, status } = accepted;
      attempt.onDispatched?.(name, taskId);
      const ended = status && outcome(status);
      if (ended) return ended;
      const cancel = () => {
        // a run handed over to another replica keeps its task: the new owner re-attaches
        if (signal.reason instanceof Detached) return;
        client.cancel(taskId).catch(() => {
          // best effort: the executor may be gone; the node's state is already decided here
        });
      };
      if (signal.aborted) cancel();
      signal.addEventListener('abort', cancel, { once: true });
      try {
        return await waitForEnd(client, taskId, signal);
      } finally {
        signal.removeEventListener('abort', cancel);
      }
    },

    async log(executor: string, taskId: string): Promise<string> {
      const client = pool.clients.get(executor);
      if (!client) throw new Error(`executor "${executor}" is not configured any more`);
      return client.log(taskId);
    },
  };
}

/**
 * POSTs the attempt. A POST whose connection broke may have been accepted (it waits up to
 * SUBMIT_WAIT_SECONDS for the task to end, so an executor restarting meanwhile breaks it):
 * it is sent again with the same idempotency key, which re-attaches to the task if there is
 * one, while the connection keeps breaking or being refused, for WAIT_GIVE_UP_MS at most. A
 * request that never reached the executor (refused, say) fails at once, as does a timeout
 * or any answer.
 */
async function submit(
  client: ExecutorClient,
  attempt: Attempt,
): Promise<{ id: string; status?: TaskStatus }> {
  let failingSince: number | null = null;
  for (;;) {
    try {
      return await client.submit(attempt.node, attempt.key, SUBMIT_WAIT_SECONDS);
    } catch (err) {
      // only a broken or refused connection (an executor restarting): a POST that timed out
      // went to an executor that is up but not answering, and asking again would not help
      const broken = err instanceof ExecutorError && err.kind === 'connect';
      const mayBeAccepted = failingSince !== null || (broken && !err.unsent);
      failingSince ??= Date.now();
      if (
        !broken ||
        !mayBeAccepted ||
        attempt.signal.aborted ||
        Date.now() - failingSince > WAIT_GIVE_UP_MS
      )
        throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** An executor restarting or a dropped connection: worth asking again. */
function isTransient(err: unknown): boolean {
  return err instanceof ExecutorError && (err.kind === 'connect' || err.kind === 'timeout');
}

async function waitForEnd(
  client: ExecutorClient,
  taskId: string,
  signal: AbortSignal,
): Promise<AttemptOutcome> {
  let failingSince: number | null = null;
  while (!signal.aborted) {
    try {
      const ended = outcome(await client.wait(taskId, WAIT_SECONDS));
      failingSince = null;
      if (ended) return ended;
    } catch (err) {
      // An executor restarting or a dropped connection should not fail a long task at once.
      failingSince ??= Date.now();
      if (!isTransient(err) || Date.now() - failingSince > WAIT_GIVE_UP_MS) {
        return { state: State.failure, error: message(err) };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { state: State.failure, error: 'aborted' };
}

/** What a final task status means for the attempt; undefined while the task runs. */
function outcome(status: TaskStatus): AttemptOutcome | undefined {
  switch (status.state) {
    case State.success:
      return { state: State.success, output: status.output };
    case State.failure:
      return {
        state: State.failure,
        error: status.error ?? `failed (exit code ${status.exit_code})`,
      };
    case State.timeout:
      return { state: State.timeout, error: status.error ?? 'timed out on the executor' };
    case State.canceled:
      return { state: State.failure, error: status.error ?? 'canceled on the executor' };
  }
  return undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
