/**
 * `ssh`: runs the artifact (a script from the artifact root) on the host named by the
 * node's `target` in the executor's ssh config. The script travels over the channel's stdin
 * to `sh -s --`, so nothing needs to be copied to the host first; the args become `$1 $2 ...`,
 * each single-quoted so the remote shell sees them literally. (The command line is parsed by
 * the remote user's login shell, which must be POSIX-like: sh, bash, dash, zsh, ksh.)
 * Stopping a task runs `kill -TERM -PGID` (then `-KILL` after the grace period) in a second
 * channel of the same connection, PGID being the remote session's process group, which the
 * wrapper reports on the first stdout line; then the channel and connection are closed.
 * OpenSSH's `signal` channel request would be simpler but does nothing for root logins
 * ("session signalling requires privilege separation"), and closing a channel without a pty
 * leaves the remote processes running.
 */
import { readFile } from 'node:fs/promises';
import { Client, type ClientChannel } from 'ssh2';
import { ArtifactError, resolveArtifact } from '../artifacts.ts';
import { knownHostKeys } from '../known-hosts.ts';
import { OutputCollector } from '../outputs.ts';
import { loadSshHost, type SshHost } from '../ssh-config.ts';
import type { Driver, TaskContext, TaskResult } from '../types.ts';
import { LastLine } from './process.ts';
import { refused } from './shell.ts';

/** Scripts are sent whole over stdin; anything bigger is surely not a script. */
const MAX_SCRIPT_BYTES = 4 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 20_000;
const PGID_MARKER = 'baton-pgid=';

export const sshDriver: Driver = {
  run: (task) => runOverSsh(task, { argv: task.node.args, prelude: '' }),
};

/** POSIX single quoting: `'` ends the quote, an escaped quote, and a new quote begins. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface RemoteScript {
  /** positional parameters of the script */
  argv: string[];
  /** shell text run before the script, e.g. `export` lines */
  prelude: string;
}

export async function runOverSsh(task: TaskContext, remote: RemoteScript): Promise<TaskResult> {
  let script: Buffer;
  let host: SshHost;
  try {
    const file = resolveArtifact(task.artifactRoot, task.node.artifact);
    script = await readFile(file);
    if (script.length > MAX_SCRIPT_BYTES)
      throw new ArtifactError(
        `artifact ${task.node.artifact} is over 4 MiB, too big to be a script`,
      );
    host = await findHost(task);
  } catch (err) {
    if (err instanceof ArtifactError || err instanceof SshSetupError) return refused(err);
    throw err;
  }
  const privateKey = await readFirstKey(host.identityFiles);
  if (privateKey === undefined) {
    return refused(
      new Error(
        `ssh target ${host.alias}: no readable IdentityFile (${host.identityFiles.join(', ') || 'none configured'})`,
      ),
    );
  }
  const trusted = host.strictHostKeyChecking
    ? await knownHostKeys(host.knownHostsFile, host.hostName, host.port)
    : [];
  // sshd makes the session's process a group leader; `exec` keeps that pid, so `$$` is the
  // group to kill on cancel
  const command = [
    `exec sh -c 'echo "${PGID_MARKER}$$"; exec sh -s -- "$@"' sh`,
    ...remote.argv.map(shellQuote),
  ].join(' ');
  const input = Buffer.concat([Buffer.from(remote.prelude), script]);
  return execute(task, host, { privateKey, trusted, command, input });
}

class SshSetupError extends Error {}

async function findHost(task: TaskContext): Promise<SshHost> {
  if (task.sshConfig === undefined) {
    throw new SshSetupError(
      `cannot reach target ${JSON.stringify(task.node.target)}: this executor has no ssh config (--ssh-config)`,
    );
  }
  let host: SshHost | undefined;
  try {
    host = await loadSshHost(task.sshConfig, task.node.target);
  } catch (err) {
    throw new SshSetupError(`ssh config ${task.sshConfig}: ${(err as Error).message}`);
  }
  if (host === undefined) {
    throw new SshSetupError(
      `unknown ssh target ${JSON.stringify(task.node.target)}: no Host entry for it in ${task.sshConfig}`,
    );
  }
  return host;
}

async function readFirstKey(files: string[]): Promise<Buffer | undefined> {
  for (const file of files) {
    const key = await readFile(file).catch(() => undefined);
    if (key !== undefined) return key;
  }
  return undefined;
}

interface Connection {
  privateKey: Buffer;
  /** accepted host keys; empty with StrictHostKeyChecking no */
  trusted: Buffer[];
  command: string;
  input: Buffer;
}

