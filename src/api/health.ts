/**
 * `/healthz` (liveness and readiness: the store answers and can commit, see commit-health.ts)
 * and `/metrics` (Prometheus).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiDeps } from './deps.ts';
import { PrometheusMetrics } from './metrics.ts';
import { HealthSchema } from './schemas.ts';

export const healthRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (
  app,
  { store, orchestrator, commits },
) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness and readiness',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const active_runs = orchestrator.activeRuns;
      try {
        await store.listRuns({ limit: 1 });
      } catch (err) {
        return reply
          .code(503)
          .send({ status: 'unavailable', active_runs, store: (err as Error).message });
      }
      const failure = commits?.failure;
      if (failure) {
        return reply.code(503).send({
          status: 'unavailable',
          active_runs,
          store: `failing: the last commit failed and none has succeeded since (${failure})`,
        });
      }
      return { status: 'ok' as const, active_runs, store: 'ok' };
    },
  );

  // The server gives the orchestrator a PrometheusMetrics (cli/server.ts); an orchestrator
  // built without one still answers with the process metrics and its levels.
  const prometheus =
    orchestrator.metrics instanceof PrometheusMetrics
      ? orchestrator.metrics
      : new PrometheusMetrics();
  prometheus.watch(() => orchestrator.load());
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', hide: true } },
    async (_request, reply) => {
      reply.type(prometheus.contentType);
      return prometheus.scrape();
    },
  );
};
