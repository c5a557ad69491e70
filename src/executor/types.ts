/**
 * The executor's contracts, shared by the service, its drivers and the client (docs/architecture.md §6).
 * This module has no runtime dependencies (constants only) so the orchestrator can import the
 * client without pulling in Fastify or the drivers.
 */

import type { Dispatcher } from 'undici';
import type { GorchNode } from '../graph/model.ts';
import type { HttpAllowlist } from './http-allow.ts';
import type { Spawner } from './spawn.ts';

/**
 * The answer header by which an executor lists what it serves beyond POST /v1/tasks and the
 * rest: `batch`, POST /v1/tasks/batch (server.ts), which the client then uses (client.ts).
 */
export const FEATURES_HEADER = 'baton-features';

/**
 * Tasks in one POST /v1/tasks/batch, and its body's limit: Fastify's default, which
 * POST /v1/tasks has too, so a node too big for one is too big for the other.
 */
export const MAX_BATCH = 256;
export const BATCH_BODY_LIMIT = 1024 * 1024;

/** What `GET /v1/tasks/{id}` answers. Times are ISO 8601 strings, `null` until they happen. */
export interface TaskStatus {
  id: string;
  name: string;
  /** a `State` code: torun(1) queued, running(2), then success/failure/timeout/canceled */
  state: number;
  output: Record<string, string>;
  exit_code: number | null;
  error: string | null;
  started_at: string | null;
  stopped_at: string | null;
}

/** Where a driver writes the task's stdout/stderr; the sink bounds its own memory. */
export interface LogSink {
  write(chunk: Buffer | string): void;
}

export interface TaskContext {
  /** the executor's task id, given to local programs as BATON_TASK_ID (see orphans.ts) */
  taskId: string;
  /** the idempotency key the task was submitted with (containers carry it as a label) */
  key?: string;
  node: GorchNode;
  /** aborted on cancel, timeout or executor shutdown; drivers stop their work when it fires */
  signal: AbortSignal;
  log: LogSink;
  artifactRoot: string;
  /** path of the executor's OpenSSH-style config, for ssh/toscassh/ansible targets */
  sshConfig?: string;
  /**
   * starts a local program (shell, ansible) whose exit status, when it ends, is recorded
   * where a restarted executor finds it (supervisor.ts)
   */
  spawn: Spawner;
  /** the environment local programs start with (see task-env.ts), without BATON_TASK_ID */
  env: Readonly<Record<string, string>>;
  /** how long a process group gets between SIGTERM and SIGKILL */
  killGraceMs: number;
  /** where the http engine may connect, and the connections that check addresses */
  http: HttpPolicy;
}

export interface HttpPolicy {
  allowlist: HttpAllowlist;
  /** connects only to checked addresses (http-allow.ts guardedLookup) */
  dispatcher: Dispatcher;
}

/**
 * A driver's verdict. When the signal was aborted the service ignores `ok` and records the
 * abort's state (timeout or canceled), keeping the output, exit code and error given here.
 */
export interface TaskResult {
  ok: boolean;
  output: Record<string, string>;
  exitCode: number | null;
  error: string | null;
}

export interface Driver {
  run(task: TaskContext): Promise<TaskResult>;
  /**
   * Picks up a task that was running when the executor died, for drivers whose work outlives
   * the executor (a container runs on without it): re-attaches and reports the outcome, or
   * fails the task when nothing is left to attach to. Tasks of drivers without it are failed.
   */
  resume?(task: TaskContext): Promise<TaskResult>;
}
