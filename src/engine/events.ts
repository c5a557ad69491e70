/**
 * The engine's vocabulary. Events are facts the orchestrator observed; commands are what the
 * engine asks it to do. Both are plain data so runs can be replayed in tests.
 */
import type { StateCode } from '../graph/states.ts';

export type EngineEvent =
  /** the run begins: roots are dispatched */
  | { type: 'start' }
  /** the process restarted: re-attach running nodes, dispatch what was ready */
  | { type: 'resume' }
  /** an attempt of a node ended (success, failure or its own timeout) */
  | { type: 'attemptEnded'; node: number; attempt: number; state: AttemptResult; error?: string }
  /** a retry backoff asked for by `wakeAfter` has elapsed */
  | { type: 'wake'; node: number; attempt: number }
  /** the orchestrator admits a `ready` node: its attempt starts */
  | { type: 'admit'; node: number; attempt: number }
  | { type: 'cancel' }
  | { type: 'graphTimeout' }
  /** re-run failed, notrunnable, timed-out and canceled nodes of a finished run */
  | { type: 'retry' };

export type AttemptResult = 3 | 4 | 10;

export type EventType = EngineEvent['type'];
export type EventOf<K extends EventType> = Extract<EngineEvent, { type: K }>;

export type Command =
  /** record (and publish) a node's new state; `attempt` is the node's current attempt */
  | { type: 'nodeState'; node: number; state: StateCode; attempt: number; error?: string }
  /** every node of the run in one of `from` moves to `to` */
  | { type: 'bulkNodes'; from: StateCode[]; to: StateCode }
  /** the node may start `attempt`; it waits (torun) until admitted */
  | { type: 'ready'; node: number; attempt: number }
  /** start this attempt of the node, or re-attach to it after a restart */
  | { type: 'dispatch'; node: number; attempt: number; reattach?: true }
  /** stop this attempt of the node on its executor */
  | { type: 'abort'; node: number; attempt: number }
  /** deliver `wake` for this node and attempt after the delay */
  | { type: 'wakeAfter'; node: number; attempt: number; delayMs: number }
  | { type: 'runState'; state: StateCode };

export type CommandType = Command['type'];
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;

// Factories keep tests and callers short and typed.
export const start = (): EngineEvent => ({ type: 'start' });
export const resume = (): EngineEvent => ({ type: 'resume' });
export const cancel = (): EngineEvent => ({ type: 'cancel' });
export const graphTimeout = (): EngineEvent => ({ type: 'graphTimeout' });
export const retry = (): EngineEvent => ({ type: 'retry' });
export const wake = (node: number, attempt: number): EngineEvent => ({
  type: 'wake',
  node,
  attempt,
});
export function attemptEnded(
  node: number,
  attempt: number,
  state: AttemptResult,
  error?: string,
): EngineEvent {
  return error === undefined
    ? { type: 'attemptEnded', node, attempt, state }
    : { type: 'attemptEnded', node, attempt, state, error };
}
export const admit = (node: number, attempt: number): EngineEvent => ({
  type: 'admit',
  node,
  attempt,
});
