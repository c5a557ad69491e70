/**
 * Configuration of the `baton` commands: a JSON or YAML file shaped like gorchestrator's, then
 * `BATON_*` environment variables over it; each command then lets its flags win
 * (file < env < flag). A bad value fails at once, naming the file or variable, the field path,
 * what was expected and what came.
 *
 * ```yaml
 * http:                    # gorchestrator's listener section (serve and executor)
 *   bind_address: 127.0.0.1
 *   bind_port: 8080
 *   scheme: http           # serve: https needs certificate and key
 *   certificate: cert.pem  # serve: HTTPS with it; executor: replaces executor.pem from `tls`
 *   key: key.pem
 *   rate_limit: 6000       # serve: requests per minute per client, 0 for none
 * auth:                    # serve: who may call the API (src/api/auth.ts)
 *   tokens_file: tokens.yaml   # [{name, sha256}], see `baton token create`
 *   client_ca: ca.pem          # HTTPS: client certificates it signed authenticate as their CN
 * executors:               # serve; gorchestrator's `executor: {url}` is the one named default
 *   - {name: default, url: https://localhost:8585}
 * log:                    # level, or gorchestrator's output.level
 *   level: info
 *   access: true           # serve: one info line per request answered (src/api/access-log.ts)
 *   hook:                  # extra outputs (gorchestrator's logrus hooks), observability/log-hooks.ts
 *     - {type: syslog, address: '127.0.0.1:514', protocol: udp, facility: local0, tag: baton}
 *     - {type: logstash, address: '127.0.0.1:5000', protocol: tcp, level: debug}
 * otlp: {endpoint: http://127.0.0.1:4318}   # serve: OpenTelemetry traces over OTLP/HTTP
 * server: http://127.0.0.1:8080   # client commands (list, show, run, ...)
 * token: s3cret                   # sent as Authorization: Bearer
 * data: ./data                    # serve: SQLite directory; executor: its task records
 * db: postgres://baton@db/baton   # serve: PostgreSQL instead of SQLite
 * tls: ./certs                    # files written by `baton certs`
 * artifacts: ./artifacts          # executor
 * ssh_config: ./ssh_config        # executor
 * docker:                         # executor: the docker engine
 *   host: unix:///var/run/docker.sock
 *   allow: ['registry.example/*']  # image patterns; none: any image
 * ```
 *
 * Keys match case-insensitively, as Go's encoding/json matched them for gorchestrator (its
 * sample writes `"URL"` in hooks). Relative paths in a file resolve against the file's folder;
 * in variables and flags, against the working directory.
 *
 * gorchestrator's own files (orchestrator and executor) start Baton unchanged: every key they
 * have is read. What has a Baton meaning is mapped (`executor.url`, `http.*`,
 * `log.output.level`, `log.output.path` stdout or stderr, `log.hook[]`); what has none (a
 * log file path, a hook type Baton lacks) is a warning in `Config.warnings`, which `serve` and
 * `executor` log, instead of a failure: gorchestrator ignored those too. HTTPS whose
 * certificate files are missing is decided by the command (commands/services.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeValue } from '../graph/errors.ts';
import {
  DEFAULT_PORTS,
  LOG_HOOK_PROTOCOLS,
  LOG_HOOK_TYPES,
  type LogHook,
  parseAddress,
  SYSLOG_FACILITIES,
} from '../observability/log-hooks.ts';
import { UsageError } from './documents.ts';
import type { ExecutorConfig } from './server.ts';

/** A configuration problem: exit code 2, message `SOURCE: FIELD: expected ..., got ...`. */
export class ConfigError extends UsageError {}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** logrus names gorchestrator's files may use. */
const LOG_LEVEL_ALIASES: Readonly<Record<string, LogLevel>> = { warning: 'warn', panic: 'fatal' };

