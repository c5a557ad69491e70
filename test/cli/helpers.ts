/**
 * The real `baton` binary as a script would run it: output in a pipe, no colour even when the
 * test runner forces it (node --test sets FORCE_COLOR=1 for its children on a terminal), and
 * no BATON_* variable from the developer's shell (an empty value counts as unset).
 */
import { BATON, type CliResult, baton as run } from '../support/cli.ts';

const CLEAN_ENV: NodeJS.ProcessEnv = {
  FORCE_COLOR: '0',
  BATON_CONFIG: '',
  BATON_SERVER: '',
  BATON_TOKEN: '',
  BATON_HOST: '',
  BATON_PORT: '',
  BATON_DATA: '',
  BATON_DB: '',
  BATON_TLS: '',
  BATON_EXECUTORS: '',
  BATON_LOG_LEVEL: '',
};

export function baton(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return run(args, { cwd: options.cwd, env: { ...CLEAN_ENV, ...options.env } });
}

export { BATON, CLEAN_ENV };
