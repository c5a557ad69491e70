/**
 * Configuration: `loadConfig` on gorchestrator's own sample files and Baton's keys, the
 * precedence file < BATON_* variables < flags as the real binary applies it, and bad values
 * failing at once with the field and what was expected (exit 2).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, serverUrl } from '../../src/cli/config.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { READY_BOUND_MS } from '../support/cli.ts';
import { startTestServer, tempDir } from '../support/server.ts';
import { BATON, baton, CLEAN_ENV } from './helpers.ts';

const dir = tempDir('baton-config-');
after(() => dir.remove());
let count = 0;
function file(content: unknown, ext = 'yaml'): string {
  const path = join(dir.path, `config-${++count}.${ext}`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** gorchestrator's config/orchestrator.conf.sample, as that project shipped it. */
const GORCHESTRATOR_SAMPLE = {
  executor: { url: 'http://localhost:8181/v1/tasks' },
  http: {
    bind_address: '127.0.0.1',
    bind_port: 8080,
    certificate: 'certificate.pem',
    key: 'key.pem',
    scheme: 'https',
  },
  log: {
    hook: [
      { URL: '192.168.1.12:5000', level: 'debug', protocol: 'udp', type: 'logstash' },
      { URL: '127.0.0.1:5000', level: 'debug', protocol: 'udp', type: 'syslog' },
    ],
    output: { level: 'debug', path: 'stderr' },
  },
};

const throwsConfig = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, message);
    return true;
  });

