/**
 * Response and request schemas of the orchestrator API. The document schemas come from the
 * graph module; these add the run-time fields. Shared ones are registered by `$id` and
 * referenced, so the OpenAPI document names them once.
 */
import { type Static, Type } from 'typebox';
import {
  GorchDocumentSchema,
  NormalizedDocumentProperties,
  NormalizedNodeProperties,
} from '../graph/schema.ts';
import { State, type StateName } from '../graph/states.ts';

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const StateCode = Type.Integer({
  description:
    '0 initial, 1 torun, 2 running, 3 success, 4 failure, 5 notrunnable, 10 timeout, 11 canceled',
});
const StateNameSchema = Type.Unsafe<StateName>(
  Type.String({ enum: Object.keys(State), description: 'state name' }),
);

export const ErrorSchema = Type.Object(
  {
    code: Type.Integer({ description: 'HTTP status' }),
    error: Type.String({ description: 'stable error code, BATON_ERR_*' }),
    message: Type.String(),
    path: Type.Optional(Type.String({ description: 'where in the document the problem is' })),
  },
  { $id: 'Error' },
);

export const TaskIdSchema = Type.Object({ id: Type.String({ format: 'uuid' }) }, { $id: 'TaskId' });

/** Run ids are UUIDs; anything outside printable ASCII is refused before it reaches a store. */
const RunId = Type.String({ maxLength: 64, pattern: '^[\\x21-\\x7e]+$' });
export const TaskParams = Type.Object({ id: RunId });
export const NodeParams = Type.Object({
  id: RunId,
  n: Type.Integer({ minimum: 0 }),
});

export const SubmitBody = GorchDocumentSchema;

/**
 * Runs per page when a request names no `limit`: gorchestrator answered every task at once,
 * and its clients never page, so the default is the maximum (the list reads no document).
 */
export const LIST_LIMIT = 1000;

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: LIST_LIMIT }),
  cursor: Type.Optional(
    Type.String({ maxLength: 200, description: 'the `next_cursor` of the previous page' }),
  ),
  state: Type.Optional(
    Type.String({
      description: 'comma-separated state names, e.g. running,failure',
      maxLength: 200,
    }),
  ),
});

export const TaskSummarySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    state: StateNameSchema,
    state_code: StateCode,
    nodes: Type.Integer({ description: 'number of nodes' }),
    created_date: Timestamp,
    start_date: Timestamp,
    stop_date: Timestamp,
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'TaskSummary' },
);

export const TaskListSchema = Type.Object({
  tasks: Type.Array(Type.Ref('TaskSummary')),
  next_cursor: Type.Optional(Type.String({ description: 'pass as cursor for the next page' })),
});

export const LiveNodeSchema = Type.Object(
  {
    ...NormalizedNodeProperties,
    state: StateCode,
    attempts: Type.Integer(),
    start_date: Timestamp,
    stop_date: Timestamp,
    error: Type.Union([Type.String(), Type.Null()]),
    waiting: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description: 'why a ready node has not started: a full pool, a limit, its turn',
      }),
    ),
  },
  { $id: 'LiveNode' },
);

export const TaskDetailSchema = Type.Object(
  {
    id: Type.String(),
    ...NormalizedDocumentProperties,
    nodes: Type.Array(Type.Ref('LiveNode')),
    state: StateCode,
    created_date: Timestamp,
    start_date: Timestamp,
    stop_date: Timestamp,
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { description: 'the gorch document with live states, outputs and timestamps' },
);

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  active_runs: Type.Integer(),
  store: Type.String(),
});

export type TaskSummary = Static<typeof TaskSummarySchema>;
export type LiveNode = Static<typeof LiveNodeSchema>;
export const sharedSchemas = [ErrorSchema, TaskIdSchema, TaskSummarySchema, LiveNodeSchema];
