// The mount harness: serve a FUSE filesystem from a child process, wait until
// it is mounted, talk to it, stop it, and never leave a mount behind.
//
// A process must not read a mount synchronously that it serves itself (the
// read blocks in the kernel and nothing can answer it), so the filesystem runs
// in a child: `node --import tsx SCRIPT MOUNTPOINT [ARGS…]`. The script prints a
// line matching `readyLine` once mounted; every stdout line is kept, and lines
// that are JSON objects can be awaited as replies to commands sent on stdin.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { readMountInfo } from '../../src/fuse/mountpoint.js';

/** Polls `pred` every 20 ms until it holds; rejects with `message()` after timeoutMs. */
export async function waitFor(pred: () => boolean, timeoutMs: number, message: () => string = () => 'timed out'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `pred` (sync or async) every 200 ms until it holds; rejects with `what()` after timeoutMs. */
export async function eventually(pred: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await pred()); await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`);
  }
}

/** The canonical path without touching the last component (it may be a dead mount). */
function canonical(path: string): string {
  const abs = resolve(path);
  try {
    return join(realpathSync(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
}

/** The filesystem types mounted at `path`, oldest first (read from /proc/self/mountinfo). */
export function mountsAt(path: string): string[] {
  const want = canonical(path);
  return readMountInfo().filter((m) => m.mountpoint === want).map((m) => m.fstype);
}

const FUSECTL = '/sys/fs/fuse/connections';

export function isMounted(path: string): boolean {
  return mountsAt(path).length > 0;
}

/**
 * Aborts every FUSE connection mounted at `path` (/sys/fs/fuse/connections/N/abort, N the
 * mount's device minor, read from mountinfo: nothing here touches the mount). A daemon
 * stuck in a request to its own mount (uninterruptible, SIGKILL waits) is freed by it, and
 * every call waiting on the mount fails (ECONNABORTED; later ones ENOTCONN) instead of
 * hanging the test run. Returns how many connections it aborted. The fusectl filesystem
 * is mounted first when it is not (a fresh machine may not have it until something, the
 * daemon's own abort, mounts it).
 */
export function abortFuseConnections(path: string): number {
  const want = canonical(path);
  if (!mountsAt(FUSECTL).includes('fusectl')) {
    try {
      execFileSync('mount', ['-t', 'fusectl', 'fusectl', FUSECTL], { stdio: 'ignore' });
    } catch {
      /* not root, or mounted meanwhile: the writes below say */
    }
  }
  let aborted = 0;
  for (const m of readMountInfo()) {
    if (m.mountpoint !== want || !m.fstype.startsWith('fuse')) continue;
    try {
      writeFileSync(`${FUSECTL}/${m.device.split(':')[1]}/abort`, '1');
      aborted++;
    } catch {
      /* gone meanwhile, or no fusectl: the lazy unmount still detaches it */
    }
  }
  return aborted;
}

/** Lazily unmounts everything at `path` (fusermount3 -uz, else umount -l). Synchronous; never reads the mount. */
export function forceUnmount(path: string): void {
  const mp = canonical(path);
  for (let i = 0; i < 8 && isMounted(mp); i++) {
    try {
      execFileSync('fusermount3', ['-u', '-z', '--', mp], { stdio: 'ignore' });
    } catch {
      try {
        execFileSync('umount', ['-l', '--', mp], { stdio: 'ignore' });
      } catch {
        /* tried both */
      }
    }
  }
}

/**
 * Runs fn with dir held open: the kernel cannot forget a directory in use, and other test
 * files drop its caches meanwhile (a directory the kernel forgets is no longer handed to
 * the binding for creates). Opened from this process, which does not serve the mount.
 */
export async function holdingOpen<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const fd = openSync(dir, 'r');
  try {
    return await fn();
  } finally {
    closeSync(fd);
  }
}

/** A tmpfs of `size` (as mount -o size= takes it: 16m) at dir, made if missing; returns its unmount (lazy: a failed test may leave it busy). */
export function tmpfsAt(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tierfs-test', dir]);
  return () => execFileSync('umount', ['-l', dir]);
}

/** Bytes free to an unprivileged writer on the filesystem of dir. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** A fresh empty directory under /tmp that user nobody can enter too. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  chmodSync(dir, 0o755);
  return dir;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string;
  /** run as this user: 'nobody' or a numeric uid (gid = uid, no supplementary groups) */
  user?: 'nobody' | number;
  onSpawn?: (child: ChildProcess) => void;
}

/** Runs a command asynchronously (the event loop stays free), collecting its output. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  let argv = [cmd, ...args];
  if (opts.user !== undefined) {
    const id = opts.user === 'nobody' ? 65534 : opts.user;
    argv = ['setpriv', `--reuid=${id}`, `--regid=${id}`, '--clear-groups', '--', ...argv];
  }
  const started = Date.now();
  return new Promise((res, rej) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {}); // a command that ignores its input may close it early
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? '');
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    opts.onSpawn?.(child);
  });
}

/** renameat2(RENAME_EXCHANGE) of two paths (Node has none), in a child process: its exit code, 0 or the errno. */
export async function exchangeNames(a: string, b: string): Promise<number | null> {
  const script = `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2)
