/**
 * Secret arguments, masked on the way out of the API. Args are `KEY=VALUE` strings; an arg is
 * secret when its KEY is listed in the node's `secrets` field or matches `SECRET_KEY`
 * (password, secret, token, api key, private key, in any case). The stored document keeps the
 * real value, so dispatch sends it to the executor unchanged; only answers and logs mask it:
 *
 * - args: `password=hunter2` is answered as `password=***` (GET, DELETE and retry answers);
 * - outputs whose name is secret by the same rule: `***`;
 * - the literal values of a node's secret args (4 characters or more: shorter ones would
 *   garble text and are guessable anyway) are replaced by `***` in that node's `error`, in
 *   its state events and in its captured log; the run's `error` is scrubbed of all of them;
 * - run inputs (`values`, input defaults) whose name looks secret, or whose value went into a
 *   secret arg, are `***`; the values of the former are scrubbed from every arg too;
 * - log lines (`redactingLogger`): credentials and `args`/`document`/`body` fields are
 *   redacted by path, and secret-looking `KEY=VALUE` assignments scrubbed from every string,
 *   request URLs included (the logger cannot know a run's `secrets` list).
 *
 * A false positive (`bypass=1`) only hides a value from API answers; it never changes what
 * runs. A value that is not `KEY=VALUE` cannot be recognised: pass secrets as `KEY=VALUE`.
 * `KEY=get_attribute NODE:ATTR` is masked too when KEY is secret (what it resolves to is).
 */
import type { Logger } from 'pino';
import type { RunEvent } from '../orchestrator/bus.ts';

/** KEYs whose values are secret without being listed in `secrets`. */
export const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|private[_-]?key/i;
export const MASK = '***';
/** Values shorter than this are masked in args but not searched for in free text. */
export const MIN_SCRUBBED_LENGTH = 4;

/**
 * Log fields that must never be written as they are: credentials in request headers, and any
 * document, node or args a log line might carry. Used as pino `redact` paths.
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'headers.authorization',
  'authorization',
  'token',
  'args',
  '*.args',
  'node.args',
  'nodes[*].args',
  'document',
  '*.document',
  'body',
  '*.body',
];

/**
 * `KEY=VALUE` with a secret-looking KEY inside free text, e.g. an error that quotes an arg
 * (`got "password=hunter2"`). The log cannot know a run's `secrets` list, so log lines are
 * scrubbed by this pattern; API answers are scrubbed by value (`scrub`).
 */
const SECRET_ASSIGNMENT =
  /([\w.-]*(?:pass(?:word)?|secret|token|api[_-]?key|private[_-]?key)[\w.-]*)(=|%3D)([^\s"'`&,;)}\]]+)/gi;

/** `text` with the value of every secret-looking `KEY=VALUE` replaced by `***`. */
export function scrubAssignments(text: string): string {
  return text.replace(SECRET_ASSIGNMENT, (_match, key: string, eq: string) => `${key}${eq}${MASK}`);
}

/**
 * A log line's fields with secret-looking assignments scrubbed from their strings: top-level
 * strings, the strings of plain objects and arrays (two levels down) and error messages.
 * Other objects (requests, replies) are left to their serializers, which keep no secrets.
 */
function scrubLogFields(object: object): object {
  const fields = object as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    const clean = scrubValue(value, 2);
    if (clean !== value) {
      out ??= { ...fields };
      out[key] = clean;
    }
  }
  return out ?? fields;
}

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return /=|%3D/i.test(value) ? scrubAssignments(value) : value;
  if (value === null || typeof value !== 'object' || depth === 0) return value;
  if (value instanceof Error) {
    const message = scrubAssignments(value.message);
    const stack = value.stack === undefined ? undefined : scrubAssignments(value.stack);
    if (message === value.message && stack === value.stack) return value;
    // the same class (the err serializer reports its name), without the secret
    return Object.assign(Object.create(Object.getPrototypeOf(value)), value, { message, stack });
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = scrubValue(item, depth - 1);
      if (clean !== item) {
        copy ??= value.slice();
        copy[i] = clean;
      }
    });
    return copy ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const fields = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    const clean = scrubValue(fields[key], depth - 1);
    if (clean !== fields[key]) {
      copy ??= { ...fields };
      copy[key] = clean;
    }
  }
  return copy ?? value;
}

/**
 * A child of `logger` that censors `REDACTED_LOG_PATHS` (pino redaction) and scrubs
 * secret-looking `KEY=VALUE` assignments from the strings of every line (`scrubAssignments`).
 * The API and the orchestrator log through it.
 */
