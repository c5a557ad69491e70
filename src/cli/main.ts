/**
 * The `baton` command. Each subcommand lives in its own module; this file only wires flags.
 * Exit codes: 0 ok, 1 a run did not succeed, 2 bad input (document, flags, config),
 * 3 the server could not be reached.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { DocumentError } from '../graph/errors.ts';
import { toDot, toMermaid } from '../graph/export.ts';
import { demoCommand } from './demo.ts';
import { readGraph, UsageError } from './documents.ts';
import { createLogger } from './logger.ts';
import { ExitCode, runCommand } from './run.ts';
import { startServer } from './server.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const defaultServer = () => process.env.BATON_SERVER ?? 'http://127.0.0.1:8080';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`);
  }
  return n;
}

export function program(): Command {
  const cli = new Command('baton')
    .description('Baton: a DAG orchestrator-as-a-service (gorchestrator-compatible)')
    .version(pkg.version)
    .showHelpAfterError();

  cli
    .command('serve')
    .description('run the orchestrator: REST API, run loop and UI')
    .option('--host <host>', 'address to listen on', process.env.BATON_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port to listen on', port, Number(process.env.BATON_PORT ?? 8080))
    .option(
      '--data <dir>',
      'directory of the embedded SQLite store',
      process.env.BATON_DATA ?? 'data',
    )
    .addHelpText('after', '\nExample:\n  baton serve --port 8080 --data /var/lib/baton')
    .action(async (opts: { host: string; port: number; data: string }) => {
      const logger = createLogger();
      const server = await startServer({
        host: opts.host,
        port: opts.port,
        dataDir: opts.data,
        logger,
        // The store is intact (nothing half-written); a supervisor restarts us and runs resume.
        onFatal: () => process.exit(70),
      });
      logger.info(
        { url: server.url, resumed: server.resumed, data: opts.data },
        'baton orchestrator ready',
      );
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'shutting down; unfinished runs resume at the next start');
        server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  cli
    .command('run')
    .description('submit a gorch document and follow the run; the exit code is its result')
    .argument('<file>', 'gorch document (JSON or YAML)')
    .option('--server <url>', 'orchestrator URL (env BATON_SERVER)', defaultServer())
    .option('--watch', 'print every state change and a summary')
    .option('--idempotency-key <key>', 'submitting twice with the same key starts one run')
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 the run failed, 2 the document was rejected, 3 server unreachable.' +
        '\nExample:\n  baton run examples/gorch-example.json --watch',
    )
    .action(
      async (file: string, opts: { server: string; watch?: boolean; idempotencyKey?: string }) => {
        process.exitCode = await runCommand(file, { ...opts, token: process.env.BATON_TOKEN });
      },
    );

  cli
    .command('demo')
    .description('start an orchestrator and run the bundled example live, then keep serving')
    .option('--port <port>', 'port to listen on', port, 8080)
    .option('--data <dir>', 'directory of the embedded SQLite store', '.baton/demo')
    .action(demoCommand);

  cli
    .command('validate')
    .description('check a gorch document without running it')
    .argument('<file>', 'gorch document (JSON or YAML)')
    .action((file: string) => {
      const graph = readGraph(file);
      process.stdout.write(
        `${file}: valid, ${graph.nodes.length} nodes, ${graph.succ.length} edges\n`,
      );
    });

  for (const [name, render] of [
    ['dot', toDot],
    ['mermaid', toMermaid],
  ] as const) {
    cli
      .command(name)
      .description(
        `print the graph of a document as ${name === 'dot' ? 'Graphviz DOT' : 'Mermaid'}`,
      )
      .argument('<file>', 'gorch document (JSON or YAML)')
      .action((file: string) => {
        process.stdout.write(`${render(readGraph(file))}\n`);
      });
  }
  return cli;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof DocumentError || err instanceof UsageError) {
      process.stderr.write(`baton: ${err.message}\n`);
      process.exitCode = ExitCode.rejected;
      return;
    }
    throw err;
  }
}

if (import.meta.main) await main(process.argv);
