/**
 * The access log: one line per request, written when its answer has been sent, at `info`:
 * `{"reqId", "req": {method, url, host, remoteAddress, remotePort}, "res": {statusCode},
 * "responseTime", "msg": "request completed"}`, plus `principal` when the caller
 * authenticated (auth.ts binds it to the request's logger). The field names are Fastify's and
 * pino-http's, so dashboards and log pipelines built for Fastify services read it unchanged;
 * the URL is scrubbed of secrets by the logger's `req` serializer (secrets.ts).
 *
 * Fastify's default writes two lines per request ("incoming request", then "request
 * completed"): the first says nothing the second does not, and at thousands of submissions a
 * second the pair cost a third of the server's time. `access: false` (`--no-access-log`,
 * `log.access: false`) keeps only the failures: a request that errored is logged at `error`
 * either way.
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

export class AccessLog extends LogController {
  readonly #access: boolean;

  constructor(access: boolean) {
    super();
    this.#access = access;
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      reply.log.error(
        { req: request, res: reply, err: error, responseTime: reply.elapsedTime },
        'request errored',
      );
    } else if (this.#access) {
      reply.log.info(
        { req: request, res: reply, responseTime: reply.elapsedTime },
        'request completed',
      );
    }
  }
}
