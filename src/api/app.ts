/**
 * The orchestrator's HTTP API as a Fastify instance: `/v1` routes, OpenAPI at /openapi.json,
 * Swagger UI at /apidocs/, /healthz, /metrics, and the UI at /. Every error answers JSON
 * `{code, error, message}`; nothing a client sends can crash the process.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import type { Logger } from 'pino';
import type { ApiDeps } from './deps.ts';
import { type ErrorBody, Errors } from './errors.ts';
import { eventsRoutes } from './events.ts';
import { healthRoutes } from './health.ts';
import { sharedSchemas } from './schemas.ts';
import { tasksRoutes } from './tasks.ts';
import { uiRoutes } from './ui.ts';

export interface AppOptions extends ApiDeps {
  logger: Logger | false;
  /** largest accepted request body in bytes */
  bodyLimit?: number;
  version?: string;
}

export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    loggerInstance: options.logger || undefined,
    logger: options.logger === false ? false : undefined,
    bodyLimit,
    // Slow or stalled clients must not hold sockets forever.
    requestTimeout: 120_000,
    connectionTimeout: 0,
    // SSE streams are long-lived: close them on shutdown instead of waiting for them.
    forceCloseConnections: true,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  } as FastifyServerOptions).withTypeProvider<TypeBoxTypeProvider>();

  // curl -d without a Content-Type sends form encoding: read any body as JSON all the same.
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('*', { parseAs: 'string' }, json);

  for (const schema of sharedSchemas) app.addSchema(schema);
  app.setErrorHandler((error: FastifyError & { path?: string }, request, reply) => {
    const body = toErrorBody(error, bodyLimit, request.id);
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
        description: 'gorchestrator-compatible DAG orchestration (DESIGN §3)',
        version: options.version ?? '0.1.0',
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/apidocs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(tasksRoutes, { ...options, prefix: '/v1' });
  await app.register(eventsRoutes, { ...options, prefix: '/v1' });
  await app.register(healthRoutes, options);
  await app.register(uiRoutes, options);
  return app;
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
      return translate(new Errors.INVALID_JSON('the body is empty; expected a gorch document'));
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return translate(new Errors.INVALID_JSON(error.message));
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return translate(new Errors.INVALID_JSON(error.message));
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return translate(new Errors.BAD_REQUEST(error.message));
  }
  return translate(new Errors.INTERNAL(requestId));
}
