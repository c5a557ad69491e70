/**
 * `/v1/tasks`: gorchestrator's API, a superset of it (docs/architecture.md §7).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { DocumentError } from '../graph/errors.ts';
import { parseDocument, toDocument } from '../graph/parse.ts';
import { isFinal, isStateName, State, stateName } from '../graph/states.ts';
import {
  NodeNotFoundError,
  ReplicaUnavailableError,
  RunNotFoundError,
  RunStateError,
} from '../orchestrator/orchestrator.ts';
import type { RunSummary } from '../store/store.ts';
import type { ApiDeps } from './deps.ts';
import { streamDetail } from './detail.ts';
import { Errors } from './errors.ts';

export { detailOf } from './detail.ts';

import {
  ListQuery,
  NodeParams,
  SubmitBody,
  TaskDetailSchema,
  TaskListSchema,
  TaskParams,
  type TaskSummary,
} from './schemas.ts';
import { RunSecrets, scrubText } from './secrets.ts';

const errorRef = Type.Ref('Error');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const tasksRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (app, deps) => {
  const { orchestrator, control, store, limits } = deps;

  app.post(
    '/tasks',
    {
      schema: {
        summary: 'Submit a gorch document; the run starts at once',
        body: SubmitBody,
        querystring: Type.Object({
          input: Type.Optional(
            Type.Array(Type.String(), { description: 'a run input as NAME=VALUE (repeatable)' }),
          ),
        }),
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 200 })) }),
        response: {
          202: Type.Ref('TaskId'),
          400: errorRef,
          413: errorRef,
          415: errorRef,
          422: errorRef,
        },
      },
      // The schema documents the body; parseDocument checks it, with messages that name the
      // field and say what was expected, which a generic validator cannot.
      validatorCompiler: ({ httpPart }) => (httpPart === 'body' ? () => true : undefined!),
    },
    async (request, reply) => {
      let graph: ReturnType<typeof parseDocument>;
      try {
        graph = parseDocument(request.body, {
          ...limits,
          engines: orchestrator.engines,
          pools: orchestrator.pools,
          values: inputValues((request.query as { input?: string | string[] }).input),
        });
      } catch (err) {
        if (err instanceof DocumentError) throw documentError(err);
        throw err;
      }
      const key = request.headers['idempotency-key'];
      // the route's validator checks only the body (see validatorCompiler above)
      if (key !== undefined && (typeof key !== 'string' || key.length > 200)) {
        throw new Errors.BAD_REQUEST('headers.idempotency-key: expected at most 200 characters');
      }
      const { id, created } = await orchestrator.submit(graph, key);
      // a key already used: the same request again gets the same run, another one a 422
      // (Stripe's rule), not silently the id of a run it does not describe
      if (!created) {
        const existing = await store.getRun(id);
        if (existing && existing.document !== JSON.stringify(toDocument(graph))) {
          throw new Errors.IDEMPOTENCY_MISMATCH(
            `Idempotency-Key "${key}" was already used by run ${id} with a different document ` +
              '(or run inputs); send a new key for a new run',
          );
        }
      }
      return reply.code(202).send({ id });
    },
  );

  app.get(
    '/tasks',
    {
      schema: {
        summary: 'List runs, newest first',
        description:
          'Up to `limit` runs (default and maximum 1000, so a gorchestrator client that ' +
          'sends no `limit` gets every run of a usual installation in one answer). When more ' +
          'follow, the answer carries `next_cursor`: pass it as `cursor` (same `state` ' +
          'filter) for the next page; a page never repeats or skips a run, whatever was ' +
          'submitted meanwhile.',
        querystring: ListQuery,
        response: { 200: TaskListSchema, 400: errorRef },
      },
    },
    listHandler,
  );
  async function listHandler(request: {
    query: { limit: number; cursor?: string; state?: string };
  }) {
    const { limit, cursor, state } = request.query;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
      throw new Errors.BAD_REQUEST(`querystring.limit: expected an integer 1-1000, got ${limit}`);
    }
    const states = state?.split(',').map((s) => {
      const name = s.trim();
      if (!isStateName(name)) {
        throw new Errors.BAD_REQUEST(
          `querystring.state: unknown state "${name}"; expected one of ${Object.keys(State).join(', ')}`,
        );
      }
      return State[name];
    });
    const page = await store.listRuns({ limit, cursor, states }).catch((err: Error) => {
      throw /cursor/i.test(err.message)
        ? new Errors.BAD_REQUEST(`querystring.cursor: ${err.message}`)
        : err;
    });
    return {
      tasks: page.runs.map(summaryOf),
      ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
    };
  }

  app.get(
    '/tasks/:id',
    {
      schema: {
        summary: 'A run: the document with live states, outputs and timestamps',
        params: TaskParams,
        response: { 200: TaskDetailSchema, 404: errorRef },
      },
    },
    async (request, reply) => {
      const run = await store.getRun(request.params.id);
      if (!run) throw new Errors.RUN_NOT_FOUND(request.params.id);
      const nodes = await store.getNodes(run.id);
      return streamDetail(reply, 200, run, nodes, orchestrator.waiting(run.id));
    },
  );

  const cancelRun = async (id: string, reply: FastifyReply) => {
    await runAction(() => control.cancel(id), id);
    const run = (await store.getRun(id))!;
    return streamDetail(reply, 202, run, await store.getNodes(run.id));
  };

  app.delete(
    '/tasks/:id',
    {
      schema: {
        summary: 'Cancel a running run (its record is kept), or delete a finished one',
        description:
          "gorchestrator's DELETE, made safe for runs in flight: a run still running is " +
          'canceled (202 with the run, now canceled, whose record stays for inspection and ' +
          'retry); a finished run is deleted with its nodes (200, empty body; GET then ' +
          'answers 404), so scripts that clean up after themselves work. ' +
          '`POST /v1/tasks/{id}/cancel` only ever cancels.',
        params: TaskParams,
        response: {
          200: Type.Null({ description: 'the finished run was deleted (empty body)' }),
          202: TaskDetailSchema,
          404: errorRef,
          409: errorRef,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const run = await store.getRun(id);
      if (!run) throw new Errors.RUN_NOT_FOUND(id);
      if (!isFinal(run.state)) {
        try {
          return await cancelRun(id, reply);
        } catch (err) {
          // it finished meanwhile: delete it as a finished run
          if (!(err instanceof Errors.RUN_STATE)) throw err;
          const now = await store.getRun(id);
          if (!now) throw new Errors.RUN_NOT_FOUND(id);
          if (!isFinal(now.state)) throw err;
        }
      }
      const outcome = await store.deleteRun(id);
      if (outcome === 'missing') throw new Errors.RUN_NOT_FOUND(id);
      if (outcome === 'unfinished') {
        throw new Errors.RUN_STATE(
          `run ${id} was started again (retried) while it was being deleted: nothing was ` +
            'deleted; DELETE again cancels it',
        );
      }
      // no payload at all, as gorchestrator answered (the schema's null only documents it)
      return reply.code(200).send(undefined as never);
    },
  );

  app.post(
    '/tasks/:id/cancel',
    {
      schema: {
        summary: 'Cancel a running run; its record is kept (a finished run answers 409)',
        params: TaskParams,
        response: { 202: TaskDetailSchema, 404: errorRef, 409: errorRef },
      },
    },
    async (request, reply) => cancelRun(request.params.id, reply),
  );

  app.get(
    '/tasks/:id/nodes/:n/log',
    {
      schema: {
        summary: "A node's captured stdout/stderr (bounded by its executor)",
        params: NodeParams,
        produces: ['text/plain'],
        response: { 200: Type.String(), 404: errorRef },
      },
    },
    async (request, reply) => {
      const { id, n } = request.params;
      try {
        const log = await orchestrator.nodeLog(id, n);
        // a task may print its args, its outputs, what it read from others: no secret value
        // of the run leaves the server
        const run = await store.getRun(id);
        const masked = run
          ? new RunSecrets(run.document, await store.getNodes(id)).scrubber().scrub(log)
          : scrubText(log);
        return reply.type('text/plain; charset=utf-8').send(masked);
      } catch (err) {
        if (err instanceof RunNotFoundError) throw new Errors.RUN_NOT_FOUND(id);
        if (err instanceof NodeNotFoundError) throw new Errors.NODE_NOT_FOUND(err.message);
        throw new Errors.UNAVAILABLE(`cannot read the log of node ${n}: ${(err as Error).message}`);
      }
    },
  );

  app.post(
    '/tasks/:id/retry',
    {
      schema: {
        summary: 'Re-run the failed, notrunnable, timed-out and canceled nodes of a finished run',
        params: TaskParams,
        response: { 202: TaskDetailSchema, 404: errorRef, 409: errorRef },
      },
    },
    async (request, reply) => {
      await runAction(() => control.retry(request.params.id), request.params.id);
      const run = (await store.getRun(request.params.id))!;
      return streamDetail(reply, 202, run, await store.getNodes(run.id));
    },
  );
};

/** `?input=k=v&input=k2=v2` as values; undefined when none are given. */
function inputValues(input: string | string[] | undefined): Record<string, string> | undefined {
  if (input === undefined) return undefined;
  const values: Record<string, string> = {};
  for (const pair of Array.isArray(input) ? input : [input]) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new Errors.BAD_REQUEST(
        `querystring.input: expected NAME=VALUE, got ${JSON.stringify(pair)}`,
      );
    }
    const name = pair.slice(0, eq);
    // on a plain object this key would set the prototype: the input would vanish unnoticed
    if (name === '__proto__') {
      throw new Errors.BAD_REQUEST(
        'querystring.input: "__proto__" is not allowed as an input name',
      );
    }
    values[name] = pair.slice(eq + 1);
  }
  return values;
}

async function runAction(action: () => Promise<void>, id: string): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof RunNotFoundError) throw new Errors.RUN_NOT_FOUND(id);
    if (err instanceof RunStateError) throw new Errors.RUN_STATE(err.message);
    if (err instanceof ReplicaUnavailableError) throw new Errors.UNAVAILABLE(err.message);
    throw err;
  }
}

function documentError(err: DocumentError) {
  const error = new Errors.INVALID_DOCUMENT(err.message);
  return Object.assign(error, { path: err.path });
}

export function summaryOf(run: RunSummary): TaskSummary {
  return {
    id: run.id,
    name: run.name,
    state: stateName(run.state),
    state_code: run.state,
    nodes: run.nodeCount,
    created_date: iso(run.createdAt),
    start_date: iso(run.startedAt),
    stop_date: iso(run.stoppedAt),
    error: run.error,
  };
}
