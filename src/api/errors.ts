/**
 * Every public error of the orchestrator API, in one catalogue. Codes are part of the API:
 * a retired code is never reused. docs/api-errors.md documents each one (a test checks).
 * Answers are JSON `{"code": <http status>, "error": "<BATON_ERR_...>", "message": "..."}`
 * with `path` added when the error points into the submitted document.
 */
import createError from '@fastify/error';

export const Errors = {
  INVALID_DOCUMENT: createError('BATON_ERR_INVALID_DOCUMENT', '%s', 400),
  INVALID_JSON: createError('BATON_ERR_INVALID_JSON', '%s', 400),
  BAD_REQUEST: createError('BATON_ERR_BAD_REQUEST', '%s', 400),
  RUN_NOT_FOUND: createError('BATON_ERR_RUN_NOT_FOUND', 'no run with id %s', 404),
  NODE_NOT_FOUND: createError('BATON_ERR_NODE_NOT_FOUND', '%s', 404),
  SCHEDULE_NOT_FOUND: createError('BATON_ERR_SCHEDULE_NOT_FOUND', 'no schedule with id %s', 404),
  RUN_STATE: createError('BATON_ERR_RUN_STATE', '%s', 409),
  IDEMPOTENCY_MISMATCH: createError('BATON_ERR_IDEMPOTENCY_MISMATCH', '%s', 422),
  BODY_TOO_LARGE: createError('BATON_ERR_BODY_TOO_LARGE', 'body is larger than %s bytes', 413),
  REQUEST_TIMEOUT: createError('BATON_ERR_REQUEST_TIMEOUT', '%s', 408),
  UNSUPPORTED_MEDIA_TYPE: createError('BATON_ERR_UNSUPPORTED_MEDIA_TYPE', '%s', 415),
  NOT_FOUND: createError('BATON_ERR_NOT_FOUND', 'no route %s %s', 404),
  UNAUTHORIZED: createError('BATON_ERR_UNAUTHORIZED', '%s', 401),
  RATE_LIMITED: createError(
    'BATON_ERR_RATE_LIMITED',
    'over the limit of %s requests per minute for %s; retry in %s s',
    429,
  ),
  UNAVAILABLE: createError('BATON_ERR_UNAVAILABLE', '%s', 503),
  INTERNAL: createError(
    'BATON_ERR_INTERNAL',
    'internal error; see the server log (request %s)',
    500,
  ),
  // Start-up errors: `baton serve` (startServer) refuses to start with these; they never reach
  // a client, and 500 is only @fastify/error's placeholder status.
  INSECURE_BIND: createError('BATON_ERR_INSECURE_BIND', '%s', 500),
  SECURITY_CONFIG: createError('BATON_ERR_SECURITY_CONFIG', '%s', 500),
} as const;

export type ErrorCode = keyof typeof Errors;

/** The JSON body of every error answer. */
export interface ErrorBody {
  code: number;
  error: string;
  message: string;
  path?: string;
}
