/** `baton run FILE`: submit a document and follow the run (see ../run.ts). */
import type { Command } from 'commander';
import { serverUrl } from '../config.ts';
import { runCommand } from '../run.ts';
import { type ClientFlags, config, examples, outputOption, withClient } from './common.ts';

interface RunFlags extends ClientFlags {
  watch?: boolean;
  idempotencyKey?: string;
  output: string;
}

export function registerRun(cli: Command): void {
  examples(
    withClient(
      cli
        .command('run')
        .description('submit a gorch document and follow the run; the exit code is its result')
        .argument('<file>', 'gorch document (JSON or YAML)')
        .option(
          '--watch',
          'show progress live (a bar on a terminal, a line per change in a pipe) and a summary',
        )
        .option('--idempotency-key <key>', 'submitting twice with the same key starts one run')
        .addOption(outputOption(['text', 'json', 'yaml'], 'text')),
    ).addHelpText(
      'after',
      '\nExit codes: 0 success, 1 the run failed, 2 the document was rejected, 3 server unreachable.' +
        '\nStdout holds the run id (with -o json|yaml: the finished run only; the rest goes to stderr).',
    ),
    'baton run examples/gorch-example.json --watch',
    'id=$(baton run deploy.yaml) || baton show "$id"',
    'baton run deploy.json -o json | jq ".nodes[] | {name, output}"',
  ).action(async (file: string, flags: RunFlags) => {
    const cfg = config(flags);
    process.exitCode = await runCommand(file, {
      server: serverUrl(cfg, flags.server),
      token: flags.token ?? cfg.token,
      watch: flags.watch,
      idempotencyKey: flags.idempotencyKey,
      output: flags.output,
    });
  });
}
