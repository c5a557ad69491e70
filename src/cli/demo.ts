/**
 * `baton demo`: certificates, an executor and an orchestrator (embedded SQLite store) talking
 * mutual TLS, then two bundled examples run live in the terminal: gorchestrator's own example
 * (in-process `nil`/`sleep` engines) and a deployment whose `shell` tasks run on the executor
 * and pass outputs downstream. The server keeps serving afterwards for the UI and the API.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startExecutor } from '../executor/server.ts';
import { loadTls, roleSpecific, writeCerts } from './certs.ts';
import { BatonClient } from './client.ts';
import { readDocumentText } from './documents.ts';
import { createLogger } from './logger.ts';
import { follow } from './run.ts';
import { startServer } from './server.ts';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

export async function demoCommand(opts: { port: number; data: string }): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const logger = createLogger({ level: 'warn' });
  const certs = join(opts.data, 'certs');
  if (!existsSync(join(certs, 'ca.pem')) || !roleSpecific(certs)) await writeCerts(certs);
  const executor = await startExecutor({
    host: '127.0.0.1',
    port: 0,
    name: 'default',
    dataDir: join(opts.data, 'executor'),
    artifactRoot: join(examples, 'artifacts'),
    tls: loadTls(certs, 'executor'),
    logger,
  });
  const server = await startServer({
    host: '127.0.0.1',
    port: opts.port,
    dataDir: opts.data,
    logger,
    executors: [{ name: 'default', url: executor.url }],
    tlsDir: certs,
  });
  out(
    `Baton orchestrator on ${server.url}, executor on ${executor.url} (mutual TLS, certs in ${certs})`,
  );
  const client = new BatonClient(server.url);
  let result = 0;
  for (const file of ['gorch-example.json', 'deploy.json']) {
    const id = await client.submit(readDocumentText(join(examples, file)));
    out(`\n${file}: run ${id}`);
    result = Math.max(result, await follow(client, id, true, out, err));
    const run = await client.get<{
      nodes: Array<{ name: string; output: Record<string, string> }>;
    }>(`/v1/tasks/${id}`);
    for (const node of run.nodes) {
      const outputs = Object.entries(node.output).filter(([, value]) => value !== '');
      if (outputs.length > 0)
        out(`  ${node.name} outputs: ${outputs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
  }
  out(`\nUI:       ${server.url}/`);
  out(`API:      ${server.url}/v1/tasks`);
  out(`API docs: ${server.url}/apidocs/`);
  out('Still serving; press Ctrl-C to stop.');
  process.exitCode = result;
  const stop = async () => {
    await server.close();
    await executor.close();
    process.exit(result);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
