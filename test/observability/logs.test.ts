/**
 * Log hooks against real sockets on 127.0.0.1: a syslog server (UDP and TCP) receives RFC 5424
 * messages with the tag and the run id; a logstash server receives json_lines events whose
 * node events carry run, node and name; a log server that starts late still gets the lines;
 * bad hook configuration stops `baton serve` with the field named.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/cli/config.ts';
import { closeLogger, createLogger } from '../../src/cli/logger.ts';
import { State } from '../../src/graph/states.ts';
import type { LogHook } from '../../src/observability/log-hooks.ts';
import { formatSyslog } from '../../src/observability/syslog-transport.ts';
import { baton } from '../support/cli.ts';
import { doc, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';
import { eventually } from './helpers.ts';

const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (\d+) - - (\{.*\})$/;

/** Runs a graph (a -> b, nil) on a real server that logs through `hooks`; returns its id. */
async function runWithHooks(hooks: LogHook[], level = 'debug'): Promise<string> {
  const dir = tempDir();
  const logger = createLogger({ level, console: false, hooks });
  const server = await startTestServer({ dataDir: dir.path, logger });
  try {
    const { body } = await post(
      server.url,
      doc(
        [
          ['a', 'nil'],
          ['b', 'nil'],
        ],
        [[0, 1]],
      ),
    );
    assert.equal((await waitForRun(server.url, body.id)).state, State.success);
    return body.id;
  } finally {
    await server.close();
    await closeLogger(logger);
    dir.remove();
  }
}

/** A TCP server on 127.0.0.1 that keeps what it receives. */
async function tcpServer(
  port = 0,
): Promise<{ server: Server; port: number; data: () => string; bytes: () => Buffer }> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      received.push(chunk);
    });
    socket.on('close', () => sockets.delete(socket));
  });
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    for (const socket of sockets) socket.destroy();
    return close(cb);
  };
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bytes = () => Buffer.concat(received);
  return {
    server,
    port: (server.address() as AddressInfo).port,
    data: () => bytes().toString(),
    bytes,
  };
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('syslog hook', () => {
  it('sends RFC 5424 messages over UDP with the tag, the facility and the run id', async (t) => {
    const socket = createSocket('udp4');
    t.after(() => socket.close());
    const messages: string[] = [];
    socket.on('message', (message) => messages.push(message.toString()));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const { port } = socket.address();

    const id = await runWithHooks([
      {
        type: 'syslog',
        host: '127.0.0.1',
        port,
        protocol: 'udp',
        facility: 'local0',
        tag: 'baton-test',
      },
    ]);
    const parsed = await eventually('the node lines of the run', () => {
      const lines = messages.map((m) => {
        const match = RFC5424.exec(m);
        assert.ok(match, `RFC 5424: ${m}`);
        return { match, record: JSON.parse(match[6]) as Record<string, unknown> };
      });
      const ended = lines.filter((l) => l.record.run === id && l.record.msg === 'attempt ended');
      return ended.length === 2 ? { lines, ended } : undefined;
    });
    for (const { match } of parsed.lines) {
      assert.equal(match[4], 'baton-test', 'APP-NAME is the tag');
      assert.equal(Number(match[5]), process.pid, 'PROCID');
    }
    const [first] = parsed.ended;
    assert.equal(Number(first.match[1]), 16 * 8 + 6, 'PRI: local0 (16) × 8 + info (6)');
    assert.deepEqual(
      parsed.ended.map(({ record }) => [record.node, record.name, record.state]).sort(),
      [
        [0, 'a', 'success'],
        [1, 'b', 'success'],
      ],
    );
    const debug = parsed.lines.find((l) => l.record.msg === 'dispatching' && l.record.run === id);
    assert.ok(debug, 'debug lines too: the hook takes the logger level');
    assert.equal(Number(debug.match[1]), 16 * 8 + 7, 'debug severity 7');
    assert.ok(
      parsed.lines.some((l) => l.record.msg === 'run finished' && l.record.run === id),
      'the run line carries the run id',
    );
  });

  it('frames messages by octet counting over TCP', async (t) => {
    const collector = await tcpServer();
    t.after(() => collector.server.close());
    const id = await runWithHooks(
      [
        {
          type: 'syslog',
          host: '127.0.0.1',
          port: collector.port,
          protocol: 'tcp',
          facility: 'daemon',
          tag: 'baton',
        },
      ],
      'info',
    );
    const frames = await eventually('the run finished line', () => {
      // RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG, back to back
      const bytes = collector.bytes();
      const out: string[] = [];
      for (let at = 0; at < bytes.length; ) {
        const space = bytes.indexOf(' ', at);
        const length = Number(bytes.subarray(at, space).toString());
        assert.ok(Number.isInteger(length) && length > 0, `a frame length at byte ${at}`);
        if (space + 1 + length > bytes.length) break; // the rest is still on its way
        out.push(bytes.subarray(space + 1, space + 1 + length).toString());
        at = space + 1 + length;
      }
      return out.some((f) => f.includes('run finished') && f.includes(id)) ? out : undefined;
    });
    for (const frame of frames) assert.match(frame, RFC5424);
    assert.ok(
      frames.every((f) => !f.includes('"msg":"dispatching"')),
      'info level: no debug',
    );
    const ended = frames.find((f) => f.includes('attempt ended'))!;
    assert.equal(Number(RFC5424.exec(ended)![1]), 3 * 8 + 6, 'daemon (3) × 8 + info (6)');
  });

  it('formats a record by the RFC, whatever it holds', () => {
    const line = formatSyslog(
      { level: 50, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 7, hostname: 'h st', msg: 'x' },
      { facility: 23, tag: 'a tag that is far too long for the APP-NAME field of syslog!' },
    );
    assert.equal(
      line,
      '<187>1 2026-01-02T03:04:05.006Z hst atagthatisfartoolongfortheAPP-NAMEfieldofsyslog! 7 - - ' +
        '{"level":50,"time":1767323045006,"pid":7,"hostname":"h st","msg":"x"}',
    );
  });
});

