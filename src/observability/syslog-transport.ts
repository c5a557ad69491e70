/**
 * pino transport: each log record as an RFC 5424 syslog message, over UDP (RFC 5426, one
 * datagram a message) or TCP (RFC 6587 octet counting, `LEN SP MSG`, as rsyslog's imtcp and
 * syslog-ng take it). MSG is the record's JSON line, the same as Baton's JSON console output,
 * so run, node and name ids stay machine-readable:
 *
 *   <134>1 2026-11-26T05:16:03.123Z host baton 4242 - - {"level":30,...,"run":"…","msg":"…"}
 *
 * PRI is facility × 8 + severity; pino's levels map to severities fatal→crit(2), error→err(3),
 * warn→warning(4), info→info(6), debug and trace→debug(7).
 */
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { HookTransportOptions } from './log-hooks.ts';
import { type LogRecord, socketSink } from './socket-sink.ts';

export function severity(level: number | undefined): number {
  if (level === undefined) return 6;
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/** A header field: printable US-ASCII without spaces, at most `max` characters, else `-`. */
function field(value: unknown, max: number): string {
  const text = value === undefined || value === null ? '' : String(value);
  const clean = text.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

export function formatSyslog(
  record: LogRecord,
  options: { facility: number; tag: string; host?: string },
): string {
  const pri = options.facility * 8 + severity(record.level);
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString();
  const host = field(record.hostname ?? options.host ?? hostname(), 255);
  const header = `<${pri}>1 ${time} ${host} ${field(options.tag, 48)} ${field(record.pid, 128)} - -`;
  return `${header} ${JSON.stringify(record)}`;
}

export default function syslogTransport(options: HookTransportOptions): Writable {
  const facility = options.facility ?? 1;
  const tag = options.tag ?? 'baton';
  const host = hostname();
  return socketSink({
    ...options,
    kind: 'syslog',
    format: (record) => formatSyslog(record, { facility, tag, host }),
    frame: (message) => Buffer.concat([Buffer.from(`${message.length} `), message]),
  });
}
