/**
 * A real Docker daemon for tests, and a test image built without any registry.
 *
 * `startTestDocker()` uses the daemon named by BATON_TEST_DOCKER_HOST when set (.ci/run
 * starts one and sets it), else starts a private `dockerd` under a temp directory with flags
 * that work without a host network setup: vfs storage, no iptables, no bridge, its own data
 * root, exec root and socket. It is stopped, and its directory removed, by `stop()`. When
 * dockerd is missing this throws: the docker tests must fail, not skip (CI installs docker.io).
 *
 * `TEST_IMAGE` is a root filesystem of /bin/busybox (busybox-static) and its applet links,
 * imported through the Engine API (`POST /images/create?fromSrc=-`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DockerEngine } from '../../src/executor/docker/engine.ts';

const run = promisify(execFile);

export const TEST_IMAGE = 'baton-test/busybox:1';
const BUSYBOX = '/bin/busybox';

export interface TestDocker {
  /** `unix:///.../docker.sock` */
  host: string;
  engine: DockerEngine;
  /** the end of dockerd's output, for failure messages */
  log(): string;
  stop(): Promise<void>;
}

export async function startTestDocker(): Promise<TestDocker> {
  const shared = process.env.BATON_TEST_DOCKER_HOST;
  if (shared) {
    const engine = new DockerEngine(shared);
    await waitForPing(
      engine,
      () => true,
      () => `no daemon answers at ${shared}`,
    );
    await importTestImage(engine);
    return { host: shared, engine, log: () => '', stop: () => engine.close() };
  }
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((f) => existsSync(f));
  if (dockerd === undefined) throw new Error('dockerd not found: install the docker.io package');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'baton-dockerd-'));
  const host = `unix://${dir}/docker.sock`;
  let output = '';
  const child: ChildProcess = spawn(
    dockerd,
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--data-root=${dir}/data`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/docker.pid`,
      `--host=${host}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-16 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const engine = new DockerEngine(host);
  const stop = async () => {
    await engine.close();
    if (alive()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    await waitForPing(engine, alive, () => `dockerd did not start:\n${output}`);
    await importTestImage(engine);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, engine, log: () => output, stop };
}

/** Polls /_ping: a bound on a hang, not a timing assertion. */
async function waitForPing(
  engine: DockerEngine,
  alive: () => boolean,
  why: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await engine.ping())) {
    if (!alive() || Date.now() > deadline) throw new Error(why());
    await delay(100);
  }
}

/** Imports TEST_IMAGE unless the daemon has it already. */
async function importTestImage(engine: DockerEngine): Promise<void> {
  if (await engine.imageExists(TEST_IMAGE)) return;
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} not found: install busybox-static`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'baton-rootfs-'));
  try {
    // mkdtemp makes it 0700: the image's / must be traversable by any user
    await chmod(dir, 0o755);
    await mkdir(path.join(dir, 'bin'), { mode: 0o755 });
    await mkdir(path.join(dir, 'tmp'));
    await chmod(path.join(dir, 'tmp'), 0o1777);
    await copyFile(BUSYBOX, path.join(dir, 'bin/busybox'));
    const { stdout } = await run(BUSYBOX, ['--list']);
    for (const applet of stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a))) {
      if (applet !== 'busybox') await symlink('busybox', path.join(dir, 'bin', applet));
    }
    const tar = await run('tar', ['-C', dir, '-cf', '-', '.'], {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    });
    const [repo, tag] = TEST_IMAGE.split(':');
    await engine.importImage(tar.stdout, repo, tag);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
