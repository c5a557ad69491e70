/**
 * pino, pretty on a terminal and JSON otherwise (so log shippers get structured lines), plus
 * the configuration's `log.hook` outputs (syslog, logstash; see observability/log-hooks.ts).
 * Without hooks the console's JSON lines are written from the main thread, asynchronously and
 * in batches (log-output.ts): a slow reader of stdout never blocks the run loop, and nothing
 * queued is lost when the process ends, `closeLogger` writing it at an orderly shutdown.
 * With hooks, console and hooks are pino transport targets in one worker thread, each with
 * its own level.
 */
import { type Logger, type LoggerOptions, pino } from 'pino';
import { hookTargets, type LogHook } from '../observability/log-hooks.ts';
import { AsyncOutput } from './log-output.ts';

export interface CreateLoggerOptions {
  level?: string;
  pretty?: boolean;
  /** syslog and logstash outputs (configuration `log.hook`) */
  hooks?: readonly LogHook[];
  /** false: no console output, hooks only (tests) */
  console?: boolean;
  /** the console's file descriptor: 1 stdout (default), 2 stderr (gorchestrator's log.output.path) */
  fd?: 1 | 2;
}

type Transport = ReturnType<typeof pino.transport>;
const transports = new WeakMap<Logger, Transport>();
const consoles = new WeakMap<Logger, AsyncOutput>();

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
  const level = options.level ?? process.env.BATON_LOG_LEVEL ?? 'info';
  const hooks = options.hooks ?? [];
  const toConsole = options.console !== false && level !== 'silent';
  const base: LoggerOptions = { level };
  const fd = options.fd ?? 1;
  if (hooks.length === 0) {
    if (!toConsole) return pino({ level: 'silent' });
    if (!pretty) {
      const out = new AsyncOutput(fd);
      const logger = pino(base, out);
      consoles.set(logger, out);
      return logger;
    }
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', destination: fd },
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
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', destination: fd },
          }
        : { target: 'pino/file', level, options: { destination: fd } },
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
 * is covered by the console output's exit handler (log-output.ts), which cannot wait for a
 * write in flight.
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
