/**
 * Checks of a node's args that depend on its engine and can be made at submission, so a
 * document that can only fail at run time is refused with a 400 instead (docs/architecture.md §1).
 * Executor-backed engines check their own args where they run them; only the in-process
 * engines are known well enough here.
 */
import { DocumentError } from './errors.ts';
import type { GorchNode } from './model.ts';

/** Refuses the first node whose args its engine could never run. Runs after `{{inputs.x}}`. */
export function checkEngineArgs(nodes: readonly GorchNode[]): void {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as GorchNode;
    if (node.engine === 'sleep') checkSleep(node, i);
  }
}

/**
 * `sleep` takes args[0] seconds, read as the runner reads it (`Number`), or no args for a
 * random 0-1 s. The arg is not quoted back: it may carry an input's value.
 */
function checkSleep(node: GorchNode, index: number): void {
  const arg = node.args[0];
  if (arg === undefined) return;
  const seconds = Number(arg);
  if (Number.isFinite(seconds) && seconds >= 0) return;
  const got = Number.isNaN(seconds)
    ? `got ${arg.length} character${arg.length === 1 ? '' : 's'} of text that is not a number`
    : `got ${seconds}`;
  throw DocumentError.at(
    'type',
    `nodes[${index}].args[0]`,
    `sleep takes a number of seconds >= 0 as args[0] (or no args for a random 0-1 s), ${got}`,
  );
}
