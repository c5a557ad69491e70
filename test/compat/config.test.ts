/**
 * gorchestrator's configuration files start Baton (issue 13, item 9). The fixtures are
 * written after gorchestrator's sample orchestrator and executor files: JSON with
 * `executor.url`, `http.*` (scheme https, and a certificate.pem and key.pem that do not exist),
 * `log.output.{level,path}` and `log.hook[]` with `URL`. On loopback both start on plain HTTP
 * with a warning naming the missing files; on any other address they refuse, as before. The
 * hooks and the executor URL are shown working: the orchestrator's log reaches UDP listeners,
 * and a shell node runs on the executor its file names.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { State } from '../../src/graph/states.ts';
import { baton } from '../support/cli.ts';
import { call, eventually, freePort, Processes } from '../support/processes.ts';
import { tempDir } from '../support/server.ts';

const FIXTURES = fileURLToPath(new URL('fixtures/', import.meta.url));
const HANG_MS = 60_000;

const dir = tempDir('baton-compat-config-');
after(() => dir.remove());

/** The fields of the fixtures the tests change. */
interface GorchConfig {
  executor: { url: string };
  http: { bind_address: string; bind_port: number };
  log: { hook: Array<{ URL: string }> };
}

let copies = 0;
/**
 * A copy of a fixture, changed by `edit`, in a folder of its own (its certificate.pem and
 * key.pem, relative to it, are missing there too).
 */
function variant(fixture: string, edit: (config: GorchConfig) => void): string {
  const config = JSON.parse(readFileSync(join(FIXTURES, fixture), 'utf8')) as GorchConfig;
  edit(config);
  const folder = join(dir.path, `copy-${++copies}`);
  mkdirSync(folder);
  const path = join(folder, fixture);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A UDP listener collecting what it receives, as text. */
async function udpListener(): Promise<{ socket: Socket; port: number; text: () => string }> {
  const socket = createSocket('udp4');
  let received = '';
  socket.on('message', (message) => {
    received += `${message.toString()}\n`;
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: (socket.address() as AddressInfo).port, text: () => received };
}

/** `eventually`, whose failure shows what the process logged (the end of it). */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  output: () => string,
): Promise<T> {
  try {
    return await eventually(what, probe, HANG_MS);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the process logged:\n${output().slice(-4000)}`);
  }
}

/** The lines of a JSON log (stderr, as log.output.path asks). */
function logLines(text: string): Array<{ level: number; msg: string; url?: string }> {
  return text.split('\n').flatMap((line) => {
    try {
      return line.startsWith('{') ? [JSON.parse(line)] : [];
    } catch {
      return []; // the last line, still being written
    }
  });
}

describe("gorchestrator's orchestrator file", () => {
  const procs = new Processes();
  after(() => procs.killAll());

  it('starts on loopback with plain HTTP and a warning naming the missing files', async () => {
    const fixture = join(FIXTURES, 'orchestrator.conf');
    // flags over the file: a free port instead of its 8080, and a data directory
    const server = await procs.start(['serve', '--config', fixture, '--data', join(dir.path, 'a')]);
    const health = await call(`${server.url}/healthz`);
    assert.equal(health.status, 200, 'plain HTTP on 127.0.0.1');
    const warning = await until(
      'the warning',
      async () => logLines(server.output()).find((line) => line.level === 40),
      server.output,
    );
    assert.equal(
      warning.msg,
      `${fixture}: http: HTTPS asked for, but ${join(FIXTURES, 'certificate.pem')} does not ` +
        `exist, ${join(FIXTURES, 'key.pem')} does not exist: serving plain HTTP on 127.0.0.1, ` +
        'loopback only, as gorchestrator did (on any other address this is refused); give ' +
        'http.certificate and http.key files to serve HTTPS',
    );
    // log.output.level debug and log.output.path stderr
    let stdout = '';
    server.child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    const run = await call(`${server.url}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify({
        name: 'debug',
        digraph: [0],
        nodes: [{ id: 0, name: 'n', engine: 'nil' }],
      }),
    });
    assert.equal(run.status, 202, run.text);
    await until(
      'the dispatch, logged at debug',
      async () => logLines(server.output()).find((line) => line.level === 20),
      server.output,
    );
    assert.equal(stdout, '', 'the log goes to stderr');
  });

  it('refuses beyond loopback, naming the missing certificate', async () => {
    const config = variant('orchestrator.conf', (c) => {
      c.http.bind_address = '0.0.0.0';
    });
    const res = await baton(['serve', '--config', config, '--port', '0', '--data', dir.path]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /^baton: .*copy-\d+\/certificate\.pem: cannot read the certificate \(no such file\)$/m,
    );
  });

  it('sends its log to the hooks it names (URL, type, protocol, level)', async () => {
    const logstash = await udpListener();
    const syslog = await udpListener();
    after(() => {
      logstash.socket.close();
      syslog.socket.close();
    });
    const port = await freePort();
    const config = variant('orchestrator.conf', (c) => {
      c.http.bind_port = port;
      c.log.hook[0].URL = `127.0.0.1:${logstash.port}`;
      c.log.hook[1].URL = `127.0.0.1:${syslog.port}`;
    });
    const server = await procs.start(['serve', '--config', config, '--data', join(dir.path, 'b')], {
      port,
    });
    const ready = await until(
      'the ready line at logstash',
      async () =>
        logstash
          .text()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as { message?: string; level?: string })
          .find((event) => event.message === 'baton orchestrator ready'),
      server.output,
    );
    assert.equal(ready.level, 'info');
    await until(
      'the ready line at syslog',
      async () => (/baton orchestrator ready/.test(syslog.text()) ? true : undefined),
      server.output,
    );
    assert.match(syslog.text(), /^<14>1 /m, 'RFC 5424, facility user, severity info');
    // the client commands find that server from the same file: plain HTTP, as it serves
    const list = await baton(['list', '--config', config, '-o', 'json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { tasks: [] });
  });

  it('warns about what Baton has no use for, and starts', async () => {
    const fixture = join(FIXTURES, 'orchestrator-extras.conf');
    const server = await procs.start(['serve', '--config', fixture, '--data', join(dir.path, 'c')]);
    assert.equal((await call(`${server.url}/healthz`)).status, 200);
    const warnings = await until(
      'the warnings',
      async () => {
        const found = logLines(server.output()).filter((line) => line.level === 40);
        return found.length >= 2 ? found.map((line) => line.msg) : undefined;
      },
      server.output,
    );
    assert.deepEqual(warnings, [
      `${fixture}: log.output.path: "/var/log/gorchestrator.log" is neither stdout nor ` +
        "stderr: the log goes to stderr, as gorchestrator's did (Baton writes no log file: " +
        'redirect stderr to keep one)',
      `${fixture}: log.hook[0].type: no "gelf" hook in Baton (it has syslog, logstash): this ` +
        'hook is left out',
    ]);
    // log.output.level warning: no info line
    assert.ok(!logLines(server.output()).some((line) => line.level < 40));
  });
});

