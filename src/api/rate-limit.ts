/**
 * Requests per minute per client, with @fastify/rate-limit (a fixed one-minute window in
 * memory, per process: with several replicas each counts its own requests). A client is its
 * principal when it authenticated (so one token used from many hosts shares one budget), else
 * its IP address (IPv6 by /64, as the plugin groups them). Over the limit: 429 with
 * `Retry-After` (seconds until the window ends) and the JSON error; every answer carries
 * `X-RateLimit-Limit`, `-Remaining` and `-Reset`. `/healthz` is never limited (probes).
 *
 * Default: `DEFAULT_RATE_LIMIT` once authentication is configured (the API is then meant for
 * other machines); no limit on an open loopback API, whose only clients are local programs:
 * bench/submit.ts alone sends ~2,400 submissions/s from one address. `rateLimit: 0` turns the
 * limit off; an explicit limit applies with or without authentication.
 */
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { Errors } from './errors.ts';

/**
 * 100 requests/s on average per client, bursts up to 6,000 within a minute: far above what a
 * person in the UI (one list request every 2 s) or a CI job needs, low enough that one
 * runaway script cannot monopolise the server.
 */
export const DEFAULT_RATE_LIMIT = 6000;

/** The limit in force: the configured one, else the default when authentication is on. */
export function effectiveRateLimit(configured: number | undefined, authenticated: boolean): number {
  return configured ?? (authenticated ? DEFAULT_RATE_LIMIT : 0);
}

/** Who a request counts against. */
export function clientKey(request: FastifyRequest): string {
  return request.principal
    ? `principal:${request.principal.name}`
    : `ip:${normalizeIP(request.ip, 64)}`;
}

/**
 * Registers the plugin (not globally: the hook is placed by the caller, between identifying
 * the client and refusing unauthenticated requests) and returns the onRequest hook.
 */
export async function rateLimitHook(
  app: FastifyInstance,
  perMinute: number,
): Promise<onRequestAsyncHookHandler> {
  await app.register(rateLimit, { global: false });
  const limiter = app.rateLimit({
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: clientKey,
    errorResponseBuilder: (request, context) => {
      const { ttl } = context as { ttl: number };
      const who = request.principal ? `"${request.principal.name}"` : request.ip;
      return new Errors.RATE_LIMITED(perMinute, who, Math.max(1, Math.ceil(ttl / 1000)));
    },
  });
  return async function limitRate(request, reply) {
    if (request.routeOptions.url === '/healthz') return;
    await limiter.call(app, request, reply);
  };
}