export interface Config {
  /** the file that was read, if any (from the argument or BATON_CONFIG) */
  file?: string;
  server?: string;
  token?: string;
  host?: string;
  port?: number;
  scheme?: 'http' | 'https';
  certificate?: string;
  key?: string;
  data?: string;
  db?: string;
  tls?: string;
  artifacts?: string;
  sshConfig?: string;
  /** executor: the docker engine's daemon (`docker.host`) and image patterns (`docker.allow`) */
  dockerHost?: string;
  dockerAllow?: string[];
  executors?: ExecutorConfig[];
  logLevel?: LogLevel;
  /** gorchestrator's `log.output.path`: where the log lines go (default stdout) */
  logOutput?: 'stdout' | 'stderr';
  /** serve: one `info` line per request answered (`log.access`, BATON_ACCESS_LOG) */
  accessLog?: boolean;
  /** `log.hook`: syslog and logstash outputs */
  logHooks?: LogHook[];
  /** serve: OTLP/HTTP collector for traces (`otlp.endpoint`, BATON_OTLP_ENDPOINT) */
  otlpEndpoint?: string;
  /** serve: requests per minute per client (http.rate_limit) */
  rateLimit?: number;
  /** serve: connections open at once at most (http.max_connections) */
  maxConnections?: number;
  /** serve: seconds a request may take to arrive (http.request_timeout) */
  requestTimeout?: number;
  /** serve: API tokens file (auth.tokens_file) */
  tokensFile?: string;
  /** serve: CA of accepted client certificates (auth.client_ca) */
  clientCa?: string;
  /** what the file says that Baton does not do, each `SOURCE: FIELD: ...` (logged at start) */
  warnings?: string[];
}

/** Environment variables read by `loadConfig`, for help texts. */
export const ENVIRONMENT: ReadonlyArray<readonly [name: string, meaning: string]> = [
  ['BATON_CONFIG', 'configuration file (like --config)'],
  ['BATON_SERVER', 'orchestrator URL for the client commands'],
  ['BATON_TOKEN', 'bearer token sent to the orchestrator'],
  ['BATON_HOST', 'address serve/executor listen on'],
  ['BATON_PORT', 'port serve/executor listen on'],
  ['BATON_DATA', 'data directory of serve/executor'],
  ['BATON_DB', 'postgres:// URL of the store (serve)'],
  ['BATON_TLS', 'directory written by `baton certs`'],
  ['BATON_EXECUTORS', 'executors of serve: NAME=URL,NAME=URL'],
  ['BATON_LOG_LEVEL', 'trace, debug, info, warn, error, fatal or silent'],
  ['BATON_ACCESS_LOG', 'true or false: one log line per request answered by serve'],
  ['BATON_OTLP_ENDPOINT', 'OTLP/HTTP collector for the traces of serve, http://host:4318'],
  ['BATON_TOKENS_FILE', 'API tokens file of serve (see `baton token`)'],
  ['BATON_RATE_LIMIT', 'requests per minute per client of serve, 0 for none'],
];

/**
 * Reads `file` (or `env.BATON_CONFIG`), then applies the `BATON_*` variables of `env`.
 * Without a file, only the variables count. Throws `ConfigError`.
 */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const path = file ?? nonEmpty(env.BATON_CONFIG);
  const config: Config = path === undefined ? {} : readConfigFile(path);
  applyEnvironment(config, env);
  return config;
}

/** Parses a configuration file; exported for tests. */
export function readConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${path}: cannot read the configuration file (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const kind = /\.json$/i.test(path) ? 'JSON' : 'YAML';
    throw new ConfigError(`${path}: not valid ${kind}: ${(err as Error).message.split('\n')[0]}`);
  }
  // An empty YAML file is a valid, empty configuration.
  if (raw === null || raw === undefined) return { file: path };
  return parseConfig(raw, path);
}

