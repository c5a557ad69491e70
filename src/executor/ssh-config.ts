/**
 * The executor's ssh hosts, read from an OpenSSH-style config file (`man ssh_config`), of
 * which this understands the subset an executor needs: `Host` blocks (patterns with `*`,
 * `?` and `!`), `HostName`, `Port`, `User`, `IdentityFile`, `UserKnownHostsFile` and
 * `StrictHostKeyChecking`. As in OpenSSH the first value found for a keyword wins, so
 * specific blocks go before `Host *`. `Match` and `Include` are not supported and are
 * refused rather than silently ignored.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface SshHost {
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  knownHostsFile: string;
  /** false only with `StrictHostKeyChecking no` (or `off`, `accept-new`) */
  strictHostKeyChecking: boolean;
}

interface Block {
  patterns: string[];
  options: Map<string, string>;
}

const KEYWORDS = new Set([
  'host',
  'hostname',
  'port',
  'user',
  'identityfile',
  'userknownhostsfile',
  'stricthostkeychecking',
]);

export function parseSshConfig(text: string, source = 'ssh config'): Block[] {
  const blocks: Block[] = [{ patterns: ['*'], options: new Map() }];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.+)$/.exec(line);
    if (!m)
      throw new Error(`${source}:${i + 1}: expected "Keyword value", got ${JSON.stringify(line)}`);
    const keyword = m[1].toLowerCase();
    const value = unquote(m[2].trim());
    if (keyword === 'match' || keyword === 'include') {
      throw new Error(`${source}:${i + 1}: ${m[1]} is not supported by the executor's ssh config`);
    }
    if (keyword === 'host') {
      blocks.push({ patterns: value.split(/\s+/), options: new Map() });
    } else if (KEYWORDS.has(keyword)) {
      const options = blocks[blocks.length - 1].options;
      if (!options.has(keyword)) options.set(keyword, value);
    }
    // other keywords (Compression, ServerAliveInterval, ...) do not change who we connect to
  }
  return blocks;
}

/** The settings for `alias`, or undefined when no `Host` line names it. */
export function lookupHost(blocks: Block[], alias: string): SshHost | undefined {
  const found = new Map<string, string>();
  let named = false;
  for (const [i, block] of blocks.entries()) {
    if (!hostMatches(block.patterns, alias)) continue;
    if (i > 0) named = true;
    for (const [k, v] of block.options) if (!found.has(k)) found.set(k, v);
  }
  if (!named) return undefined;
  const home = os.homedir();
  const expand = (p: string) => (p.startsWith('~/') ? path.join(home, p.slice(2)) : p);
  const port = Number(found.get('port') ?? 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`ssh config: Host ${alias}: Port must be 1-65535, got ${found.get('port')}`);
  }
  const identity = found.get('identityfile');
  const defaults = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(home, '.ssh', f));
  const strict = (found.get('stricthostkeychecking') ?? 'yes').toLowerCase();
  return {
    alias,
    hostName: found.get('hostname') ?? alias,
    port,
    user: found.get('user') ?? os.userInfo().username,
    identityFiles: identity ? [expand(identity)] : defaults.filter((f) => existsSync(f)),
    knownHostsFile: expand(found.get('userknownhostsfile') ?? '~/.ssh/known_hosts'),
    strictHostKeyChecking: !['no', 'off', 'accept-new'].includes(strict),
  };
}

export async function loadSshHost(configPath: string, alias: string): Promise<SshHost | undefined> {
  const text = await readFile(configPath, 'utf8');
  return lookupHost(parseSshConfig(text, configPath), alias);
}

function hostMatches(patterns: string[], alias: string): boolean {
  let matched = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    if (!glob(negated ? p.slice(1) : p).test(alias)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function glob(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1)
    : value;
}
