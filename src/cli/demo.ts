/**
 * `baton demo`: an orchestrator on the embedded store, the bundled example run live in the
 * terminal, then the server keeps serving so the run can be looked at in the UI and API.
 */
import { fileURLToPath } from 'node:url';
import { BatonClient } from './client.ts';
import { readDocumentText } from './documents.ts';
import { createLogger } from './logger.ts';
import { follow } from './run.ts';
import { startServer } from './server.ts';

const example = fileURLToPath(new URL('../../examples/gorch-example.json', import.meta.url));

export async function demoCommand(opts: { port: number; data: string }): Promise<void> {
  const logger = createLogger({ level: 'warn' });
  const server = await startServer({
    host: '127.0.0.1',
    port: opts.port,
    dataDir: opts.data,
    logger,
  });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`Baton orchestrator listening on ${server.url} (data in ${opts.data})`);
  const client = new BatonClient(server.url);
  const id = await client.submit(readDocumentText(example));
  out(`submitted ${example} as run ${id}`);
  await follow(client, id, true, out, (line) => process.stderr.write(`${line}\n`));
  out(`\nUI:       ${server.url}/`);
  out(`API:      ${server.url}/v1/tasks/${id}`);
  out(`API docs: ${server.url}/apidocs/`);
  out('Still serving; press Ctrl-C to stop.');
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
