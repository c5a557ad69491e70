/**
 * The `baton` command. Each subcommand lives in its own module; this file only wires flags.
 * Exit codes: 0 ok, 1 a run did not succeed, 2 bad input (document, flags, config),
 * 3 the server could not be reached.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { startExecutor } from '../executor/server.ts';
import { toDot, toMermaid } from '../graph/export.ts';
import { loadTls, writeCerts } from './certs.ts';
import { demoCommand } from './demo.ts';
import { readGraph, UsageError } from './documents.ts';
import { createLogger } from './logger.ts';
import { ExitCode, runCommand } from './run.ts';
import { type ExecutorConfig, startServer } from './server.ts';

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

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function executorFlag(value: string): ExecutorConfig {
  const eq = value.indexOf('=');
  if (eq <= 0)
    throw new UsageError(
      `--executor ${value}: expected NAME=URL, e.g. default=https://localhost:8585`,
    );
  return { name: value.slice(0, eq), url: value.slice(eq + 1) };
}

function onSignals(logger: Logger, message: string, close: () => Promise<void>): void {
  const shutdown = (signal: string) => {
    logger.info({ signal }, message);
    close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
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
    .option(
      '--executor <name=url>',
      'an executor service (repeatable); the first is the default',
      collect,
      [],
    )
    .option(
      '--tls <dir>',
      'certificates from `baton certs` for mutual TLS with executors',
      process.env.BATON_TLS,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  baton serve --port 8080 --data /var/lib/baton' +
        '\n  baton serve --executor default=https://localhost:8585 --tls ./certs',
    )
    .action(
      async (opts: {
        host: string;
        port: number;
        data: string;
        executor: string[];
        tls?: string;
      }) => {
        const logger = createLogger();
        const server = await startServer({
          host: opts.host,
          port: opts.port,
          dataDir: opts.data,
          logger,
          executors: opts.executor.map(executorFlag),
          tlsDir: opts.tls,
          // The store is intact (nothing half-written); a supervisor restarts us and runs resume.
          onFatal: () => process.exit(70),
        });
        logger.info(
          { url: server.url, resumed: server.resumed, data: opts.data },
          'baton orchestrator ready',
        );
        onSignals(logger, 'shutting down; unfinished runs resume at the next start', server.close);
      },
    );

  cli
    .command('executor')
    .description('run an executor service: runs shell, ssh, toscassh, ansible and http tasks')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', port, 8585)
    .option('--name <name>', 'the name orchestrators route targets to', 'default')
    .option('--data <dir>', 'directory of the executor task records', 'executor-data')
    .option(
      '--artifacts <dir>',
      'scripts and playbooks resolve inside this directory only',
      'artifacts',
    )
    .option('--ssh-config <file>', 'OpenSSH-style config of the hosts ssh targets name')
    .option('--concurrency <n>', 'tasks running at once (more wait in a queue)', positive)
    .option('--tls <dir>', 'certificates from `baton certs`: require client certificates')
    .option('--plain-http', 'serve plain HTTP without TLS (only on a trusted network)')
    .addHelpText(
      'after',
      '\nExample:\n  baton certs --out ./certs\n  baton executor --tls ./certs --artifacts examples/artifacts',
    )
    .action(
      async (opts: {
        host: string;
        port: number;
        name: string;
        data: string;
        artifacts: string;
        sshConfig?: string;
        concurrency?: number;
        tls?: string;
        plainHttp?: boolean;
      }) => {
        if (!opts.tls && !opts.plainHttp) {
          throw new UsageError(
            'executor: pass --tls DIR (mutual TLS, see `baton certs`) or --plain-http',
          );
        }
        const logger = createLogger();
        const executor = await startExecutor({
          host: opts.host,
          port: opts.port,
          name: opts.name,
          dataDir: opts.data,
          artifactRoot: opts.artifacts,
          sshConfig: opts.sshConfig,
          concurrency: opts.concurrency,
          tls: opts.tls ? loadTls(opts.tls, 'executor') : null,
          logger,
        });
        logger.info({ url: executor.url, name: opts.name }, 'baton executor ready');
        onSignals(logger, 'executor shutting down', executor.close);
      },
    );

  cli
    .command('certs')
    .description(
      'write a demo CA and certificates for mutual TLS between orchestrator and executors',
    )
    .requiredOption(
      '--out <dir>',
      'directory to write ca.pem, orchestrator(-key).pem, executor(-key).pem',
    )
    .option(
      '--hosts <list>',
      'host names and IPs the certificates are valid for',
      'localhost,127.0.0.1',
    )
    .action(async (opts: { out: string; hosts: string }) => {
      const hosts = opts.hosts
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
      await writeCerts(opts.out, hosts);
      process.stdout.write(
        `wrote ca.pem, orchestrator.pem, orchestrator-key.pem, executor.pem, executor-key.pem to ${opts.out}\n`,
      );
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
    // Bad documents, flags, configuration, ports in use: say what and where, no stack trace
    // (BATON_DEBUG=1 shows it).
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`baton: ${message}\n`);
    if (process.env.BATON_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = ExitCode.rejected;
  }
}

if (import.meta.main) await main(process.argv);
