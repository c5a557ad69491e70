/**
 * Checks of a node's args that depend on its engine and can be made at submission, so a
 * document that can only fail at run time is refused with a 400 instead (docs/architecture.md §1).
 * Executor-backed engines check their own args where they run them; only the in-process
 * engines are known well enough here.
 */
import { DocumentError } from './errors.ts';
import type { GorchNode } from './model.ts';
import type { NodePath } from './node-fields.ts';

/**
 * What a `sleep` node's args[0] asks for, read as both the orchestrator and the executors read
 * it: a number of seconds; a random 0-1 s when there is no arg or it is text that is not a
 * number (gorchestrator's sleep ignored its args and slept a random time under a second); or
 * a number no sleep can take (negative, infinite, NaN), with why.
 */
export type SleepRequest = { seconds: number } | { random: true } | { invalid: string };

export function sleepRequest(args: readonly string[]): SleepRequest {
  const arg = args[0];
  if (arg === undefined) return { random: true };
  const seconds = Number(arg);
  if (Number.isFinite(seconds) && seconds >= 0) return { seconds };
  // Number('x') and Number('NaN') are both NaN: only the second spells a number
  if (Number.isNaN(seconds) && !/^\s*[+-]?NaN\s*$/.test(arg)) return { random: true };
  return { invalid: `got ${seconds}` };
}

/** gorchestrator's sleep output: `result` = NAME_UNIXSECONDS. */
export function sleepOutput(name: string, now: number): Record<string, string> {
  return { result: `${name}_${Math.floor(now / 1000)}` };
}

/** Refuses the first node whose args its engine could never run. Runs after `{{inputs.x}}`. */
export function checkEngineArgs(nodes: readonly GorchNode[], at: NodePath): void {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as GorchNode;
    if (node.engine !== 'sleep') continue;
    const request = sleepRequest(node.args);
    if ('invalid' in request) {
      throw DocumentError.at(
        'type',
        `${at(i)}.args[0]`,
        `sleep takes a number of seconds >= 0 as args[0] (or no number for a random 0-1 s), ${request.invalid}`,
      );
    }
  }
}