export function redactingLogger(logger: Logger): Logger {
  return logger.child(
    {},
    {
      redact: { paths: REDACTED_LOG_PATHS, censor: MASK },
      formatters: { log: scrubLogFields },
      // Fastify's request serializer, with the URL scrubbed (`?input=password=...`); Fastify
      // lets the logger's own serializers win over its defaults
      serializers: { req: requestForLog },
    },
  );
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

function requestForLog(req: LoggedRequest) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? scrubAssignments(req.url) : req.url,
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** The KEYs a node lists in `secrets`, read defensively from a stored document's node. */
export function listedSecrets(node: unknown): ReadonlySet<string> {
  const listed = (node as { secrets?: unknown } | null)?.secrets;
  if (!Array.isArray(listed)) return EMPTY;
  return new Set(listed.filter((key): key is string => typeof key === 'string'));
}

const EMPTY: ReadonlySet<string> = new Set();

export function isSecretKey(key: string, listed: ReadonlySet<string>): boolean {
  return listed.has(key) || SECRET_KEY.test(key);
}

/** What one node hides: its args masked, and the values to scrub from its texts. */
export interface NodeSecrets {
  args: string[];
  /** literal values of secret args, longest first, at least MIN_SCRUBBED_LENGTH long */
  values: string[];
  listed: ReadonlySet<string>;
}

export function nodeSecrets(node: unknown): NodeSecrets {
  const raw = (node as { args?: unknown } | null)?.args;
  const args = Array.isArray(raw) ? (raw as unknown[]) : [];
  const listed = listedSecrets(node);
  const values: string[] = [];
  let masked: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg !== 'string') continue;
    const eq = arg.indexOf('=');
    if (eq <= 0 || !isSecretKey(arg.slice(0, eq), listed)) continue;
    masked ??= (args as string[]).slice();
    masked[i] = `${arg.slice(0, eq)}=${MASK}`;
    const value = arg.slice(eq + 1);
    if (value.length >= MIN_SCRUBBED_LENGTH && !value.startsWith('get_attribute ')) {
      values.push(value);
    }
  }
  values.sort((a, b) => b.length - a.length);
  return { args: masked ?? (args as string[]), values, listed };
}

/** The scrubbed values of several nodes, longest first (for run-level texts). */
export function valuesOf(nodes: readonly NodeSecrets[]): string[] {
  const all = new Set<string>();
  for (const node of nodes) for (const value of node.values) all.add(value);
  return [...all].sort((a, b) => b.length - a.length);
}

/** `text` with every one of `values` replaced by `***`. */
export function scrub(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) if (out.includes(value)) out = out.replaceAll(value, MASK);
  return out;
}

/** Outputs with secret names replaced by `***` (empty ones stay empty: nothing to hide). */
export function maskOutputs(
  output: Record<string, string>,
  listed: ReadonlySet<string>,
): Record<string, string> {
  let masked: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(output)) {
    if (value !== '' && isSecretKey(key, listed)) {
      masked ??= { ...output };
      masked[key] = MASK;
    }
  }
  return masked ?? output;
}

interface InputsDocument {
  nodes?: unknown;
  values?: Record<string, string>;
  inputs?: Record<string, { default?: string; description?: string }>;
}

/**
 * The secrets of a run document (the stored JSON text, or parsed), computed once per answer
 * or stream and per node only when asked for. Run inputs (`{{inputs.NAME}}`, substituted into
 * the args at submission) are secret when their name looks secret (`SECRET_KEY`): their values
 * are then scrubbed from every node's args and texts. In `values` and input defaults, a value
 * is also masked when it went into a secret arg (`password={{inputs.db}}`).
 */
export class RunSecrets {
  readonly #document: InputsDocument;
  readonly #nodes: unknown[];
  readonly #cache: Array<NodeSecrets | undefined>;
  /** values of inputs with secret names, longest first */
  readonly #inputValues: string[];
  #all: string[] | undefined;

