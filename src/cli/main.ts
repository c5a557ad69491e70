/**
 * The `baton` command: wiring only. Each command lives in commands/: services.ts (serve,
 * executor, demo, certs), run.ts (run), runs.ts (list, show, cancel, retry, logs) and
 * documents.ts (validate, dot, mermaid).
 * Exit codes: 0 ok, 1 a run did not succeed, 2 bad input (document, flags, config, unknown
 * run or node), 3 the server could not be reached (or failed).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ApiError } from './client.ts';
import { exitCodeFor } from './commands/common.ts';
import { registerDocumentCommands } from './commands/documents.ts';
import { registerRun } from './commands/run.ts';
import { registerRunCommands } from './commands/runs.ts';
import { registerScheduleCommands } from './commands/schedules.ts';
import { registerServiceCommands } from './commands/services.ts';
import { ENVIRONMENT } from './config.ts';
import { terminalSafe } from './output.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const ROOT_HELP = `
Exit codes:
  0  success
  1  a run did not succeed (failure, timeout or canceled)
  2  bad input: usage, document, configuration, unknown run or node
  3  the server could not be reached (or answered with a server error)

Configuration: --config FILE (JSON or YAML, gorchestrator-shaped: http.bind_address,
http.bind_port, executor(s), log; plus server, token, data, db, tls), then these
variables, then flags:
${ENVIRONMENT.map(([name, meaning]) => `  ${name.padEnd(16)} ${meaning}`).join('\n')}
Output is coloured on a terminal and plain in a pipe; NO_COLOR=1 or FORCE_COLOR=1 decide.

Examples:
  baton demo                                         # everything at once, live
  baton serve --port 8080 --data ./data
  baton run examples/gorch-example.json --watch
  baton list --state running,failure
  baton show RUN_ID -o dot | dot -Tsvg > run.svg
  baton logs RUN_ID install`;

export function program(): Command {
  const cli = new Command('baton')
    .description('Baton: a DAG orchestrator-as-a-service (gorchestrator-compatible)')
    .version(pkg.version)
    // Usage errors end with exit code 2 like every other bad input (see main).
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ROOT_HELP);

  cli.commandsGroup('Runs:');
  registerRun(cli);
  registerRunCommands(cli);
  registerScheduleCommands(cli);
  cli.commandsGroup('Documents:');
  registerDocumentCommands(cli);
  cli.commandsGroup('Services:');
  registerServiceCommands(cli);
  cli.commandsGroup('');
  return cli;
}

export async function main(argv: string[]): Promise<void> {
  // `baton show ID -o dot | head` closes the pipe early: not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    await program().parseAsync(argv);
  } catch (err) {
    // Commander has already printed its own usage message.
    if (!(err instanceof CommanderError)) {
      // Bad documents, flags, configuration, unknown runs, ports in use: say what and where,
      // no stack trace (BATON_DEBUG=1 shows it).
      const message = err instanceof Error ? err.message : String(err);
      // a server's message is shown on one line; ours may span several
      const keep = err instanceof ApiError ? '' : '\n';
      process.stderr.write(`baton: ${terminalSafe(message, keep)}\n`);
      if (process.env.BATON_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    }
    process.exitCode = exitCodeFor(err);
  }
}

if (import.meta.main) void main(process.argv);
