/**
 * Who is calling the API: bearer tokens and client certificates.
 *
 * - Tokens are random (32 bytes, base64url: `baton token create NAME`); the server keeps only
 *   their SHA-256 in a tokens file, a JSON or YAML list of `{name, sha256}`. A fast hash is
 *   right for 256-bit random secrets (nothing to brute-force, unlike passwords); digests are
 *   compared with `timingSafeEqual`. The file is watched and reloaded when it changes, so a
 *   token is revoked by deleting its line; a file that no longer parses leaves the previous
 *   tokens in force (and says so in the log), and a file that is deleted refuses every token
 *   until it is back (fail closed: deleting the file must not keep revoked tokens valid).
 * - With a client CA (HTTPS only), a request whose verified client certificate chains to that
 *   CA is authenticated as the certificate's CN. The TLS server asks for a certificate but
 *   does not require one (`requestCert`, `rejectUnauthorized: false`), so token clients and
 *   the UI's static files still work over the same port.
 * - An `Authorization` header, when present, decides: a wrong token is refused even on a
 *   connection with a good certificate (a client that sends a token means to use it).
 *
 * Everything under `/v1` and `/metrics` (and any route added later that is not listed in
 * `isPublic`) needs a principal once authentication is configured; `/healthz`, the UI's pages
 * and files, `/openapi.json` and `/apidocs/` stay public (the login page must load, and the API
 * description is no secret). A refused request gets 401 with `WWW-Authenticate: Bearer` and
 * the JSON error. The principal's name (never the token) is bound to the request's log lines.
 *
 * Start-up (`loadSecurity`) reads and checks every file first and refuses to serve a
 * non-loopback address with no authentication at all.
 */
import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { existsSync, type FSWatcher, readFileSync, watch } from 'node:fs';
import { isIPv4 } from 'node:net';
import { basename, dirname } from 'node:path';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type {
  FastifyBaseLogger,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from 'fastify';
import { parse as parseYaml } from 'yaml';
import { describeValue } from '../graph/errors.ts';
import { Errors } from './errors.ts';

export interface Principal {
  /** the token's name, or the client certificate's CN */
  name: string;
  via: 'token' | 'certificate';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** who sent the request; null when nobody was authenticated (or auth is off) */
    principal: Principal | null;
  }
}

export interface TokenEntry {
  name: string;
  /** hex SHA-256 of the token, lower case */
  sha256: string;
}

/** What a token may be named (names are logged as principals). */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,99}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/i;
/** Longer bearer values are refused without hashing them. */
const MAX_TOKEN_LENGTH = 512;

/** A new token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Checks a parsed tokens file; `source` names it in messages. Throws SECURITY_CONFIG. */
export function parseTokens(raw: unknown, source: string): TokenEntry[] {
  const fail = (where: string, expected: string, got: unknown): never => {
    throw new Errors.SECURITY_CONFIG(
      `${source}: ${where}: expected ${expected}, got ${describeValue(got)}`,
    );
  };
  // an empty file is an empty list: every request is refused until a token is added
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) return fail('(top level)', 'a list of {name, sha256}', raw);
  const names = new Set<string>();
  const hashes = new Set<string>();
  return raw.map((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return fail(`[${i}]`, 'an object {name, sha256}', item);
    }
    for (const key of Object.keys(item)) {
      if (key !== 'name' && key !== 'sha256') {
        fail(`[${i}].${key}`, 'only the fields name and sha256', key);
      }
    }
    const { name, sha256 } = item as { name?: unknown; sha256?: unknown };
    if (typeof name !== 'string' || !TOKEN_NAME.test(name)) {
      fail(`[${i}].name`, 'a name of letters, digits and _ . @ : + - (at most 100)', name);
    }
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
      fail(
        `[${i}].sha256`,
        'the SHA-256 of the token as 64 hex digits (`baton token create NAME` prints it)',
        sha256,
      );
    }
    const entry = { name: name as string, sha256: (sha256 as string).toLowerCase() };
    if (names.has(entry.name)) fail(`[${i}].name`, 'a name used once', entry.name);
    if (hashes.has(entry.sha256)) fail(`[${i}].sha256`, 'a token listed once', entry.sha256);
    names.add(entry.name);
    hashes.add(entry.sha256);
    return entry;
  });
}

