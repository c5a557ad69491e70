/**
 * Commands that start long-running services or set them up: `serve`, `executor`, `demo`,
 * `certs`. Each value comes from its flag, else the configuration (BATON_* variables over the
 * `--config` file, see config.ts), else the default shown in `--help`. The services are
 * imported when their command runs, so the client commands start without loading Fastify,
 * the stores and the drivers.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import type { TlsMaterial } from '../../executor/server.ts';
import { TASK_ENV_PATTERN } from '../../executor/task-env.ts';
import { type Config, ConfigError, normalizeExecutorUrl } from '../config.ts';
import { UsageError } from '../documents.ts';
import type { ExecutorConfig, ServerOptions } from '../server.ts';
import {
  type ConfigFlags,
  collect,
  config,
  examples,
  port,
  positive,
  withConfig,
} from './common.ts';
import { registerTokenCommands } from './token.ts';

function executorFlag(value: string): ExecutorConfig {
  const eq = value.indexOf('=');
  if (eq <= 0) {
    throw new InvalidArgumentError(
      `expected NAME=URL, e.g. default=https://localhost:8585, got "${value}"`,
    );
  }
  return { name: value.slice(0, eq), url: normalizeExecutorUrl(value.slice(eq + 1)) };
}

/**
 * SIGINT and SIGTERM close the service, write out the buffered log lines, then exit; an
 * uncaught exception is logged as `fatal` before Node's own handler prints it and exits (the
 * log output's exit handler then writes what is buffered, that line included).
 */
function onSignals(logger: Logger, message: string, close: () => Promise<void>): void {
  const shutdown = (signal: string) => {
    logger.info({ signal }, message);
    close()
      .then(
        () => 0,
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          return 1;
        },
      )
      .then(async (code) => {
        const { closeLogger } = await import('../logger.ts');
        await closeLogger(logger);
        process.exit(code);
      });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    logger.fatal({ err, origin }, 'uncaught exception: exiting');
  });
}

interface ServeFlags extends ConfigFlags {
  host?: string;
  port?: number;
  data?: string;
  db?: string;
  executor?: ExecutorConfig[];
  tls?: string;
  tokens?: string;
  cert?: string;
  key?: string;
  clientCa?: string;
  rateLimit?: number;
  maxConnections?: number;
  requestTimeout?: number;
  pool?: Record<string, number>;
  maxPerExecutor?: number;
  maxPerTarget?: number;
  accessLog?: boolean;
}

/** `--task-env NAME` or `--task-env PREFIX*`. */
function taskEnvName(value: string): string {
  if (!TASK_ENV_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      `expected a variable name or PREFIX*, e.g. HTTPS_PROXY or AWS_*, got "${value}"`,
    );
  }
  return value;
}

/** `--pool NAME=SLOTS`, repeatable. */
function poolFlag(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const match = /^([^=\s]+)=(\d+)$/.exec(value);
  if (!match || Number(match[2]) < 1) {
    throw new InvalidArgumentError(
      `expected NAME=SLOTS with SLOTS >= 1, e.g. gpu=2, got "${value}"`,
    );
  }
  return { ...previous, [match[1]]: Number(match[2]) };
}

/** A whole number of attempts in flight, 0 for no limit. */
function inFlight(value: string): number {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return Number(value);
}

/** A whole number of requests per minute, 0 for no limit. */
function perMinute(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected requests per minute (0 for no limit), got "${value}"`);
  }
  return n;
}

/** A whole number of seconds, 0 for none. */
function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected whole seconds (0 for none), got "${value}"`);
  }
  return n;
}

const toMs = (s: number | undefined) => (s === undefined ? undefined : s * 1000);

/**
 * gorchestrator served plain HTTP whatever its file said about HTTPS, and its sample files
 * name a certificate.pem and key.pem nobody has. When the file asks for HTTPS that it cannot
 * have (no certificate or key, or their files missing) and the address is loopback, Baton
 * serves plain HTTP too and returns the warning naming what is missing; beyond loopback it
 * returns undefined and the start fails on what is missing, as before: plain HTTP is never
 * served on a network in place of HTTPS. Flags are never overridden (undefined).
 */
