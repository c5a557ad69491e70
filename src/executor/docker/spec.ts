/**
 * From a node to the container the docker driver creates: image, command, environment,
 * limits, labels. Documents are checked when submitted (graph/schema.ts), but an executor
 * takes nodes from any client, so everything is checked again here and a bad field fails
 * the task with a message naming it.
 */
import type { GorchNode } from '../../graph/model.ts';
import type { ContainerConfig } from './engine.ts';

/** Labels on every container Baton creates; a restarted executor finds its own by them. */
export const LABEL_TASK = 'baton.task';
export const LABEL_KEY = 'baton.idempotency-key';
export const LABEL_RUN = 'baton.run';
export const LABEL_NODE = 'baton.node';
export const LABEL_NODE_NAME = 'baton.node-name';

export const PULL_POLICIES = ['if-not-present', 'always', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** Network modes that would share the host's or another container's namespaces. */
const SHARED_NETWORKS = /^(host|container:.*)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MEMORY = /^([0-9]+(?:\.[0-9]+)?)([kmg]?)b?$/i;
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export class SpecError extends Error {}

export interface ContainerSpec {
  image: string;
  pull: PullPolicy;
  config: ContainerConfig;
}

/** `"256m"` → bytes; binary units k, m, g (as `docker run --memory`), optional trailing b. */
export function parseMemory(text: string): number | undefined {
  const match = MEMORY.exec(text.trim());
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2].toLowerCase()]);
  return bytes > 0 ? bytes : undefined;
}

/** The reference an allowlist pattern is matched against: the tag `latest` when none given. */
export function normalizeImage(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  return image.indexOf(':', lastSlash + 1) === -1 ? `${image}:latest` : image;
}

/**
 * Whether `image` matches one of `patterns` (an empty list allows any image). A pattern is
 * matched against the whole reference with its tag; `*` matches any run of characters,
 * `/` and `:` included, so `registry.example/*` allows every image of that registry.
 */
export function imageAllowed(image: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const ref = normalizeImage(image);
  return patterns.some((pattern) => globToRegExp(pattern).test(ref));
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/**
 * The container for `node`: its args are the command (argv, no shell), except `KEY=VALUE`
 * args whose KEY the node lists in `env`, which become environment variables wherever they
 * stand. No args left: the image's own command runs.
 */
export function containerSpec(node: GorchNode, labels: Record<string, string>): ContainerSpec {
  const image = node.artifact;
  if (image === '' || /\s/.test(image)) {
    throw new SpecError(
      `artifact: expected an image reference such as "alpine:3.20", got ${JSON.stringify(image)}`,
    );
  }
  const envNames = new Set(node.env ?? []);
  for (const name of envNames) {
    if (!ENV_NAME.test(name)) {
      throw new SpecError(
        `env: expected variable names (letters, digits, _), got ${JSON.stringify(name)}`,
      );
    }
  }
  const cmd: string[] = [];
  const env: string[] = [];
  for (const arg of node.args) {
    const eq = arg.indexOf('=');
    if (eq > 0 && envNames.has(arg.slice(0, eq))) env.push(arg);
    else cmd.push(arg);
  }

  const options = node.container ?? {};
  const pull = options.pull ?? 'if-not-present';
  if (!PULL_POLICIES.includes(pull)) {
    throw new SpecError(
      `container.pull: expected one of ${PULL_POLICIES.join(', ')}, got ${JSON.stringify(pull)}`,
    );
  }
  const network = options.network ?? 'none';
  if (typeof network !== 'string' || network === '' || SHARED_NETWORKS.test(network)) {
    throw new SpecError(
      `container.network: expected "none" (the default), "bridge" or a network name; ` +
        `host and container: modes are refused, got ${JSON.stringify(network)}`,
    );
  }
  const config: ContainerConfig = {
    Image: image,
    Labels: labels,
    AttachStdin: false,
    Tty: false,
    HostConfig: { NetworkMode: network, ReadonlyRootfs: options.read_only === true },
  };
  if (cmd.length > 0) config.Cmd = cmd;
  if (env.length > 0) config.Env = env;
  if (options.user !== undefined) {
    if (typeof options.user !== 'string' || options.user === '') {
      throw new SpecError(
        `container.user: expected a user such as "1000" or "1000:1000", got ${JSON.stringify(options.user)}`,
      );
    }
    config.User = options.user;
  }

  const { cpus, memory } = node.resources ?? {};
  if (cpus !== undefined) {
    if (typeof cpus !== 'number' || !(cpus > 0)) {
      throw new SpecError(`resources.cpus: expected a number > 0, got ${JSON.stringify(cpus)}`);
    }
    config.HostConfig.NanoCpus = Math.round(cpus * 1e9);
  }
  if (memory !== undefined) {
    const bytes = typeof memory === 'string' ? parseMemory(memory) : undefined;
    if (bytes === undefined) {
      throw new SpecError(
        `resources.memory: expected a size such as "256m" (units k, m, g), got ${JSON.stringify(memory)}`,
      );
    }
    config.HostConfig.Memory = bytes;
  }
  return { image, pull, config };
}

/** The labels of a task's container: the executor's task id, the key, and where it comes from. */
export function taskLabels(taskId: string, key: string, node: GorchNode): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL_TASK]: taskId,
    [LABEL_KEY]: key,
    [LABEL_NODE]: String(node.id),
    [LABEL_NODE_NAME]: node.name,
  };
  // an orchestrator's key is RUN/NODE/ATTEMPT/STARTED
  const parts = key.split('/');
  if (parts.length === 4) labels[LABEL_RUN] = parts[0];
  return labels;
}