function execute(task: TaskContext, host: SshHost, c: Connection): Promise<TaskResult> {
  const where = `${host.user}@${host.hostName}:${host.port}`;
  const outputs = new OutputCollector(Object.keys(task.node.output));
  const stderr = new LastLine();
  const conn = new Client();
  let channel: ClientChannel | undefined;
  let hostKeyRejected = false;

  return new Promise<TaskResult>((resolve) => {
    let killTimer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (result: Omit<TaskResult, 'output'>) => {
      if (done) return;
      done = true;
      task.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      conn.end();
      outputs.end();
      resolve({ ...result, output: outputs.output });
    };
    const fail = (error: string) => finish({ ok: false, exitCode: null, error });
    const report = new PgidReport();
    const signalRemote = (signal: 'TERM' | 'KILL') => {
      if (report.pgid === undefined) return;
      conn.exec(`kill -${signal} -${report.pgid}`, (err, killer) => {
        if (err) return;
        killer.resume();
        killer.stderr.resume();
        killer.end();
      });
    };
    let stopping = false;
    const onAbort = () => {
      if (channel === undefined) {
        fail('stopped before the ssh session started');
        return;
      }
      if (stopping) return;
      stopping = true;
      const ch = channel;
      signalRemote('TERM'); // when the pgid is not known yet, the marker handler sends it
      killTimer = setTimeout(() => {
        signalRemote('KILL');
        // give the KILL a moment to travel before the connection goes
        setTimeout(() => {
          ch.close();
          fail('ssh channel closed after the remote command ignored TERM');
        }, 200);
      }, task.killGraceMs);
    };

    conn.on('error', (err) => {
      const why = hostKeyRejected
        ? `host key of ${host.hostName}:${host.port} is not in ${host.knownHostsFile} (add it, e.g. with ssh-keyscan, or set StrictHostKeyChecking no for Host ${host.alias})`
        : err.message;
      fail(`ssh ${where} (target ${host.alias}): ${why}`);
    });
    conn.on('close', () => fail(`ssh connection to ${where} closed unexpectedly`));
    conn.on('ready', () => {
      conn.exec(c.command, (err, ch) => {
        if (err) {
          fail(`ssh ${where}: cannot start the command: ${err.message}`);
          return;
        }
        if (done) {
          ch.close();
          return;
        }
        channel = ch;
        let exitCode: number | null = null;
        let exitSignal: string | null = null;
        const stdout = (chunk: Buffer) => {
          task.log.write(chunk);
          outputs.write(chunk);
        };
        ch.on('data', (chunk: Buffer) => {
          const known = report.done;
          stdout(report.write(chunk));
          if (!known && report.done && stopping) signalRemote('TERM');
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          task.log.write(chunk);
          stderr.write(chunk);
        });
        ch.on('exit', (code: number | null, signal?: string) => {
          exitCode = code;
          exitSignal = signal ?? null;
        });
        ch.on('close', () => {
          stdout(report.flush());
          if (exitCode === 0) {
            finish({ ok: true, exitCode: 0, error: null });
            return;
          }
          const why =
            exitCode !== null
              ? `exited with code ${exitCode}`
              : exitSignal !== null
                ? `killed by SIG${exitSignal}`
                : 'ssh channel closed without an exit status';
          const last = stderr.line();
          finish({ ok: false, exitCode, error: last ? `${why}: ${last}` : why });
        });
        ch.end(c.input);
      });
    });

    if (task.signal.aborted) {
      fail('stopped before the ssh session started');
      return;
    }
    task.signal.addEventListener('abort', onAbort, { once: true });
    conn.connect({
      host: host.hostName,
      port: host.port,
      username: host.user,
      privateKey: c.privateKey,
      readyTimeout: CONNECT_TIMEOUT_MS,
      // notice a vanished host during a long task instead of waiting forever
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      hostVerifier: (key: Buffer) => {
        if (c.trusted.length === 0 && !host.strictHostKeyChecking) return true;
        hostKeyRejected = !c.trusted.some((k) => k.equals(key));
        return !hostKeyRejected;
      },
    });
  });
}

/**
 * Holds back the start of stdout until its first line is complete, to take out the wrapper's
 * pgid report. A login shell that prints something first (a noisy .bashrc) hides the report;
 * then nothing is taken out and stopping falls back to closing the channel.
 */
class PgidReport {
  done = false;
  pgid: number | undefined;
  #held = Buffer.alloc(0);

  /** Returns the bytes that belong to the task's stdout so far. */
  write(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    const data = Buffer.concat([this.#held, chunk]);
    const nl = data.indexOf(0x0a);
    if (nl === -1 && data.length < 256) {
      this.#held = data;
      return Buffer.alloc(0);
    }
    this.done = true;
    this.#held = Buffer.alloc(0);
    const line = data.subarray(0, nl === -1 ? 0 : nl).toString();
    if (!line.startsWith(PGID_MARKER)) return data;
    this.pgid = Number(line.slice(PGID_MARKER.length)) || undefined;
    return data.subarray(nl + 1);
  }

  /** At the end of the stream: whatever was held back. */
  flush(): Buffer {
    this.done = true;
    return this.#held;
  }
}
