/**
 * Assembles an orchestrator process: store, event bus, runners, run loop and HTTP API.
 * `baton serve`, `baton demo` and the tests all start servers through here.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.ts';
import type { Limits } from '../graph/parse.ts';
import { EventBus } from '../orchestrator/bus.ts';
import { Orchestrator } from '../orchestrator/orchestrator.ts';
import { nilRunner, sleepRunner, type TaskRunner } from '../orchestrator/runners.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/store.ts';

export interface ServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  /** directory of the SQLite database */
  dataDir: string;
  logger: Logger | false;
  bodyLimit?: number;
  limits?: Partial<Limits>;
  defaultGraphTimeout?: number;
  /** a commit failed for good; the orchestrator has stopped (see Orchestrator.onFatal) */
  onFatal?: (err: unknown) => void;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  orchestrator: Orchestrator;
  store: Store;
  /** how many unfinished runs were resumed at start */
  resumed: number;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const store = await openSqliteStore(join(options.dataDir, 'baton.db'));
  const bus = new EventBus();
  const runners = new Map<string, TaskRunner>([
    ['nil', nilRunner],
    ['sleep', sleepRunner(Math.random)],
  ]);
  const silent = (await import('pino')).pino({ level: 'silent' });
  const orchestrator = new Orchestrator({
    store,
    bus,
    runners,
    logger: options.logger || silent,
    defaultGraphTimeout: options.defaultGraphTimeout,
    onFatal: options.onFatal,
  });
  const app = await buildApp({
    orchestrator,
    store,
    bus,
    limits: options.limits ?? {},
    logger: options.logger,
    bodyLimit: options.bodyLimit,
  });
  const resumed = await orchestrator.resumeAll();
  const address = await app.listen({ host: options.host, port: options.port });
  const url = address.replace('[::1]', 'localhost');
  let closing: Promise<void> | undefined;
  return {
    url,
    app,
    orchestrator,
    store,
    resumed,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await orchestrator.stop();
        await store.close();
      })()),
  };
}