/** Validates a parsed configuration object; `source` names it in messages. */
export function parseConfig(raw: unknown, source: string): Config {
  const at: Fields = new Fields(source, dirname(resolve(source)));
  const top = at.object(raw, '', [
    'http',
    'executor',
    'executors',
    'log',
    'server',
    'token',
    'data',
    'db',
    'tls',
    'artifacts',
    'ssh_config',
    'otlp',
    'auth',
    'docker',
  ]);
  const config: Config = { file: source };

  const http = top.get('http');
  if (http !== undefined) {
    const fields = at.object(http, 'http', [
      'bind_address',
      'bind_port',
      'certificate',
      'key',
      'scheme',
      'rate_limit',
      'max_connections',
      'request_timeout',
    ]);
    config.host = at.optional(fields, 'http.bind_address', at.string);
    config.port = at.optional(fields, 'http.bind_port', at.port);
    config.certificate = at.optional(fields, 'http.certificate', at.path);
    config.key = at.optional(fields, 'http.key', at.path);
    config.scheme = at.optional(fields, 'http.scheme', at.scheme);
    config.rateLimit = at.optional(fields, 'http.rate_limit', at.count);
    config.maxConnections = at.optional(fields, 'http.max_connections', at.count);
    config.requestTimeout = at.optional(fields, 'http.request_timeout', at.count);
  }

  const auth = top.get('auth');
  if (auth !== undefined) {
    const fields = at.object(auth, 'auth', ['tokens_file', 'client_ca']);
    config.tokensFile = at.optional(fields, 'auth.tokens_file', at.path);
    config.clientCa = at.optional(fields, 'auth.client_ca', at.path);
  }

  const single = top.get('executor');
  const list = top.get('executors');
  if (single !== undefined && list !== undefined) {
    at.fail('executor', 'either "executor" (gorchestrator) or "executors", not both', single);
  }
  if (single !== undefined) {
    const fields = at.object(single, 'executor', ['url', 'name']);
    const url = at.required(fields, 'executor.url', at.executorUrl);
    config.executors = [{ name: at.optional(fields, 'executor.name', at.name) ?? 'default', url }];
  }
  if (list !== undefined) {
    if (!Array.isArray(list)) at.fail('executors', 'a list of {name, url}', list);
    const seen = new Set<string>();
    config.executors = list.map((item, i) => {
      const fields = at.object(item, `executors[${i}]`, ['name', 'url']);
      const name = at.required(fields, `executors[${i}].name`, at.name);
      if (seen.has(name)) at.fail(`executors[${i}].name`, 'a name used once', name);
      seen.add(name);
      return { name, url: at.required(fields, `executors[${i}].url`, at.executorUrl) };
    });
  }

  const log = top.get('log');
  if (log !== undefined) {
    const fields = at.object(log, 'log', ['level', 'access', 'hook', 'output']);
    const output = fields.get('output');
    let outputLevel: LogLevel | undefined;
    if (output !== undefined) {
      const out = at.object(output, 'log.output', ['level', 'path']);
      outputLevel = at.optional(out, 'log.output.level', at.logLevel);
      config.logOutput = at.optional(out, 'log.output.path', at.logOutput);
    }
    config.logLevel = at.optional(fields, 'log.level', at.logLevel) ?? outputLevel;
    config.accessLog = at.optional(fields, 'log.access', at.boolean);
    const hook = fields.get('hook');
    if (hook !== undefined && hook !== null) {
      if (!Array.isArray(hook)) at.fail('log.hook', 'a list of hooks', hook);
      const hooks = hook.flatMap((item, i) => at.logHook(item, `log.hook[${i}]`) ?? []);
      if (hooks.length > 0) config.logHooks = hooks;
    }
  }

  const docker = top.get('docker');
  if (docker !== undefined && docker !== null) {
    const fields = at.object(docker, 'docker', ['host', 'allow']);
    config.dockerHost = at.optional(fields, 'docker.host', at.dockerHost);
    const allow = fields.get('allow');
    if (allow !== undefined && allow !== null) {
      if (!Array.isArray(allow)) at.fail('docker.allow', 'a list of image patterns', allow);
      config.dockerAllow = allow.map((p, i) => at.string(p, `docker.allow[${i}]`));
    }
  }

  const otlp = top.get('otlp');
  if (otlp !== undefined && otlp !== null) {
    const fields = at.object(otlp, 'otlp', ['endpoint']);
    config.otlpEndpoint = at.optional(fields, 'otlp.endpoint', at.otlpEndpoint);
  }

  config.server = at.optional(top, 'server', at.serverUrl);
  config.token = at.optional(top, 'token', at.string);
  config.data = at.optional(top, 'data', at.path);
  config.db = at.optional(top, 'db', at.dbUrl);
  config.tls = at.optional(top, 'tls', at.path);
  config.artifacts = at.optional(top, 'artifacts', at.path);
  config.sshConfig = at.optional(top, 'ssh_config', at.path);
  if (at.warnings.length > 0) config.warnings = at.warnings;
  return dropUndefined(config);
}

