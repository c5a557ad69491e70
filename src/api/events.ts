/**
 * `GET /v1/tasks/{id}/events`: Server-Sent Events. The first event is a `snapshot` of the run
 * (its state and every node's), then one `state` event per change, and the stream ends after
 * the run's final state. Subscribing happens before the snapshot is read, so no change falls
 * between the two (a change may appear in both, which is harmless: states are idempotent).
 * Subscribers of a run share its snapshot until it changes (snapshots.ts). An event's `error`
 * is scrubbed of the run's secret values (secrets.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isFinal } from '../graph/states.ts';
import type { RunEvent } from '../orchestrator/bus.ts';
import type { ApiDeps } from './deps.ts';
import { Errors } from './errors.ts';
import { PrometheusMetrics } from './metrics.ts';
import { TaskParams } from './schemas.ts';
import { SnapshotCache } from './snapshots.ts';

const HEARTBEAT_MS = 15_000;

export const eventsRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (
  app,
  { store, bus, orchestrator },
) => {
  const metrics = orchestrator.metrics instanceof PrometheusMetrics ? orchestrator.metrics : null;
  const snapshots = new SnapshotCache(store, bus, () => metrics?.snapshotBuilt());

  app.get(
    '/tasks/:id/events',
    {
      schema: {
        summary: 'Live state changes of a run (text/event-stream)',
        params: TaskParams,
        produces: ['text/event-stream'],
        response: {
          200: Type.String({ description: 'event: snapshot, then event: state per change' }),
          404: Type.Ref('Error'),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const buffered: RunEvent[] = [];
      let send: (event: RunEvent) => void = (event) => buffered.push(event);
      const unsubscribe = bus.subscribe(id, (event) => send(event));
      const lease = await snapshots.acquire(id).catch((err) => {
        unsubscribe();
        throw err;
      });
      const { snapshot } = lease;
      if (!snapshot) {
        unsubscribe();
        throw new Errors.RUN_NOT_FOUND(id);
      }

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // the snapshot's frame is event 1
      let seq = 1;
      const write = (event: string, data: unknown) => {
        raw.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      let closed = false;
      const close = () => {
        // once: the bus's unsubscribe run twice could drop a later stream's listeners
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        lease.release();
        raw.end();
      };
      raw.on('close', close);

      raw.write(snapshot.frame);
      const { scrub } = snapshot;
      send = (event) => {
        write('state', scrub(event));
        if (event.node === undefined && isFinal(event.state)) close();
      };
      for (const event of buffered) send(event);
      if (isFinal(snapshot.state) && buffered.length === 0) close();
    },
  );
};
