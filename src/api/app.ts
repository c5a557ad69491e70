/**
 * The orchestrator's HTTP API as a Fastify instance: `/v1` routes, OpenAPI at /openapi.json,
 * Swagger UI at /apidocs/, /healthz, /metrics, and the UI at /. Every error answers JSON
 * `{code, error, message}`; nothing a client sends can crash the process.
 *
 * Every request first goes through the security hooks, in this order (auth.ts,
 * rate-limit.ts): 1. headers every answer carries (`nosniff`; HSTS over HTTPS); 2. who is
 * calling (token or client certificate); 3. the rate limit, per principal else per IP; 4. a
 * request without a principal on a protected route is refused with 401. Refusing after the
 * rate limit means failed attempts are limited too; refusing in onRequest means no body of an
 * unauthenticated request is ever read.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import type { Logger } from 'pino';
import { AccessLog } from './access-log.ts';
import { identifyHook, requireAuthHook, type Security } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { type ErrorBody, Errors } from './errors.ts';
import { eventsRoutes } from './events.ts';
import { healthRoutes } from './health.ts';
import { parseJsonBody } from './json-body.ts';
import { effectiveRateLimit, rateLimitHook } from './rate-limit.ts';
import { schedulesRoutes } from './schedules.ts';
import { sharedSchemas } from './schemas.ts';
import { redactingLogger } from './secrets.ts';
import { tasksRoutes } from './tasks.ts';
import { uiRoutes } from './ui.ts';

export interface AppOptions extends ApiDeps {
  /** wrapped in a child that redacts credentials and args (secrets.ts) */
  logger: Logger | false;
  /** one `info` line per request answered (access-log.ts); default true */
  accessLog?: boolean;
  /** authentication and HTTPS, from loadSecurity (auth.ts); none: open plain HTTP */
  security?: Security;
  /** requests per minute per client; 0 = none; default: see rate-limit.ts */
  rateLimit?: number;
  /** largest accepted request body in bytes */
  bodyLimit?: number;
  /** a request (headers and body) not received within this many ms answers 408 (0: none) */
  requestTimeoutMs?: number;
  /** connections open at once at most; more are closed as they arrive (0: no limit) */
  maxConnections?: number;
  version?: string;
}

export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;
/** 64 MiB in 30 s is 2 MiB/s: a client slower than that is more likely hostile than remote */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** far over what clients and SSE subscribers need, far under the process's file limit */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/** Cached for a year, this host only: a server that answers HTTPS keeps answering it. */
const HSTS = 'max-age=31536000';

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const { authenticator, https } = options.security ?? { authenticator: null, https: null };
  // Slow or stalled clients must not hold sockets: a request (headers and body) must arrive
  // within requestTimeout. Node checks every connectionsCheckingInterval (30 s by default,
  // which would double a 30 s deadline), so the check runs ten times per deadline.
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const timeouts = {
    requestTimeout,
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.round(requestTimeout / 10))),
  };
  const app = Fastify({
    loggerInstance: options.logger ? redactingLogger(options.logger) : undefined,
    logger: options.logger === false ? false : undefined,
    logController: new AccessLog(options.accessLog !== false),
    https: https ? { ...https, ...timeouts } : null,
    http: timeouts,
    bodyLimit,
    requestTimeout,
    clientErrorHandler: clientError(requestTimeout),
    connectionTimeout: 0,
    // SSE streams are long-lived: close them on shutdown instead of waiting for them.
    forceCloseConnections: true,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // gorchestrator's clients join a base URL and an id (`-orchestrator http://h/v1/tasks/`
    // gives `/v1/tasks//ID`) and its router cleaned such paths: both are served as written
    // without them (auth.ts judges the matched route, never the raw URL).
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  } as FastifyServerOptions).withTypeProvider<TypeBoxTypeProvider>();

  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (maxConnections > 0) {
    app.server.maxConnections = maxConnections;
    let dropped = 0;
    app.server.on('drop', () => {
      // one line per burst, not one per refused connection
      if (dropped++ === 0) {
        setTimeout(() => {
          app.log.warn(
            { dropped, maxConnections },
            'connections refused: the server is at its maximum',
          );
          dropped = 0;
        }, 10_000).unref();
      }
    });
  }

  // Bodies are JSON whatever their Content-Type (curl -d without one sends form encoding,
  // a browser's fetch of a string body sends text/plain, as gorchestrator accepted), read by
  // json-body.ts: errors with a position and path, __proto__ keys refused by name.
  const json = (
    _request: unknown,
    body: string | Buffer,
    done: (err: Error | null, value?: unknown) => void,
  ) => {
    try {
      done(null, parseJsonBody(body.toString()));
    } catch (err) {
      done(err as Error);
    }
  };
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, json);
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, json);
  app.addContentTypeParser('*', { parseAs: 'string' }, json);

  // Security hooks, before any route or the 404 handler is added (see the comment above).
  app.decorateRequest('principal', null);
  // Callback hooks rather than async ones: no promise and no extra turn per request.
  app.addHook('onRequest', (_request, reply, done) => {
    // raw headers: they also reach the SSE stream, which writes its own head
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    if (https) reply.raw.setHeader('strict-transport-security', HSTS);
    done();
  });
  if (authenticator) {
    app.addHook('onRequest', identifyHook(authenticator));
    const stopWatching = authenticator.watch(app.log);
    app.addHook('onClose', async () => stopWatching());
  }
  const perMinute = effectiveRateLimit(options.rateLimit, authenticator !== null);
  if (perMinute > 0) app.addHook('onRequest', await rateLimitHook(app, perMinute));
  if (authenticator) app.addHook('onRequest', requireAuthHook());
  // API answers are never cached (they are live, and may be someone's runs); the UI's files
  // and Swagger UI's assets set their own Cache-Control.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  for (const schema of sharedSchemas) app.addSchema(schema);
  app.setErrorHandler((error: FastifyError & { path?: string }, request, reply) => {
    // a store that is restarting or full: "try again later", not a fault of the request
    const body = options.store.isTransient(error)
      ? {
          code: 503,
          error: 'BATON_ERR_UNAVAILABLE',
          message: `the store is unavailable (${error.message}); nothing was stored, try again`,
        }
      : toErrorBody(error, bodyLimit, request.id);
    if (body.code >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(body.code).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body = toErrorBody(
      new Errors.NOT_FOUND(request.method, request.url),
      bodyLimit,
      request.id,
    );
    return reply.code(404).send(body);
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Baton orchestrator API',
        description: 'gorchestrator-compatible DAG orchestration (docs/architecture.md §7)',
        version: options.version ?? '0.1.0',
      },
      // Swagger UI's "Authorize" takes a token; without authentication configured it is unused.
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'a token from `baton token create NAME` (needed when the server has tokens)',
          },
        },
      },
      ...(authenticator ? { security: [{ bearer: [] }] } : {}),
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/apidocs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(tasksRoutes, { ...options, prefix: '/v1' });
  await app.register(schedulesRoutes, { ...options, prefix: '/v1' });
  await app.register(eventsRoutes, { ...options, prefix: '/v1' });
  await app.register(healthRoutes, options);
  await app.register(uiRoutes, options);
  return app;
}

