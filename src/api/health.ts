/** `/healthz` (liveness and readiness: the store answers) and `/metrics` (Prometheus). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ApiDeps } from './deps.ts';
import { HealthSchema } from './schemas.ts';

export const healthRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (
  app,
  { store, orchestrator },
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
        return { status: 'ok' as const, active_runs, store: 'ok' };
      } catch (err) {
        return reply
          .code(503)
          .send({ status: 'unavailable', active_runs, store: (err as Error).message });
      }
    },
  );

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'baton_' });
  new Gauge({
    name: 'baton_active_runs',
    help: 'runs this process is driving',
    registers: [registry],
    collect() {
      this.set(orchestrator.activeRuns);
    },
  });
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', hide: true } },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
};
