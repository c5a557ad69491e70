/**
 * pino, pretty on a terminal and JSON otherwise (so log shippers get structured lines), plus
 * the configuration's `log.hook` outputs (syslog, logstash; see observability/log-hooks.ts).
 * Without hooks the console's JSON lines are written from the main thread, asynchronously:
 * lines logged while a write is in flight are written together by the next one, so a busy
 * server makes one write(2) per batch of lines instead of one per line, and a slow reader of
 * stdout (a full pipe, a stalled disk) never blocks the run loop. With hooks, console and
 * hooks are pino transport targets in one worker thread, each with its own level.
 *
 * What is buffered is written before the process exits: `closeLogger` at an orderly shutdown
 * (it waits for the write in flight), pino's exit handler (a synchronous write) on any other
 * exit, an uncaught exception included. Only a SIGKILL loses the lines not yet written.
 */
import { writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { hookTargets, type LogHook } from '../observability/log-hooks.ts';

export interface CreateLoggerOptions {
  level?: string;
  pretty?: boolean;
  /** syslog and logstash outputs (configuration `log.hook`) */
  hooks?: readonly LogHook[];
  /** false: no console output, hooks only (tests) */
  console?: boolean;
}

type Transport = ReturnType<typeof pino.transport>;
const transports = new WeakMap<Logger, Transport>();
const consoles = new WeakMap<Logger, AsyncConsole>();

/**
 * Lines held in memory at most while stdout does not keep up; past this, lines are dropped
 * (and counted) rather than the server slowed down or grown without bound.
 */
export const MAX_BUFFERED_LOG_BYTES = 16 * 1024 * 1024;

type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * stdout through an asynchronous pino destination (sonic-boom, `sync: false`). After `end`,
 * a line (something logging during the last moments of a shutdown) is written synchronously
 * instead of throwing at its caller, as an ended sonic-boom would.
 */
class AsyncConsole implements DestinationStream {
  readonly #fd: number;
  readonly #out: SonicBoom;
  #ended = false;
  #dropped = 0;

  constructor(fd: number) {
    this.#fd = fd;
    this.#out = pino.destination({ dest: fd, sync: false, maxLength: MAX_BUFFERED_LOG_BYTES });
    this.#out.on('drop', () => {
      // said once per outage, on stderr: the log itself is what is overflowing
      if (this.#dropped++ === 0) {
        process.stderr.write(
          `baton: the log output does not keep up (${MAX_BUFFERED_LOG_BYTES} bytes waiting); dropping log lines\n`,
        );
      }
    });
    this.#out.on('drain', () => {
      if (this.#dropped > 0) {
        const dropped = this.#dropped;
        this.#dropped = 0;
        this.write(
          `${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, hostname: hostname(), dropped, msg: 'log lines were dropped: the log output did not keep up' })}\n`,
        );
      }
    });
  }

  write(line: string): void {
    if (this.#ended) writeSync(this.#fd, line);
    else this.#out.write(line);
  }

  /** Writes what is buffered (after the write in flight) and resolves. */
  end(): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    return new Promise((resolve) => {
      this.#out.once('close', () => resolve());
      this.#out.end();
    });
  }
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
  const level = options.level ?? process.env.BATON_LOG_LEVEL ?? 'info';
  const hooks = options.hooks ?? [];
  const toConsole = options.console !== false && level !== 'silent';
  const base: LoggerOptions = { level };
  if (hooks.length === 0) {
    if (!toConsole) return pino({ level: 'silent' });
    if (!pretty) {
      const out = new AsyncConsole(1);
      const logger = pino(base, out);
      consoles.set(logger, out);
      return logger;
    }
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  const targets: Array<{ target: string; level: string; options: object }> = [];
  if (toConsole) {
    targets.push(
      pretty
        ? {
            target: 'pino-pretty',
            level,
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' },
          }
        : { target: 'pino/file', level, options: { destination: 1 } },
    );
  }
  targets.push(...hookTargets(hooks, level === 'silent' ? 'info' : level));
  // The logger lets through what the most talkative output wants; each target filters.
  const lowest = targets.reduce((low, t) =>
    pino.levels.values[t.level] < pino.levels.values[low.level] ? t : low,
  ).level;
  const transport = pino.transport({ targets });
  const logger = pino({ level: lowest }, transport);
  transports.set(logger, transport);
  return logger;
}

/**
 * Writes what the outputs still hold: the console's buffered lines, or the transport
 * worker's (which it then stops). An orderly shutdown calls it before exiting; any other exit
 * is covered by pino's exit handler, which cannot wait for a write in flight.
 */
export function closeLogger(logger: Logger): Promise<void> {
  const out = consoles.get(logger);
  if (out) {
    consoles.delete(logger);
    return out.end();
  }
  const transport = transports.get(logger);
  if (!transport) return Promise.resolve();
  transports.delete(logger);
  return new Promise((resolve) => {
    transport.once('close', () => resolve());
    transport.end();
  });
}
