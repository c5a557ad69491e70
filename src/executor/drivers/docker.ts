/**
 * `docker`: runs the node in a container on a Docker Engine (docker/engine.ts). The
 * artifact is the image, the args are the container's command (argv, no shell; see
 * docker/spec.ts for the `env` args and the limits). The container is named `baton-<task id>`
 * and labelled with the task id and idempotency key, so a task never has two containers and
 * an executor restarted after a crash finds the one it had (`resume`). The driver streams the
 * container's log into the task's log (stdout lines `KEY=VALUE` fill declared outputs, as for
 * shell), waits for its exit code and removes it, whatever the outcome. A cancel or timeout
 * stops it (SIGTERM, SIGKILL after the kill grace period) and removes it.
 */
import { Demultiplexer, STDERR, STDOUT } from '../docker/demux.ts';
import { DEFAULT_DOCKER_HOST, DockerEngine, DockerError } from '../docker/engine.ts';
import {
  type ContainerSpec,
  containerSpec,
  imageAllowed,
  LABEL_TASK,
  SpecError,
  taskLabels,
} from '../docker/spec.ts';
import { OutputCollector } from '../outputs.ts';
import type { Driver, TaskContext, TaskResult } from '../types.ts';
import { LastLine } from './process.ts';

export interface DockerOptions {
  /** `unix:///path/docker.sock` or `tcp://HOST:PORT`; default DOCKER_HOST, else the usual socket */
  host?: string;
  /** image patterns (`registry.example/*`) a node may use; empty: any */
  allow?: readonly string[];
}

/** After the container has stopped, how long its log stream may take to end. */
const LOG_DRAIN_MS = 10_000;

export function containerName(taskId: string): string {
  return `baton-${taskId}`;
}

export function dockerHost(options: DockerOptions = {}): string {
  return options.host ?? (process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
}

/**
 * The docker driver when a daemon answers `/_ping` at `options.host`, else undefined (the
 * executor then does not offer the engine), with the reason. A malformed host throws.
 */
export async function probeDocker(
  options: DockerOptions,
): Promise<
  | { driver: Driver; host: string; close(): Promise<void> }
  | { driver?: undefined; host: string; why: string }
> {
  const host = dockerHost(options);
  // a malformed address throws: bad configuration fails at start-up
  const engine = new DockerEngine(host);
  if (!(await engine.ping(AbortSignal.timeout(5000)))) {
    await engine.close();
    return { host, why: `no Docker daemon answered /_ping at ${host}` };
  }
  return { driver: dockerDriver(engine, options.allow ?? []), host, close: () => engine.close() };
}

export function dockerDriver(engine: DockerEngine, allow: readonly string[]): Driver {
  return {
    async run(task) {
      let spec: ContainerSpec;
      try {
        spec = containerSpec(task.node, taskLabels(task.taskId, task.key ?? '', task.node));
      } catch (err) {
        if (err instanceof SpecError) return failed(err.message);
        throw err;
      }
      try {
        return await create(engine, task, spec, allow);
      } catch (err) {
        if (err instanceof DockerError) return failed(`docker: ${err.message}`);
        throw err;
      }
    },

    async resume(task) {
      const found = await engine.inspect(containerName(task.taskId));
      if (found === undefined || found.labels[LABEL_TASK] !== task.taskId) {
        return failed(
          'executor restarted while the task was running, and its container is gone: ' +
            'whether it finished is unknown',
        );
      }
      // `created`: the crash came between create and start, so it never ran: start it now
      return follow(engine, task, found.id, task.node.artifact, found.status === 'created');
    },
  };
}

async function create(
  engine: DockerEngine,
  task: TaskContext,
  spec: ContainerSpec,
  allow: readonly string[],
): Promise<TaskResult> {
  if (!imageAllowed(spec.image, allow)) {
    return failed(
      `image ${JSON.stringify(spec.image)} is not allowed on this executor ` +
        `(--docker-allow: ${allow.join(', ')})`,
    );
  }
  const missing = await ensureImage(engine, spec.image, spec.pull, task.signal);
  if (missing !== undefined) return failed(missing);
  if (task.signal.aborted) return failed('stopped before the container was created');
  const id = await engine.create(containerName(task.taskId), spec.config);
  return follow(engine, task, id, spec.image, true);
}

/** Undefined when the image is there (pulled if the policy says so), else why not. */
async function ensureImage(
  engine: DockerEngine,
  image: string,
  pull: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (pull !== 'always' && (await engine.imageExists(image))) return undefined;
  if (pull === 'never') {
    return `image ${JSON.stringify(image)} is not on the Docker daemon and container.pull is "never"`;
  }
  try {
    await engine.pull(image, signal);
  } catch (err) {
    if (signal.aborted) return 'stopped while pulling the image';
    return `cannot pull image ${JSON.stringify(image)}: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * Starts the container if asked, streams its log, waits for it to stop and removes it. The
 * task's signal stops it (SIGTERM, then SIGKILL after the grace period).
 */
async function follow(
  engine: DockerEngine,
  task: TaskContext,
  id: string,
  image: string,
  start: boolean,
): Promise<TaskResult> {
  const outputs = new OutputCollector(Object.keys(task.node.output));
  const stderr = new LastLine();
  const demux = new Demultiplexer((stream, payload) => {
    task.log.write(payload);
    if (stream === STDOUT) outputs.write(payload);
    else if (stream === STDERR) stderr.write(payload);
  });
  const graceSeconds = Math.max(1, Math.ceil(task.killGraceMs / 1000));
  let stopping: Promise<void> | undefined;
  const onAbort = () => {
    stopping ??= engine.stop(id, graceSeconds).catch(() => {
      // the removal below kills it anyway
    });
  };
  try {
    // stopped while it was being created: it never starts (and is removed below)
    if (start && task.signal.aborted) return failed('stopped before the container started');
    if (start) await engine.start(id);
    if (task.signal.aborted) onAbort();
    else task.signal.addEventListener('abort', onAbort, { once: true });
    const logs = await engine.logs(id, true);
    const drained = (async () => {
      for await (const chunk of logs) demux.write(chunk as Buffer);
    })();
    const code = await engine.wait(id);
    // the daemon ends the stream once the container has stopped; bounded all the same
    const drain = setTimeout(() => logs.destroy(), LOG_DRAIN_MS);
    await drained.catch(() => {});
    clearTimeout(drain);
    outputs.end();
    await stopping;
    if (code === 0) return { ok: true, output: outputs.output, exitCode: 0, error: null };
    const state = await engine.inspect(id).catch(() => undefined);
    const why = `image ${JSON.stringify(image)} exited with code ${code}${state?.oomKilled ? ' (killed: out of memory)' : ''}`;
    const last = stderr.line();
    return {
      ok: false,
      output: outputs.output,
      exitCode: code,
      error: last ? `${why}: ${last}` : why,
    };
  } catch (err) {
    if (err instanceof DockerError) return failed(`docker: ${err.message}`);
    throw err;
  } finally {
    task.signal.removeEventListener('abort', onAbort);
    await removeContainer(engine, id);
  }
}

async function removeContainer(engine: DockerEngine, id: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await engine.remove(id);
      return;
    } catch (err) {
      // a daemon briefly busy with the container ("removal in progress") answers 409
      if (attempt >= 4) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}

function failed(error: string): TaskResult {
  return { ok: false, output: {}, exitCode: null, error };
}
