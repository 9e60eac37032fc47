// tierfs mount, tierfs umount
import { spawn } from 'node:child_process';
import { constants, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { restartWithMallocTunables, withMallocTunables } from '../malloc-tunables.js';
import { startDaemon } from '../daemon.js';
import { tierfsMounts } from './mounts.js';
import { describeRecovery } from '../recovery/rebuild-catalog.js';
import { CliError } from './output.js';
import { refuseOthersDataDir } from '../private-dir.js';

interface MountFlags {
  config?: string;
  foreground?: boolean;
  nonempty?: boolean;
}

/** --config, else ./tierfs.yaml, else the embedded default rooted at the current directory. */
export function configFile(flag: string | undefined): string | undefined {
  if (flag) return flag;
  return existsSync('tierfs.yaml') ? 'tierfs.yaml' : undefined;
}

export function registerMountCommands(program: Command): void {
  program
    .command('mount')
    .argument('<mountpoint>', 'an empty directory to mount on')
    .option('-c, --config <file>', 'configuration file (default: ./tierfs.yaml, else the embedded default under ./tierfs-data)')
    .option('-f, --foreground', 'stay in the foreground and log to stderr')
    .option('--nonempty', 'mount over a directory that has entries (they are hidden while mounted)')
    .description('mount tierfs; returns once the mount is ready (the daemon keeps running in the background)')
    .action(async (mountpoint: string, opts: MountFlags) => {
      if (opts.foreground) restartWithMallocTunables(); // the daemon's allocator settings (malloc-tunables.ts)
      const file = configFile(opts.config);
      const { config, text } = loadConfig(file); // a bad config is refused here, before anything is mounted
      checkMountpoint(mountpoint, Boolean(opts.nonempty));
      if (opts.foreground) {
        const daemon = await startDaemon(config, mountpoint, { configFile: file === undefined ? undefined : resolve(file), configText: text });
        process.send?.({ ready: true });
        for (const line of daemon.recovery ? describeRecovery(daemon.recovery) : []) process.stderr.write(`tierfs: ${line}\n`);
        process.stderr.write(`tierfs: mounted ${daemon.mountpoint} (imported ${daemon.reconcile.imported} entries)\n`);
        // process.exit() keeps an exit status set earlier (1 after an uncaught exception).
        const stop = () =>
          void daemon.stop().then(
            () => process.exit(),
            (err: unknown) => {
              process.stderr.write(`tierfs: unmount failed: ${(err as Error).message}\n`);
              process.exit(1);
            },
          );
        // `on`, not `once`: the FUSE session re-raises a signal that finds no listener left
        // once it has unmounted, and that would kill the process before the catalog is
        // closed and the access records flushed. stop() runs once however often it is called.
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.on('SIGHUP', stop);
        void daemon.closed.then(stop); // unmounted from outside (fusermount3 -u)
        return;
      }
      await mountInBackground(mountpoint, file, config.dataDir, Boolean(opts.nonempty));
      process.stdout.write(`tierfs mounted on ${resolve(mountpoint)} (data in ${config.dataDir}; log ${join(config.dataDir, 'tierfs.log')})\n`);
    });

  program
    .command('umount')
    .alias('unmount')
    .argument('<mountpoint>', 'a tierfs mountpoint')
    .description('unmount: the daemon closes files, flushes access records and exits; returns once it has exited')
    .action(async (mountpoint: string) => {
      const abs = resolve(mountpoint);
      const m = tierfsMounts().find((x) => x.mountpoint === abs);
      if (!m) throw new CliError(`${abs} is not a tierfs mount`);
      let pid = 0;
      try {
        pid = Number(readFileSync(join(m.dataDir, 'daemon.pid'), 'utf8'));
        process.kill(pid, 'SIGTERM');
      } catch {
        // no daemon left (it crashed): detach the stale mount below
      }
      for (let waited = 0; waited < 10_000 && tierfsMounts().some((x) => x.mountpoint === abs); waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      if (tierfsMounts().some((x) => x.mountpoint === abs)) {
        const r = spawn('fusermount3', ['-uz', abs], { stdio: 'inherit' });
        await new Promise((res) => r.on('exit', res));
      }
      // The mount goes before the daemon has flushed and closed the catalog: return only
      // once it has exited, so that a script's next command (fsck, a backup) finds it free.
      for (let waited = 0; pid && isAlive(pid) && waited < DAEMON_EXIT_WAIT_MS; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      if (pid && isAlive(pid)) {
        throw new CliError(`${abs} is unmounted, but tierfs process ${pid} has not exited after ${DAEMON_EXIT_WAIT_MS / 1000} s: its catalog may still be open`);
      }
      process.stdout.write(`unmounted ${abs}\n`);
    });
}

const DAEMON_EXIT_WAIT_MS = 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A directory, or a stale mount left by a crashed daemon (the daemon detaches it). A
 * directory with entries is refused unless asked for: mounting over it hides its files,
 * which then look lost.
 */
function checkMountpoint(mountpoint: string, nonempty: boolean): void {
  try {
    if (statSync(mountpoint).isDirectory()) {
      const entries = readdirSync(mountpoint);
      if (entries.length > 0 && !nonempty) {
        throw new CliError(
          `mountpoint ${mountpoint} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries[0]}): ` +
            'they would be hidden while tierfs is mounted; use --nonempty to mount over them anyway',
        );
      }
      return;
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOTCONN') return;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`mountpoint ${mountpoint}: ${(err as Error).message}`);
  }
  throw new CliError(`mountpoint ${mountpoint} is not a directory`);
}

/** Start `tierfs mount --foreground` detached, logging to the data directory, and wait until it is mounted. */
async function mountInBackground(mountpoint: string, file: string | undefined, dataDir: string, nonempty: boolean): Promise<void> {
  refuseOthersDataDir(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logPath = join(dataDir, 'tierfs.log');
  // (Not through a symlink: the daemon makes the directory private only once started.)
  const logFd = openSync(logPath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const logStart = fstatSync(logFd).size; // earlier runs' lines are not this failure's story
  const args = [
    ...process.execArgv,
    process.argv[1]!,
    'mount',
    '--foreground',
    ...(file ? ['--config', file] : []),
    ...(nonempty ? ['--nonempty'] : []),
    mountpoint,
  ];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd, 'ipc'], env: withMallocTunables(process.env) });
  await new Promise<void>((resolveReady, reject) => {
    child.once('message', () => resolveReady());
    child.once('exit', (code) => {
      const lines = readFileSync(logPath).subarray(logStart).toString('utf8').split('\n').filter(Boolean);
      // The daemon ends with "tierfs: REASON" (see main.ts); the JSON log lines stay in the log.
      const reason = lines.filter((l) => l.startsWith('tierfs: ')).map((l) => l.slice('tierfs: '.length));
      const told = reason.length ? reason.join('\n') : lines.slice(-5).join('\n');
      reject(new CliError(`could not mount ${mountpoint}: ${told || `the daemon exited with status ${code}`}\n(details in ${logPath})`));
    });
  });
  child.removeAllListeners('exit');
  child.disconnect();
  child.unref();
}
