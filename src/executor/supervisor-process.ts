/**
 * The supervisor: one long-lived process per executor that starts the executor's local
 * programs and records how each ended (supervisor.ts starts it and speaks for it). It is their
 * parent, so it alone can learn their exit statuses; it outlives an executor that crashes
 * (and leads its own process group, so that signals to the executor's group spare it), and
 * records the exits of the programs that end meanwhile.
 *
 * Requests arrive on stdin and answers leave on stdout, one JSON object a line:
 *   in:  {"id", "command", "args", "cwd", "env", "stdout", "stderr", "slot"}
 *   out: {"ready": true} once; then per request {"id", "pid"} and, once it has ended,
 *        {"id", "exited": {"code", "signal"}}; or {"id", "error", "errno"} if it could not start
 * `stdout` and `stderr` are paths of the executor's pipes (/proc/PID/fd/N) that the program
 * opens as its own. When a program ends, its status ($? as a shell gives it: the code, or
 * 128+N when killed by signal N) is written to its `slot` of the exit table (exit-records.ts)
 * before the executor is told, so a restarted executor finds it there whatever became of the
 * one that asked. A program that could not be started gets 127 (not found) or 126, as a
 * shell would record.
 *
 * Once stdin closes (the executor exited or died) nothing new is asked of it: it exits as
 * soon as the programs it started have ended. Until then it ignores SIGINT, SIGTERM and
 * SIGHUP (as the per-task /bin/sh wrappers did), so that a stop signalling every process of
 * the service (systemd's default) leaves it to record the ends of the programs the executor
 * stops; SIGKILL ends it. A restarted executor kills it first, before the
 * programs it finds still running (orphans.ts), so that no exit it causes is recorded.
 */
import { constants as fs, openSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { EXIT_TABLE, exitRecord, SLOT_BYTES } from './exit-records.ts';
import { SUPERVISOR_VARIABLE } from './orphans.ts';
import { posixSupervision } from './spawn.ts';

interface Request {
  id: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdout: string;
  stderr: string;
  slot: number;
}

const spawner = posixSupervision;
spawner?.ownProcessGroup();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
// in the exits directory of the executor, which names it in the supervisor's environment
const table = openSync(
  path.join(process.env[SUPERVISOR_VARIABLE]!, EXIT_TABLE),
  fs.O_RDWR | fs.O_CREAT,
  0o600,
);
let running = 0;
let executorGone = false;

// the executor going away mid-write must not kill the supervisor with an EPIPE
process.stdout.on('error', () => {});
const send = (answer: object) => {
  if (!executorGone) process.stdout.write(`${JSON.stringify(answer)}\n`);
};

/** One write of one whole slot: a crash leaves the old record or the new one, never a mix. */
function record(request: Request, status: number): void {
  try {
    writeSync(table, exitRecord(request.id, status), 0, SLOT_BYTES, request.slot * SLOT_BYTES);
  } catch {
    // the disk failed: a restarted executor will say the outcome is unknown
  }
}

function exitIfIdle(): void {
  if (executorGone && running === 0) process.exit(0);
}

async function start(request: Request): Promise<void> {
  running++;
  try {
    if (spawner === undefined) throw new Error('posix_spawn is not available');
    const { pid, exited } = await spawner.spawnTo(
      { command: request.command, args: request.args, cwd: request.cwd, env: request.env },
      request.stdout,
      request.stderr,
    );
    send({ id: request.id, pid });
    const { code, signal } = await exited;
    record(request, code ?? 128 + (signal ? constants.signals[signal] : 0));
    send({ id: request.id, exited: { code, signal } });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    record(request, code === 'ENOENT' ? 127 : 126);
    send({ id: request.id, error: (err as Error).message, errno: code });
  } finally {
    running--;
    exitIfIdle();
  }
}

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let end = buffered.indexOf('\n');
  while (end !== -1) {
    const line = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    if (line !== '') void start(JSON.parse(line) as Request);
    end = buffered.indexOf('\n');
  }
});
process.stdin.on('close', () => {
  executorGone = true;
  exitIfIdle();
});
send({ ready: true });
