/**
 * Log outputs beside the console, configured as gorchestrator's logrus hooks were, in the
 * configuration's `log.hook` list:
 *
 * ```yaml
 * log:
 *   level: info
 *   hook:
 *     - {type: syslog, address: '127.0.0.1:514', protocol: udp, facility: local0, tag: baton}
 *     - {type: logstash, address: '127.0.0.1:5000', protocol: tcp, level: debug}
 * ```
 *
 * Each hook is a pino transport target (syslog-transport.ts, logstash-transport.ts) running in
 * pino's worker thread with the console output, so a slow or absent log server never blocks
 * the run loop. This module holds the shapes and their targets only; it is loaded by the
 * configuration code of every command, so it imports nothing heavy.
 */
import { fileURLToPath } from 'node:url';

export const LOG_HOOK_TYPES = ['syslog', 'logstash'] as const;
export const LOG_HOOK_PROTOCOLS = ['udp', 'tcp'] as const;
export type LogHookProtocol = (typeof LOG_HOOK_PROTOCOLS)[number];

/** Syslog facilities by name (RFC 5424 §6.2.1), as logrus and syslog.conf name them. */
export const SYSLOG_FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

interface HookBase {
  host: string;
  port: number;
  protocol: LogHookProtocol;
  /** the lowest level this hook receives; default the logger's */
  level?: string;
}

export interface SyslogHook extends HookBase {
  type: 'syslog';
  /** facility name, a key of SYSLOG_FACILITIES */
  facility: string;
  /** APP-NAME of every message */
  tag: string;
}

export interface LogstashHook extends HookBase {
  type: 'logstash';
}

export type LogHook = SyslogHook | LogstashHook;

export const DEFAULT_PORTS: Readonly<Record<LogHook['type'], number | undefined>> = {
  syslog: 514,
  logstash: undefined,
};

/** What a hook transport is given (structured-cloned into pino's worker thread). */
export interface HookTransportOptions {
  host: string;
  port: number;
  protocol: LogHookProtocol;
  /** syslog only */
  facility?: number;
  tag?: string;
}

/**
 * `host:port`, `[v6]:port` or (with a default port) `host`; undefined when malformed.
 * A URL-looking `udp://host:port` is accepted too: logrus users wrote both.
 */
export function parseAddress(
  text: string,
  defaultPort: number | undefined,
): { host: string; port: number } | undefined {
  const bare = text.replace(/^(udp|tcp|syslog|logstash):\/\//i, '').replace(/\/+$/, '');
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/[\]]+))(?::(\d{1,5}))?$/.exec(bare);
  if (!match) return undefined;
  const host = match[1] ?? match[2];
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port === undefined || port < 1 || port > 65535) return undefined;
  return { host, port };
}

const TRANSPORTS: Readonly<Record<LogHook['type'], string>> = {
  syslog: fileURLToPath(new URL('./syslog-transport.ts', import.meta.url)),
  logstash: fileURLToPath(new URL('./logstash-transport.ts', import.meta.url)),
};

/** pino transport targets for the hooks; a hook without a level gets `level`. */
export function hookTargets(
  hooks: readonly LogHook[],
  level: string,
): Array<{ target: string; level: string; options: HookTransportOptions }> {
  return hooks.map((hook) => {
    const options: HookTransportOptions = {
      host: hook.host,
      port: hook.port,
      protocol: hook.protocol,
    };
    if (hook.type === 'syslog') {
      options.facility = SYSLOG_FACILITIES[hook.facility];
      options.tag = hook.tag;
    }
    return { target: TRANSPORTS[hook.type], level: hook.level ?? level, options };
  });
}
