/**
 * `baton run FILE`: submit a document, follow the run live, exit with its result:
 * 0 success, 1 the run did not succeed, 2 the document was rejected, 3 the server could not
 * be reached or answered something unexpected.
 */
import { State, stateName } from '../graph/states.ts';
import type { RunEvent } from '../orchestrator/bus.ts';
import { ApiError, BatonClient, type Snapshot } from './client.ts';
import { readDocumentText } from './documents.ts';

export const ExitCode = { success: 0, runFailed: 1, rejected: 2, unreachable: 3 } as const;

export interface RunOptions {
  server: string;
  token?: string;
  watch?: boolean;
  idempotencyKey?: string;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const out = options.out ?? ((line) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line) => process.stderr.write(`${line}\n`));
  const client = new BatonClient(options.server, options.token);
  let id: string;
  try {
    id = await client.submit(readDocumentText(file), options.idempotencyKey);
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) {
      err(`rejected: ${e.message}`);
      return ExitCode.rejected;
    }
    err(e instanceof Error ? e.message : String(e));
    return e instanceof ApiError && e.status === 0 ? ExitCode.unreachable : ExitCode.rejected;
  }
  out(id);
  return follow(client, id, options.watch === true, out, err);
}

/** Follows a run to its end; with `watch`, prints each change and a summary. */
export async function follow(
  client: BatonClient,
  id: string,
  watch: boolean,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const states = new Map<number, number>();
  let runState: number = State.initial;
  try {
    await client.follow(id, (type, data) => {
      if (type === 'snapshot') {
        const snap = data as Snapshot;
        runState = snap.state;
        for (const n of snap.nodes) states.set(n.node, n.state);
        return;
      }
      const event = data as RunEvent;
      if (event.node === undefined) runState = event.state;
      else states.set(event.node, event.state);
      if (watch && event.node !== undefined) {
        const suffix = event.error ? ` (${event.error})` : '';
        out(`${stateName(event.state).padEnd(11)} ${event.name}${suffix}  [${counts(states)}]`);
      }
    });
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    return ExitCode.unreachable;
  }
  if (watch) out(`run ${id} ${stateName(runState)}: ${counts(states)}`);
  return runState === State.success ? ExitCode.success : ExitCode.runFailed;
}

function counts(states: Map<number, number>): string {
  const byState = new Map<string, number>();
  for (const s of states.values()) byState.set(stateName(s), (byState.get(stateName(s)) ?? 0) + 1);
  return [...byState].map(([name, n]) => `${name} ${n}`).join(', ');
}