/**
 * Answers a request the HTTP parser gave up on: 408 in the API's error shape when it was not
 * received in time, else what Fastify answers (400, or 431 for headers over the limit).
 */
function clientError(requestTimeout: number) {
  return function (this: FastifyInstance, err: Error & { code?: string }, socket: Duplex) {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let body = '{"error":"Bad Request","message":"Client Error","statusCode":400}';
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      body = JSON.stringify(
        toErrorBody(
          new Errors.REQUEST_TIMEOUT(
            `the request was not received within ${requestTimeout / 1000} s; nothing was done`,
          ),
          0,
          '',
        ),
      );
      this.log.warn('request not received in time: answered 408 and closed the connection');
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      body =
        '{"error":"Request Header Fields Too Large","message":"Exceeded maximum allowed HTTP header size","statusCode":431}';
    }
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  };
}

/** Maps any error to the public JSON shape; unknown errors never leak their details. */
function toErrorBody(
  error: FastifyError & { path?: string },
  bodyLimit: number,
  requestId: string,
): ErrorBody {
  const code = error.code ?? '';
  if (code.startsWith('BATON_ERR_')) {
    const body: ErrorBody = { code: error.statusCode ?? 500, error: code, message: error.message };
    if (error.path !== undefined) body.path = error.path;
    return body;
  }
  const translate = (e: FastifyError): ErrorBody => ({
    code: e.statusCode!,
    error: e.code,
    message: e.message,
  });
  if (error.validation) {
    const where = error.validationContext ?? 'request';
    const first = error.validation[0];
    const field = `${where}${first?.instancePath ? first.instancePath.replaceAll('/', '.') : ''}`;
    return translate(new Errors.BAD_REQUEST(`${field}: ${first?.message ?? error.message}`));
  }
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return translate(new Errors.BODY_TOO_LARGE(bodyLimit));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return translate(new Errors.UNSUPPORTED_MEDIA_TYPE(error.message));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return translate(new Errors.INVALID_JSON('body is not valid JSON: the body is empty'));
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return translate(new Errors.INVALID_JSON(`body is not valid JSON: ${error.message}`));
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return translate(new Errors.INVALID_JSON(`body is not valid JSON: ${error.message}`));
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return translate(new Errors.BAD_REQUEST(error.message));
  }
  return translate(new Errors.INTERNAL(requestId));
}
