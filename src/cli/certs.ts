/**
 * `baton certs`: a demo CA and the two certificates mutual TLS between orchestrator and
 * executors needs. Each leaf certificate is good for its role only: the orchestrator's carries
 * the clientAuth extended key usage, the executor's serverAuth, so an executor's certificate
 * (which sits on every executor host) cannot call another executor as if it were the
 * orchestrator. Both have SANs for the given hosts (IP SANs for addresses).
 * They are valid for ten years: this is for demos and labs, where an expiring certificate
 * is only a surprise; production should use its own PKI and short lifetimes.
 *
 * Keys are P-256, made with node:crypto. The certificates are signed by the system
 * `openssl` CLI: Node cannot create certificates, and @peculiar/x509 needs a global
 * reflect-metadata polyfill (through tsyringe) that is not a dependency, while openssl is
 * everywhere OpenSSH is. The CA key only lives in a temporary directory: re-run the command
 * to issue certificates for other hosts.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const VALID_DAYS = '3650';
const HOST = /^[A-Za-z0-9*][A-Za-z0-9.*-]*$/;

export type TlsRole = 'orchestrator' | 'executor';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export async function writeCerts(
  outDir: string,
  hosts: string[] = ['localhost', '127.0.0.1'],
): Promise<void> {
  if (hosts.length === 0) throw new Error('certs: at least one host is needed');
  const sans = hosts.map((h) => {
    if (isIP(h)) return `IP:${h}`;
    if (HOST.test(h)) return `DNS:${h}`;
    throw new Error(`certs: ${JSON.stringify(h)} is neither a host name nor an IP address`);
  });
  await mkdir(outDir, { recursive: true });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'baton-certs-'));
  try {
    const config = path.join(tmp, 'openssl.cnf');
    await writeFile(config, opensslConfig(sans.join(',')));
    const caKey = path.join(tmp, 'ca-key.pem');
    await writeFile(caKey, newKey(), { mode: 0o600 });
    const ca = path.join(outDir, 'ca.pem');
    await openssl([
      'req',
      '-x509',
      '-new',
      '-config',
      config,
      '-extensions',
      'ca_ext',
      '-key',
      caKey,
      '-subj',
      '/CN=Baton demo CA',
      '-days',
      VALID_DAYS,
      '-sha256',
      '-out',
      ca,
    ]);
    await chmod(ca, 0o644);
    for (const role of ['orchestrator', 'executor'] as const) {
      const key = path.join(outDir, `${role}-key.pem`);
      await writeFile(key, newKey(), { mode: 0o600 });
      await chmod(key, 0o600); // writeFile's mode only applies when it creates the file
      const csr = path.join(tmp, `${role}.csr`);
      const cert = path.join(outDir, `${role}.pem`);
      await openssl([
        'req',
        '-new',
        '-config',
        config,
        '-key',
        key,
        '-subj',
        `/CN=baton ${role}`,
        '-out',
        csr,
      ]);
      await openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca,
        '-CAkey',
        caKey,
        '-set_serial',
        serial(),
        '-days',
        VALID_DAYS,
        '-sha256',
        '-extfile',
        config,
        '-extensions',
        `${role}_ext`,
        '-out',
        cert,
      ]);
      await chmod(cert, 0o644);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Whether the certificates in `dir` are role-specific (an older `baton certs` gave both
 * certificates both roles, which executors now refuse as a client's): the demo makes new ones
 * otherwise.
 */
export function roleSpecific(dir: string): boolean {
  try {
    const usage = new X509Certificate(readFileSync(path.join(dir, 'orchestrator.pem'))).keyUsage;
    return usage !== undefined && !usage.includes(SERVER_AUTH);
  } catch {
    return false;
  }
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** Reads what `role` needs from a directory written by writeCerts. */
export function loadTls(dir: string, role: TlsRole): TlsFiles {
  const read = (file: string) => {
    const full = path.join(dir, file);
    try {
      return readFileSync(full, 'utf8');
    } catch (err) {
      const why =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'is missing'
          : `cannot be read (${(err as Error).message})`;
      throw new Error(
        `TLS directory ${dir}: ${full} ${why}; create the files with \`baton certs --out ${dir}\``,
      );
    }
  };
  return { ca: read('ca.pem'), cert: read(`${role}.pem`), key: read(`${role}-key.pem`) };
}

function newKey(): string {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return privateKey;
}

/** 127 random bits, positive, as RFC 5280 wants serials unique and at most 20 bytes. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return `0x${bytes.toString('hex')}`;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('certs: the openssl command is needed and was not found');
    throw new Error(`certs: openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function opensslConfig(subjectAltName: string): string {
  return `[req]
distinguished_name = dn
prompt = no
[dn]
CN = baton
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[orchestrator_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = ${subjectAltName}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[executor_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = ${subjectAltName}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}
