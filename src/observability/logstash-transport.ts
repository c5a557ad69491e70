/**
 * pino transport: each log record as a JSON event for logstash's `json_lines` codec (a `tcp`
 * input: one JSON object a line) or its `json` codec (a `udp` input: one a datagram), shaped
 * as logrus' logstash hook shaped them for gorchestrator:
 *
 *   {"@timestamp":"…","@version":"1","message":"attempt ended","level":"info",
 *    "host":"…","pid":4242,"run":"…","node":2,"name":"b","state":"success",…}
 */
import type { Writable } from 'node:stream';
import type { HookTransportOptions } from './log-hooks.ts';
import { type LogRecord, socketSink } from './socket-sink.ts';

const LEVEL_NAMES: ReadonlyArray<readonly [number, string]> = [
  [60, 'fatal'],
  [50, 'error'],
  [40, 'warn'],
  [30, 'info'],
  [20, 'debug'],
  [0, 'trace'],
];

export function levelName(level: number | undefined): string {
  if (level === undefined) return 'info';
  return LEVEL_NAMES.find(([at]) => level >= at)?.[1] ?? 'trace';
}

export function formatLogstash(record: LogRecord): string {
  const { time, level, msg, hostname, ...fields } = record;
  return JSON.stringify({
    '@timestamp': new Date(typeof time === 'number' ? time : Date.now()).toISOString(),
    '@version': '1',
    message: msg ?? '',
    level: levelName(level),
    host: hostname,
    ...fields,
  });
}

export default function logstashTransport(options: HookTransportOptions): Writable {
  return socketSink({
    ...options,
    kind: 'logstash',
    format: formatLogstash,
    frame: (message) => Buffer.concat([message, Buffer.from('\n')]),
  });
}
