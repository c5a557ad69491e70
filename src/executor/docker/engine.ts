/**
 * A small client of the Docker Engine API over undici: the calls the docker driver makes and
 * nothing else. The daemon is `unix:///path/docker.sock` (the default, /var/run/docker.sock)
 * or `tcp://host:port` (plain HTTP: put a daemon reachable over TCP behind TLS yourself).
 * Paths are unversioned, so the daemon answers in its own API version; every field used here
 * has been stable since API 1.24.
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** A call the daemon refused (`status` > 0) or could not be made (`status` 0). */
export class DockerError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DockerError';
    this.status = status;
  }
}

export interface ContainerState {
  id: string;
  /** created, running, paused, restarting, removing, exited or dead */
  status: string;
  exitCode: number;
  /** the kernel killed it for going over its memory limit */
  oomKilled: boolean;
  labels: Record<string, string>;
}

/** What `POST /containers/create` takes; only the fields Baton sets. */
export interface ContainerConfig {
  Image: string;
  Cmd?: string[];
  Env?: string[];
  User?: string;
  Labels: Record<string, string>;
  AttachStdin: false;
  Tty: false;
  HostConfig: {
    NetworkMode: string;
    ReadonlyRootfs: boolean;
    NanoCpus?: number;
    Memory?: number;
  };
}

/** Where a DOCKER_HOST-style address points undici. */
export function parseDockerHost(host: string): { origin: string; socketPath?: string } {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (socketPath === '') throw new Error(`docker host ${host}: no socket path`);
    return { origin: 'http://docker', socketPath };
  }
  if (host.startsWith('tcp://') || host.startsWith('http://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    return { origin: url.origin };
  }
  throw new Error(
    `docker host ${JSON.stringify(host)}: expected unix:///path/to/docker.sock or tcp://HOST:PORT`,
  );
}

interface CallOptions {
  query?: Record<string, string>;
  body?: unknown;
  /** a raw request body (an image tarball) instead of JSON */
  raw?: { type: string; data: Buffer | Readable };
  signal?: AbortSignal;
  /** no header or body timeout: the answer comes when a container ends */
  unbounded?: boolean;
}

export class DockerEngine {
  readonly host: string;
  readonly #origin: string;
  readonly #agent: Agent;

  constructor(host: string) {
    this.host = host;
    const { origin, socketPath } = parseDockerHost(host);
    this.#origin = origin;
    this.#agent = new Agent(socketPath === undefined ? {} : { connect: { socketPath } });
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #request(
    method: Dispatcher.HttpMethod,
    path: string,
    options: CallOptions = {},
  ): Promise<Dispatcher.ResponseData> {
    const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
    const what = `${method} ${path}`;
    try {
      return await this.#agent.request({
        origin: this.#origin,
        path: path + query,
        method,
        signal: options.signal,
        headers: options.raw
          ? { 'content-type': options.raw.type }
          : options.body === undefined
            ? {}
            : { 'content-type': 'application/json' },
        body: options.raw
          ? options.raw.data
          : options.body === undefined
            ? undefined
            : JSON.stringify(options.body),
        headersTimeout: options.unbounded ? 0 : 120_000,
        bodyTimeout: options.unbounded ? 0 : 120_000,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new DockerError(
        `docker daemon at ${this.host}: ${what}: ${(err as Error).message}`,
        0,
        { cause: err },
      );
    }
  }

