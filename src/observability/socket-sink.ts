/**
 * The sending half of the log hooks: a Writable that takes pino's JSON lines, turns each record
 * into one message and sends it over UDP (one datagram a message) or TCP (a stream of framed
 * messages). It runs inside pino's transport worker.
 *
 * A log server that is down must never stop Baton: TCP reconnects with backoff (250 ms
 * doubling to 30 s) and keeps at most MAX_QUEUED messages meanwhile, dropping the oldest (and
 * drops new lines while a connected server leaves 16 MiB unread); UDP sends and forgets.
 * Trouble is reported once on stderr per outage, not once per line.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6, type Socket, connect as tcpConnect } from 'node:net';
import { Writable } from 'node:stream';
import type { HookTransportOptions } from './log-hooks.ts';

export type LogRecord = Record<string, unknown> & { level?: number; time?: number; msg?: string };

export interface SinkOptions extends HookTransportOptions {
  /** names the hook in error reports, e.g. `syslog` */
  kind: string;
  /** one record as a message; undefined skips it */
  format(record: LogRecord): string | undefined;
  /** a message as it goes on a TCP stream (framing); UDP sends messages as they are */
  frame(message: Buffer): Buffer;
}

const MAX_QUEUED = 10_000;
/** bytes written to a connected TCP socket but not yet sent, past which lines are dropped */
const MAX_UNSENT_BYTES = 16 * 1024 * 1024;
/** IPv4's largest UDP payload; longer messages are cut (log servers cut sooner, ~8 KiB) */
const MAX_DATAGRAM = 65_507;
const MAX_BACKOFF_MS = 30_000;
const CLOSE_TIMEOUT_MS = 2_000;

export function socketSink(options: SinkOptions): Writable {
  const where = `${options.kind} hook ${options.protocol}://${options.host}:${options.port}`;
  let failing = false;
  const report = (err: Error) => {
    if (failing) return;
    failing = true;
    process.stderr.write(`baton: ${where}: ${err.message}; log lines may be lost\n`);
  };
  const send = options.protocol === 'udp' ? udpSender(options, report) : tcpSender(options, report);
  const recovered = () => {
    failing = false;
  };
  let partial = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') continue;
        let record: LogRecord;
        try {
          record = JSON.parse(line) as LogRecord;
        } catch {
          record = { msg: line };
        }
        const message = options.format(record);
        if (message !== undefined) send.message(Buffer.from(message), recovered);
      }
      callback();
    },
    final(callback) {
      send.close().then(() => callback(), callback);
    },
  });
}

interface Sender {
  message(message: Buffer, sent: () => void): void;
  close(): Promise<void>;
}

function udpSender(options: SinkOptions, report: (err: Error) => void): Sender {
  let socket: UdpSocket | undefined;
  let pending = 0;
  let closing: (() => void) | undefined;
  return {
    message(message, sent) {
      if (!socket) {
        socket = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
        socket.on('error', report);
        socket.unref();
      }
      pending++;
      socket.send(message.subarray(0, MAX_DATAGRAM), options.port, options.host, (err) => {
        if (err) report(err);
        else sent();
        if (--pending === 0) closing?.();
      });
    },
    close() {
      if (!socket) return Promise.resolve();
      const s = socket;
      return new Promise<void>((resolve) => {
        const done = () => s.close(() => resolve());
        if (pending === 0) done();
        else {
          closing = done;
          setTimeout(done, CLOSE_TIMEOUT_MS).unref();
        }
      });
    },
  };
}

function tcpSender(options: SinkOptions, report: (err: Error) => void): Sender {
  let socket: Socket | undefined;
  let connected = false;
  let closed = false;
  let backoff = 250;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const queue: Buffer[] = [];
  let onSent: (() => void) | undefined;

  const open = () => {
    retry = undefined;
    const s = tcpConnect({ host: options.host, port: options.port });
    socket = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.unref();
    s.on('connect', () => {
      connected = true;
      backoff = 250;
      onSent?.();
      for (const message of queue.splice(0)) s.write(message);
    });
    s.on('error', report);
    s.on('close', () => {
      connected = false;
      socket = undefined;
      if (closed) return;
      retry = setTimeout(open, backoff);
      retry.unref();
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    });
  };

  return {
    message(message, sent) {
      onSent = sent;
      const framed = options.frame(message);
      if (connected && socket) {
        // a server that stops reading must not make us buffer without bound
        if (socket.writableLength < MAX_UNSENT_BYTES) socket.write(framed);
        return;
      }
      if (queue.length >= MAX_QUEUED) queue.shift();
      queue.push(framed);
      if (!socket && !retry) open();
    },
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const s = socket;
      if (!s) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.destroy();
          resolve();
        }, CLOSE_TIMEOUT_MS);
        timer.unref();
        const finish = () => {
          clearTimeout(timer);
          resolve();
        };
        s.once('close', finish);
        // Done once our FIN is out (every byte handed to the kernel): the server's answer is
        // not waited for. Still connecting: send what waits once connected, then end.
        if (connected) s.end(finish);
        else s.once('connect', () => s.end(finish));
      });
    },
  };
}
