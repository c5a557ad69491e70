/**
 * `toscassh`: like `ssh`, but the args are `KEY=VALUE` pairs given to the script as
 * environment variables, as gorchestrator's TOSCA driver did (operation inputs). They are
 * set by `export` lines sent ahead of the script on stdin, because sshd refuses `env`
 * requests unless AcceptEnv allows them.
 */
import type { Driver, TaskContext, TaskResult } from '../types.ts';
import { runOverSsh, shellQuote } from './ssh.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const toscasshDriver: Driver = {
  async run(task: TaskContext): Promise<TaskResult> {
    const exports: string[] = [];
    for (const [i, arg] of task.node.args.entries()) {
      const eq = arg.indexOf('=');
      const key = eq === -1 ? '' : arg.slice(0, eq);
      if (!IDENTIFIER.test(key)) {
        const error = `toscassh: args[${i}] must be KEY=VALUE with KEY a shell identifier, got ${JSON.stringify(arg)}`;
        return { ok: false, output: {}, exitCode: null, error };
      }
      exports.push(`export ${key}=${shellQuote(arg.slice(eq + 1))}\n`);
    }
    return runOverSsh(task, { argv: [], prelude: exports.join('') });
  },
};