describe('logstash hook', () => {
  it('sends json_lines events over TCP; node events carry run, node and name', async (t) => {
    const collector = await tcpServer();
    t.after(() => collector.server.close());
    const id = await runWithHooks([
      { type: 'logstash', host: '127.0.0.1', port: collector.port, protocol: 'tcp' },
    ]);
    const events = await eventually('the run finished event', () => {
      const all = jsonLines(collector.data().slice(0, collector.data().lastIndexOf('\n') + 1));
      return all.some((e) => e.message === 'run finished' && e.run === id) ? all : undefined;
    });
    for (const event of events) {
      assert.equal(event['@version'], '1');
      assert.match(String(event['@timestamp']), /^\d{4}-\d\d-\d\dT.*Z$/);
      assert.equal(typeof event.level, 'string');
    }
    const about = (node: number) =>
      events.filter((e) => e.run === id && e.node === node).map((e) => [e.message, e.name]);
    assert.deepEqual(about(0), [
      ['dispatching', 'a'],
      ['attempt ended', 'a'],
    ]);
    assert.deepEqual(about(1), [
      ['dispatching', 'b'],
      ['attempt ended', 'b'],
    ]);
    const ended = events.find((e) => e.message === 'attempt ended' && e.node === 1)!;
    assert.equal(ended.level, 'info');
    assert.equal(ended.state, 'success');
    assert.equal(ended.attempt, 1);
  });

  it('keeps lines while the log server is down and sends them once it is up', async (t) => {
    // a free port, closed again: nothing listens there for now
    const probe = await tcpServer();
    const port = probe.port;
    await new Promise((resolve) => probe.server.close(resolve));
    const logger = createLogger({
      level: 'info',
      console: false,
      hooks: [{ type: 'logstash', host: '127.0.0.1', port, protocol: 'tcp', level: 'warn' }],
    });
    t.after(() => closeLogger(logger));
    logger.info('not for the hook: below its level');
    logger.warn({ run: 'r-1', node: 3, name: 'late' }, 'while the server is down');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const collector = await tcpServer(port);
    t.after(() => collector.server.close());
    const [event] = await eventually('the queued line', () => {
      const events = jsonLines(collector.data());
      return events.length > 0 ? events : undefined;
    });
    assert.equal(event.message, 'while the server is down');
    assert.deepEqual([event.run, event.node, event.name, event.level], ['r-1', 3, 'late', 'warn']);
    assert.ok(!collector.data().includes('below its level'));
  });
});