describe('loadConfig', () => {
  it("reads gorchestrator's sample file", () => {
    const path = file(GORCHESTRATOR_SAMPLE, 'json');
    const config = loadConfig(path, {});
    assert.equal(config.file, path);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8080);
    assert.equal(config.scheme, 'https');
    assert.equal(config.certificate, join(dir.path, 'certificate.pem'), 'relative to the file');
    assert.equal(config.key, join(dir.path, 'key.pem'));
    assert.equal(config.logLevel, 'debug', 'log.output.level');
    assert.equal(config.logOutput, 'stderr', 'log.output.path');
    assert.equal(config.warnings, undefined, 'every key of it has a Baton meaning');
    assert.deepEqual(
      config.executors,
      [{ name: 'default', url: 'http://localhost:8181' }],
      "the client adds /v1/tasks itself; gorchestrator's URL named it",
    );
  });

  it("reads Baton's keys from YAML, paths relative to the file", () => {
    const path = file(`
server: http://orchestrator.internal:8080/
token: s3cret
data: ./state
db: postgres://baton@db.internal:5432/baton
tls: certs
artifacts: /srv/artifacts
ssh_config: ssh_config
docker: {host: 'unix:///run/docker.sock', allow: ['registry.example/*']}
log: {level: warning}
executors:
  - {name: default, url: 'https://localhost:8585'}
  - {name: web, url: 'https://web.internal:8585/v1'}
`);
    const config = loadConfig(path, {});
    assert.deepEqual(config, {
      file: path,
      server: 'http://orchestrator.internal:8080',
      token: 's3cret',
      data: join(dir.path, 'state'),
      db: 'postgres://baton@db.internal:5432/baton',
      tls: join(dir.path, 'certs'),
      artifacts: '/srv/artifacts',
      sshConfig: join(dir.path, 'ssh_config'),
      dockerHost: 'unix:///run/docker.sock',
      dockerAllow: ['registry.example/*'],
      logLevel: 'warn',
      executors: [
        { name: 'default', url: 'https://localhost:8585' },
        { name: 'web', url: 'https://web.internal:8585' },
      ],
    });
  });

  it('BATON_* variables override the file; BATON_CONFIG names it', () => {
    const path = file({ server: 'http://from-file:1', http: { bind_port: 9000 }, token: 'file' });
    const env = {
      BATON_CONFIG: path,
      BATON_SERVER: 'http://from-env:2',
      BATON_PORT: '9001',
      BATON_TOKEN: '',
      BATON_EXECUTORS: 'default=https://a:8585, web=http://b:8585/v1/tasks',
      BATON_LOG_LEVEL: 'ERROR',
      BATON_DB: 'postgresql://db/baton',
    };
    const config = loadConfig(undefined, env);
    assert.equal(config.file, path);
    assert.equal(config.server, 'http://from-env:2');
    assert.equal(config.port, 9001);
    assert.equal(config.token, 'file', 'an empty variable counts as unset');
    assert.equal(config.logLevel, 'error');
    assert.equal(config.db, 'postgresql://db/baton');
    assert.deepEqual(config.executors, [
      { name: 'default', url: 'https://a:8585' },
      { name: 'web', url: 'http://b:8585' },
    ]);
    assert.deepEqual(loadConfig(undefined, {}), {}, 'no file, no variables: nothing set');
    assert.deepEqual(loadConfig(file(''), {}).file !== undefined, true, 'an empty file is fine');
  });

  it('log.access and BATON_ACCESS_LOG: true or false, the variable over the file', () => {
    assert.equal(loadConfig(file({ log: { access: false } }), {}).accessLog, false);
    assert.equal(loadConfig(file({ log: { access: true } }), {}).accessLog, true);
    assert.equal(
      loadConfig(file({ log: { access: true } }), { BATON_ACCESS_LOG: 'FALSE' }).accessLog,
      false,
    );
    assert.equal(loadConfig(undefined, {}).accessLog, undefined, 'unset: serve logs requests');
    throwsConfig(
      () => loadConfig(file({ log: { access: 'off' } }), {}),
      /log\.access: expected true or false, got string "off"/,
    );
    throwsConfig(
      () => loadConfig(undefined, { BATON_ACCESS_LOG: 'no' }),
      /^BATON_ACCESS_LOG: expected true or false, got string "no"/,
    );
  });

  it('derives the client URL: flag, then server, then the serve address, then the default', () => {
    assert.equal(serverUrl({}), 'http://127.0.0.1:8080');
    assert.equal(serverUrl({ host: '0.0.0.0', port: 9000 }), 'http://127.0.0.1:9000');
    assert.equal(serverUrl({ host: '::1', port: 9000 }), 'http://[::1]:9000');
    assert.equal(serverUrl({ port: 0 }), 'http://127.0.0.1:8080', 'port 0 is not reachable');
    assert.equal(serverUrl({ server: 'http://s:1', port: 9000 }), 'http://s:1');
    assert.equal(serverUrl({ server: 'http://s:1' }, 'http://flag:3/'), 'http://flag:3');
    throwsConfig(() => serverUrl({}, 'localhost:8080'), /^--server: expected a URL like/);
    // HTTPS only with both files there, as serve has it (else plain HTTP on loopback)
    const there = file('PEM');
    const https = { port: 9000, scheme: 'https' as const, certificate: there, key: there };
    assert.equal(serverUrl(https), 'https://127.0.0.1:9000');
    assert.equal(serverUrl({ ...https, scheme: undefined }), 'https://127.0.0.1:9000');
    assert.equal(
      serverUrl({ ...https, key: join(dir.path, 'missing.pem') }),
      'http://127.0.0.1:9000',
    );
    assert.equal(serverUrl({ port: 9000, scheme: 'https' }), 'http://127.0.0.1:9000');
  });

  it('fails at once with the field path, what was expected and what came', () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { http: { bind_port: 'eighty' } },
        /: http\.bind_port: expected a port number 0-65535, got string "eighty"$/,
      ],
      [
        { http: { bind_port: 70000 } },
        /http\.bind_port: expected a port number 0-65535, got number 70000/,
      ],
      [
        { http: { bind_adress: 'x' } },
        /http\.bind_adress: unknown field; expected one of bind_address, bind_port/,
      ],
      [{ http: { scheme: 'ftp' } }, /http\.scheme: expected "http" or "https", got string "ftp"/],
      [
        { docker: { host: '/var/run/docker.sock' } },
        /docker\.host: expected unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/HOST:PORT/,
      ],
      [{ docker: { allow: 'x/*' } }, /docker\.allow: expected a list of image patterns/],
      [{ executors: [{ name: 'a' }] }, /executors\[0\]\.url: expected a value, got nothing/],
      [
        { executors: [{ name: 'a', url: 'localhost:8585' }] },
        /executors\[0\]\.url: expected a URL like https:\/\/localhost:8585/,
      ],
      [
        { executors: { url: 'http://x' } },
        /executors: expected a list of \{name, url\}, got an object/,
      ],
      [
        {
          executors: [
            { name: 'a', url: 'http://x' },
            { name: 'a', url: 'http://y' },
          ],
        },
        /executors\[1\]\.name: expected a name used once, got string "a"/,
      ],
      [{ executor: { url: 'http://x' }, executors: [] }, /executor: expected either "executor"/],
      [
        { log: { level: 'loud' } },
        /log\.level: expected one of trace, debug, info, warn, error, fatal, silent/,
      ],
      [
        { db: 'mysql://x/y' },
        /db: expected a URL like postgres:\/\/user@host:5432\/baton, got string "mysql/,
      ],
      [{ server: 42 }, /server: expected a non-empty string, got number 42/],
      [{ srever: 'http://x' }, /srever: unknown field; expected one of http, executor, executors/],
      [['a'], /\(top level\): expected an object/],
    ];
    for (const [content, message] of cases) {
      const path = file(content, 'json');
      throwsConfig(() => loadConfig(path, {}), message);
      assert.ok(
        (() => {
          try {
            loadConfig(path, {});
          } catch (err) {
            return (err as Error).message.startsWith(`${path}: `);
          }
        })(),
        'the message starts with the file',
      );
    }
    throwsConfig(() => loadConfig(file('http: [', 'yml'), {}), /: not valid YAML: /);
    throwsConfig(() => loadConfig(file('{"http": ', 'json'), {}), /: not valid JSON: /);
    throwsConfig(
      () => loadConfig(join(dir.path, 'missing.yaml'), {}),
      /missing\.yaml: cannot read the configuration file \(no such file\)/,
    );
    throwsConfig(
      () => loadConfig(undefined, { BATON_PORT: 'abc' }),
      /^BATON_PORT: expected a port number 0-65535, got string "abc"$/,
    );
    throwsConfig(
      () => loadConfig(undefined, { BATON_EXECUTORS: 'nourl' }),
      /^BATON_EXECUTORS\[0\]: expected NAME=URL/,
    );
    throwsConfig(
      () => loadConfig(undefined, { BATON_SERVER: 'nope' }),
      /^BATON_SERVER: expected a URL/,
    );
  });
});