async function plainOnLoopback(
  cfg: Config,
  host: string,
  explicit: boolean,
): Promise<string | undefined> {
  if (explicit || cfg.scheme === 'http') return undefined;
  const { certificate, key } = cfg;
  if (cfg.scheme !== 'https' && certificate === undefined && key === undefined) return undefined;
  const missing = [
    ...(certificate === undefined ? ['no http.certificate'] : []),
    ...(key === undefined ? ['no http.key'] : []),
    ...[certificate, key]
      .filter((file) => file !== undefined && !existsSync(file))
      .map((file) => `${file} does not exist`),
  ];
  if (missing.length === 0) return undefined;
  const { isLoopback } = await import('../../api/auth.ts');
  if (!isLoopback(host)) return undefined;
  return (
    `${cfg.file}: http: HTTPS asked for, but ${missing.join(', ')}: serving plain HTTP on ` +
    `${host}, loopback only, as gorchestrator did (on any other address this is refused); ` +
    'give http.certificate and http.key files to serve HTTPS'
  );
}

/**
 * ServerOptions from flags over configuration; what the configuration asks for that Baton
 * does not do is added to `warnings`, logged once the logger exists.
 */
export async function serveOptions(
  flags: ServeFlags,
  cfg: Config,
  warnings: string[] = [],
): Promise<Omit<ServerOptions, 'logger'>> {
  if (flags.data !== undefined && flags.db !== undefined) {
    throw new UsageError(
      'serve: pass --data DIR (SQLite) or --db postgres://... (PostgreSQL), not both',
    );
  }
  const host = flags.host ?? cfg.host ?? '127.0.0.1';
  const clientCaFile = flags.clientCa ?? cfg.clientCa;
  // client certificates need HTTPS: no fallback, the start fails on the missing file
  const plain = await plainOnLoopback(
    cfg,
    host,
    flags.cert !== undefined || flags.key !== undefined || clientCaFile !== undefined,
  );
  if (plain !== undefined) warnings.push(plain);
  // HTTPS with a certificate and key: the flags', else the file's (unless it says http).
  const fileTls = cfg.scheme !== 'http' && plain === undefined;
  const certFile = flags.cert ?? (fileTls ? cfg.certificate : undefined);
  const keyFile = flags.key ?? (fileTls ? cfg.key : undefined);
  if (fileTls && cfg.scheme === 'https' && (certFile === undefined || keyFile === undefined)) {
    throw new ConfigError(
      `${cfg.file}: http.scheme: expected "http", got string "https": baton serve answers ` +
        'plain HTTP unless it has a certificate and key (http.certificate and http.key, or ' +
        '--cert and --key), or put a TLS proxy in front; TLS to executors comes from `tls`',
    );
  }
  // A --data flag asks for SQLite even when the configuration names a database.
  const db = flags.db ?? (flags.data === undefined ? cfg.db : undefined);
  return {
    host,
    port: flags.port ?? cfg.port ?? 8080,
    dataDir: flags.data ?? cfg.data ?? 'data',
    ...(db === undefined ? {} : { db }),
    executors: flags.executor ?? cfg.executors ?? [],
    tlsDir: flags.tls ?? cfg.tls,
    tokensFile: flags.tokens ?? cfg.tokensFile,
    certFile,
    keyFile,
    clientCaFile,
    rateLimit: flags.rateLimit ?? cfg.rateLimit,
    maxConnections: flags.maxConnections ?? cfg.maxConnections,
    requestTimeoutMs: toMs(flags.requestTimeout ?? cfg.requestTimeout),
    pools: flags.pool,
    maxPerExecutor: flags.maxPerExecutor,
    maxPerTarget: flags.maxPerTarget,
    accessLog: flags.accessLog ?? cfg.accessLog ?? true,
  };
}

interface ExecutorFlags extends ConfigFlags {
  host?: string;
  port?: number;
  name: string;
  data?: string;
  artifacts?: string;
  sshConfig?: string;
  concurrency?: number;
  spawner?: 'posix' | 'node';
  dockerHost?: string;
  dockerAllow?: string[];
  tls?: string;
  plainHttp?: boolean;
  insecurePlainHttpOnNetwork?: boolean;
  httpAllow?: string[];
  taskEnv?: string[];
}

/**
 * Plain HTTP beyond loopback lets anyone who reaches the port run programs as the executor:
 * refused, as `serve` refuses an open API, unless the operator says so in the flag's name.
 */
async function checkPlainHttp(flags: ExecutorFlags, host: string): Promise<void> {
  if (flags.insecurePlainHttpOnNetwork) return;
  const { isLoopback } = await import('../../api/auth.ts');
  if (isLoopback(host)) return;
  throw new UsageError(
    `executor: refusing to serve plain HTTP on ${host}: anyone who can reach it could run ` +
      'programs as this executor. Use mutual TLS (--tls DIR, see `baton certs`), listen on ' +
      '127.0.0.1, or, on a network you trust completely, pass --insecure-plain-http-on-network',
  );
}

