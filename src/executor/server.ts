/**
 * The executor web service (docs/architecture.md §6). It accepts one node at a time from an orchestrator,
 * runs it with the node's engine (drivers/) and keeps the result in its own SQLite file, so
 * idempotency keys and results outlive restarts. With TLS it demands a client certificate
 * signed by the configured CA: a caller without one is refused during the TLS handshake,
 * before any HTTP is read.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { Static } from 'typebox';
import { Agent } from 'undici';
import { type DockerOptions, probeDocker } from './drivers/docker.ts';
import { drivers } from './drivers/index.ts';
import { guardedLookup, HttpAllowlist } from './http-allow.ts';
import {
  BatchBody,
  ErrorSchema,
  NodeBody,
  Ping,
  TaskParams,
  TaskStatusSchema,
  WaitQuery,
} from './schemas.ts';
import { posixSpawn, spawnerFor } from './spawn.ts';
import { parseSshConfig } from './ssh-config.ts';
import { taskEnvironment } from './task-env.ts';
import { TaskService } from './task-service.ts';
import { TaskStore } from './task-store.ts';
import { BATCH_BODY_LIMIT, type Driver, FEATURES_HEADER } from './types.ts';

/** PEM text of the CA that signs both sides, this side's certificate and its private key. */
export interface TlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

export interface ExecutorOptions {
  name: string;
  /** holds `executor.db` */
  dataDir: string;
  /** artifacts (scripts, playbooks) resolve inside this directory only */
  artifactRoot: string;
  /** OpenSSH-style config naming the hosts ssh/toscassh/ansible targets may use */
  sshConfig?: string;
  /** tasks running at once; default 2 × CPUs (tasks mostly wait on hosts and networks) */
  concurrency?: number;
  /** mutual TLS; `null` means plain HTTP, which must be asked for explicitly */
  tls: TlsMaterial | null;
  logger?: FastifyBaseLogger;
  /** time a stopped task's process group gets between SIGTERM and SIGKILL (default 5 s) */
  killGraceMs?: number;
  /**
   * how local programs start: `posix` (posix_spawn, the default on Linux with glibc) or
   * `node` (child_process, the fallback elsewhere); see spawn.ts
   */
  spawner?: 'posix' | 'node';
  /**
   * variables of the executor's environment tasks' programs inherit beyond the allowlist of
   * task-env.ts: names, or `PREFIX*`
   */
  taskEnv?: readonly string[];
  /**
   * hosts the http engine may call, `HOST[:PORT]` with `*.domain` or `*` (none by default);
   * link-local and metadata addresses never (http-allow.ts)
   */
  httpAllow?: readonly string[];
  /** drivers by engine name; the built-in ones by default (benchmarks wrap them to time) */
  drivers?: ReadonlyMap<string, Driver>;
  /** the Docker daemon of the `docker` engine, offered only when it answers at start-up */
  docker?: DockerOptions;
}

/** The longest long poll, so a proxy or client timeout of a few minutes never cuts one. */
export const MAX_WAIT_SECONDS = 60;

