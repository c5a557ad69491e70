/**
 * Secrets, masked on the way out of the API and scrubbed from every text that leaves the
 * service. Args are `KEY=VALUE` strings; an arg is secret when its KEY is listed in the node's
 * `secrets` field or matches `SECRET_KEY` (password, pass, *_pwd, secret, token, credential(s),
 * api key, private key, access key, *_key, database_url, in any case). The stored document
 * keeps the real value, so dispatch sends it to the executor unchanged; only what comes out
 * is masked:
 *
 * - args: `password=hunter2` is answered as `password=***` (GET, DELETE and retry answers);
 *   the password of a URL with userinfo, in any arg or output, as `postgres://app:***@db`;
 * - outputs whose name is secret by the same rule: `***`; an output a secret arg reads
 *   (`password=get_attribute db:addr`) becomes a secret value too;
 * - a run's secret values (4 characters or more: shorter ones would garble text and are
 *   guessable anyway) are those of its secret args, inputs and outputs; each is replaced by
 *   `***` in every node `error`, state event, node log and run `error` of the run. The
 *   orchestrator scrubs a node's error before it is recorded (`attemptErrorScrubbed`), so the
 *   stored error, its state event and its log line never carry the value either;
 * - run inputs (`values`, input defaults) whose name looks secret, or whose value went into a
 *   secret arg, are `***`; the values of the former are scrubbed from every arg too;
 * - log lines (`redactingLogger`): credentials and `args`/`document`/`body` fields are
 *   redacted by path, secret-looking `KEY=VALUE` assignments and URL passwords scrubbed from
 *   every string (the logger cannot know a run's `secrets` list), and request URLs logged
 *   with every `input=NAME=VALUE` value masked.
 *
 * A false positive (`bypass=1`) only hides a value from answers; it never changes what runs.
 * A value that is not `KEY=VALUE` cannot be recognised: pass secrets as `KEY=VALUE`.
 * `KEY=get_attribute NODE:ATTR` is masked too when KEY is secret (what it resolves to is).
 */
import type { Logger } from 'pino';
import type { GorchNode, Graph } from '../graph/model.ts';
import type { RunEvent } from '../orchestrator/bus.ts';

/** Names (arg KEYs, outputs, inputs) whose values are secret without being listed. */
export const SECRET_KEY =
  /pass|(?:^|[_.-])pwd(?![a-z])|secret|token|credential|api[_-]?key|private[_-]?key|access[_-]?key|[_.-]key(?![a-z])|database[_-]?url/i;
export const MASK = '***';
/** Values shorter than this are masked in args but not searched for in free text. */
export const MIN_SCRUBBED_LENGTH = 4;

