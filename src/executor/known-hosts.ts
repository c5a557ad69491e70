/**
 * Host key verification against an OpenSSH known_hosts file, so an ssh task cannot be
 * steered to an impostor host. Entries are `patterns keytype base64-key`; a host on a port
 * other than 22 is written `[host]:port`; hashed entries (`|1|salt|hmac`) are supported.
 * `@cert-authority` and `@revoked` lines are skipped (not supported).
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export async function knownHostKeys(file: string, host: string, port: number): Promise<Buffer[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const name = port === 22 ? host : `[${host}]:${port}`;
  const keys: Buffer[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [patterns, , key] = line.split(/\s+/);
    if (key !== undefined && patterns.split(',').some((p) => entryMatches(p, name))) {
      keys.push(Buffer.from(key, 'base64'));
    }
  }
  return keys;
}

function entryMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  return pattern === name;
}
