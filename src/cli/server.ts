/**
 * Assembles an orchestrator process: store, event bus, runners, run loop and HTTP API.
 * `baton serve`, `baton demo` and the tests all start servers through here.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { buildApp } from '../api/app.ts';
import { loadSecurity } from '../api/auth.ts';
import { CommitHealth } from '../api/commit-health.ts';
import { PrometheusMetrics } from '../api/metrics.ts';
import { attemptErrorScrubbed, redactingLogger } from '../api/secrets.ts';
import { uuid7 } from '../common/uuid7.ts';
import { createExecutorClient, type ExecutorClient } from '../executor/client.ts';
import type { Limits } from '../graph/parse.ts';
import { Admission } from '../orchestrator/admission.ts';
import { EventBus } from '../orchestrator/bus.ts';
import {
  EXECUTOR_ENGINES,
  type ExecutorPool,
  executorRunner,
} from '../orchestrator/executor-runner.ts';
import { Orchestrator } from '../orchestrator/orchestrator.ts';
import { Replica } from '../orchestrator/replica.ts';
import {
  nilRunner,
  noExecutorRunner,
  sleepRunner,
  type TaskRunner,
} from '../orchestrator/runners.ts';
import { Scheduler } from '../orchestrator/scheduler.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/store.ts';
import { loadTls } from './certs.ts';

export interface ServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  /** directory of the SQLite database (the embedded default store) */
  dataDir: string;
  /** a postgres:// URL: share runs with other replicas through PostgreSQL instead */
  db?: string;
  /** PostgreSQL schema (tests give each server its own); default `public` */
  dbSchema?: string;
  /** run lease length; another replica takes a dead one's runs over after about this */
  leaseMs?: number;
  /** on close, how long running runs may take to finish before they are handed over */
  drainMs?: number;
  /** delete finished runs that stopped longer ago than this (ms); default: keep everything */
  retentionMs?: number;
  /** named pools and their slots (`--pool NAME=SLOTS`) */
  pools?: Record<string, number>;
  /** attempts in flight per executor / per target at most; 0 or absent: no limit */
  maxPerExecutor?: number;
  maxPerTarget?: number;
  logger: Logger | false;
  /** one `info` line per request answered (src/api/access-log.ts); default true */
  accessLog?: boolean;
  bodyLimit?: number;
  /** a request (headers and body) not received within this many ms answers 408; default 30 s */
  requestTimeoutMs?: number;
  /** connections open at once at most (0: no limit); default 10,000 */
  maxConnections?: number;
  limits?: Partial<Limits>;
  defaultGraphTimeout?: number;
  /** executors by name; the first is the default unless one is named "default" */
  executors?: ExecutorConfig[];
  /** directory written by `baton certs`: mutual TLS to https executors */
  tlsDir?: string;
  /**
   * OpenTelemetry traces to this OTLP/HTTP collector (http://host:4318, or a full
   * .../v1/traces URL); without it no OpenTelemetry code is loaded
   */
  otlpEndpoint?: string;
  /** traces: how long finished spans wait to be sent in a batch (default 5 s) */
  otlpFlushMs?: number;
  /**
   * API bearer tokens: a JSON or YAML list of {name, sha256} (see `baton token`), reloaded
   * when it changes. With tokens or a client CA, /v1 needs authentication (src/api/auth.ts);
   * without either, the API is open and only a loopback host is allowed.
   */
  tokensFile?: string;
  /** serve HTTPS with this PEM certificate and key */
  certFile?: string;
  keyFile?: string;
  /** HTTPS only: a client certificate signed by this PEM CA authenticates as its CN */
  clientCaFile?: string;
  /** requests per minute per client; 0 = none; default 6000 with authentication, else none */
  rateLimit?: number;
}

export interface ExecutorConfig {
  name: string;
  url: string;
}

export class ConfigError extends Error {}

/**
 * Clients for the configured executors. An https executor needs the TLS directory (mutual
 * TLS); plain http is used only when a URL says so explicitly.
 */
function executorPool(executors: ExecutorConfig[], tlsDir: string | undefined): ExecutorPool {
  const tls = tlsDir ? loadTls(tlsDir, 'orchestrator') : undefined;
  const clients = new Map<string, ExecutorClient>();
  for (const { name, url } of executors) {
    if (clients.has(name)) throw new ConfigError(`executor "${name}" is declared twice`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(
        `executor "${name}": "${url}" is not a URL (expected https://host:port)`,
      );
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new ConfigError(
        `executor "${name}": ${url} must be https:// (or http:// to go without TLS)`,
      );
    }
    if (parsed.protocol === 'https:' && !tls) {
      throw new ConfigError(
        `executor "${name}" is https but no TLS directory was given: pass --tls DIR (see \`baton certs\`)`,
      );
    }
    clients.set(
      name,
      createExecutorClient({ url, tls: parsed.protocol === 'https:' ? tls : undefined }),
    );
  }
  const defaultName = clients.has('default') ? 'default' : executors[0]?.name;
  return { clients, defaultName };
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  orchestrator: Orchestrator;
  store: Store;
  /** how many unfinished runs were resumed at start */
  resumed: number;
  replica: Replica;
  /** fires schedules (every replica runs one; the store's claims share the work) */
  scheduler: Scheduler;
  close(): Promise<void>;
}