/**
 * Log fields that must never be written as they are: credentials in request headers, and any
 * document, node or args a log line might carry, as pino `redact` paths would name them
 * (`*` any top-level field). `censorLogFields` censors exactly these, without pino's `redact`:
 * its wildcard paths cost ~15 µs a line, more than the rest of the line, and the server writes
 * a dozen lines a run.
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

/** Characters of a KEY in free text; a longer run is cut to its last MAX_KEY_LENGTH. */
const KEY_CHAR = /[\w.-]/;
const MAX_KEY_LENGTH = 128;
const ASSIGN = /=|%3D/gi;
/** a value in free text ends at a space, a quote, a separator or a closing bracket */
const VALUE = /[^\s"'`&,;)}\]]*/y;

/**
 * `text` with the value of every secret-looking `KEY=VALUE` (or `KEY%3DVALUE`) replaced by
 * `***`, e.g. in an error that quotes an arg (`got "password=hunter2"`). The log cannot know
 * a run's `secrets` list, so log lines are scrubbed by name; answers also by value (`Scrubber`).
 * Linear in the text: it looks for `=` and reads the KEY backwards from there.
 */
export function scrubAssignments(text: string): string {
  if (!text.includes('=') && !/%3D/i.test(text)) return text;
  let out = '';
  let last = 0;
  ASSIGN.lastIndex = 0;
  for (let m = ASSIGN.exec(text); m !== null; m = ASSIGN.exec(text)) {
    let start = m.index;
    while (start > 0 && m.index - start < MAX_KEY_LENGTH && KEY_CHAR.test(text[start - 1])) start--;
    if (start === m.index || !SECRET_KEY.test(text.slice(start, m.index))) continue;
    const valueAt = m.index + m[0].length;
    VALUE.lastIndex = valueAt;
    const end = valueAt + (VALUE.exec(text)?.[0].length ?? 0);
    if (end === valueAt) continue;
    out += `${text.slice(last, valueAt)}${MASK}`;
    last = end;
    ASSIGN.lastIndex = end;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Where the password of each `scheme://user:password@host` in `text` is, as [start, end). */
function userinfoPasswords(text: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (let at = text.indexOf('://'); at !== -1; at = text.indexOf('://', at + 3)) {
    // userinfo ends at the first `@`, and cannot hold a space or a `/?#` (those end the host)
    let end = at + 3;
    while (end < text.length && !' \t\n\r/?#@"\''.includes(text[end])) end++;
    if (text[end] !== '@') continue;
    const colon = text.indexOf(':', at + 3);
    if (colon !== -1 && colon + 1 < end) found.push([colon + 1, end]);
  }
  return found;
}

/** `text` with the password of every URL with userinfo replaced by `***`. */
export function scrubUrlPasswords(text: string): string {
  const found = userinfoPasswords(text);
  if (found.length === 0) return text;
  let out = '';
  let last = 0;
  for (const [start, end] of found) {
    out += `${text.slice(last, start)}${MASK}`;
    last = end;
  }
  return out + text.slice(last);
}

/** What a text shows of secrets it was not told about: assignments and URL passwords. */
export function scrubText(text: string): string {
  return scrubUrlPasswords(scrubAssignments(text));
}

/** The URL passwords in `text` long enough to be searched for elsewhere. */
function urlPasswordsIn(text: string): string[] {
  return userinfoPasswords(text)
    .map(([start, end]) => text.slice(start, end))
    .filter((value) => value.length >= MIN_SCRUBBED_LENGTH);
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
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object' || depth === 0) return value;
  if (value instanceof Error) {
    const message = scrubText(value.message);
    const stack = value.stack === undefined ? undefined : scrubText(value.stack);
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

/** Censored wherever they are a top-level field (`args`), or a field of one (`*.args`). */
const CENSORED_ANYWHERE = ['args', 'document', 'body'];
const CENSORED_TOP = new Set([...CENSORED_ANYWHERE, 'authorization', 'token']);
const CENSORED_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * A log line's fields (or a child logger's bindings) with every `REDACTED_LOG_PATHS` field
 * replaced by `***`: a copy where something was censored, the same object otherwise. Errors
 * and other objects keep their class (the err serializer reports it).
 */
export function censorLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined || value === MASK) continue;
    let clean: unknown = value;
    if (CENSORED_TOP.has(key)) clean = MASK;
    else if (value !== null && typeof value === 'object') {
      clean = censorKeys(value, CENSORED_ANYWHERE);
      if (key === 'headers') clean = censorKeys(clean as object, ['authorization']);
      if (key === 'req') {
        const headers = (clean as { headers?: unknown }).headers;
        if (headers !== null && typeof headers === 'object') {
          const censored = censorKeys(headers, CENSORED_HEADERS);
          if (censored !== headers) clean = { ...copyOf(clean as object), headers: censored };
        }
      }
      if (key === 'nodes' && Array.isArray(value)) {
        const nodes = value.map((node: unknown) =>
          node !== null && typeof node === 'object' ? censorKeys(node, ['args']) : node,
        );
        if (nodes.some((node, i) => node !== value[i])) clean = nodes;
      }
    }
    if (clean !== value) {
      out ??= { ...fields };
      out[key] = clean;
    }
  }
  return out ?? fields;
}

/** `value`, or a copy of it with those of `keys` it has set to `***`. */
function censorKeys(value: object, keys: readonly string[]): object {
  if (Array.isArray(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of keys) {
    const field = (value as Record<string, unknown>)[key];
    if (!Object.hasOwn(value, key) || field === undefined || field === MASK) continue;
    copy ??= copyOf(value);
    copy[key] = MASK;
  }
  return copy ?? value;
}

/** A shallow copy that keeps the class, and an error's message and stack. */
function copyOf(value: object): Record<string, unknown> {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(value)), value);
  if (value instanceof Error) Object.assign(copy, { message: value.message, stack: value.stack });
  return copy;
}

