/**
 * What a real `baton executor` over mutual TLS needs under a test's directory: certificates
 * from `baton certs` (`certs/`), an artifacts folder holding the test's scripts, and the
 * command line that starts it on them (its data in `executor/`). The port is left to the
 * starter: `spawnService([...args, '--port', '0'])` or `Processes.start(args)`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeCerts } from '../../src/cli/certs.ts';
import { writeScripts } from '../executor/helpers.ts';

export async function tlsExecutor(
  dir: string,
  scripts: Record<string, string>,
  extra: string[] = [],
): Promise<{ certs: string; artifacts: string; args: string[] }> {
  const certs = join(dir, 'certs');
  const artifacts = join(dir, 'artifacts');
  await writeCerts(certs);
  mkdirSync(artifacts);
  await writeScripts(artifacts, scripts);
  const args = ['executor', '--tls', certs, '--artifacts', artifacts];
  return { certs, artifacts, args: [...args, '--data', join(dir, 'executor'), ...extra] };
}