async function executorTls(
  flags: ExecutorFlags,
  cfg: Config,
  host: string,
  warnings: string[],
): Promise<TlsMaterial | null> {
  // --plain-http and --tls decide; then the file's scheme (gorchestrator's executor files say
  // https or http); then a tls directory alone means TLS.
  const plain = flags.plainHttp ?? (flags.tls === undefined && cfg.scheme === 'http');
  if (plain) return null;
  const dir = flags.tls ?? cfg.tls;
  // gorchestrator's executor file without `tls`: as for serve, on loopback only
  const fallback = await plainOnLoopback(cfg, host, dir !== undefined);
  if (fallback !== undefined) {
    warnings.push(fallback);
    return null;
  }
  if (dir === undefined) {
    throw new UsageError(
      'executor: pass --tls DIR (mutual TLS, see `baton certs`) or --plain-http ' +
        '(in a configuration file: `tls: DIR`, or `http.scheme: http`)',
    );
  }
  const { loadTls } = await import('../certs.ts');
  const tls = loadTls(dir, 'executor');
  const read = (file: string, field: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `${cfg.file}: ${field}: cannot read ${file} (${(err as Error).message})`,
      );
    }
  };
  return {
    ca: tls.ca,
    cert: cfg.certificate ? read(cfg.certificate, 'http.certificate') : tls.cert,
    key: cfg.key ? read(cfg.key, 'http.key') : tls.key,
  };
}