export async function buildExecutor(options: ExecutorOptions): Promise<FastifyInstance> {
  checkOptions(options);
  // With `https` set Fastify builds an https.Server; the instance is typed with the http one
  // since the routes do not depend on the raw server type.
  const fastifyOptions = {
    loggerInstance: options.logger,
    logger: options.logger ? undefined : false,
    https: options.tls && { ...options.tls, requestCert: true, rejectUnauthorized: true },
  } as FastifyHttpOptions<Server>;
  const app = Fastify(fastifyOptions).withTypeProvider<TypeBoxTypeProvider>();
  if (options.tls) refuseNonOrchestrators(app.server as unknown as TlsServer, app.log);
  // TypeBox validation: bodies are checked as sent (no type coercion), query strings converted
  app.setValidatorCompiler(TypeBoxValidatorCompiler);

  const store = new TaskStore(options.dataDir);
  // posix_spawn unless asked otherwise or unavailable (not Linux with glibc): said at start-up,
  // since the fallback forks the whole executor for every task
  const spawner = options.spawner ?? (posixSpawn ? 'posix' : 'node');
  spawnerFor(spawner); // refuses posix where posix_spawn is not available
  app.log.info(
    { spawner },
    spawner === 'posix'
      ? 'local programs start with posix_spawn, from a supervisor process that records their exits'
      : "local programs start with Node's child_process, under a /bin/sh wrapper that records their exits",
  );
  // connections of the http engine go only to addresses checked when their name resolved
  const httpDispatcher = new Agent({ connect: { lookup: guardedLookup() } });
  app.addHook('onClose', () => httpDispatcher.close());
  const engines = options.drivers ?? (await withDocker(options.docker, app));
  app.log.info(
    { engines: [...engines.keys()] },
    `engines offered: ${[...engines.keys()].join(', ')}`,
  );
  const service = new TaskService({
    store,
    drivers: engines,
    artifactRoot: options.artifactRoot,
    sshConfig: options.sshConfig,
    concurrency: options.concurrency ?? Math.max(2, 2 * os.availableParallelism()),
    killGraceMs: options.killGraceMs ?? 5000,
    spawner,
    env: taskEnvironment(process.env, options.taskEnv),
    http: { allowlist: httpAllowlist(options), dispatcher: httpDispatcher },
    logger: app.log,
  });
  // preClose runs before the server stops taking requests: long polls get their answer
  app.addHook('preClose', () => service.shutdown());
  app.addHook('onClose', async () => store.close());

  app.setErrorHandler(
    (err: { statusCode?: number; message: string; validation?: unknown }, request, reply) => {
      const code = err.validation ? 400 : (err.statusCode ?? 500);
      if (code >= 500) request.log.error({ err }, 'request failed');
      return reply.code(code).send({ code, message: err.message });
    },
  );
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: 404, message: `no route ${request.method} ${request.url}` }),
  );

  /** The task's status once final, or after `wait` seconds, or when the client goes away. */
  const waitFor = (id: string, wait: number | undefined, reply: FastifyReply) => {
    const seconds = Math.min(wait ?? 0, MAX_WAIT_SECONDS);
    if (seconds === 0) return Promise.resolve(service.status(id));
    // stop waiting when the client goes away, so an abandoned poll holds nothing (and not
    // after: aborting builds a DOMException, a stack trace for every answer)
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once('close', onClose);
    return service.wait(id, seconds * 1000, gone.signal).finally(() => {
      reply.raw.off('close', onClose);
    });
  };

  const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema };

  // every answer says POST /v1/tasks/batch is served, so clients learn it from the first one
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header(FEATURES_HEADER, 'batch');
    done();
  });

  app.get('/v1/ping', { schema: { response: { 200: Ping } } }, async () => ({
    status: 'success' as const,
  }));

  /**
   * Accepts one task of a request: its task id (the existing one when its key was seen
   * before with the same node), or the error that request or batch item answers.
   */
  const accept = (
    body: Static<typeof NodeBody>,
  ): { id: string } | { code: 400 | 409 | 503; message: string } => {
    const { idempotency_key: key, ...fields } = body;
    if (!engines.has(fields.engine)) {
      const known = service.engines.join(', ');
      return {
        code: 400,
        message: `body/engine: unknown engine ${JSON.stringify(fields.engine)}; known engines: ${known}`,
      };
    }
    if (service.closing) return { code: 503, message: `executor ${options.name} is shutting down` };
    const result = service.submit(
      { ...fields, args: fields.args ?? [], output: fields.output ?? {} },
      key,
    );
    if (result.kind === 'conflict') {
      const message = `idempotency_key ${JSON.stringify(key)} was already used for task ${result.id} with a different node`;
      return { code: 409, message };
    }
    return { id: result.id };
  };

  app.post(
    '/v1/tasks',
    {
      schema: {
        body: NodeBody,
        querystring: WaitQuery,
        response: { 202: TaskStatusSchema, ...errors },
      },
    },
    async (request, reply) => {
      const accepted = accept(request.body);
      if (!('id' in accepted)) return reply.code(accepted.code).send(accepted);
      // the task's status, once final if it gets there within `wait`: a short task then
      // costs the orchestrator one round trip instead of a POST and a long poll
      const status = await waitFor(accepted.id, request.query.wait, reply);
      return reply.code(202).send(status!); // stored above, so it exists
    },
  );

  /**
   * Several tasks in one request, each accepted exactly as POST /v1/tasks accepts one (same
   * key, same task: never run twice). The answer is a stream of JSON lines, one per task in
   * the order they are ready: `{"i": index, "status": ...}` once the task is final or `wait`
   * has passed, or `{"i": index, "error": {"code", "message"}}` for a task refused; it ends
   * after the last one. Tasks that end together share a write (docs/performance.md).
   */
  app.post(
    '/v1/tasks/batch',
    {
      bodyLimit: BATCH_BODY_LIMIT,
      schema: { body: BatchBody, querystring: WaitQuery, response: { ...errors } },
    },
    async (request, reply) => {
      if (service.closing)
        return reply
          .code(503)
          .send({ code: 503, message: `executor ${options.name} is shutting down` });
      // all accepted (in order) before any answer, as if posted one after the other
      const accepted = request.body.tasks.map(accept);
      const seconds = Math.min(request.query.wait ?? 0, MAX_WAIT_SECONDS);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(202, { 'content-type': 'application/x-ndjson', [FEATURES_HEADER]: 'batch' });
      const gone = new AbortController();
      raw.once('close', () => gone.abort());
      // lines ready in the same tick leave in one write
      let ready = '';
      const flush = () => {
        if (!raw.destroyed && ready !== '') raw.write(ready);
        ready = '';
      };
      const line = (answer: object) => {
        if (ready === '') process.nextTick(flush);
        ready += `${JSON.stringify(answer)}\n`;
      };
      try {
        await Promise.all(
          accepted.map(async (task, i) => {
            if (!('id' in task)) return line({ i, error: task });
            const status =
              seconds > 0 && !gone.signal.aborted
                ? await service.wait(task.id, seconds * 1000, gone.signal)
                : service.status(task.id);
            line({ i, status });
          }),
        );
      } catch (err) {
        // the lines sent stand; the client fails the tasks the answer lacks
        request.log.error({ err }, 'answering a batch failed');
      } finally {
        // the last lines and the end of the answer in one write
        if (raw.destroyed) raw.end();
        else raw.end(ready);
        ready = '';
      }
    },
  );

  app.get(
    '/v1/tasks/:id',
    {
      schema: {
        params: TaskParams,
        querystring: WaitQuery,
        response: { 200: TaskStatusSchema, ...errors },
      },
    },
    async (request, reply) => {
      const status = await waitFor(request.params.id, request.query.wait, reply);
      if (status === undefined) return reply.code(404).send(noTask(request.params.id));
      return status;
    },
  );

  app.get('/v1/tasks/:id/log', { schema: { params: TaskParams } }, async (request, reply) => {
    const log = service.log(request.params.id);
    if (log === undefined) return reply.code(404).send(noTask(request.params.id));
    return reply.type('text/plain; charset=utf-8').send(log);
  });

  app.delete(
    '/v1/tasks/:id',
    { schema: { params: TaskParams, response: { 200: TaskStatusSchema, ...errors } } },
    async (request, reply) => {
      const status = await service.cancel(request.params.id);
      if (status === undefined) return reply.code(404).send(noTask(request.params.id));
      return status;
    },
  );

  await app.ready();
  return app as unknown as FastifyInstance;
}