describe("gorchestrator's executor file", () => {
  const procs = new Processes();
  after(() => procs.killAll());

  it('starts on loopback with plain HTTP and runs what the orchestrator file sends it', async () => {
    const artifacts = join(dir.path, 'artifacts');
    mkdirSync(artifacts);
    writeFileSync(join(artifacts, 'hello.sh'), '#!/bin/sh\necho "greeting=hello $1"\n');
    chmodSync(join(artifacts, 'hello.sh'), 0o755);
    const fixture = join(FIXTURES, 'executor.conf');
    const executor = await procs.start([
      'executor',
      '--config',
      fixture,
      '--data',
      join(dir.path, 'executor-data'),
      '--artifacts',
      artifacts,
    ]);
    const ping = await call(`${executor.url}/v1/ping`);
    assert.deepEqual(ping.json, { status: 'success' });
    await until(
      'the warning',
      async () =>
        logLines(executor.output()).find(
          (line) => line.level === 40 && line.msg.includes('serving plain HTTP on 127.0.0.1'),
        ),
      executor.output,
    );

    // gorchestrator's executor.url names the API path, on localhost
    const config = variant('orchestrator.conf', (c) => {
      c.executor.url = `http://localhost:${executor.port}/v1/tasks`;
    });
    const port = await freePort();
    const server = await procs.start(['serve', '--config', config, '--data', join(dir.path, 'd')], {
      port,
    });
    const submitted = await call(`${server.url}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify({
        name: 'through the executor',
        digraph: [0],
        nodes: [
          {
            id: 0,
            name: 'hello',
            engine: 'shell',
            artifact: 'hello.sh',
            args: ['world'],
            output: { greeting: '' },
          },
        ],
      }),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(submitted.status, 202, submitted.text);
    const { id } = submitted.json as { id: string };
    const run = await until(
      'the run',
      async () => {
        const answer = await call(`${server.url}/v1/tasks/${id}`);
        const value = answer.json as { state: number; nodes: Array<{ output: object }> };
        return value.state === State.success || value.state === State.failure ? value : undefined;
      },
      () => `${server.output()}\n--- executor:\n${executor.output()}`,
    );
    assert.equal(run.state, State.success, JSON.stringify(run));
    assert.deepEqual(run.nodes[0].output, { greeting: 'hello world' });
  });

  it('refuses beyond loopback: no plain HTTP in place of TLS', async () => {
    const config = variant('executor.conf', (c) => {
      c.http.bind_address = '0.0.0.0';
    });
    const res = await baton(['executor', '--config', config, '--port', '0', '--data', dir.path]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /executor: pass --tls DIR \(mutual TLS, see `baton certs`\)/);
  });
});