describe('log hook configuration', () => {
  const dir = tempDir('baton-hooks-');
  let count = 0;
  const file = (content: unknown) => {
    const path = join(dir.path, `config-${++count}.json`);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };

  it("reads gorchestrator's hooks and Baton's", () => {
    const config = loadConfig(
      file({
        log: {
          hook: [
            { URL: '127.0.0.1:5000', level: 'debug', protocol: 'udp', type: 'logstash' },
            { URL: '127.0.0.1', level: 'warning', protocol: 'udp', type: 'syslog' },
            {
              type: 'syslog',
              address: '[::1]:6514',
              protocol: 'TCP',
              facility: 'local7',
              tag: 'orch',
            },
          ],
        },
        otlp: { endpoint: 'http://127.0.0.1:4318/' },
      }),
      {},
    );
    assert.deepEqual(config.logHooks, [
      { type: 'logstash', host: '127.0.0.1', port: 5000, protocol: 'udp', level: 'debug' },
      {
        type: 'syslog',
        host: '127.0.0.1',
        port: 514,
        protocol: 'udp',
        level: 'warn',
        facility: 'user',
        tag: 'baton',
      },
      { type: 'syslog', host: '::1', port: 6514, protocol: 'tcp', facility: 'local7', tag: 'orch' },
    ]);
    assert.equal(config.otlpEndpoint, 'http://127.0.0.1:4318');
    assert.equal(
      loadConfig(undefined, { BATON_OTLP_ENDPOINT: 'https://collector:4318/v1/traces' })
        .otlpEndpoint,
      'https://collector:4318/v1/traces',
    );
  });

  it('fails with the field path, what was expected and what came', () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { log: { hook: [{ type: 'syslog', address: '127.0.0.1:514', protocol: 'http' }] } },
        /: log\.hook\[0\]\.protocol: expected one of "udp", "tcp", got string "http"$/,
      ],
      [
        { log: { hook: [{ type: 'syslog', address: 'x:1' }, { address: 'y:2' }] } },
        /: log\.hook\[1\]\.type: expected one of "syslog", "logstash", got nothing$/,
      ],
      [
        { log: { hook: [{ type: 'logstash', address: '127.0.0.1' }] } },
        /: log\.hook\[0\]\.address: expected an address HOST:PORT, e\.g\. 127\.0\.0\.1:5000, got string "127\.0\.0\.1"$/,
      ],
      [
        { log: { hook: [{ type: 'syslog', url: 'h:99999' }] } },
        /: log\.hook\[0\]\.url: expected an address HOST\[:PORT\]/,
      ],
      [
        { log: { hook: [{ type: 'syslog', address: 'h', facility: 'local9' }] } },
        /: log\.hook\[0\]\.facility: expected one of "kern", .*"local7", got string "local9"$/,
      ],
      [
        { log: { hook: [{ type: 'syslog', address: 'h', tag: 'two words' }] } },
        /: log\.hook\[0\]\.tag: expected at most 48 printable ASCII characters/,
      ],
      [
        { log: { hook: [{ type: 'syslog', address: 'h', adress: 'x' }] } },
        /: log\.hook\[0\]\.adress: unknown field; expected one of type, address, url/,
      ],
      [
        { log: { hook: [{ type: 'logstash', address: 'h:1', facility: 'local0' }] } },
        /: log\.hook\[0\]\.facility: not a field of a logstash hook/,
      ],
      [
        { log: { hook: [{ type: 'syslog', address: 'h', level: 'loud' }] } },
        /: log\.hook\[0\]\.level: expected one of trace, debug/,
      ],
      [{ log: { hook: { type: 'syslog' } } }, /: log\.hook: expected a list of hooks/],
      [{ otlp: { endpoint: 'collector:4318' } }, /: otlp\.endpoint: expected a URL like http/],
      [{ otlp: { url: 'http://x' } }, /: otlp\.url: unknown field; expected one of endpoint/],
    ];
    for (const [content, message] of cases) {
      const path = file(content);
      assert.throws(
        () => loadConfig(path, {}),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        `${JSON.stringify(content)} -> ${message}`,
      );
    }
    assert.throws(
      () => loadConfig(undefined, { BATON_OTLP_ENDPOINT: 'nope' }),
      /BATON_OTLP_ENDPOINT: expected a URL like http:\/\/127\.0\.0\.1:4318, got string "nope"$/,
    );
  });

  it('stops `baton serve` at start-up, naming the field (exit 2)', async () => {
    const path = file({
      log: {
        level: 'info',
        hook: [{ type: 'syslog', address: '127.0.0.1:514', protocol: 'smtp' }],
      },
    });
    const result = await baton(['serve', '--port', '0', '--data', dir.path, '--config', path], {
      env: { BATON_CONFIG: '', BATON_OTLP_ENDPOINT: '' },
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /log\.hook\[0\]\.protocol: expected one of "udp", "tcp", got string "smtp"/,
    );
    dir.remove();
  });
});