/** Reads and checks a tokens file (JSON when it ends in .json, else YAML). */
export function readTokensFile(file: string): TokenEntry[] {
  const text = readText(file, 'tokens file');
  let raw: unknown;
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Errors.SECURITY_CONFIG(
      `${file}: the tokens file is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return parseTokens(raw, file);
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Errors.SECURITY_CONFIG(
      `${file}: cannot read the ${what} (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`,
    );
  }
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** What a request's credentials say. */
interface Identity {
  principal?: Principal;
  /** why nobody was authenticated, for the 401's message */
  problem: string;
  /** a token was sent and refused: RFC 6750's error="invalid_token" */
  invalidToken?: boolean;
}

export class Authenticator {
  readonly tokensFile: string | undefined;
  /** requests may authenticate with a client certificate from the configured CA */
  readonly clientCertificates: boolean;
  #tokens: Array<{ name: string; digest: Buffer }> = [];
  #fingerprint = '';
  readonly #bySocket = new WeakMap<TLSSocket, Identity>();

  constructor(options: {
    tokens?: TokenEntry[];
    tokensFile?: string;
    clientCertificates?: boolean;
  }) {
    this.tokensFile = options.tokensFile;
    this.clientCertificates = options.clientCertificates ?? false;
    this.setTokens(options.tokens ?? []);
  }

  get tokenCount(): number {
    return this.#tokens.length;
  }

  setTokens(tokens: readonly TokenEntry[]): void {
    this.#tokens = tokens.map(({ name, sha256 }) => ({ name, digest: Buffer.from(sha256, 'hex') }));
    this.#fingerprint = tokens.map((t) => `${t.name}:${t.sha256}`).join(',');
  }

  /** The name of the token, if it is one of ours. Every entry is compared, in constant time. */
  verifyToken(token: string): string | undefined {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const digest = createHash('sha256').update(token).digest();
    let name: string | undefined;
    for (const entry of this.#tokens) {
      if (timingSafeEqual(digest, entry.digest)) name ??= entry.name;
    }
    return name;
  }

  identify(request: FastifyRequest): Identity {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer +(\S+) *$/i.exec(header);
      if (!match) {
        return {
          problem: 'Authorization: expected "Bearer <token>"',
          invalidToken: true,
        };
      }
      const name = this.verifyToken(match[1]);
      if (name === undefined) {
        return {
          problem: 'the bearer token is not valid (unknown or revoked)',
          invalidToken: true,
        };
      }
      return { principal: { name, via: 'token' }, problem: '' };
    }
    if (this.clientCertificates) {
      const socket = request.raw.socket as TLSSocket;
      if (socket.encrypted) {
        let identity = this.#bySocket.get(socket);
        if (identity === undefined) {
          identity = certificateIdentity(socket);
          this.#bySocket.set(socket, identity);
        }
        if (identity.principal || identity.problem) return identity;
      }
    }
    const how = this.clientCertificates
      ? 'send Authorization: Bearer <token> or a client certificate from the configured CA'
      : 'send Authorization: Bearer <token>';
    return {
      problem: `authentication required: ${how} (tokens are made with \`baton token create NAME\`)`,
    };
  }

  /**
   * Reloads the tokens file whenever it changes (its directory is watched, so an editor's
   * atomic rename is seen too). Returns the function that stops watching.
   */
  watch(log: FastifyBaseLogger): () => void {
    const file = this.tokensFile;
    if (file === undefined) return () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    let missing = false;
    const reload = () => {
      timer = undefined;
      if (!existsSync(file)) {
        this.setTokens([]);
        if (!missing)
          log.error({ file }, 'tokens file deleted: every token is refused until it is back');
        missing = true;
        return;
      }
      missing = false;
      try {
        const tokens = readTokensFile(file);
        const before = this.#fingerprint;
        this.setTokens(tokens);
        if (this.#fingerprint !== before) {
          log.info({ file, tokens: tokens.map((t) => t.name) }, 'tokens file reloaded');
        }
      } catch (err) {
        log.error(
          { file, problem: (err as Error).message },
          'tokens file not reloaded: the previous tokens stay in force',
        );
      }
    };
    let watcher: FSWatcher;
    try {
      watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
        if (name !== null && name !== basename(file)) return;
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(reload, 50);
      });
    } catch (err) {
      log.warn(
        { file, problem: (err as Error).message },
        'tokens file not watched: restart the server to apply changes to it',
      );
      return () => {};
    }
    watcher.on('error', (err) =>
      log.warn({ file, problem: err.message }, 'tokens file no longer watched'),
    );
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
    };
  }
}

/** The identity a TLS connection's client certificate gives (computed once per connection). */
function certificateIdentity(socket: TLSSocket): Identity {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { problem: '' };
  if (!socket.authorized) {
    return {
      problem: `the client certificate is not accepted (${socket.authorizationError?.message ?? 'not signed by the configured CA'})`,
    };
  }
  const cn = cert.subject?.CN as string | string[] | undefined;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (!name) return { problem: 'the client certificate has no subject CN to name its holder' };
  return { principal: { name, via: 'certificate' }, problem: '' };
}

const API_PATH = /^\/+(v1|metrics)(\/|\?|$)/i;