export function registerServiceCommands(cli: Command): void {
  examples(
    withConfig(
      cli
        .command('serve')
        .description('run the orchestrator: REST API, run loop and UI')
        .option('--host <host>', 'address to listen on (env BATON_HOST; default 127.0.0.1)')
        .option(
          '--port <port>',
          'port to listen on, 0 for any (env BATON_PORT; default 8080)',
          port,
        )
        .option(
          '--data <dir>',
          'directory of the embedded SQLite store (env BATON_DATA; default data)',
        )
        .option('--db <url>', 'PostgreSQL store instead, postgres://user@host/db (env BATON_DB)')
        .option(
          '--executor <name=url>',
          'an executor service (repeatable); the first is the default (env BATON_EXECUTORS)',
          (value: string, previous: ExecutorConfig[] = []) => [...previous, executorFlag(value)],
        )
        .option(
          '--tls <dir>',
          'certificates from `baton certs` for mutual TLS with executors (env BATON_TLS)',
        )
        .option(
          '--tokens <file>',
          'API bearer tokens, [{name, sha256}] in JSON or YAML (see `baton token`); tokens or ' +
            '--client-ca are needed to listen beyond loopback (env BATON_TOKENS_FILE, config auth.tokens_file)',
        )
        .option('--cert <file>', 'serve HTTPS with this PEM certificate (config http.certificate)')
        .option('--key <file>', 'the key of --cert (config http.key)')
        .option(
          '--client-ca <file>',
          'HTTPS: client certificates signed by this CA authenticate as their CN (config auth.client_ca)',
        )
        .option(
          '--rate-limit <n>',
          'requests per minute per client, 0 for none (env BATON_RATE_LIMIT; default 6000 ' +
            'with authentication, none without)',
          perMinute,
        )
        .option(
          '--max-connections <n>',
          'connections open at once at most; more are closed as they arrive, 0 for no limit ' +
            '(config http.max_connections; default 10000)',
          inFlight,
        )
        .option(
          '--request-timeout <seconds>',
          'a request whose headers and body take longer to arrive answers 408 and is closed, ' +
            '0 for none (config http.request_timeout; default 30)',
          seconds,
        )
        .option(
          '--pool <name=slots>',
          'a named pool nodes can ask a slot of (repeatable)',
          poolFlag,
        )
        .option(
          '--max-per-executor <n>',
          'attempts in flight per executor at most (0: no limit)',
          inFlight,
        )
        .option(
          '--max-per-target <n>',
          'attempts in flight per target at most (0: no limit)',
          inFlight,
        )
        .option(
          '--access-log',
          'log one info line per request answered, as Fastify services do (the default; env ' +
            'BATON_ACCESS_LOG, config log.access)',
        )
        .option('--no-access-log', 'log only the requests that failed'),
    ),
    'baton serve --port 8080 --data /var/lib/baton',
    'baton serve --pool gpu=2 --max-per-target 4',
    'baton serve --db postgres://baton@db.example/baton',
    'baton serve --executor default=https://localhost:8585 --tls ./certs',
    'baton serve --config orchestrator.yaml',
    'baton serve --host 0.0.0.0 --tokens tokens.yaml --cert server.pem --key server-key.pem',
  ).action(async (flags: ServeFlags) => {
    const cfg = config(flags);
    const warnings = [...(cfg.warnings ?? [])];
    const options = await serveOptions(flags, cfg, warnings);
    const [{ startServer }, { createLogger }] = await Promise.all([
      import('../server.ts'),
      import('../logger.ts'),
    ]);
    const logger = createLogger(loggerOptions(cfg));
    for (const warning of warnings) logger.warn(warning);
    const server = await startServer({
      otlpEndpoint: cfg.otlpEndpoint,
      ...options,
      logger,
      // SIGTERM: stop claiming, give running runs this long, then hand the rest over
      drainMs: Number(process.env.BATON_DRAIN_MS ?? 10_000),
      retentionMs: durationMs('BATON_RETENTION', process.env.BATON_RETENTION),
      // how long a run lease lasts (default 5 s): a replica that stopped is taken over after
      // about this; a shorter lease moves runs sooner and heartbeats more often (a fifth)
      leaseMs: leaseMs(process.env.BATON_LEASE_MS),
    });
    logger.info(
      {
        url: server.url,
        resumed: server.resumed,
        ...(options.db ? { db: redact(options.db) } : { data: options.dataDir }),
        auth: authSummary(options),
      },
      'baton orchestrator ready',
    );
    if (options.tokensFile !== undefined && options.certFile === undefined) {
      const { isLoopback } = await import('../../api/auth.ts');
      if (!isLoopback(options.host)) {
        logger.warn(
          { host: options.host },
          'bearer tokens travel in clear over plain HTTP: serve HTTPS (--cert, --key) or put a TLS proxy in front',
        );
      }
    }
    onSignals(logger, 'shutting down; unfinished runs resume at the next start', server.close);
  });

  examples(
    withConfig(
      cli
        .command('executor')
        .description(
          'run an executor service: runs shell, ssh, toscassh, ansible and http tasks, and docker ones when a Docker daemon answers',
        )
        .option('--host <host>', 'address to listen on (env BATON_HOST; default 127.0.0.1)')
        .option('--port <port>', 'port to listen on (env BATON_PORT; default 8585)', port)
        .option('--name <name>', 'the name orchestrators route targets to', 'default')
        .option(
          '--data <dir>',
          'directory of the task records (env BATON_DATA; default executor-data)',
        )
        .option(
          '--artifacts <dir>',
          'scripts and playbooks resolve inside this directory only (default artifacts)',
        )
        .option('--ssh-config <file>', 'OpenSSH-style config of the hosts ssh targets name')
        .option('--concurrency <n>', 'tasks running at once (more wait in a queue)', positive)
        .addOption(
          new Option(
            '--spawner <how>',
            'how local programs start: posix_spawn (default on Linux/glibc) or node (child_process, slower fork)',
          ).choices(['posix', 'node']),
        )
        .option(
          '--docker-host <url>',
          'Docker daemon of the docker engine: unix:///path.sock or tcp://HOST:PORT (default: DOCKER_HOST, else /var/run/docker.sock)',
        )
        .option(
          '--docker-allow <pattern>',
          'images the docker engine may run, e.g. registry.example/* (repeatable; default: any)',
          collect,
        )
        .option(
          '--tls <dir>',
          'certificates from `baton certs`: require client certificates (env BATON_TLS)',
        )
        .option(
          '--task-env <name>',
          "pass this variable of the executor's environment to tasks (repeatable, PREFIX* for " +
            'a family); they get only PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, ' +
            'TZ and TMPDIR otherwise',
          (value: string, previous: string[] = []) => [...previous, taskEnvName(value)],
        )
        .option(
          '--http-allow <host[:port]>',
          'a host the http engine may call (repeatable; *.example.com for its subdomains, * for ' +
            'any); none by default, link-local and cloud metadata addresses never',
          (value: string, previous: string[] = []) => [...previous, value],
        )
        .option('--plain-http', 'serve plain HTTP without TLS (loopback only, see below)')
        .option(
          '--insecure-plain-http-on-network',
          'allow --plain-http on a non-loopback --host: anyone who reaches it can run tasks',
        ),
    ),
    'baton certs --out ./certs',
    'baton executor --tls ./certs --artifacts examples/artifacts',
    'baton executor --config executor.json   # gorchestrator-shaped: http.bind_port, ...',
    "baton executor --tls ./certs --docker-allow 'registry.example/*'",
  ).action(async (flags: ExecutorFlags) => {
    const cfg = config(flags);
    const host = flags.host ?? cfg.host ?? '127.0.0.1';
    const warnings = [...(cfg.warnings ?? [])];
    const tls = await executorTls(flags, cfg, host, warnings);
    if (tls === null) await checkPlainHttp(flags, host);
    const [{ startExecutor }, { createLogger }] = await Promise.all([
      import('../../executor/server.ts'),
      import('../logger.ts'),
    ]);
    const logger = createLogger(loggerOptions(cfg));
    for (const warning of warnings) logger.warn(warning);
    const executor = await startExecutor({
      host,
      port: flags.port ?? cfg.port ?? 8585,
      name: flags.name,
      dataDir: flags.data ?? cfg.data ?? 'executor-data',
      artifactRoot: flags.artifacts ?? cfg.artifacts ?? 'artifacts',
      sshConfig: flags.sshConfig ?? cfg.sshConfig,
      concurrency: flags.concurrency,
      spawner: flags.spawner,
      taskEnv: flags.taskEnv,
      httpAllow: flags.httpAllow,
      docker: {
        host: flags.dockerHost ?? cfg.dockerHost,
        allow: flags.dockerAllow ?? cfg.dockerAllow,
      },
      tls,
      logger,
    });
    logger.info({ url: executor.url, name: flags.name }, 'baton executor ready');
    onSignals(logger, 'executor shutting down', executor.close);
  });

  examples(
    withConfig(
      cli
        .command('certs')
        .description(
          'write a demo CA and certificates for mutual TLS between orchestrator and executors',
        )
        .option(
          '--out <dir>',
          'directory for ca.pem, orchestrator(-key).pem, executor(-key).pem (default: config `tls`)',
        )
        .option(
          '--hosts <list>',
          'host names and IPs the certificates are valid for',
          'localhost,127.0.0.1',
        ),
    ),
    'baton certs --out ./certs',
    'baton certs --out ./certs --hosts localhost,127.0.0.1,executor.internal',
  ).action(async (flags: ConfigFlags & { out?: string; hosts: string }) => {
    const out = flags.out ?? config(flags).tls;
    if (out === undefined) throw new UsageError('certs: pass --out DIR (or set `tls` in --config)');
    const hosts = flags.hosts
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const { writeCerts } = await import('../certs.ts');
    await writeCerts(out, hosts);
    process.stdout.write(
      `wrote ca.pem, orchestrator.pem, orchestrator-key.pem, executor.pem, executor-key.pem to ${out}\n`,
    );
  });

  examples(
    withConfig(
      cli
        .command('demo')
        .description(
          'start an orchestrator and an executor, run the bundled examples live, then keep serving the UI',
        )
        .option('--port <port>', 'port to listen on (env BATON_PORT; default 8080)', port)
        .option('--data <dir>', 'directory for the demo store and certificates', '.baton/demo'),
    ),
    'baton demo',
    'baton demo --port 9090   # then open http://127.0.0.1:9090/',
  ).action(async (flags: ConfigFlags & { port?: number; data: string }) => {
    // Only the port comes from the configuration: the demo keeps its own store apart.
    const { demoCommand } = await import('../demo.ts');
    await demoCommand({ port: flags.port ?? config(flags).port ?? 8080, data: flags.data });
  });

  registerTokenCommands(cli);
}