  /** A call answered with JSON (or nothing); other statuses throw with the daemon's message. */
  async #call<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    expect: readonly number[],
    options: CallOptions = {},
  ): Promise<{ status: number; body: T }> {
    const res = await this.#request(method, path, options);
    const text = await res.body.text();
    if (!expect.includes(res.statusCode)) {
      throw new DockerError(
        daemonMessage(text) || `${method} ${path}: ${res.statusCode}`,
        res.statusCode,
      );
    }
    return { status: res.statusCode, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  /** Whether the daemon answers `GET /_ping` with OK. */
  async ping(signal?: AbortSignal): Promise<boolean> {
    try {
      const res = await this.#request('GET', '/_ping', { signal });
      const text = await res.body.text();
      return res.statusCode === 200 && text === 'OK';
    } catch {
      return false;
    }
  }

  async imageExists(image: string): Promise<boolean> {
    const { status } = await this.#call(
      'GET',
      `/images/${encodeURIComponent(image)}/json`,
      [200, 404],
    );
    return status === 200;
  }

  /**
   * Pulls `image` from its registry. The daemon answers 200 at once and reports progress, and
   * failures, as JSON lines in the body: a line with `error` fails the pull.
   */
  async pull(image: string, signal?: AbortSignal): Promise<void> {
    const res = await this.#request('POST', '/images/create', {
      query: { fromImage: image },
      signal,
      unbounded: true,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new DockerError(daemonMessage(text), res.statusCode);
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let event: { error?: string; errorDetail?: { message?: string } };
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      if (event.error) throw new DockerError(event.errorDetail?.message ?? event.error, 500);
    }
  }

  /** Imports a root filesystem tarball as `repo:tag` (no registry involved). */
  async importImage(tarball: Buffer, repo: string, tag: string): Promise<void> {
    const res = await this.#request('POST', '/images/create', {
      query: { fromSrc: '-', repo, tag },
      raw: { type: 'application/x-tar', data: tarball },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 || text.includes('"error"')) {
      throw new DockerError(`importing ${repo}:${tag}: ${daemonMessage(text)}`, res.statusCode);
    }
  }

  /** Creates a container named `name`; a name already taken answers 409 (DockerError). */
  async create(name: string, config: ContainerConfig): Promise<string> {
    const { body } = await this.#call<{ Id: string }>('POST', '/containers/create', [201], {
      query: { name },
      body: config,
    });
    return body.Id;
  }

  async start(id: string): Promise<void> {
    // 304: already started
    await this.#call('POST', `/containers/${encodeURIComponent(id)}/start`, [204, 304]);
  }

  /** The container's state, or undefined when there is no such container. */
  async inspect(id: string): Promise<ContainerState | undefined> {
    const { status, body } = await this.#call<{
      Id: string;
      State: { Status: string; ExitCode: number; OOMKilled?: boolean };
      Config: { Labels: Record<string, string> | null };
    }>('GET', `/containers/${encodeURIComponent(id)}/json`, [200, 404]);
    if (status === 404) return undefined;
    return {
      id: body.Id,
      status: body.State.Status,
      exitCode: body.State.ExitCode,
      oomKilled: body.State.OOMKilled === true,
      labels: body.Config.Labels ?? {},
    };
  }

  /** Containers (running or not) carrying `label` (`key` or `key=value`). */
  async list(label: string): Promise<ContainerState[]> {
    const { body } = await this.#call<
      { Id: string; State: string; Labels: Record<string, string> | null }[]
    >('GET', '/containers/json', [200], {
      query: { all: '1', filters: JSON.stringify({ label: [label] }) },
    });
    // the list has no exit code; inspect gives it when needed
    return body.map((c) => ({
      id: c.Id,
      status: c.State,
      exitCode: -1,
      oomKilled: false,
      labels: c.Labels ?? {},
    }));
  }

  /**
   * The container's stdout and stderr from its start, following until it ends. The stream of
   * a container without a TTY is multiplexed: see demux.ts.
   */
  async logs(id: string, follow: boolean, signal?: AbortSignal): Promise<Readable> {
    const res = await this.#request('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: { follow: follow ? '1' : '0', stdout: '1', stderr: '1' },
      signal,
      unbounded: true,
    });
    if (res.statusCode !== 200) {
      throw new DockerError(daemonMessage(await res.body.text()), res.statusCode);
    }
    return res.body;
  }

  /** Resolves with the exit code once the container has stopped. */
  async wait(id: string, signal?: AbortSignal): Promise<number> {
    const { body } = await this.#call<{ StatusCode: number }>(
      'POST',
      `/containers/${encodeURIComponent(id)}/wait`,
      [200],
      { query: { condition: 'not-running' }, signal, unbounded: true },
    );
    return body.StatusCode;
  }

  /** Sends `signal` (a name such as SIGUSR1) to the container's main process. */
  async kill(id: string, signal: string): Promise<void> {
    await this.#call('POST', `/containers/${encodeURIComponent(id)}/kill`, [204], {
      query: { signal },
    });
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (the daemon keeps the time). */
  async stop(id: string, graceSeconds: number): Promise<void> {
    // 304: already stopped; 404: already gone
    await this.#call('POST', `/containers/${encodeURIComponent(id)}/stop`, [204, 304, 404], {
      query: { t: String(graceSeconds) },
      unbounded: true,
    });
  }

  /** Removes the container, killing it if it still runs; a missing one is not an error. */
  async remove(id: string): Promise<void> {
    await this.#call('DELETE', `/containers/${encodeURIComponent(id)}`, [204, 404], {
      query: { force: '1', v: '1' },
    });
  }
}

/** The daemon's `{"message": ...}`, or the text itself. */
function daemonMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 500);
}
