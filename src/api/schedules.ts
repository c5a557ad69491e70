/**
 * `/v1/schedules`: documents fired on a cron pattern (issue 8). Each occurrence becomes an
 * ordinary run (listed by `/v1/tasks`), named after its schedule; the scheduler
 * (orchestrator/scheduler.ts) fires them, and the store makes each occurrence one run whichever
 * replica fires it.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { DocumentError } from '../graph/errors.ts';
import { parseDocument, toDocument } from '../graph/parse.ts';
import { GorchDocumentSchema, NormalizedDocumentSchema } from '../graph/schema.ts';
import { CATCHUP_POLICIES, checkSchedule, ScheduleSpecError } from '../store/cron.ts';
import type { Catchup, ScheduleRecord } from '../store/store.ts';
import type { ApiDeps } from './deps.ts';
import { Errors } from './errors.ts';
import { maskedDocument } from './secrets.ts';

const errorRef = Type.Ref('Error');
const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const MAX_NAME = 256;
const MAX_CRON = 256;

const CatchupSchema = Type.Union(
  [Type.Literal('none'), Type.Literal('last'), Type.Literal('all')],
  {
    default: 'none',
    description:
      'occurrences missed (due for over a minute: downtime): none skips them, last fires the ' +
      'latest once, all fires each (the latest 100 at most)',
  },
);

const CreateBody = Type.Object({
  name: Type.Optional(
    Type.String({ maxLength: MAX_NAME, description: "the runs' name; default: the document's" }),
  ),
  cron: Type.String({
    maxLength: MAX_CRON,
    description:
      'croner pattern: 5 fields (minute precision), 6 with seconds first, 7 with years last; ' +
      'nicknames such as @daily',
    examples: ['0 3 * * *', '*/10 * * * * *'],
  }),
  timezone: Type.Optional(
    Type.String({ default: 'UTC', description: 'IANA time zone the pattern is read in' }),
  ),
  catchup: Type.Optional(CatchupSchema),
  document: GorchDocumentSchema,
});

const FIELDS = new Set(Object.keys(CreateBody.properties));