sys.exit(0 if r == 0 else ctypes.get_errno())`;
  return (await run('python3', ['-c', script, a, b])).code;
}

/** run() as user nobody. */
export function runAsNobody(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(cmd, args, { ...opts, user: 'nobody' });
}

export interface ServeOptions {
  /** where to mount; a fresh temp dir when absent (removed again by stop()) */
  mountpoint?: string;
  /** more arguments after the mountpoint */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  readyLine?: RegExp;
  timeoutMs?: number;
}

const live = new Set<ServedMount>();

/** A filesystem served by a child process. */
export class ServedMount {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly mountpoint: string,
    readonly child: ChildProcess,
    private readonly ownsDir: boolean,
  ) {
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    // A child that died has closed its stdin; commands to it fail by timeout instead.
    child.stdin!.on('error', () => {});
    // 'close', not 'exit': by then everything the child wrote has been read.
    this.exited = new Promise((res) =>
      child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        res(this.exitInfo);
      }),
    );
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** What the child printed, for failure messages. */
  output(): string {
    return `--- stdout\n${this.lines.join('\n')}\n--- stderr\n${this.stderr}`;
  }

  async waitForLine(re: RegExp, timeoutMs = 10_000, from = 0): Promise<string> {
    let found: string | undefined;
    await waitFor(
      () => (found = this.lines.slice(from).find((l) => re.test(l))) !== undefined || !this.running,
      timeoutMs,
      () => `no line matching ${re} from the server\n${this.output()}`,
    );
    if (found === undefined) throw new Error(`server exited before printing ${re}\n${this.output()}`);
    return found;
  }

  /** Sends a command line on stdin and awaits the JSON line the server answers with ({"reply": cmd, …}). */
  async command<T = Record<string, unknown>>(cmd: string, timeoutMs = 10_000): Promise<T> {
    const from = this.lines.length;
    this.child.stdin!.write(`${cmd}\n`);
    const line = await this.waitForLine(new RegExp(`^\\{"reply":"${cmd}"`), timeoutMs, from);
    return JSON.parse(line) as T;
  }

  /** JSON lines the server printed with {"event": name}. */
  events<T = Record<string, unknown>>(name: string): T[] {
    return this.lines
      .filter((l) => l.startsWith(`{"event":"${name}"`))
      .map((l) => JSON.parse(l) as T);
  }

  /** SIGTERM, wait up to 10 s (then SIGKILL), then make sure nothing is left mounted. */
  async stop(): Promise<void> {
    try {
      if (this.running) {
        this.child.kill('SIGTERM');
        const ended = await Promise.race([this.exited.then(() => true), sleep(10_000).then(() => false)]);
        if (!ended) {
          this.child.kill('SIGKILL');
          await this.exited;
        }
      }
    } finally {
      this.cleanup();
    }
  }

  /** SIGKILL: the daemon dies without unmounting; the mount stays behind, stale. */
  async kill9(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Unmounts whatever is left and removes the temp mountpoint. */
  cleanup(): void {
    forceUnmount(this.mountpoint);
    live.delete(this);
    if (this.ownsDir && !isMounted(this.mountpoint)) rmSync(this.mountpoint, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts `node --import tsx SCRIPT MOUNTPOINT ...args` and resolves once the child
 * printed its ready line and the mount shows in /proc/self/mountinfo.
 */
export async function serveMount(script: string, opts: ServeOptions = {}): Promise<ServedMount> {
  const ownsDir = opts.mountpoint === undefined;
  const mountpoint = canonical(opts.mountpoint ?? tempDir('tierfs-mnt'));
  const child = spawn(process.execPath, ['--import', 'tsx', script, mountpoint, ...(opts.args ?? [])], {
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const m = new ServedMount(mountpoint, child, ownsDir);
  live.add(m);
  try {
    await m.waitForLine(opts.readyLine ?? /^READY\b/, opts.timeoutMs ?? 20_000);
    await waitFor(() => isMounted(mountpoint), 5000, () => `server is ready but nothing is mounted\n${m.output()}`);
  } catch (err) {
    await m.stop();
    throw err;
  }
  return m;
}

/** Stops every mount this process started (for afterAll/afterEach). */
export async function stopAllMounts(): Promise<void> {
  await Promise.allSettled([...live].map((m) => m.stop()));
}

// Last resort if a test process ends with mounts still up.
process.on('exit', () => {
  for (const m of live) {
    if (m.running) m.child.kill('SIGKILL');
    forceUnmount(m.mountpoint);
  }
});