function applyEnvironment(config: Config, env: NodeJS.ProcessEnv): void {
  const read = <T>(name: string, check: (value: unknown, path: string) => T): T | undefined => {
    const value = nonEmpty(env[name]);
    return value === undefined ? undefined : check.call(new Fields(name, process.cwd()), value, '');
  };
  const fields = new Fields('', process.cwd());
  const set = <K extends keyof Config>(key: K, value: Config[K] | undefined) => {
    if (value !== undefined) config[key] = value;
  };
  set('server', read('BATON_SERVER', fields.serverUrl));
  set('token', read('BATON_TOKEN', fields.string));
  set('host', read('BATON_HOST', fields.string));
  set('port', read('BATON_PORT', fields.port));
  set('data', read('BATON_DATA', fields.string));
  set('db', read('BATON_DB', fields.dbUrl));
  set('tls', read('BATON_TLS', fields.string));
  set('logLevel', read('BATON_LOG_LEVEL', fields.logLevel));
  set('accessLog', read('BATON_ACCESS_LOG', fields.boolean));
  set('otlpEndpoint', read('BATON_OTLP_ENDPOINT', fields.otlpEndpoint));
  set('tokensFile', read('BATON_TOKENS_FILE', fields.string));
  set('rateLimit', read('BATON_RATE_LIMIT', fields.count));
  set(
    'executors',
    read('BATON_EXECUTORS', function (this: Fields, value) {
      return parseExecutorList(String(value), this);
    }),
  );
}

/** `NAME=URL,NAME=URL`, as BATON_EXECUTORS takes them. */
function parseExecutorList(value: string, at: Fields): ExecutorConfig[] {
  const seen = new Set<string>();
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item, i) => {
      const eq = item.indexOf('=');
      if (eq <= 0) at.fail(`[${i}]`, 'NAME=URL, e.g. default=https://localhost:8585', item);
      const name = item.slice(0, eq);
      if (seen.has(name)) at.fail(`[${i}]`, 'a name used once', name);
      seen.add(name);
      return { name, url: at.executorUrl(item.slice(eq + 1), `[${i}]`) };
    });
}

/**
 * An executor URL as Baton's executor client wants it: gorchestrator's files name the API
 * path (`http://localhost:8181/v1/tasks`), which the client appends itself.
 */
export function normalizeExecutorUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1(\/tasks)?$/, '');
}

/** Validators that know where they are: `SOURCE: PATH: expected ..., got ...`. */
class Fields {
  readonly source: string;
  readonly base: string;
  /** gorchestrator settings Baton has no use for, said instead of refused */
  readonly warnings: string[] = [];
  constructor(source: string, base: string) {
    this.source = source;
    this.base = base;
  }

  warn(path: string, message: string): void {
    this.warnings.push(`${this.source}: ${path}: ${message}`);
  }

  fail(path: string, expected: string, got: unknown): never {
    const where = [this.source, path].filter(Boolean).join(path.startsWith('[') ? '' : ': ');
    throw new ConfigError(`${where}: expected ${expected}, got ${describeValue(got)}`);
  }