async function openStore(options: ServerOptions): Promise<Store> {
  if (options.db) {
    if (!/^postgres(ql)?:\/\//.test(options.db)) {
      throw new ConfigError(`db: expected a postgres:// URL, got "${options.db}"`);
    }
    return openPostgresStore(options.db, { schema: options.dbSchema });
  }
  prepareDataDir(options.dataDir);
  return openSqliteStore(join(options.dataDir, 'baton.db'));
}

/**
 * Creates the data directory if needed and checks that it is one and writable, saying what
 * is wrong instead of mkdir's ENOENT or EEXIST.
 */
function prepareDataDir(dir: string): void {
  const wrong = (problem: string) => new ConfigError(`data directory ${dir} (--data): ${problem}`);
  const reason = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return 'it is on a read-only file system';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    return (err as Error).message;
  };
  let exists = true;
  try {
    if (!statSync(dir).isDirectory()) throw wrong('is a file, expected a directory');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw wrong('a part of the path is a file, expected a directory');
    if (code !== 'ENOENT') throw wrong(`cannot be read: ${reason(err)}`);
    exists = false;
  }
  if (!exists) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      // mkdir -p on a read-only file system says ENOENT: ask the nearest existing parent
      let parent = dirname(resolve(dir));
      while (!existsSync(parent)) parent = dirname(parent);
      try {
        accessSync(parent, constants.W_OK);
      } catch (denied) {
        throw wrong(`cannot be created in ${parent}: ${reason(denied)}`);
      }
      throw wrong(`cannot be created: ${reason(err)}`);
    }
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw wrong(`is not writable: ${reason(err)}`);
  }
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // Configuration errors first, before anything is opened.
  const security = loadSecurity(options);
  const pool = executorPool(options.executors ?? [], options.tlsDir);
  const remote = executorRunner(pool);
  const runners = new Map<string, TaskRunner>([
    ['nil', nilRunner],
    ['sleep', sleepRunner(Math.random)],
  ]);
  // Without an executor, documents naming executor engines are still accepted (gorchestrator's
  // example uses toscassh) and those nodes fail at dispatch saying so; unknown names stay a 400.
  for (const engine of EXECUTOR_ENGINES) {
    runners.set(engine, pool.clients.size > 0 ? remote : noExecutorRunner(engine));
  }

  // the store /healthz judges by its commits too (a full disk still reads)
  const commits = new CommitHealth();
  const store = commits.watch(await openStore(options));
  const bus = new EventBus();
  // secrets.ts: no credentials or secret args in the orchestrator's log lines either
  const logger = options.logger ? redactingLogger(options.logger) : pino({ level: 'silent' });
  // Observability: prom-client metrics (served by api/health.ts), traces only when asked for.
  const metrics = new PrometheusMetrics();
  const tracer = options.otlpEndpoint
    ? new (await import('../observability/otel.ts')).OtelTracer({
        endpoint: options.otlpEndpoint,
        logger,
        flushMs: options.otlpFlushMs,
      })
    : undefined;
  const orchestrator = new Orchestrator({
    // time-ordered ids: a run's rows land beside the last run's (src/common/uuid7.ts)
    newId: () => uuid7(),
    scrubAttemptError: attemptErrorScrubbed,
    store,
    bus,
    runners,
    logger,
    metrics,
    tracer,
    leaseMs: options.leaseMs,
    defaultGraphTimeout: options.defaultGraphTimeout,
    readLog: (executor, taskId) => remote.log!(executor, taskId),
    admission: new Admission({
      pools: new Map(Object.entries(options.pools ?? {})),
      perExecutor: options.maxPerExecutor ?? 0,
      perTarget: options.maxPerTarget ?? 0,
    }),
    // the executor routing of executor-runner.ts; nil and sleep run here, on no executor
    executorOf: (node) =>
      runners.get(node.engine) === remote
        ? pool.clients.has(node.target)
          ? node.target
          : (pool.defaultName ?? '')
        : '',
  });
  const replica = new Replica({
    orchestrator,
    store,
    bus,
    logger,
    retentionMs: options.retentionMs,
  });
  const scheduler = new Scheduler({ orchestrator, store, logger, limits: options.limits });
  const app = await buildApp({
    orchestrator,
    control: replica,
    store,
    bus,
    commits,
    limits: options.limits ?? {},
    logger: options.logger,
    accessLog: options.accessLog,
    bodyLimit: options.bodyLimit,
    requestTimeoutMs: options.requestTimeoutMs,
    maxConnections: options.maxConnections,
    security,
    rateLimit: options.rateLimit,
  });
  const close = async () => {
    await scheduler.stop();
    await app.close();
    await replica.drain(options.drainMs ?? 0);
    await replica.stop();
    await orchestrator.stop();
    await tracer?.shutdown();
    await store.close();
    await Promise.all([...pool.clients.values()].map((client) => client.close()));
  };
  try {
    const resumed = await replica.start();
    scheduler.start();
    const address = await app.listen({ host: options.host, port: options.port });
    let closing: Promise<void> | undefined;
    return {
      url: address.replace('[::1]', 'localhost'),
      app,
      orchestrator,
      store,
      resumed,
      replica,
      scheduler,
      close: () => {
        closing ??= close();
        return closing;
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