/**
 * Routes anyone may call. Anything else needs a principal, so a route added later is
 * protected unless it is listed here. The UI's catch-all route (and 404s) are public except
 * for paths under the API's prefixes, which answer 401 rather than reveal what exists.
 */
export function isPublic(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route === undefined || route === '/' || route === '/*') return !API_PATH.test(request.url);
  return (
    route === '/healthz' ||
    route === '/openapi.json' ||
    route === '/apidocs' ||
    route.startsWith('/apidocs/')
  );
}

/**
 * Step 1 of the request's security hooks: find who is calling (before the rate limit, which
 * counts per principal). Never refuses: `requireAuth` does, after the rate limit, so failed
 * attempts are rate-limited too.
 */
export function identifyHook(auth: Authenticator): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const identity = auth.identify(request);
    if (identity.principal) {
      request.principal = identity.principal;
      const log = request.log.child({ principal: identity.principal.name });
      request.log = log;
      reply.log = log;
    } else {
      refusals.set(request, identity);
    }
  };
}

const refusals = new WeakMap<FastifyRequest, Identity>();

/** Step 3: refuse a request without a principal on a route that is not public. */
export function requireAuthHook(): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.principal !== null || isPublic(request)) return;
    const identity = refusals.get(request);
    reply.header(
      'www-authenticate',
      identity?.invalidToken
        ? 'Bearer realm="baton", error="invalid_token"'
        : 'Bearer realm="baton"',
    );
    throw new Errors.UNAUTHORIZED(identity?.problem || 'authentication required');
  };
}

/** Files and settings for `loadSecurity`, as `baton serve` and the tests give them. */
export interface SecurityOptions {
  /** the address the server listens on */
  host: string;
  /** JSON or YAML list of {name, sha256} */
  tokensFile?: string;
  /** PEM CA: a client certificate it signed authenticates as its CN (needs HTTPS) */
  clientCaFile?: string;
  /** PEM certificate and key: serve HTTPS */
  certFile?: string;
  keyFile?: string;
}

/** What the API is built with: checked at start-up, before anything is opened. */
export interface Security {
  /** null: the API is open (only allowed on loopback) */
  authenticator: Authenticator | null;
  /** options of the HTTPS server; null: plain HTTP */
  https: {
    cert: string;
    key: string;
    ca?: string;
    requestCert?: boolean;
    rejectUnauthorized?: boolean;
  } | null;
}

/** Reads and checks the security files; throws SECURITY_CONFIG or INSECURE_BIND. */
export function loadSecurity(options: SecurityOptions): Security {
  const { host, tokensFile, clientCaFile, certFile, keyFile } = options;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new Errors.SECURITY_CONFIG(
      'HTTPS needs both a certificate and its key: pass --cert FILE and --key FILE ' +
        '(config http.certificate and http.key)',
    );
  }
  if (clientCaFile !== undefined && certFile === undefined) {
    throw new Errors.SECURITY_CONFIG(
      'client certificates need HTTPS: with --client-ca FILE, also pass the server certificate ' +
        'and key with --cert FILE and --key FILE (config http.certificate and http.key)',
    );
  }

  let https: Security['https'] = null;
  if (certFile !== undefined && keyFile !== undefined) {
    const cert = readText(certFile, 'certificate');
    const key = readText(keyFile, 'certificate key');
    let ca: string | undefined;
    if (clientCaFile !== undefined) {
      ca = readText(clientCaFile, 'client CA');
      try {
        new X509Certificate(ca);
      } catch (err) {
        throw new Errors.SECURITY_CONFIG(
          `${clientCaFile}: not a PEM certificate (${(err as Error).message})`,
        );
      }
    }
    try {
      createSecureContext({ cert, key, ca });
    } catch (err) {
      throw new Errors.SECURITY_CONFIG(
        `${certFile}, ${keyFile}: not a usable certificate and key (${(err as Error).message})`,
      );
    }
    https = ca ? { cert, key, ca, requestCert: true, rejectUnauthorized: false } : { cert, key };
  }

  const tokens = tokensFile === undefined ? undefined : readTokensFile(tokensFile);
  if (tokens === undefined && clientCaFile === undefined) {
    if (!isLoopback(host)) {
      throw new Errors.INSECURE_BIND(
        `refusing to serve the API on ${host} without authentication: anyone who can reach ` +
          'it could submit and cancel runs. Create a token with `baton token create NAME ' +
          '--tokens tokens.yaml` and pass --tokens tokens.yaml (config auth.tokens_file, env ' +
          'BATON_TOKENS_FILE), and/or accept client certificates with --client-ca ca.pem ' +
          '--cert server.pem --key server-key.pem; or listen on 127.0.0.1',
      );
    }
    return { authenticator: null, https };
  }
  return {
    authenticator: new Authenticator({
      tokens,
      tokensFile,
      clientCertificates: clientCaFile !== undefined,
    }),
    https,
  };
}
