/**
 * What the command modules share: flag parsers, the `--config`, client and `-o` options,
 * help examples, and the mapping from errors to exit codes (0 ok, 1 a run did not succeed,
 * 2 bad input, usage or configuration, 3 server unreachable or failing).
 */
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DocumentError } from '../../graph/errors.ts';
import { ApiError, BatonClient } from '../client.ts';
import { type Config, loadConfig, serverUrl } from '../config.ts';
import { UsageError } from '../documents.ts';
import { ExitCode } from '../run.ts';

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`);
  }
  return n;
}

export function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds an `Examples:` block to a command's help; every command has one. */
export function examples(command: Command, ...lines: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

export interface ConfigFlags {
  config?: string;
}

export interface ClientFlags extends ConfigFlags {
  server?: string;
  token?: string;
}

export function withConfig(command: Command): Command {
  return command.option(
    '--config <file>',
    'configuration file, JSON or YAML, gorchestrator-shaped (env BATON_CONFIG)',
  );
}

/** `--server`, `--token` and `--config`: where the orchestrator is and how to talk to it. */
export function withClient(command: Command): Command {
  return withConfig(
    command
      .option(
        '--server <url>',
        'orchestrator URL (env BATON_SERVER, config `server`; default http://127.0.0.1:8080)',
      )
      .option('--token <token>', 'bearer token for the orchestrator (env BATON_TOKEN)'),
  );
}

export function outputOption(formats: readonly string[], fallback: string): Option {
  return new Option('-o, --output <format>', 'output format').choices(formats).default(fallback);
}

/** The configuration (file < env) the flags then override. */
export function config(flags: ConfigFlags): Config {
  return loadConfig(flags.config);
}

export function clientFor(flags: ClientFlags): BatonClient {
  const cfg = config(flags);
  return new BatonClient(serverUrl(cfg, flags.server), flags.token ?? cfg.token);
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError)
    return err.exitCode === 0 ? ExitCode.success : ExitCode.rejected;
  if (err instanceof ApiError) {
    return err.status === 0 || err.status >= 500 ? ExitCode.unreachable : ExitCode.rejected;
  }
  if (err instanceof UsageError || err instanceof DocumentError) return ExitCode.rejected;
  // Ports in use, unreadable directories, executors refused at start-up: bad set-up.
  return ExitCode.rejected;
}
