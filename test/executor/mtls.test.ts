/** Mutual TLS between the client (orchestrator side) and the executor, with writeCerts' files. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { loadTls, writeCerts } from '../../src/cli/certs.ts';
import { createExecutorClient, ExecutorError } from '../../src/executor/client.ts';
import { startExecutor } from '../../src/executor/server.ts';
import { State } from '../../src/graph/states.ts';
import { freshKey, node, tempDir } from './helpers.ts';

/** Two independent sets of certificates: ours, and a stranger's with another CA. */
let ours: string;
let theirs: string;
before(async () => {
  ours = await mkdtemp(path.join(os.tmpdir(), 'baton-certs-'));
  theirs = await mkdtemp(path.join(os.tmpdir(), 'baton-certs-'));
  await Promise.all([writeCerts(ours), writeCerts(theirs)]);
});
after(() => Promise.all([ours, theirs].map((d) => rm(d, { recursive: true, force: true }))));

async function tlsExecutor(t: Parameters<typeof tempDir>[0]) {
  const executor = await startExecutor({
    name: 'secure',
    host: '127.0.0.1',
    port: 0,
    tls: loadTls(ours, 'executor'),
    dataDir: await tempDir(t),
    artifactRoot: await tempDir(t),
  });
  t.after(() => executor.close());
  assert.match(executor.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  return executor;
}

test('certs: files, modes, CA and leaf extensions', async () => {
  for (const f of ['orchestrator-key.pem', 'executor-key.pem']) {
    assert.equal((await stat(path.join(ours, f))).mode & 0o777, 0o600, f);
  }
  const { ca, cert } = loadTls(ours, 'orchestrator');
  const caCert = new X509Certificate(ca);
  const leaf = new X509Certificate(cert);
  assert.ok(caCert.ca);
  assert.ok(!leaf.ca);
  assert.ok(leaf.checkIssued(caCert));
  assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  // each certificate has its role only: the orchestrator's is a client's (clientAuth), the
  // executor's a server's (serverAuth)
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  const executorLeaf = new X509Certificate(loadTls(ours, 'executor').cert);
  assert.deepEqual(executorLeaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.throws(
    () => loadTls(path.join(ours, 'nowhere'), 'executor'),
    /ca\.pem is missing; create the files with `baton certs/,
  );
});

test('mTLS: a client with the orchestrator certificate works', async (t) => {
  const executor = await tlsExecutor(t);
  const client = createExecutorClient({ url: executor.url, tls: loadTls(ours, 'orchestrator') });
  t.after(() => client.close());
  await client.ping();
  const { id } = await client.submit(node({ engine: 'nil' }), freshKey());
  assert.equal((await client.wait(id, 10)).state, State.success);
  // the name in the URL is checked against the certificate's SANs too
  const byName = createExecutorClient({
    url: executor.url.replace('127.0.0.1', 'localhost'),
    tls: loadTls(ours, 'orchestrator'),
  });
  t.after(() => byName.close());
  await byName.ping();
});

test('mTLS: a client without a certificate is refused during the handshake', async (t) => {
  const executor = await tlsExecutor(t);
  const { ca } = loadTls(ours, 'orchestrator');
  const client = createExecutorClient({ url: executor.url, tls: { ca, cert: '', key: '' } });
  t.after(() => client.close());
  await assert.rejects(client.ping(), (err: ExecutorError) => {
    assert.ok(err instanceof ExecutorError);
    assert.equal(err.url, executor.url);
    assert.ok(err.kind === 'tls' || err.kind === 'connect', err.message);
    t.diagnostic(err.message);
    return true;
  });
  // below HTTP: the TLS layer itself ends the connection with a certificate alert
  const { port } = new URL(executor.url);
  const alert = await new Promise<Error>((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: Number(port), ca }, () =>
      socket.write('GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n'),
    );
    socket.on('error', resolve);
    socket.on('data', () =>
      resolve(new Error('the executor answered a client without a certificate')),
    );
  });
  assert.match(alert.message, /certificate required|alert/i);
});

test("mTLS: an executor's certificate is refused as a client by another executor", async (t) => {
  // both executors hold certificates of the same CA; one's must not let it (or whoever
  // steals it from its host) submit tasks to the other
  const first = await tlsExecutor(t);
  const second = await tlsExecutor(t);
  const own = loadTls(ours, 'executor');
  const asExecutor = createExecutorClient({ url: second.url, tls: own, timeoutMs: 5000 });
  t.after(() => asExecutor.close());
  await assert.rejects(
    asExecutor.submit(node({ engine: 'nil' }), freshKey()),
    (err: ExecutorError) => {
      assert.ok(err instanceof ExecutorError);
      assert.match(err.message, new RegExp(`^executor ${second.url}: POST /v1/tasks`));
      t.diagnostic(err.message);
      return true;
    },
  );
  // below HTTP: the handshake itself fails, nothing is answered
  const { port } = new URL(second.url);
  const refused = await new Promise<Error>((resolve) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: Number(port), ca: own.ca, cert: own.cert, key: own.key },
      () => socket.write('GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n'),
    );
    socket.on('error', resolve);
    socket.on('close', () => resolve(new Error('closed without an answer')));
    socket.on('data', () => resolve(new Error('ANSWERED')));
  });
  assert.notEqual(refused.message, 'ANSWERED', 'an executor answered another executor');
  t.diagnostic(refused.message);
  // the orchestrator's certificate still works with both
  for (const executor of [first, second]) {
    const orchestrator = createExecutorClient({
      url: executor.url,
      tls: loadTls(ours, 'orchestrator'),
    });
    t.after(() => orchestrator.close());
    await orchestrator.ping();
  }
});

test('mTLS: a client certificate without any extended key usage is refused', async (t) => {
  // OpenSSL lets a certificate without the extension play any role: an operator's PKI may
  // issue such certificates to hosts, which must not become orchestrators by it
  const dir = await tempDir(t);
  const sh = (script: string) => execFileSync('sh', ['-ec', script], { cwd: dir, stdio: 'pipe' });
  const cnf = (eku: string) =>
    `basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n${eku}`;
  writeFileSync(path.join(dir, 'server.cnf'), cnf('extendedKeyUsage=serverAuth'));
  writeFileSync(path.join(dir, 'plain.cnf'), cnf(''));
  sh(`
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem \
      -out ca.pem -subj /CN=ops-ca -days 1 \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    for leaf in server plain; do
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $leaf-key.pem \
        -out $leaf.csr -subj /CN=$leaf
      openssl x509 -req -in $leaf.csr -CA ca.pem -CAkey ca-key.pem -set_serial 0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' ') \
        -days 1 -extfile $leaf.cnf -out $leaf.pem
    done`);
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  assert.equal(new X509Certificate(read('plain.pem')).keyUsage, undefined);
  const executor = await startExecutor({
    name: 'ops',
    host: '127.0.0.1',
    port: 0,
    tls: { ca: read('ca.pem'), cert: read('server.pem'), key: read('server-key.pem') },
    dataDir: await tempDir(t),
    artifactRoot: await tempDir(t),
  });
  t.after(() => executor.close());
  const client = createExecutorClient({
    url: executor.url,
    tls: { ca: read('ca.pem'), cert: read('plain.pem'), key: read('plain-key.pem') },
    timeoutMs: 5000,
  });
  t.after(() => client.close());
  await assert.rejects(client.submit(node({ engine: 'nil' }), freshKey()), (err: ExecutorError) => {
    assert.ok(err instanceof ExecutorError);
    t.diagnostic(err.message);
    return true;
  });
});

test('mTLS: a client certificate from another CA is refused', async (t) => {
  const executor = await tlsExecutor(t);
  const stranger = loadTls(theirs, 'orchestrator');
  const client = createExecutorClient({
    url: executor.url,
    tls: { ca: loadTls(ours, 'orchestrator').ca, cert: stranger.cert, key: stranger.key },
  });
  t.after(() => client.close());
  await assert.rejects(client.ping(), (err: ExecutorError) => {
    assert.ok(err instanceof ExecutorError);
    assert.match(err.message, /^executor https:\/\/127\.0\.0\.1:\d+: GET \/v1\/ping: /);
    t.diagnostic(err.message);
    return true;
  });
});

test('mTLS: the client refuses an executor signed by another CA', async (t) => {
  const executor = await tlsExecutor(t);
  const client = createExecutorClient({ url: executor.url, tls: loadTls(theirs, 'orchestrator') });
  t.after(() => client.close());
  await assert.rejects(client.ping(), (err: ExecutorError) => {
    assert.ok(err instanceof ExecutorError);
    assert.equal(err.kind, 'tls');
    assert.match(err.message, /TLS failure: .*certificate/i);
    t.diagnostic(err.message);
    return true;
  });
});

test('mTLS: plain HTTP to a TLS executor gets nowhere', async (t) => {
  const executor = await tlsExecutor(t);
  const client = createExecutorClient({
    url: executor.url.replace('https:', 'http:'),
    timeoutMs: 2000,
  });
  t.after(() => client.close());
  await assert.rejects(client.ping(), (err: ExecutorError) => {
    assert.ok(err instanceof ExecutorError);
    t.diagnostic(err.message);
    return true;
  });
});