const ScheduleProperties = {
  id: Type.String(),
  name: Type.String(),
  cron: Type.String(),
  timezone: Type.String(),
  catchup: CatchupSchema,
  paused: Type.Boolean(),
  next_fire_at: Timestamp,
  last_fire_at: Timestamp,
  created_at: Timestamp,
  error: Type.Union([Type.String(), Type.Null()], {
    description: 'why the scheduler paused it (its document no longer parses)',
  }),
};
const ScheduleSchema = Type.Object(ScheduleProperties);
const ScheduleDetailSchema = Type.Object({
  ...ScheduleProperties,
  document: NormalizedDocumentSchema,
});
const ScheduleParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const schedulesRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (app, deps) => {
  const { orchestrator, store, limits } = deps;

  app.post(
    '/schedules',
    {
      schema: {
        summary: 'Create a schedule: a document fired as a new run at every occurrence of a cron',
        body: CreateBody,
        response: { 201: ScheduleSchema, 400: errorRef, 413: errorRef, 415: errorRef },
      },
      // As for POST /v1/tasks, the schema documents the body and the route checks it, with
      // messages that name the field (croner's for a pattern, parseDocument's for the document)
      validatorCompiler: ({ httpPart }) => (httpPart === 'body' ? () => true : undefined!),
    },
    async (request, reply) => {
      const body = readBody(request.body);
      const now = Date.now();
      let timezone: string;
      try {
        ({ timezone } = checkSchedule(body.cron, body.timezone, now));
      } catch (err) {
        if (err instanceof ScheduleSpecError) throw fieldError(err.field, err.message);
        throw err;
      }
      let graph: ReturnType<typeof parseDocument>;
      try {
        graph = parseDocument(body.document, { ...limits, engines: orchestrator.engines });
      } catch (err) {
        if (err instanceof DocumentError) throw documentError(err);
        throw err;
      }
      const name = body.name ?? (graph.name || 'schedule');
      graph.name = name;
      const created = await store.createSchedule({
        id: randomUUID(),
        name,
        cron: body.cron,
        timezone,
        catchup: body.catchup,
        document: JSON.stringify(toDocument(graph)),
        createdAt: now,
      });
      return reply.code(201).send(scheduleOf(created));
    },
  );

  app.get(
    '/schedules',
    {
      schema: {
        summary: 'List the schedules, oldest first',
        response: { 200: Type.Object({ schedules: Type.Array(ScheduleSchema) }) },
      },
    },
    async () => ({ schedules: (await store.listSchedules()).map(scheduleOf) }),
  );

  app.get(
    '/schedules/:id',
    {
      schema: {
        summary: 'A schedule, with its document',
        params: ScheduleParams,
        response: { 200: ScheduleDetailSchema, 404: errorRef },
      },
    },
    async (request) => {
      const schedule = await store.getSchedule(request.params.id);
      if (!schedule) throw new Errors.SCHEDULE_NOT_FOUND(request.params.id);
      // secret args and input values never leave the server (see secrets.ts)
      return { ...scheduleOf(schedule), document: maskedDocument(schedule.document) };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/schedules/:id/${action}`,
      {
        schema: {
          summary:
            action === 'pause'
              ? 'Pause a schedule: nothing fires until it is resumed'
              : 'Resume a schedule from its next occurrence (what was missed while paused is skipped)',
          params: ScheduleParams,
          response: { 200: ScheduleSchema, 404: errorRef },
        },
      },
      async (request) => {
        const { id } = request.params;
        const schedule = await store.setSchedulePaused(id, action === 'pause', Date.now());
        if (!schedule) throw new Errors.SCHEDULE_NOT_FOUND(id);
        return scheduleOf(schedule);
      },
    );
  }

  app.delete(
    '/schedules/:id',
    {
      schema: {
        summary: 'Delete a schedule; the runs it fired are kept',
        params: ScheduleParams,
        response: { 204: Type.Null(), 404: errorRef },
      },
    },
    async (request, reply) => {
      if (!(await store.deleteSchedule(request.params.id))) {
        throw new Errors.SCHEDULE_NOT_FOUND(request.params.id);
      }
      return reply.code(204).send(null);
    },
  );
};

interface CreateRequest {
  name?: string;
  cron: string;
  timezone: string;
  catchup: Catchup;
  document: unknown;
}

/** The body's fields, checked one by one so that each error names its field. */
function readBody(body: unknown): CreateRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Errors.BAD_REQUEST('body: expected a JSON object with "cron" and "document"');
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key)) {
      throw fieldError(key, `unknown field; expected ${[...FIELDS].join(', ')}`);
    }
  }
  const { name, cron, timezone = 'UTC', catchup = 'none', document } = fields;
  if (name !== undefined && (typeof name !== 'string' || name.length > MAX_NAME)) {
    throw fieldError('name', `expected a string of at most ${MAX_NAME} characters`);
  }
  if (typeof cron !== 'string' || cron.trim() === '' || cron.length > MAX_CRON) {
    throw fieldError(
      'cron',
      cron === undefined
        ? 'required: a cron pattern such as "0 3 * * *"'
        : `expected a cron pattern of at most ${MAX_CRON} characters, got ${JSON.stringify(cron)}`,
    );
  }
  if (typeof timezone !== 'string') {
    throw fieldError('timezone', 'expected an IANA time zone name such as "Europe/Paris"');
  }
  if (!CATCHUP_POLICIES.includes(catchup as Catchup)) {
    throw fieldError(
      'catchup',
      `expected one of ${CATCHUP_POLICIES.join(', ')}, got ${JSON.stringify(catchup)}`,
    );
  }
  if (document === undefined) throw fieldError('document', 'required: a gorch document');
  return { name, cron: cron.trim(), timezone, catchup: catchup as Catchup, document };
}

function fieldError(field: string, message: string) {
  return Object.assign(new Errors.BAD_REQUEST(`${field}: ${message}`), { path: field });
}

/** The document's error, its path inside the body: `document.nodes[2].engine`. */
function documentError(err: DocumentError) {
  const path = err.path === '' ? 'document' : `document.${err.path}`;
  // most messages start with their path; a cycle's does not
  const message =
    err.path !== '' && err.message.startsWith(`${err.path}:`)
      ? `document.${err.message}`
      : `${path}: ${err.message}`;
  return Object.assign(new Errors.INVALID_DOCUMENT(message), { path });
}

export function scheduleOf(schedule: ScheduleRecord) {
  return {
    id: schedule.id,
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    catchup: schedule.catchup,
    paused: schedule.paused,
    next_fire_at: iso(schedule.nextFireAt),
    last_fire_at: iso(schedule.lastFireAt),
    created_at: iso(schedule.createdAt),
    error: schedule.error,
  };
}