export interface RunningExecutor {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startExecutor(
  options: ExecutorOptions & { host: string; port: number },
): Promise<RunningExecutor> {
  const app = await buildExecutor(options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    app,
    close: () => app.close(),
  };
}

/** The built-in drivers, plus `docker` when a daemon answers `/_ping`. */
async function withDocker(
  docker: DockerOptions | undefined,
  app: { log: FastifyBaseLogger; addHook(name: 'onClose', hook: () => Promise<void>): unknown },
): Promise<ReadonlyMap<string, Driver>> {
  const probe = await probeDocker(docker ?? {});
  if (probe.driver === undefined) {
    app.log.info({ docker: probe.host }, `docker engine not offered: ${probe.why}`);
    return drivers;
  }
  app.log.info({ docker: probe.host }, `docker engine: daemon at ${probe.host}`);
  // after preClose, which stops the running containers
  app.addHook('onClose', () => probe.close());
  return new Map([...drivers, ['docker', probe.driver]]);
}

function noTask(id: string) {
  return { code: 404, message: `no task ${JSON.stringify(id)} on this executor` };
}

/** The extended key usage that makes a certificate a TLS client's (the orchestrator's). */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * Only the orchestrator's role may call an executor: its client certificate must name the
 * clientAuth extended key usage. OpenSSL already refuses, in the handshake, a certificate
 * whose extended key usage lacks clientAuth (an executor's, from `baton certs`); this also
 * refuses one without the extension at all, which OpenSSL lets play any role.
 */
function refuseNonOrchestrators(server: TlsServer, log: FastifyBaseLogger): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    const usage = socket.getPeerX509Certificate()?.keyUsage;
    if (usage?.includes(CLIENT_AUTH)) return;
    log.warn(
      { subject: socket.getPeerX509Certificate()?.subject, remote: socket.remoteAddress },
      'refused a client certificate without the clientAuth extended key usage (not an orchestrator)',
    );
    socket.destroy();
  });
}

function httpAllowlist(options: ExecutorOptions): HttpAllowlist {
  try {
    return new HttpAllowlist(options.httpAllow ?? []);
  } catch (err) {
    throw new Error(`executor ${options.name}: ${(err as Error).message}`);
  }
}

/** Bad configuration fails at start-up with the option at fault, never on a request. */
function checkOptions(options: ExecutorOptions): void {
  if (!statSync(options.artifactRoot, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(
      `executor ${options.name}: artifact root ${options.artifactRoot} is not a directory`,
    );
  }
  if (options.sshConfig !== undefined) {
    try {
      parseSshConfig(readFileSync(options.sshConfig, 'utf8'), options.sshConfig);
    } catch (err) {
      throw new Error(`executor ${options.name}: ssh config: ${(err as Error).message}`);
    }
  }
  const c = options.concurrency;
  if (c !== undefined && (!Number.isInteger(c) || c < 1)) {
    throw new Error(`executor ${options.name}: concurrency must be a positive integer, got ${c}`);
  }
  httpAllowlist(options);
  if (options.tls === undefined) {
    throw new Error(`executor ${options.name}: tls must be given (or null for plain HTTP)`);
  }
}
