/**
 * The environment a task's local program starts with. Not the executor's whole environment:
 * that holds whatever its service manager and operator put there (cloud credentials, database
 * URLs, tokens), and a task is code from whoever may submit runs. A task gets the variables
 * that make a program behave like a login on this machine, plus those the operator adds with
 * `--task-env NAME` (repeatable, `PREFIX*` for a family), plus BATON_TASK_ID (orphans.ts).
 */

/** Names (a trailing `*` matches a prefix) every task inherits from the executor. */
export const TASK_ENV_ALLOWLIST: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TMPDIR',
];

/** A `--task-env` value: a variable name, or a prefix followed by `*`. */
export const TASK_ENV_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

/** The variables of `env` whose names `patterns` allow. */
export function allowedEnv(
  env: NodeJS.ProcessEnv,
  patterns: readonly string[],
): Record<string, string> {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) kept[name] = value;
  }
  return kept;
}

/** What every task's program inherits: the allowlist and the operator's additions. */
export function taskEnvironment(
  env: NodeJS.ProcessEnv,
  extra: readonly string[] = [],
): Readonly<Record<string, string>> {
  for (const name of extra) {
    if (!TASK_ENV_PATTERN.test(name)) {
      throw new Error(
        `task environment: expected a variable name or PREFIX*, e.g. HTTPS_PROXY or AWS_*, got ${JSON.stringify(name)}`,
      );
    }
  }
  return Object.freeze(allowedEnv(env, [...TASK_ENV_ALLOWLIST, ...extra]));
}
