/**
 * Starting a task's local program: its own session and process group (so stopping the task
 * can signal everything it started), stdin from /dev/null, stdout and stderr as pipes.
 *
 * Two spawners with one shape. `posixSpawn` calls glibc's posix_spawn through koffi (FFI):
 * a vfork-style clone that costs about 0.2 ms whatever the executor's size. Node's
 * `child_process.spawn` forks, which copies the page tables of the whole executor (2–3 ms for
 * a 100 MB process, on the event loop, for every task); it remains the fallback where glibc
 * cannot be loaded (macOS, musl) and can be chosen with `spawner: 'node'`.
 */
import { spawn as nodeChildSpawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

export interface SpawnSpec {
  command: string;
  args: string[];
  cwd: string;
  /** the whole environment of the program (default: the executor's) */
  env?: NodeJS.ProcessEnv;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** why nobody could see how the program ended, when nobody could (supervisor.ts) */
  unknown?: string;
}

export interface Spawned {
  /** the process id, which is also its process group and session id */
  pid: number;
  stdout: Readable;
  stderr: Readable;
  /** resolves when the program has exited (its pipes may stay open in its children) */
  exited: Promise<ExitStatus>;
}

/** Starts a program, or rejects with an error naming the errno (`spawn X ENOENT`). */
export type Spawner = (spec: SpawnSpec) => Promise<Spawned>;

export const nodeSpawn: Spawner = (spec) =>
  new Promise((resolve, reject) => {
    const child = nodeChildSpawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<ExitStatus>((done) =>
      child.once('exit', (code, signal) => done({ code, signal })),
    );
    child.once('error', reject);
    child.once('spawn', () => {
      child.off('error', reject);
      resolve({ pid: child.pid!, stdout: child.stdout!, stderr: child.stderr!, exited });
    });
  });

// glibc's <spawn.h>, <fcntl.h> and <sys/wait.h>
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const O_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const O_WRONLY = 1;
const WNOHANG = 1;
// opaque glibc structs, allocated with room to spare (x86_64: 80, 336 and 128 bytes)
const FILE_ACTIONS_BYTES = 256;
const ATTR_BYTES = 512;
const SIGSET_BYTES = 256;

const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const signalNames = new Map(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

type Libc = NonNullable<ReturnType<typeof loadLibc>>;

function loadLibc() {
  if (process.platform !== 'linux') return undefined;
  let koffi: typeof import('koffi');
  let libc: import('koffi').LibraryHandle;
  try {
    // required lazily: a platform without koffi's prebuilt binary still gets nodeSpawn
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    libc = koffi.load('libc.so.6');
  } catch {
    return undefined;
  }
  const f = (signature: string) => libc.func(signature);
  return {
    spawnp: f(
      'int posix_spawnp(_Out_ int32_t *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)',
    ),
    actionsInit: f('int posix_spawn_file_actions_init(void *actions)'),
    actionsDestroy: f('int posix_spawn_file_actions_destroy(void *actions)'),
    addOpen: f(
      'int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)',
    ),
    addDup2: f('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
    addChdir: f('int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)'),
    attrInit: f('int posix_spawnattr_init(void *attr)'),
    attrDestroy: f('int posix_spawnattr_destroy(void *attr)'),
    setFlags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
    setSigMask: f('int posix_spawnattr_setsigmask(void *attr, void *set)'),
    setSigDefault: f('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
    sigEmptySet: f('int sigemptyset(void *set)'),
    sigFillSet: f('int sigfillset(void *set)'),
    pipe2: f('int pipe2(_Out_ int32_t *fds, int flags)'),
    close: f('int close(int fd)'),
    waitpid: f('int waitpid(int pid, _Out_ int32_t *status, int options)'),
    setpgid: f('int setpgid(int pid, int pgid)'),
    errno: () => koffi.errno(),
  };
}

/** Processes started by posixSpawn and not yet reaped, with what to tell when they are. */
const unreaped = new Map<number, (status: ExitStatus) => void>();
let safetyNet: NodeJS.Timeout | undefined;

/**
 * Collects every exited child of ours: on SIGCHLD (signals coalesce, so all are checked),
 * when a child's pipes close, and once a second as a safety net (which also keeps the event
 * loop alive while a child runs). Only our own pids are waited for, never -1, so children
 * that Node's child_process started are left to Node.
 */
function reap(libc: Libc): void {
  const status = new Int32Array(1);
  for (const [pid, done] of unreaped) {
    if (libc.waitpid(pid, status, WNOHANG) !== pid) continue;
    unreaped.delete(pid);
    const s = status[0];
    const signal = s & 0x7f;
    done(
      signal === 0
        ? { code: (s >> 8) & 0xff, signal: null }
        : { code: null, signal: signalNames.get(signal) ?? null },
    );
  }
  if (unreaped.size === 0 && safetyNet !== undefined) {
    clearInterval(safetyNet);
    safetyNet = undefined;
  }
}

/** What Node refuses too: C strings end at the first NUL, which would cut an argument short. */
function cString(value: string, what: string): string {
  if (value.includes('\0')) {
    throw Object.assign(new TypeError(`${what} must not contain NUL bytes`), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
  }
  return value;
}

function errnoError(errno: number, syscall: string, command: string): NodeJS.ErrnoException {
  const code = errnoNames.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${syscall} ${command} ${code}`), { code, errno, syscall });
}

/** Runs `call` once fewer than `MAX_SPAWNING` earlier calls are still running (FIFO). */
const MAX_SPAWNING = 64;
let spawning = 0;
const waitingTurn: (() => void)[] = [];
async function inTurn<T>(call: () => Promise<T>): Promise<T> {
  if (spawning < MAX_SPAWNING) spawning++;
  else await new Promise<void>((go) => waitingTurn.push(go)); // a finishing call's slot
  try {
    return await call();
  } finally {
    const next = waitingTurn.shift();
    if (next) next();
    else spawning--;
  }
}

/** Where a program's stdout or stderr goes: a descriptor of ours, or a path the child opens. */
type Sink = number | string;

/** A started program whose output goes where its starter said (see `spawnTo`). */
export interface Started {
  pid: number;
  exited: Promise<ExitStatus>;
}

/**
 * The read ends of a program's stdout and stderr pipes, for a program another process of
 * the same user starts (the supervisor, supervisor.ts): it opens the write ends through
 * `/proc/<our pid>/fd/<n>` (`paths`), which gives it blocking descriptors of the same pipes.
 * `closeWriteEnds` once it has started the program (or failed to), so that the read ends
 * see end-of-file when the program and what it started are done.
 */
export interface OutputPipes {
  stdout: Readable;
  stderr: Readable;
  paths: [stdout: string, stderr: string];
  closeWriteEnds(): void;
}

interface Posix {
  spawn: Spawner;
  /** makes this process lead a process group of its own (within its session) */
  ownProcessGroup(): void;
  /** starts a program whose stdout and stderr are opened (write-only) from these paths */
  spawnTo(spec: SpawnSpec, stdout: string, stderr: string): Promise<Started>;
  pipes(): OutputPipes;
}

function makePosix(): Posix | undefined {
  const libc = loadLibc();
  if (libc === undefined) return undefined;
  // signals the executor ignores or blocks (Node ignores SIGPIPE) are reset for the program
  const noSignals = Buffer.alloc(SIGSET_BYTES);
  const allSignals = Buffer.alloc(SIGSET_BYTES);
  libc.sigEmptySet(noSignals);
  libc.sigFillSet(allSignals);
  let listening = false;

  /**
   * One posix_spawnp call with stdout/stderr to the given sinks; resolves with its errno.
   * It runs on one of koffi's worker threads: posix_spawn returns only once the child has
   * exec'd, and on a busy machine that wait (0.5 ms and more) would otherwise stall the event
   * loop. koffi refuses more than 256 queued calls, so spawns beyond 64 wait their turn here.
   */
  const start = (
    pid: Int32Array,
    file: string,
    argv: (string | null)[],
    envp: (string | null)[],
    cwd: string,
    stdout: Sink,
    stderr: Sink,
  ): Promise<number> => {
    // initialised by the *_init calls below
    const actions = Buffer.allocUnsafe(FILE_ACTIONS_BYTES);
    const attr = Buffer.allocUnsafe(ATTR_BYTES);
    libc.actionsInit(actions);
    libc.attrInit(attr);
    libc.addOpen(actions, 0, '/dev/null', O_RDONLY, 0);
    for (const [sink, fd] of [
      [stdout, 1],
      [stderr, 2],
    ] as const) {
      if (typeof sink === 'number') libc.addDup2(actions, sink, fd);
      else libc.addOpen(actions, fd, sink, O_WRONLY, 0);
    }
    libc.addChdir(actions, cwd);
    libc.setFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    libc.setSigMask(attr, noSignals);
    libc.setSigDefault(attr, allSignals);
    return inTurn(
      () =>
        new Promise((resolve, reject) =>
          libc.spawnp.async(pid, file, actions, attr, argv, envp, (err: unknown, rc: number) => {
            libc.actionsDestroy(actions);
            libc.attrDestroy(attr);
            if (err) reject(err);
            else resolve(rc);
          }),
        ),
    );
  };

  /** Starts the program (or rejects naming the errno) and arranges for it to be reaped. */
  const launch = async (spec: SpawnSpec, stdout: Sink, stderr: Sink): Promise<Started> => {
    const argv = [spec.command, ...spec.args].map((a, i) => cString(a, `args[${i - 1}]`));
    const envp: (string | null)[] = Object.entries(spec.env ?? process.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => cString(`${k}=${v}`, `environment variable ${k}`));
    envp.push(null);
    cString(spec.cwd, 'cwd');
    if (!listening) {
      process.on('SIGCHLD', () => reap(libc));
      listening = true;
    }
    const pid = new Int32Array(1);
    let rc = await start(pid, spec.command, [...argv, null], envp, spec.cwd, stdout, stderr);
    // an executable without a #! line runs with /bin/sh, as execvp (and so Node) does
    if (rc === constants.errno.ENOEXEC)
      rc = await start(pid, '/bin/sh', ['/bin/sh', ...argv, null], envp, spec.cwd, stdout, stderr);
    if (rc !== 0) throw errnoError(rc, 'spawn', spec.command);
    const exited = new Promise<ExitStatus>((done) => unreaped.set(pid[0], done));
    safetyNet ??= setInterval(() => reap(libc), 1000);
    // it may have exited before it was listed, its SIGCHLD then finding nothing to reap
    reap(libc);
    return { pid: pid[0], exited };
  };

  /** Two pipes, close-on-exec: [read, write] of stdout, then of stderr. */
  const pipePair = (command: string): [Int32Array, Int32Array] => {
    const out = new Int32Array(2);
    const err = new Int32Array(2);
    if (libc.pipe2(out, O_CLOEXEC) !== 0) throw errnoError(libc.errno(), 'pipe', command);
    if (libc.pipe2(err, O_CLOEXEC) !== 0) {
      const errno = libc.errno();
      for (const fd of out) libc.close(fd);
      throw errnoError(errno, 'pipe', command);
    }
    return [out, err];
  };
  const reader = (fd: number) => {
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.once('close', () => reap(libc));
    return socket;
  };

  return {
    async spawn(spec) {
      const [out, err] = pipePair(spec.command);
      let started: Started;
      try {
        started = await launch(spec, out[1], err[1]);
      } catch (e) {
        libc.close(out[0]);
        libc.close(err[0]);
        throw e;
      } finally {
        libc.close(out[1]);
        libc.close(err[1]);
      }
      return { ...started, stdout: reader(out[0]), stderr: reader(err[0]) };
    },
    spawnTo: (spec, stdout, stderr) => launch(spec, stdout, stderr),
    ownProcessGroup() {
      if (libc.setpgid(0, 0) !== 0) throw errnoError(libc.errno(), 'setpgid', 'the supervisor');
    },
    pipes() {
      const [out, err] = pipePair('a task');
      let open = true;
      return {
        stdout: reader(out[0]),
        stderr: reader(err[0]),
        paths: [`/proc/${process.pid}/fd/${out[1]}`, `/proc/${process.pid}/fd/${err[1]}`],
        closeWriteEnds() {
          if (!open) return;
          open = false;
          libc.close(out[1]);
          libc.close(err[1]);
        },
      };
    },
  };
}

const posix = makePosix();

/** posix_spawn through glibc, or undefined where it cannot be loaded. */
export const posixSpawn: Spawner | undefined = posix?.spawn;

/**
 * What the supervisor and its executor need of posix_spawn (supervisor.ts), or undefined
 * where it cannot be loaded.
 */
export const posixSupervision = posix && {
  spawnTo: posix.spawnTo,
  pipes: posix.pipes,
  ownProcessGroup: posix.ownProcessGroup,
};

/** The spawner asked for; by default posix_spawn where available, else Node's. */
export function spawnerFor(choice: 'posix' | 'node' | undefined): Spawner {
  if (choice === 'node') return nodeSpawn;
  if (choice === 'posix' && posixSpawn === undefined)
    throw new Error('posix_spawn is not available here (it needs Linux with glibc); use node');
  return posixSpawn ?? nodeSpawn;
}