  /** An object's fields by lower-cased key; an unknown key is an error naming the known ones. */
  object(value: unknown, path: string, known: readonly string[]): Map<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(path || '(top level)', `an object with ${known.join(', ')}`, value);
    }
    const fields = new Map<string, unknown>();
    for (const [key, field] of Object.entries(value)) {
      const lower = key.toLowerCase();
      const full = path ? `${path}.${key}` : key;
      if (!known.includes(lower)) {
        throw new ConfigError(
          `${this.source}: ${full}: unknown field; expected one of ${known.join(', ')}`,
        );
      }
      if (fields.has(lower)) {
        throw new ConfigError(`${this.source}: ${full}: given twice (keys ignore case)`);
      }
      fields.set(lower, field);
    }
    return fields;
  }

  optional<T>(
    fields: Map<string, unknown>,
    path: string,
    check: (value: unknown, path: string) => T,
  ): T | undefined {
    const value = fields.get(path.slice(path.lastIndexOf('.') + 1));
    return value === undefined || value === null ? undefined : check.call(this, value, path);
  }

  required<T>(
    fields: Map<string, unknown>,
    path: string,
    check: (value: unknown, path: string) => T,
  ): T {
    const value = this.optional(fields, path, check);
    if (value === undefined) this.fail(path, 'a value', value);
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string' || value === '') this.fail(path, 'a non-empty string', value);
    return value;
  }

  name(value: unknown, path: string): string {
    const name = this.string(value, path);
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) this.fail(path, 'a name of letters, digits, _ . -', name);
    return name;
  }

  path(value: unknown, path: string): string {
    return resolve(this.base, this.string(value, path));
  }

  port(value: unknown, path: string): number {
    const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
      this.fail(path, 'a port number 0-65535', value);
    }
    return n;
  }

  /** A whole number >= 0 (a number, or digits in a string as variables give them). */
  count(value: unknown, path: string): number {
    const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      this.fail(path, 'a whole number >= 0', value);
    }
    return n;
  }

  /** true or false (or the words, as variables give them) */
  boolean(value: unknown, path: string): boolean {
    const word = typeof value === 'string' ? value.trim().toLowerCase() : value;
    if (word === true || word === 'true') return true;
    if (word === false || word === 'false') return false;
    this.fail(path, 'true or false', value);
  }

  scheme(value: unknown, path: string): 'http' | 'https' {
    if (value !== 'http' && value !== 'https') this.fail(path, '"http" or "https"', value);
    return value;
  }

  logLevel(value: unknown, path: string): LogLevel {
    const level = typeof value === 'string' ? value.toLowerCase() : value;
    if (typeof level === 'string' && Object.hasOwn(LOG_LEVEL_ALIASES, level)) {
      return LOG_LEVEL_ALIASES[level];
    }
    if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
      this.fail(path, `one of ${LOG_LEVELS.join(', ')}`, value);
    }
    return level as LogLevel;
  }

  /**
   * gorchestrator's `log.output.path`: `stdout` or `stderr`; it sent anything else to stderr
   * with a warning (it never wrote a file), and so does Baton.
   */
  logOutput(value: unknown, path: string): 'stdout' | 'stderr' {
    const text = this.string(value, path);
    const lower = text.toLowerCase();
    if (lower === 'stdout' || lower === 'stderr') return lower;
    this.warn(
      path,
      `${JSON.stringify(text)} is neither stdout nor stderr: the log goes to stderr, as ` +
        "gorchestrator's did (Baton writes no log file: redirect stderr to keep one)",
    );
    return 'stderr';
  }

  url(value: unknown, path: string, protocols: readonly string[], example: string): URL {
    const text = this.string(value, path);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.fail(path, `a URL like ${example}`, text);
    }
    if (!protocols.includes(url.protocol)) this.fail(path, `a URL like ${example}`, text);
    return url;
  }

  dockerHost(value: unknown, path: string): string {
    const text = this.string(value, path);
    if (!/^(unix:\/\/\/.+|tcp:\/\/[^/]+)$/.test(text)) {
      this.fail(path, 'unix:///path/to/docker.sock or tcp://HOST:PORT', text);
    }
    return text;
  }

  serverUrl(value: unknown, path: string): string {
    this.url(value, path, ['http:', 'https:'], 'http://127.0.0.1:8080');
    return (value as string).replace(/\/+$/, '');
  }

  executorUrl(value: unknown, path: string): string {
    this.url(value, path, ['http:', 'https:'], 'https://localhost:8585');
    return normalizeExecutorUrl(value as string);
  }

  otlpEndpoint(value: unknown, path: string): string {
    this.url(value, path, ['http:', 'https:'], 'http://127.0.0.1:4318');
    return (value as string).replace(/\/+$/, '');
  }

  oneOf<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
    const text = typeof value === 'string' ? value.toLowerCase() : value;
    if (!(choices as readonly unknown[]).includes(text)) {
      this.fail(path, `one of ${choices.map((c) => `"${c}"`).join(', ')}`, value);
    }
    return text as T;
  }

  /**
   * A `log.hook` entry as gorchestrator's files write it (`URL` for the address, as its
   * sample does) or as Baton's docs do (`address`). A type Baton has no hook for is left out
   * with a warning (undefined), as gorchestrator skipped the types it did not know.
   */
  logHook(value: unknown, path: string): LogHook | undefined {
    const fields = this.object(value, path, [
      'type',
      'address',
      'url',
      'protocol',
      'facility',
      'tag',
      'level',
    ]);
    const named = fields.get('type');
    if (
      typeof named === 'string' &&
      named !== '' &&
      !(LOG_HOOK_TYPES as readonly string[]).includes(named.toLowerCase())
    ) {
      this.warn(
        `${path}.type`,
        `no ${JSON.stringify(named)} hook in Baton (it has ${LOG_HOOK_TYPES.join(', ')}): ` +
          'this hook is left out',
      );
      return undefined;
    }
    const type = this.oneOf(named, `${path}.type`, LOG_HOOK_TYPES);
    if (fields.has('address') && fields.has('url')) {
      this.fail(`${path}.address`, 'either "address" or "url", not both', fields.get('url'));
    }
    const key = fields.has('url') ? 'url' : 'address';
    const address = this.string(fields.get(key), `${path}.${key}`);
    const parsed = parseAddress(address, DEFAULT_PORTS[type]);
    if (!parsed) {
      const form = DEFAULT_PORTS[type] ? 'HOST[:PORT]' : 'HOST:PORT';
      this.fail(`${path}.${key}`, `an address ${form}, e.g. 127.0.0.1:5000`, address);
    }
    const protocol = this.oneOf(
      fields.get('protocol') ?? (type === 'syslog' ? 'udp' : 'tcp'),
      `${path}.protocol`,
      LOG_HOOK_PROTOCOLS,
    );
    const level = this.optional(fields, `${path}.level`, this.logLevel);
    const common = { ...parsed, protocol, ...(level === undefined ? {} : { level }) };
    if (type === 'logstash') {
      for (const extra of ['facility', 'tag']) {
        if (fields.has(extra)) {
          throw new ConfigError(
            `${this.source}: ${path}.${extra}: not a field of a logstash hook; expected type, address, protocol, level`,
          );
        }
      }
      return { type, ...common };
    }
    const facility = this.oneOf(
      fields.get('facility') ?? 'user',
      `${path}.facility`,
      Object.keys(SYSLOG_FACILITIES),
    );
    const tag = this.optional(fields, `${path}.tag`, this.string) ?? 'baton';
    if (!/^[\x21-\x7e]{1,48}$/.test(tag)) {
      this.fail(`${path}.tag`, 'at most 48 printable ASCII characters without spaces', tag);
    }
    return { type, ...common, facility, tag };
  }

  dbUrl(value: unknown, path: string): string {
    this.url(value, path, ['postgres:', 'postgresql:'], 'postgres://user@host:5432/baton');
    return value as string;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function dropUndefined(config: Config): Config {
  for (const key of Object.keys(config) as (keyof Config)[]) {
    if (config[key] === undefined) delete config[key];
  }
  return config;
}

/**
 * The orchestrator URL a client command uses: the flag, else BATON_SERVER or `server`, else
 * the address a `serve` with this configuration listens on, else http://127.0.0.1:8080.
 */
export function serverUrl(config: Config, flag?: string): string {
  if (flag !== undefined) return new Fields('--server', process.cwd()).serverUrl(flag, '');
  if (config.server !== undefined) return config.server;
  if ((config.host !== undefined || config.port !== undefined) && config.port !== 0) {
    let host = config.host ?? '127.0.0.1';
    if (host === '0.0.0.0' || host === '::' || host === '[::]') host = '127.0.0.1';
    if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
    // a serve with this file has HTTPS only with both files there (else, on loopback, it
    // serves plain HTTP, as gorchestrator did: commands/services.ts)
    const tls = [config.certificate, config.key].every((f) => f !== undefined && existsSync(f));
    const scheme = config.scheme === 'http' || !tls ? 'http' : 'https';
    return `${scheme}://${host}:${config.port ?? 8080}`;
  }
  return 'http://127.0.0.1:8080';
}