/**
 * A child of `logger` that censors `REDACTED_LOG_PATHS` (`censorLogFields`) and scrubs
 * secret-looking `KEY=VALUE` assignments from the strings of every line (`scrubAssignments`).
 * The API and the orchestrator log through it. The bindings of its children (and theirs:
 * pino children inherit `child` from their parent) are censored as they are bound.
 */
export function redactingLogger(logger: Logger): Logger {
  const redacting = logger.child(
    {},
    {
      formatters: {
        log: (fields) => scrubLogFields(censorLogFields(fields as Record<string, unknown>)),
      },
      // Fastify's request serializer, with the URL scrubbed (`?input=password=...`); Fastify
      // lets the logger's own serializers win over its defaults
      serializers: { req: requestForLog },
    },
  );
  type Child = (this: Logger, bindings: Record<string, unknown>, options?: object) => Logger;
  const child = redacting.child as unknown as Child;
  const censoring: Child = function (bindings, options) {
    return child.call(this, censorLogFields(bindings), options);
  };
  redacting.child = censoring as unknown as Logger['child'];
  return redacting;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

/**
 * A request URL as the log shows it: every `input=NAME=VALUE` has its VALUE masked (a run
 * input may be secret under any name), then secret-looking assignments and URL passwords.
 */
export function urlForLog(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return scrubText(url);
  const params = url
    .slice(query + 1)
    .split('&')
    .map((param) => {
      const name = param.match(/^input(?:=|%3D)/i);
      if (!name) return param;
      const value = param.slice(name[0].length);
      const eq = value.search(/=|%3D/i);
      if (eq === -1) return `${name[0]}${MASK}`;
      const sign = value.startsWith('=', eq) ? '=' : value.slice(eq, eq + 3);
      return `${name[0]}${value.slice(0, eq)}${sign}${MASK}`;
    });
  return scrubText(`${url.slice(0, query)}?${params.join('&')}`);
}

function requestForLog(req: LoggedRequest) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? urlForLog(req.url) : req.url,
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
  /** literal values of secret args and URL passwords, longest first, MIN_SCRUBBED_LENGTH+ */
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
    if (eq <= 0 || !isSecretKey(arg.slice(0, eq), listed)) {
      // not secret by name, but a URL's password is
      const shown = scrubUrlPasswords(arg);
      if (shown !== arg) {
        masked ??= (args as string[]).slice();
        masked[i] = shown;
        values.push(...urlPasswordsIn(arg));
      }
      continue;
    }
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

/** Up to this many values, a text is searched once per value; past it, through an index. */
const FEW_VALUES = 16;

/**
 * Scrubs a run's secret values from texts (errors, logs), then what `scrubText` finds. With
 * many values (a large run with a secret per node) it indexes them by their first characters
 * and reads the text once, so the cost stays linear in the text, not text × values.
 */
export class Scrubber {
  /** longest first, so a value that contains another is replaced whole */
  readonly values: readonly string[];
  readonly #byPrefix: Map<string, string[]> | undefined;

  constructor(values: Iterable<string>) {
    this.values = [...new Set(values)]
      .filter((value) => value.length >= MIN_SCRUBBED_LENGTH)
      .sort((a, b) => b.length - a.length);
    if (this.values.length > FEW_VALUES) {
      this.#byPrefix = new Map();
      for (const value of this.values) {
        const prefix = value.slice(0, MIN_SCRUBBED_LENGTH);
        const list = this.#byPrefix.get(prefix);
        if (list) list.push(value);
        else this.#byPrefix.set(prefix, [value]);
      }
    }
  }

  scrub(text: string): string {
    return scrubText(this.#scrubValues(text));
  }

  #scrubValues(text: string): string {
    const index = this.#byPrefix;
    if (index === undefined) return scrub(text, this.values);
    let out = '';
    let last = 0;
    for (let i = 0; i + MIN_SCRUBBED_LENGTH <= text.length; ) {
      const found = index
        .get(text.slice(i, i + MIN_SCRUBBED_LENGTH))
        ?.find((value) => text.startsWith(value, i));
      if (found === undefined) {
        i++;
        continue;
      }
      out += `${text.slice(last, i)}${MASK}`;
      i += found.length;
      last = i;
    }
    return last === 0 ? text : out + text.slice(last);
  }
}

/**
 * Outputs as answers show them: secret names replaced by `***` (empty ones stay empty:
 * nothing to hide), URL passwords masked, and the other values scrubbed of the run's secrets.
 */
export function maskOutputs(
  output: Record<string, string>,
  listed: ReadonlySet<string>,
  scrubber?: Scrubber,
): Record<string, string> {
  let masked: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(output)) {
    if (value === '') continue;
    const shown = isSecretKey(key, listed)
      ? MASK
      : scrubber
        ? scrubber.scrub(value)
        : scrubUrlPasswords(value);
    if (shown !== value) {
      masked ??= { ...output };
      masked[key] = shown;
    }
  }
  return masked ?? output;
}

