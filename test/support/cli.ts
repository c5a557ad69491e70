/** Runs the real `baton` binary (bin/baton.js on the pinned Node) as a child process. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BATON = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

/**
 * How long a `baton` service may take to say it is ready: a hang bound, not a performance
 * assertion. On a 2-core machine loaded by other suites a start took more than 20 s.
 */
export const READY_BOUND_MS = 120_000;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function baton(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BATON, ...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface Service {
  url: string;
  child: ChildProcess;
  log: () => string;
}

/** Starts `baton serve` on a free port, on `dataDir` (SQLite) unless `extra` has `--db`. */
export function serve(dataDir: string, extra: string[] = []): Promise<Service> {
  const store = extra.includes('--db') ? [] : ['--data', dataDir];
  return spawnService(['serve', '--port', '0', ...store, ...extra]);
}

/**
 * Starts a long-running `baton` command (serve, executor) and resolves with the URL it logs
 * once ready (JSON log lines: CI=1 keeps them JSON).
 */
export function spawnService(args: string[]): Promise<Service> {
  const child = spawn(process.execPath, [BATON, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1' },
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`baton ${args[0]} did not start:\n${output}`));
    }, READY_BOUND_MS);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /"url":"(https?:[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], child, log: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baton ${args[0]} exited with ${code}:\n${output}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
