// A real tierfs mount for tests: a temp directory with a config, data directory and
// mountpoint, the daemon served from a child process (`tierfs mount --foreground`),
// and the CLI run as a command. stop() always leaves nothing mounted.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';
import { parseExposition, type Exposition } from './exposition.js';
import { withMallocTunables } from '../../src/malloc-tunables.js';
import { abortFuseConnections, forceUnmount, isMounted, waitFor } from './mount.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const TIERFS_BIN = join(REPO, 'bin', 'tierfs.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the tierfs CLI from source and collect its output. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onStderr?: (sofar: string) => void } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TIERFS_BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/**
 * An object tier named `name` over fs backends a, b, c… under `root` (k + m of them), as
 * YAML for TierfsOptions.moreTiers.
 */
export function fsObjectTier(root: string, opts: { name?: string; k?: number; m?: number; chunkSize?: string; smallFileThreshold?: string } = {}): string {
  const { name = 'cold', k = 2, m = 1, chunkSize = '64KiB', smallFileThreshold = '4KiB' } = opts;
  const backends = Array.from({ length: k + m }, (_, i) => String.fromCharCode(97 + i));
  return `  - name: ${name}
    kind: object
    scheme: { k: ${k}, m: ${m} }
    chunkSize: ${chunkSize}
    smallFileThreshold: ${smallFileThreshold}
    backends:
${backends.map((b) => `      - { name: ${b}, type: fs, root: ${root}/${b} }\n`).join('')}`;
}

/** A policy that keeps every file on hot, classified every second, with no residency: a test's rules go before `rest`. */
export const ALL_ON_HOT = `policy:
  interval: 1s
  minResidency: 0s
  rules:
    - name: rest
      target: hot
`;

export interface TierfsOptions {
  /** extra YAML appended at the top level (e.g. an admin: block) */
  extraYaml?: string;
  /** serve /metrics on a free loopback port, for TierfsMount.metric() */
  metrics?: boolean;
  /** capacity of the hot tier, e.g. "1MiB", to exercise fallback */
  hotCapacity?: string;
  /** capacity of the warm tier (default: its volume's filesystem) */
  warmCapacity?: string;
  allowOther?: boolean;
  fastPath?: boolean;
  /** creates answered by the binding in directories handed over (default: the config's default, true) */
  nativeCreates?: boolean;
  /** FUSE passthrough for local files (default: the config's default, auto) */
  passthrough?: 'auto' | 'off';
  /** whether listings carry attributes (default: the config's default, always) */
  readdirplus?: 'adaptive' | 'always' | 'auto' | 'off';
  /** kernel cache timeouts (default 0s: every stat reaches the daemon, as tests want) */
  cacheTimeout?: string;
  /** mount.entryTimeout, when it is to differ from cacheTimeout */
  entryTimeout?: string;
  /** more tiers after hot and warm, as YAML list items indented by two spaces */
  moreTiers?: string;
  /** access recording (default on) */
  recording?: boolean;
  /** the kernel page cache policy ('none' is direct I/O) */
  pageCache?: 'keep' | 'auto' | 'none';
  /** how long start() waits for the mount (default 30 s; a first mount that imports a large tree takes longer) */
  startTimeoutMs?: number;
}

export class TierfsMount {
  readonly root: string;
  readonly mnt: string;
  readonly dataDir: string;
  readonly hot: string;
  readonly warm: string;
  readonly configFile: string;
  private child: ChildProcess | undefined;
  private log = '';
  private readonly dir: ReturnType<typeof tempDir>;
  private readonly startTimeoutMs: number;

