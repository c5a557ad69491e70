/** pino, pretty on a terminal and JSON otherwise (so log shippers get structured lines). */
import { type Logger, type LoggerOptions, pino } from 'pino';

export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && !process.env.CI);
  const base: LoggerOptions = { level: options.level ?? process.env.BATON_LOG_LEVEL ?? 'info' };
  if (!pretty) return pino(base);
  return pino({
    ...base,
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' },
    },
  });
}