  constructor(document: string | object) {
    const parsed = typeof document === 'string' ? (JSON.parse(document) as unknown) : document;
    this.#document = parsed !== null && typeof parsed === 'object' ? parsed : {};
    const nodes = this.#document.nodes;
    this.#nodes = Array.isArray(nodes) ? nodes : [];
    this.#cache = new Array(this.#nodes.length);
    const secret = new Set<string>();
    const add = (name: string, value: unknown) => {
      if (
        typeof value === 'string' &&
        value.length >= MIN_SCRUBBED_LENGTH &&
        SECRET_KEY.test(name)
      ) {
        secret.add(value);
      }
    };
    for (const [name, value] of Object.entries(this.#document.values ?? {})) add(name, value);
    for (const [name, input] of Object.entries(this.#document.inputs ?? {}))
      add(name, input?.default);
    this.#inputValues = [...secret].sort((a, b) => b.length - a.length);
  }

  node(index: number): NodeSecrets {
    let secrets = this.#cache[index];
    if (secrets === undefined) {
      secrets = nodeSecrets(this.#nodes[index]);
      if (this.#inputValues.length > 0) {
        const { args, values, listed } = secrets;
        const scrubbed = args.map((arg) => scrub(arg, this.#inputValues));
        secrets = {
          args: scrubbed.some((arg, i) => arg !== args[i]) ? scrubbed : args,
          values: [...new Set([...values, ...this.#inputValues])].sort(
            (a, b) => b.length - a.length,
          ),
          listed,
        };
      }
      this.#cache[index] = secrets;
    }
    return secrets;
  }

  /** Every node's scrubbed values, for run-level texts. */
  allValues(): string[] {
    this.#all ??= valuesOf(this.#nodes.map((_node, i) => this.node(i)));
    return this.#all;
  }

  /** The document's `values` and `inputs`, masked; only the fields it has. */
  inputs(): { values?: Record<string, string>; inputs?: InputsDocument['inputs'] } {
    const { values, inputs } = this.#document;
    if (values === undefined && inputs === undefined) return {};
    const secretValues = this.allValues();
    return {
      ...(values !== undefined ? { values: maskInputValues(values, secretValues) } : {}),
      ...(inputs !== undefined ? { inputs: maskInputDefaults(inputs, secretValues) } : {}),
    };
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }
}

/**
 * What scrubs a run's state events, keeping only the secret values (the SSE stream lives as
 * long as the run, and must not hold on to a large document); null when the document has
 * none, which a quick look at its text usually tells without parsing it.
 */
export function eventScrubber(document: string): ((event: RunEvent) => RunEvent) | null {
  if (!SECRET_KEY.test(document) && !document.includes('"secrets"')) return null;
  const secrets = new RunSecrets(document);
  const all = secrets.allValues();
  if (all.length === 0) return null;
  const byNode = new Map<number, string[]>();
  for (let i = 0; i < secrets.nodeCount; i++) {
    const { values } = secrets.node(i);
    if (values.length > 0) byNode.set(i, values);
  }
  return (event) => {
    if (event.error === undefined || event.error === '') return event;
    const values = event.node === undefined ? all : byNode.get(event.node);
    if (values === undefined) return event;
    const error = scrub(event.error, values);
    return error === event.error ? event : { ...event, error };
  };
}

/** `values` with the secret ones (see RunSecrets) replaced by `***`. */
export function maskInputValues(
  values: Record<string, string>,
  secretValues: readonly string[],
): Record<string, string> {
  let masked: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(values)) {
    if (isSecretInput(name, value, secretValues)) {
      masked ??= { ...values };
      masked[name] = MASK;
    }
  }
  return masked ?? values;
}

/** Input declarations with the secret defaults replaced by `***`. */
export function maskInputDefaults<T extends { default?: string }>(
  inputs: Record<string, T>,
  secretValues: readonly string[],
): Record<string, T> {
  let masked: Record<string, T> | undefined;
  for (const [name, input] of Object.entries(inputs)) {
    if (input?.default !== undefined && isSecretInput(name, input.default, secretValues)) {
      masked ??= { ...inputs };
      masked[name] = { ...input, default: MASK };
    }
  }
  return masked ?? inputs;
}

function isSecretInput(name: string, value: string, secretValues: readonly string[]): boolean {
  if (value === '') return false;
  if (SECRET_KEY.test(name)) return true;
  return value.length >= MIN_SCRUBBED_LENGTH && secretValues.some((s) => s.includes(value));
}

/**
 * A stored document (JSON text) as an answer may show it: every node's args masked, and its
 * run inputs (for answers that show a document without a run, such as a schedule's).
 */
export function maskedDocument(text: string): Record<string, unknown> {
  const document = JSON.parse(text) as Record<string, unknown> & { nodes?: unknown };
  const secrets = new RunSecrets(document);
  const nodes = Array.isArray(document.nodes) ? (document.nodes as unknown[]) : undefined;
  return {
    ...document,
    ...secrets.inputs(),
    ...(nodes
      ? {
          nodes: nodes.map((node, i) =>
            node !== null && typeof node === 'object'
              ? { ...node, args: secrets.node(i).args }
              : node,
          ),
        }
      : {}),
  };
}
