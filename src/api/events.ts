/**
 * `GET /v1/tasks/{id}/events`: Server-Sent Events. The first event is a `snapshot` of the run
 * (its state and every node's), then one `state` event per change, and the stream ends after
 * the run's final state. Subscribing happens before the snapshot is read, so no change falls
 * between the two (a change may appear in both, which is harmless: states are idempotent).
 * An event's `error` is scrubbed of the run's secret values (secrets.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isFinal } from '../graph/states.ts';
import type { RunEvent } from '../orchestrator/bus.ts';
import type { ApiDeps } from './deps.ts';
import { Errors } from './errors.ts';
import { TaskParams } from './schemas.ts';
import { eventScrubber } from './secrets.ts';

const HEARTBEAT_MS = 15_000;

export const eventsRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (app, { store, bus }) => {
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
      const run = await store.getRun(id).catch((err) => {
        unsubscribe();
        throw err;
      });
      if (!run) {
        unsubscribe();
        throw new Errors.RUN_NOT_FOUND(id);
      }
      const nodes = await store.getNodes(id);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let seq = 0;
      const write = (event: string, data: unknown) => {
        raw.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      const close = () => {
        clearInterval(heartbeat);
        unsubscribe();
        raw.end();
      };
      raw.on('close', close);

      write('snapshot', {
        run: id,
        state: run.state,
        nodes: nodes.map((n) => ({ node: n.node, state: n.state, attempts: n.attempts })),
      });
      const scrub = eventScrubber(run.document, nodes);
      send = (event) => {
        write('state', scrub(event));
        if (event.node === undefined && isFinal(event.state)) close();
      };
      for (const event of buffered) send(event);
      if (isFinal(run.state) && buffered.length === 0) close();
    },
  );
};
