/**
 * A real OpenSSH server for tests: `/usr/sbin/sshd -D -e` on a free port of 127.0.0.1 with a
 * fresh host key, accepting one fresh key for the current user. Returns an ssh config for the
 * executor where `Host test` reaches it (host key checked against a known_hosts file) and
 * `Host impostor` expects a different host key. When sshd is missing this throws: the tests
 * that need it must fail, not skip (CI installs openssh-server).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './processes.ts';

const SSHD = '/usr/sbin/sshd';
const run = promisify(execFile);

export interface TestSshd {
  port: number;
  /** ssh config for the executor: `Host test` and `Host impostor` */
  configPath: string;
  user: string;
  /** the end of sshd's log (LogLevel VERBOSE), for failure messages */
  log(): string;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install the openssh-server package`);
  // sshd running as root insists on its privilege separation directory
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => {});
  const dir = await mkdtemp(path.join(os.tmpdir(), 'baton-sshd-'));
  const file = (name: string) => path.join(dir, name);
  const user = os.userInfo().username;
  await Promise.all(
    ['host_key', 'client_key', 'other_host_key'].map((k) =>
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `baton-test-${k}`, '-f', file(k)]),
    ),
  );
  await writeFile(file('authorized_keys'), await readFile(file('client_key.pub')));
  const port = await freePort();
  await writeFile(
    file('sshd_config'),
    `Port ${port}
ListenAddress 127.0.0.1
HostKey ${file('host_key')}
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile ${file('authorized_keys')}
AllowUsers ${user}
MaxStartups 100
MaxSessions 100
LogLevel VERBOSE
`,
  );
  const hostKey = (await readFile(file('host_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
  const otherKey = (await readFile(file('other_host_key.pub'), 'utf8'))
    .split(' ')
    .slice(0, 2)
    .join(' ');
  await writeFile(file('known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  await writeFile(file('impostor_known_hosts'), `[127.0.0.1]:${port} ${otherKey}\n`);
  const configPath = file('ssh_config');
  await writeFile(
    configPath,
    `# written by test/support/sshd.ts
Host test
  HostName 127.0.0.1
  Port ${port}
  User ${user}
  IdentityFile ${file('client_key')}
  UserKnownHostsFile ${file('known_hosts')}

Host impostor
  HostName 127.0.0.1
  Port ${port}
  User ${user}
  IdentityFile ${file('client_key')}
  UserKnownHostsFile ${file('impostor_known_hosts')}
`,
  );

  const sshd = spawn(SSHD, ['-D', '-e', '-f', file('sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  sshd.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16384);
  });
  try {
    await waitForBanner(port, sshd, () => stderr);
  } catch (err) {
    sshd.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    configPath,
    user,
    log: () => stderr,
    async stop() {
      if (sshd.exitCode === null && sshd.signalCode === null) {
        const exited = new Promise((resolve) => sshd.once('exit', resolve));
        sshd.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once sshd answers with its SSH-2.0 banner; throws with sshd's stderr if it died. */
async function waitForBanner(
  port: number,
  sshd: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (sshd.exitCode !== null)
      throw new Error(`sshd exited with code ${sshd.exitCode}: ${stderr()}`);
    if (await banner(port)) return;
    await delay(50);
  }
  throw new Error(`sshd did not answer on port ${port} within 10 s: ${stderr()}`);
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('SSH-2.0'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