  constructor(opts: TierfsOptions = {}) {
    this.dir = tempDir('tierfs-mount-');
    this.startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    this.root = this.dir.path;
    this.mnt = join(this.root, 'mnt');
    this.dataDir = join(this.root, 'data');
    this.hot = join(this.dataDir, 'hot');
    this.warm = join(this.dataDir, 'warm');
    this.configFile = join(this.root, 'tierfs.yaml');
    mkdirSync(this.mnt);
    chmodSync(this.root, 0o755); // other users (nobody) must reach the mount
    writeFileSync(
      this.configFile,
      `dataDir: ./data
tiers:
  - name: hot
    kind: local
    volumes: [./data/hot]
${opts.hotCapacity ? `    capacity: ${opts.hotCapacity}\n` : ''}  - name: warm
    kind: local
    volumes: [./data/warm]
${opts.warmCapacity ? `    capacity: ${opts.warmCapacity}\n` : ''}${opts.moreTiers ?? ''}mount:
  attrTimeout: ${opts.cacheTimeout ?? '0s'}
  entryTimeout: ${opts.entryTimeout ?? opts.cacheTimeout ?? '0s'}
  allowOther: ${opts.allowOther ?? false}
  fastPath: ${opts.fastPath ?? true}
${opts.nativeCreates === undefined ? '' : `  nativeCreates: ${opts.nativeCreates}\n`}${opts.passthrough ? `  passthrough: ${opts.passthrough}\n` : ''}${opts.readdirplus ? `  readdirplus: ${opts.readdirplus}\n` : ''}${opts.pageCache ? `  pageCache: ${opts.pageCache}\n` : ''}recording:
  enabled: ${opts.recording ?? true}
  flushInterval: 50ms
${opts.metrics ? 'metrics:\n  listen: 127.0.0.1:0\n' : ''}${opts.extraYaml ?? ''}`,
    );
  }

  /** Start the daemon and wait until the kernel shows the mount. */
  async start(env: NodeJS.ProcessEnv = {}): Promise<this> {
    this.log = '';
    const child = spawn(process.execPath, [TIERFS_BIN, 'mount', '--foreground', '--config', this.configFile, this.mnt], {
      // As `tierfs mount` starts its daemon (a Node without process.execve cannot restart itself with them).
      env: withMallocTunables({ ...process.env, TIERFS_LOG_LEVEL: 'info', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    let exited = false;
    child.on('exit', () => (exited = true));
    await waitFor(() => exited || (isMounted(this.mnt) && this.log.includes('tierfs: mounted')), this.startTimeoutMs, () => `tierfs did not mount:\n${this.log}`);
    if (exited) throw new Error(`tierfs exited before mounting:\n${this.log}`);
    return this;
  }

  get output(): string {
    return this.log;
  }

  /** How many moves are copying now, as `tierfs moves` says. */
  async activeMoves(): Promise<number> {
    return (JSON.parse((await this.cli(['moves', '--json', this.mnt])).stdout) as { active: unknown[] }).active.length;
  }

  /** Where the daemon serves /metrics now, as tierfs status says (the mount needs a listener: `metrics: true`, or its own). */
  async metricsUrl(): Promise<string> {
    return (JSON.parse((await this.cli(['status', '--json', this.mnt])).stdout) as { metrics: { url: string } }).metrics.url;
  }

  /** The daemon's /metrics, parsed: from `url` (metricsUrl's, asked once by a caller that scrapes often), else from where status says. */
  async scrape(url?: string): Promise<Exposition> {
    return parseExposition(await (await fetch(url ?? (await this.metricsUrl()))).text());
  }

  /** A metric's value from the daemon's /metrics; 0 when absent. */
  async metric(name: string, labels?: Record<string, string>): Promise<number> {
    return (await this.scrape()).value(name, labels) ?? 0;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Clean unmount through SIGTERM, as a user's Ctrl-C or `tierfs umount` does. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<true>((r) => child.once('exit', () => r(true)));
      const exitsWithin = (ms: number) => Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), ms))]);
      child.kill('SIGTERM');
      if (!(await exitsWithin(10_000))) {
        child.kill('SIGKILL');
        // Still there: stuck in a request to its own mount, where SIGKILL waits for ever.
        if (!(await exitsWithin(2_000))) {
          abortFuseConnections(this.mnt);
          await exitsWithin(5_000);
        }
      }
    }
    forceUnmount(this.mnt);
  }

  /** The daemon dies without a chance to clean up; the stale mount is detached as an admin would. */
  async kill9(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** The bearer header the daemon's HTTP API asks for (its token file in the data directory). */
  apiAuth(): { authorization: string } {
    return { authorization: `Bearer ${readFileSync(join(this.dataDir, 'metrics.token'), 'utf8').trim()}` };
  }

  /** onStderr: told the command's standard error so far, as it comes (a command that reports progress). */
  cli(args: string[], onStderr?: (sofar: string) => void): Promise<CliResult> {
    return runCli(args, { cwd: this.root, onStderr });
  }

  /** Wait until the background mover's queue is empty and no move runs. */
  async drainQueue(timeoutMs = 30_000): Promise<void> {
    for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
      const q = JSON.parse((await this.cli(['moves', '--json', this.mnt])).stdout);
      if (q.queueLength === 0 && q.active.length === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the move queue did not drain\n${this.log}`);
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.dir.remove();
  }
}
