/**
 * Where the `http` engine may connect. The engine hands a response's body back through the
 * node's log and outputs, so calling any URL a run names would let whoever submits runs read
 * the executor's network (server-side request forgery): internal services, and cloud metadata
 * endpoints that hand out credentials. So:
 * - only hosts the operator allows (`--http-allow HOST[:PORT]`, `*.example.com` for
 *   subdomains, `*` for any host); none by default;
 * - never link-local or metadata addresses, allowed or not, checked on the address a name
 *   resolves to, once, and the connection goes to that address (a second lookup could
 *   answer differently: DNS rebinding).
 */
import dns, { type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** Link-local networks and the cloud metadata addresses outside them. */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local; AWS, GCP and Azure metadata
FORBIDDEN.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6

/** Metadata services' names, refused before any lookup. */
const FORBIDDEN_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

/** An address the engine never connects to (IPv4-mapped IPv6 counts as its IPv4). */
export function forbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  if (family === 6) return FORBIDDEN.check(address, 'ipv6');
  return false;
}

export function forbiddenName(host: string): boolean {
  return FORBIDDEN_NAMES.has(normalHost(host));
}

/** Lower case, without IPv6 brackets or a trailing dot. */
export function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

interface Entry {
  pattern: string;
  /** exact host, or a suffix (`.example.com`) for `*.example.com`, or `*` */
  host: string;
  wildcard: boolean;
  port: number | undefined;
}

const PATTERN = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9*][A-Za-z0-9.*_-]*))(?::(\d{1,5}))?$/;

export class HttpAllowlist {
  readonly #entries: Entry[];

  /** Parses `HOST[:PORT]` patterns; throws naming the bad one. */
  constructor(patterns: readonly string[]) {
    this.#entries = patterns.map((pattern, i) => {
      const match = PATTERN.exec(pattern.trim());
      const host = match && normalHost(match[1] ?? match[2]);
      const port = match?.[3] === undefined ? undefined : Number(match[3]);
      const wildcard = host?.startsWith('*.') ?? false;
      if (
        !match ||
        host === null ||
        (host.includes('*') && host !== '*' && !(wildcard && !host.slice(2).includes('*'))) ||
        (port !== undefined && (port < 1 || port > 65535))
      ) {
        throw new Error(
          `http allowlist[${i}]: expected HOST or HOST:PORT (a name, an IP, [IPv6], *.domain ` +
            `or *), got ${JSON.stringify(pattern)}`,
        );
      }
      return { pattern, host: wildcard ? host.slice(1) : host, wildcard, port };
    });
  }

  get size(): number {
    return this.#entries.length;
  }

  allows(host: string, port: number): boolean {
    const h = normalHost(host);
    return this.#entries.some(
      (e) =>
        (e.port === undefined || e.port === port) &&
        (e.host === '*' || (e.wildcard ? h.endsWith(e.host) : h === e.host)),
    );
  }
}

export type Resolve = (
  host: string,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolve: Resolve = (host, callback) =>
  dns.lookup(host, { all: true }, (err, addresses) => callback(err, addresses ?? []));

/**
 * A `lookup` for net.connect that resolves once and fails when any address of the name is
 * forbidden, so the socket connects to an address that was checked.
 */
export function guardedLookup(resolve: Resolve = systemResolve) {
  return (
    hostname: string,
    options: { all?: boolean },
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    resolve(hostname, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = addresses.find((a) => forbiddenAddress(a.address));
      if (bad !== undefined) {
        return callback(
          Object.assign(new Error(refusedAddress(hostname, bad.address)), { code: 'EREFUSED' }),
          [],
        );
      }
      if (addresses.length === 0) {
        return callback(
          Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }),
          [],
        );
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

export function refusedAddress(host: string, address: string): string {
  const what = 'a link-local or cloud metadata address, which the http engine never calls';
  return normalHost(host) === address
    ? `http engine: ${address} is ${what}`
    : `http engine: ${host} resolves to ${address}, ${what}`;
}