// each test has its own files, data directories and processes: two run at once
describe('configuration in the real binary', { concurrency: 2 }, () => {
  const data = tempDir();
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ dataDir: data.path });
  });
  after(async () => {
    await server.close();
    data.remove();
  });

  it('client commands: file < env < flag', async () => {
    // port 1 and 2 are refused by fetch itself ("bad port"): unreachable at once, exit 3
    const config = file({ server: 'http://127.0.0.1:1' });
    const fromFile = await baton(['list', '--config', config]);
    assert.equal(fromFile.code, 3);
    assert.match(fromFile.stderr, /cannot reach the Baton server at http:\/\/127\.0\.0\.1:1 /);
    const fromEnv = await baton(['list', '--config', config], {
      env: { BATON_SERVER: 'http://127.0.0.1:2' },
    });
    assert.match(fromEnv.stderr, /at http:\/\/127\.0\.0\.1:2 /);
    const fromFlag = await baton(['list', '--config', config, '--server', server.url], {
      env: { BATON_SERVER: 'http://127.0.0.1:2' },
    });
    assert.equal(fromFlag.code, 0, fromFlag.stderr);
    const viaVariable = await baton(['list', '-o', 'json'], {
      env: { BATON_CONFIG: file({ server: server.url, token: 'abc' }) },
    });
    assert.equal(viaVariable.code, 0, viaVariable.stderr);
    assert.deepEqual(JSON.parse(viaVariable.stdout), { tasks: [] });
  });

  it('the token goes as Authorization: Bearer, file < env < flag', async () => {
    const seen: Array<string | undefined> = [];
    const fake = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end('{"tasks":[]}');
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const config = file({ server: url, token: 'from-file' });
      await baton(['list', '--config', config]);
      await baton(['list', '--config', config], { env: { BATON_TOKEN: 'from-env' } });
      await baton(['list', '--config', config, '--token', 'from-flag'], {
        env: { BATON_TOKEN: 'from-env' },
      });
      await baton(['list', '--server', url]);
      assert.deepEqual(seen, [
        'Bearer from-file',
        'Bearer from-env',
        'Bearer from-flag',
        undefined,
      ]);
    } finally {
      fake.close();
    }
  });

  it('a bad configuration fails every command with exit 2 and the field', async () => {
    const bad = file('http:\n  bind_port: eighty\n');
    const commands = [['list'], ['run', 'x.json'], ['validate', 'x.json'], ['serve']];
    const results = await Promise.all(commands.map((args) => baton([...args, '--config', bad])));
    for (const [i, res] of results.entries()) {
      assert.equal(res.code, 2, `${commands[i][0]}: ${res.stderr}`);
      assert.match(
        res.stderr,
        /^baton: .*config-\d+\.yaml: http\.bind_port: expected a port number 0-65535, got string "eighty"$/m,
      );
    }
    const env = await baton(['serve'], { env: { BATON_PORT: 'eighty' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /BATON_PORT: expected a port number/);
  });

  it('serve takes host, port, data and executors from the file, flags over it', async () => {
    const config = file(
      'http: {bind_address: 127.0.0.1, bind_port: 0}\ndata: ./served\nlog: {level: info}\n',
    );
    const started = await startServe(['serve', '--config', config]);
    try {
      assert.equal(started.ready.data, join(dir.path, 'served'), 'relative to the file');
      const res = await baton(['list', '--server', started.ready.url]);
      assert.equal(res.code, 0, res.stderr);
    } finally {
      started.child.kill('SIGTERM');
    }
    const flagged = await startServe([
      'serve',
      '--config',
      config,
      '--data',
      join(dir.path, 'flag'),
    ]);
    flagged.child.kill('SIGTERM');
    assert.equal(flagged.ready.data, join(dir.path, 'flag'));

    // beyond loopback: on loopback, gorchestrator's files start on plain HTTP (test/compat)
    const https = await baton([
      'serve',
      '--config',
      file({ http: { bind_address: '0.0.0.0', bind_port: 0, scheme: 'https' } }),
    ]);
    assert.equal(https.code, 2);
    assert.match(
      https.stderr,
      /http\.scheme: expected "http", got string "https": baton serve answers plain HTTP/,
    );
    const executor = await baton([
      'serve',
      '--config',
      file({
        http: { bind_port: 0 },
        executors: [{ name: 'default', url: 'https://localhost:8585' }],
      }),
    ]);
    assert.equal(executor.code, 2, 'an https executor without tls is refused at start-up');
    assert.match(executor.stderr, /executor "default" is https but no TLS directory was given/);
    const both = await baton(['serve', '--data', 'x', '--db', 'postgres://localhost/x']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--data DIR \(SQLite\) or --db/);
  });

  it('executor reads http.scheme and tls from the file', async () => {
    const noTls = await baton(['executor', '--config', file({ http: { bind_port: 0 } })]);
    assert.equal(noTls.code, 2);
    assert.match(noTls.stderr, /pass --tls DIR .* or --plain-http \(in a configuration file/);
    const missing = await baton([
      'executor',
      '--config',
      file({ http: { bind_port: 0, scheme: 'https' }, tls: 'nowhere' }),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /TLS directory .*nowhere: .*ca\.pem is missing/);
    const plain = await startServe(
      [
        'executor',
        '--config',
        file({
          http: { bind_address: '127.0.0.1', bind_port: 0, scheme: 'http' },
          data: 'exec',
          artifacts: '.',
        }),
      ],
      /"url":"(http[^"]+)".*baton executor ready/,
    );
    try {
      const ping = await fetch(`${plain.ready.url}/v1/ping`);
      assert.deepEqual(await ping.json(), { status: 'success' });
    } finally {
      plain.child.kill('SIGTERM');
    }
  });
});

/** Starts `baton serve|executor ARGS` and waits for its ready line (JSON log). */
function startServe(
  args: string[],
  ready = /"msg":"baton orchestrator ready"/,
): Promise<{ child: ChildProcess; ready: { url: string; data?: string } }> {
  const child = spawn(process.execPath, [BATON, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...CLEAN_ENV, CI: '1' },
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready:\n${output}`));
    }, READY_BOUND_MS);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const line = output.split('\n').find((l) => ready.test(l));
      if (line) {
        clearTimeout(timer);
        resolve({ child, ready: JSON.parse(line) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
}
