/** TypeBox schemas of the executor API (docs/architecture.md §6); route types are inferred from them. */
import { Type } from 'typebox';
import { MAX_BATCH } from './types.ts';

export const NodeBody = Type.Object(
  {
    idempotency_key: Type.String({ minLength: 1, maxLength: 512 }),
    id: Type.Integer({ minimum: 0 }),
    name: Type.String(),
    target: Type.String(),
    engine: Type.String({ minLength: 1 }),
    artifact: Type.String(),
    args: Type.Optional(Type.Array(Type.String(), { maxItems: 10_000 })),
    output: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** seconds; 0 or absent means no timeout */
    timeout: Type.Optional(Type.Number({ minimum: 0 })),
  },
  // the orchestrator may send node fields this executor does not use; they are kept
  { additionalProperties: true },
);

export const TaskParams = Type.Object({ id: Type.String() });

export const WaitQuery = Type.Object({
  /**
   * seconds to long-poll until the task is final (GET, and POST after accepting); values
   * over 60 are treated as 60
   */
  wait: Type.Optional(Type.Number({ minimum: 0 })),
});

export const TaskStatusSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: Type.Integer(),
  output: Type.Record(Type.String(), Type.String()),
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  started_at: Type.Union([Type.String(), Type.Null()]),
  stopped_at: Type.Union([Type.String(), Type.Null()]),
});

export const ErrorSchema = Type.Object({ code: Type.Integer(), message: Type.String() });

export const Ping = Type.Object({ status: Type.Literal('success') });

export const BatchBody = Type.Object({
  tasks: Type.Array(NodeBody, { minItems: 1, maxItems: MAX_BATCH }),
});