/** The log's level, hooks and output (gorchestrator's log.output.path) from the configuration. */
function loggerOptions(cfg: Config) {
  return {
    level: cfg.logLevel ?? 'info',
    hooks: cfg.logHooks,
    ...(cfg.logOutput === 'stderr' ? { fd: 2 as const } : {}),
  };
}

/** How the API authenticates, for the ready line: never a token, only where they are. */
function authSummary(options: Omit<ServerOptions, 'logger'>): string {
  const ways = [
    ...(options.tokensFile !== undefined ? [`tokens from ${options.tokensFile}`] : []),
    ...(options.clientCaFile !== undefined
      ? [`client certificates from ${options.clientCaFile}`]
      : []),
  ];
  return ways.length > 0 ? ways.join(' and ') : 'none (loopback only)';
}

/** A database URL without its password, for logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://...';
  }
}

/** `30d`, `12h`, `90m`, `45s` in milliseconds; absent means 0 (keep everything). */
/** BATON_LEASE_MS: milliseconds, at least 100; undefined keeps the default. */
function leaseMs(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 100) {
    throw new Error(`BATON_LEASE_MS: expected milliseconds, at least 100, got "${value}"`);
  }
  return ms;
}

function durationMs(name: string, value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const match = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (!match)
    throw new Error(`${name}: expected a duration like 30d, 12h, 90m or 45s, got "${value}"`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as 's' | 'm' | 'h' | 'd'
  ];
  return Number(match[1]) * unit;
}