/** The secret values among a node's outputs: those with secret names, and URL passwords. */
export function outputSecrets(
  output: Readonly<Record<string, unknown>> | null | undefined,
  listed: ReadonlySet<string>,
): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(output ?? {})) {
    if (typeof value !== 'string') continue;
    if (isSecretKey(key, listed)) values.push(value);
    else values.push(...urlPasswordsIn(value));
  }
  return values;
}

/** The values of inputs with secret names (`values`, input defaults). */
function secretInputValues(document: InputsDocument): string[] {
  const secret: string[] = [];
  const add = (name: string, value: unknown) => {
    if (typeof value === 'string' && value.length >= MIN_SCRUBBED_LENGTH && SECRET_KEY.test(name))
      secret.push(value);
  };
  for (const [name, value] of Object.entries(document.values ?? {})) add(name, value);
  for (const [name, input] of Object.entries(document.inputs ?? {})) add(name, input?.default);
  return [...new Set(secret)].sort((a, b) => b.length - a.length);
}

/**
 * An attempt's error as the orchestrator records, publishes and logs it: scrubbed of the
 * secret values the node was given (its resolved args, the outputs it read under a secret
 * name, secret run inputs) and of those it produced (its secret outputs).
 */
export function attemptErrorScrubbed(
  graph: Graph,
  node: GorchNode,
  outputs: ReadonlyArray<Readonly<Record<string, string>> | undefined>,
  error: string,
): string {
  const values = [...nodeSecrets(node).values, ...secretInputValues(graph)];
  for (const ref of graph.refs.get(node.id) ?? []) {
    const value = outputs[ref.source]?.[ref.attribute];
    if (value !== undefined && isSecretKey(ref.attribute, listedSecrets(graph.nodes[ref.source])))
      values.push(value);
  }
  values.push(...outputSecrets(outputs[node.id], listedSecrets(node)));
  return new Scrubber(values).scrub(error);
}

interface InputsDocument {
  nodes?: unknown;
  values?: Record<string, string>;
  inputs?: Record<string, { default?: string; description?: string }>;
}

/** What a run's nodes hold at run time (store NodeRecords): their outputs. */
export type LiveOutputs = ReadonlyArray<{ output?: Record<string, string> | null } | undefined>;

/** `get_attribute NODE:ATTR`, NODE up to the last ':' as the parser reads it */
const GET_ATTRIBUTE = /^get_attribute[ \t]+(.+):([^:\s]+)\s*$/;

/**
 * The secrets of a run document (the stored JSON text, or parsed), computed once per answer
 * or stream and per node only when asked for. Run inputs (`{{inputs.NAME}}`, substituted into
 * the args at submission) are secret when their name looks secret (`SECRET_KEY`): their values
 * are then scrubbed from every node's args and texts. In `values` and input defaults, a value
 * is also masked when it went into a secret arg (`password={{inputs.db}}`). Given its nodes'
 * live records, the values of secret outputs join the run's secret values (`scrubber`).
 */
export class RunSecrets {
  readonly #document: InputsDocument;
  readonly #nodes: unknown[];
  readonly #live: LiveOutputs;
  readonly #cache: Array<NodeSecrets | undefined>;
  /** values of inputs with secret names, longest first */
  readonly #inputValues: string[];
  #all: string[] | undefined;
  #scrubber: Scrubber | undefined;

