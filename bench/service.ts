/**
 * The whole service: HTTP submit of a 10,000-node `edges` document of `nil` tasks to a real
 * orchestrator on loopback with the SQLite store, until the run has finished (read from the
 * SSE stream, so no polling interval is measured). Target < 3 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatonClient } from '../src/cli/client.ts';
import { startServer } from '../src/cli/server.ts';
import { State } from '../src/graph/states.ts';
import { edgesDocument, layeredEdges } from './generate.ts';

export async function benchService(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const server = await startServer({ host: '127.0.0.1', port: 0, dataDir: dir, logger: false });
  try {
    const nodes = 10_000;
    const body = JSON.stringify(edgesDocument(nodes, layeredEdges(nodes, 100, 3)));
    const client = new BatonClient(server.url);
    const times: number[] = [];
    let accepted = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const id = await client.submit(body);
      if (i === 0) accepted = performance.now() - t0;
      let final = 0;
      await client.follow(id, (type, data) => {
        if (type === 'state' && (data as { node?: number }).node === undefined) final = data.state;
      });
      if (final !== State.success) throw new Error(`run ${id} ended in state ${final}`);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return {
      'service.edges10k.submit_to_success.ms': Math.round(times[1]),
      'service.edges10k.accepted_202.ms': Math.round(accepted),
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(JSON.stringify(await benchService(), null, 2));