  constructor(document: string | object, live: LiveOutputs = []) {
    const parsed = typeof document === 'string' ? (JSON.parse(document) as unknown) : document;
    this.#document = parsed !== null && typeof parsed === 'object' ? parsed : {};
    const nodes = this.#document.nodes;
    this.#nodes = Array.isArray(nodes) ? nodes : [];
    this.#live = live;
    this.#cache = new Array(this.#nodes.length);
    this.#inputValues = secretInputValues(this.#document);
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

  /** Every node's scrubbed values from the document, for run-level texts. */
  allValues(): string[] {
    this.#all ??= valuesOf(this.#nodes.map((_node, i) => this.node(i)));
    return this.#all;
  }

  /**
   * Scrubs every secret value of the run, from its document and its nodes' live outputs,
   * from any of its texts: a secret reaches other nodes through `get_attribute`, so a node's
   * error or log may show another node's secret.
   */
  scrubber(): Scrubber {
    this.#scrubber ??= new Scrubber([...this.allValues(), ...this.#outputValues()]);
    return this.#scrubber;
  }

  /** Values of secret outputs, and of the outputs secret args read through get_attribute. */
  #outputValues(): string[] {
    const values: string[] = [];
    // by id: live records are, and a document lists its nodes in the order they came in
    const outputs: Array<Record<string, string>> = [];
    const ids: number[] = [];
    /** [node id, or name when the document does not say which node, attribute] */
    const readBySecretArg: Array<[number | unknown, string]> = [];
    this.#nodes.forEach((raw, i) => {
      const node = (raw ?? {}) as {
        id?: unknown;
        name?: unknown;
        output?: unknown;
        args?: unknown;
        get_attribute?: unknown;
      };
      const id = typeof node.id === 'number' ? node.id : i;
      ids.push(id);
      const declared = node.output !== null && typeof node.output === 'object' ? node.output : {};
      const output = { ...declared, ...this.#live[id]?.output } as Record<string, string>;
      outputs[id] = output;
      const listed = listedSecrets(node);
      values.push(...outputSecrets(output, listed));
      if (!Array.isArray(node.args)) return;
      const bound = Array.isArray(node.get_attribute)
        ? (node.get_attribute as Array<{ arg?: unknown; node?: unknown }>)
        : [];
      node.args.forEach((arg: unknown, a: number) => {
        if (typeof arg !== 'string') return;
        const eq = arg.indexOf('=');
        if (eq <= 0 || !isSecretKey(arg.slice(0, eq), listed)) return;
        const ref = GET_ATTRIBUTE.exec(arg.slice(eq + 1));
        if (!ref) return;
        // the node it was bound to at submission (a pattern need not be a name), else by name
        const source = bound.find((b) => b?.arg === a)?.node;
        readBySecretArg.push([typeof source === 'number' ? source : ref[1], ref[2]]);
      });
    });
    if (readBySecretArg.length > 0) {
      const byName = new Map<unknown, number>();
      for (let i = 0; i < this.#nodes.length; i++) {
        byName.set((this.#nodes[i] as { name?: unknown } | null)?.name, ids[i]);
      }
      for (const [source, attribute] of readBySecretArg) {
        const id = typeof source === 'number' ? source : byName.get(source);
        const value = id === undefined ? undefined : outputs[id]?.[attribute];
        if (typeof value === 'string') values.push(value);
      }
    }
    return values;
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
 * What scrubs a run's state events of the run's secret values (the orchestrator already
 * scrubs the errors it records; this also covers records written before it did), keeping
 * only the scrubber (the SSE stream lives as long as the run, and must not hold on to a
 * large document).
 */
export function eventScrubber(
  document: string,
  live: LiveOutputs = [],
): (event: RunEvent) => RunEvent {
  // a quick look at the text usually tells that a document has no secret to parse it for
  const plain =
    !SECRET_KEY.test(document) &&
    !document.includes('"secrets"') &&
    !document.includes('://') &&
    !live.some((node) => Object.values(node?.output ?? {}).some((v) => String(v).includes('://')));
  const scrubber = plain ? new Scrubber([]) : new RunSecrets(document, live).scrubber();
  return (event) => {
    if (event.error === undefined || event.error === '') return event;
    const error = scrubber.scrub(event.error);
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
