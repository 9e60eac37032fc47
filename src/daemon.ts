// Serving one tierfs mount: open the catalog, reconcile it with the tiers, mount
// through the FUSE binding, answer the admin socket and the metrics listener; on
// SIGINT/SIGTERM unmount cleanly, flush the access recorder and close the catalog.
import { closeSync, constants, openSync, readFileSync, realpathSync, rmSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Server } from 'node:http';
import { Catalog } from './catalog/catalog.js';
import type { Config, TierConfig } from './config/schema.js';
import { LocalTier } from './tiers/local/local-tier.js';
import { TierSet, type AnyTier } from './tiers/tier-set.js';
import type { CrashPoint, MoveOptions, MoveStep } from './mover/protocol.js';
import { BackgroundMover } from './mover/background.js';
import { TokenBucket } from './mover/throttle.js';
import { MoverPacer } from './mover/foreground.js';
import { Classifier } from './policy/classifier.js';
import { FsError } from './errors.js';
import { defaultCacheDir, openObjectTier, tierStore } from './tiers/object/index.js';
import { stageTierChanges } from './tiers/live-tiers.js';
import { AccessRecorder } from './vfs/access-recorder.js';
import { Vfs } from './vfs/vfs.js';
import { reconcile, type ReconcileReport } from './vfs/reconcile.js';
import { createFuseOps } from './fuse/adapter.js';
import { ListingHabits } from './fuse/listing-habits.js';
import { NO_CELL_COUNTS } from './fuse/native.js';
import { mount, type FuseSession } from './fuse/session.js';
import type { MountOptions } from './fuse/types.js';
import { AdminApi, type MetricsStatus } from './admin/api.js';
import { adminRoutes, startAdminServer, type Routes } from './admin/server.js';
import { socketPathOf } from './admin/client.js';
import { serveMetrics } from './admin/http.js';
import { MetricsHistoryStore } from './catalog/metrics.js';
import { DaemonMetrics } from './metrics/daemon-metrics.js';
import { meterFuseOps } from './metrics/fuse.js';
import { MetricsHistory } from './metrics/history.js';
import { MeteredMoveProtocol, meteredThrottle } from './metrics/moves.js';
import { makePrivate, refuseOthersDataDir } from './private-dir.js';
import { moduleLogger } from './log.js';
import { BackgroundTask } from './background-task.js';
import { startAlerting } from './alerts/daemon-alerts.js';
import { guardProcess, type ProcessGuard } from './process-guard.js';
import { catalogPathOf } from './catalog/health.js';
import { prepareCatalog } from './recovery/at-mount.js';
import { configuredBackupStore } from './recovery/backup-store.js';
import { CatalogBackups } from './recovery/catalog-backups.js';
import { LAST_RECOVERY_META, RecoveryError, type RecoveryReport } from './recovery/rebuild-catalog.js';
import { HEARTBEAT_INTERVAL_MS, heldElsewhere, MountHeartbeat, otherLiveMounts, thisHost } from './recovery/mount-heartbeat.js';
import { syncManifests } from './recovery/manifest-sync.js';
import { ConfigVersions } from './config/versions.js';
import { configAtMount } from './config/at-mount.js';
import { ConfigManager } from './config/manager.js';
import { parseConfig } from './config/load.js';
import { configRoutes } from './admin/config-routes.js';
import { dashboardActionRoutes, movesSnapshot } from './dashboard/actions.js';
import { drainRoutes } from './admin/drain.js';
import { reportRoutes } from './admin/report-routes.js';
import { CostQueries } from './catalog/cost.js';
import { dirname } from 'node:path';

const log = moduleLogger('daemon');

export class DaemonError extends Error {
  readonly code = 'EDAEMON';
}

export interface RunningDaemon {
  mountpoint: string;
  reconcile: ReconcileReport;
  /** the catalog was lost and rebuilt before this mount */
  recovery: RecoveryReport | null;
  /** resolves when the mount ends from outside (fusermount3 -u) */
  closed: Promise<void>;
  stop(): Promise<void>;
}

/** Tests stop a move at a named step: TIERFS_TEST_PAUSE_AT=copied (see MoveProtocol). */
function testPauseHook(dataDir: string): MoveOptions['pauseAt'] {
  const step = process.env.TIERFS_TEST_PAUSE_AT as MoveStep | undefined;
  return step ? { step, dir: dataDir } : undefined;
}

/**
 * Tests that race moves against random operations (test/mount/differential-moves.test.ts):
 * TIERFS_TEST_PAUSE_RANDOM=<seed>[,<maxMs>] makes every move wait 0..maxMs ms (default
 * 20) at a random half of its steps, with no marker file, so that operations meet moves
 * at every step. Seeded so a run is repeatable as far as timing allows.
 */
function testRandomPauses(): MoveOptions['atStep'] {
  const spec = process.env.TIERFS_TEST_PAUSE_RANDOM;
  if (!spec) return undefined;
  const [seed, maxMs] = spec.split(',').map(Number);
  let a = (seed ?? 0) >>> 0;
  const rand = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
  return async () => {
    if (rand() < 0.5) await new Promise((r) => setTimeout(r, rand() * (maxMs || 20)));
  };
}

/**
 * Tests of alerts run hours in seconds: TIERFS_TEST_CLOCK=<file> makes the alert
 * evaluator's clock the number of ms since the epoch written in that file.
 */
function testClock(): (() => number) | undefined {
  const file = process.env.TIERFS_TEST_CLOCK;
  if (!file) return undefined;
  let last = Date.now();
  return () => {
    try {
      // A file caught between truncation and write reads empty: the clock stays where it was.
      last = Number(readFileSync(file, 'utf8')) || last;
    } catch {
      // no file yet: as before
    }
    return last;
  };
}

const within = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

function mountOptions(cfg: Config): MountOptions {
  const m = cfg.mount;
  return {
    fsname: cfg.dataDir,
    subtype: 'tierfs',
    maxRead: m.maxRead,
    maxWrite: m.maxWrite,
    splice: m.splice,
    readAheadKb: Math.round(m.readAhead / 1024),
    attrTimeout: m.attrTimeout / 1000,
    entryTimeout: m.entryTimeout / 1000,
    negativeTimeout: m.negativeTimeout / 1000,
    pageCache: m.pageCache,
    writebackCache: m.writebackCache,
    defaultPermissions: m.defaultPermissions,
    posixAcl: m.posixAcl,
    allowOther: m.allowOther,
    fastPath: m.fastPath,
    passthrough: m.passthrough === 'auto' && m.fastPath && !m.writebackCache,
    // adaptive is the daemon's choice per page: the kernel is to ask for attributes every time
    readdirplus: m.readdirplus === 'adaptive' ? 'always' : m.readdirplus,
  };
}

/** The directories a configuration puts data in: the data dir, local volumes, fs stores' roots. */
function dataDirs(dataDir: string | undefined, tiers: TierConfig[]): string[] {
  const ofTier = (t: TierConfig) => (t.kind === 'local' ? t.volumes.map((v) => v.path) : t.backends.flatMap((b) => (b.type === 'fs' ? [b.root] : [])));
  return [...(dataDir === undefined ? [] : [dataDir]), ...tiers.flatMap(ofTier)];
}

const inMount = (d: string, mountpoint: string) => new DaemonError(`${d} is inside the mountpoint ${mountpoint}: tierfs would read its own mount`);

/**
 * A configuration that leaves out a tier the catalog still has files on would serve them
 * as EIO (a tier renamed or removed in the file by mistake, or a drain that lost a race
 * with a rule): refused, naming the tier and what it holds, until it is back or empty.
 */
function refuseTiersLeftOut(cfg: Config, catalog: Catalog): void {
  const configured = new Set(cfg.tiers.map((t) => t.name));
  const left = [...catalog.usageByTier()].filter(([tier, u]) => !configured.has(tier) && u.files > 0);
  if (left.length === 0) return;
  const what = left.map(([tier, u]) => `tier ${tier} holds ${u.files} file${u.files === 1 ? '' : 's'} (${u.bytes} bytes)`).join('; ');
  throw new DaemonError(
    `${what}, but the configuration has no such tier: put it back in the tierfs.yaml (a local tier whose disk is lost with an empty ` +
      'directory as its volume: its files are then reported missing), or mount with it and empty it (tierfs tier drain NAME; files ' +
      'reported missing, which cannot move, are removed with rm) before removing it',
  );
}

/** Refuse layouts that would make the daemon read its own mount (a deadlock). Returns the mountpoint's real path. */
function checkLayout(cfg: Config, mountpoint: string): string {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  const mp = real(mountpoint);
  for (const d of dataDirs(cfg.dataDir, cfg.tiers)) if (within(real(d), mp)) throw inMount(d, mountpoint);
  return mp;
}

/**
 * The same for a tier added while mounted. Asynchronously: a synchronous look at a path
 * inside the mount would wait for this very thread to answer it.
 */
async function checkLayoutMounted(tier: TierConfig, realMountpoint: string): Promise<void> {
  const real = (p: string) => realpath(p).catch(() => resolve(p));
  for (const d of dataDirs(undefined, [tier])) if (within(await real(d), realMountpoint)) throw inMount(d, realMountpoint);
}

/** One daemon per data directory: a pid file that names a live process blocks a second mount. */
function takePidFile(dataDir: string): string {
  const path = join(dataDir, 'daemon.pid');
  try {
    const pid = Number(readFileSync(path, 'utf8'));
    if (pid && pid !== process.pid) {
      process.kill(pid, 0);
      throw new DaemonError(`the data directory ${dataDir} is in use by tierfs process ${pid}`);
    }
  } catch (err) {
    if (err instanceof DaemonError) throw err;
    // no pid file, or its process is gone: a stale one from a crash
  }
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Open one configured tier; an object tier reports to the daemon's metrics. */
/** tighten: false opens a local tier without making its volume roots private (a dry run's). */
async function openTier(cfg: Config, t: TierConfig, fsid: string, metrics: DaemonMetrics, tighten = true): Promise<AnyTier> {
  if (t.kind === 'local') return { kind: 'local', name: t.name, local: new LocalTier(t, { tighten }) };
  const object = await openObjectTier(t, fsid, defaultCacheDir(cfg.dataDir, t.name), {
    memoryCacheBytes: cfg.cache.memory,
    diskCacheBytes: cfg.cache.disk,
    ...metrics.objectTierOptions,
  });
  const capacity = t.capacity === undefined ? {} : { capacity: { bytes: t.capacity, high: t.watermarks.high } };
  return { kind: 'object', name: t.name, object, ...capacity };
}

/** Open every configured tier, fastest first. */
async function openTiers(cfg: Config, fsid: string, metrics: DaemonMetrics): Promise<TierSet> {
  const tiers: AnyTier[] = [];
  for (const t of cfg.tiers) tiers.push(await openTier(cfg, t, fsid, metrics));
  return new TierSet(tiers);
}

/** configText: the text cfg was parsed from, kept as a configuration version (tierfs config history). */
export async function startDaemon(cfg: Config, mountpointArg: string, opts: { configFile?: string; configText?: string } = {}): Promise<RunningDaemon> {
  const took = new Laps();
  const mountpoint = resolve(mountpointArg);
  const realMountpoint = checkLayout(cfg, mountpoint);
  refuseOthersDataDir(cfg.dataDir);
  makePrivate(cfg.dataDir, 'data directory');
  const pidFile = takePidFile(cfg.dataDir);
  // Never a new, empty filesystem over tiers that hold one: rebuild the lost catalog, or refuse.
  let recovery: RecoveryReport | null;
  try {
    recovery = await prepareCatalog(cfg, { configFile: opts.configFile });
    took.lap('catalogCheck');
  } catch (err) {
    rmSync(pidFile, { force: true });
    throw err;
  }
  const catalog = new Catalog(catalogPathOf(cfg.dataDir), { cacheBytes: cfg.catalog.cacheSize, commitDelayMs: cfg.catalog.commitDelay, checkpointInBackground: true });
  // See GroupCommit.onFailure: an uncaught exception stops the daemon (process-guard.ts).
  catalog.group.onFailure = (err) => {
    throw err;
  };
  let session: FuseSession | undefined;
  let admin: Server | undefined;
  let http: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let tierSet: TierSet | undefined;
  let guard: ProcessGuard | undefined;
  let heartbeat: MountHeartbeat | undefined;
  try {
    // The configuration the mount runs is a version; a crash while one was applied is finished here.
    const versions = new ConfigVersions(catalog.db, cfg.catalog.configVersions, () => catalog.group.commit());
    const configText = opts.configText ?? (opts.configFile ? readFileSync(opts.configFile, 'utf8') : undefined);
    // (Before the file is recorded as a version: a refused one is not.)
    refuseTiersLeftOut(cfg, catalog);
    const atMount = configText === undefined ? undefined : configAtMount(versions, opts.configFile, configText);
    if (atMount?.repairedText !== undefined && opts.configFile) cfg = parseConfig(atMount.repairedText, opts.configFile, dirname(opts.configFile));
    const metrics = new DaemonMetrics({ processMetrics: true });
    // The data path is metered only when something reads the numbers.
    const observed = cfg.metrics.listen !== null || cfg.metrics.history.enabled;
    const tiers = (tierSet = await openTiers(cfg, catalog.fsid, metrics));
    // One mount of a filesystem at a time (recovery/mount-heartbeat.ts), said through the tiers' own stores.
    const heartbeatStores = () => tiers.objects.flatMap((o) => o.stores);
    const holders = await otherLiveMounts(heartbeatStores(), catalog.fsid, thisHost(cfg.dataDir));
    if (holders.length > 0) throw new RecoveryError(heldElsewhere(catalog.fsid, holders));
    heartbeat = new MountHeartbeat(heartbeatStores, catalog.fsid, { ...thisHost(cfg.dataDir), mountpoint, pid: process.pid });
    await heartbeat.beat().catch((err: Error) => log.warn({ err: err.message }, 'cannot write the mount heartbeat to the object tiers'));
    const recording = {
      enabled: cfg.recording.enabled,
      flushIntervalMs: cfg.recording.flushInterval,
      logMaxRows: cfg.recording.logMaxRows,
      halfLifeMs: cfg.policy.halfLife,
    };
    const recorder = new AccessRecorder(catalog, recording);
    const vfs = new Vfs(catalog, tierSet, recorder);
    if (observed) vfs.onIo = metrics.countIo;
    const bandwidth = new TokenBucket(cfg.mover.bandwidth);
    // Paced by the mount's latency (mover/foreground.ts); the session's threads are known once mounted.
    const pacer = new MoverPacer(bandwidth, cfg.mover, () => session?.servingThreads() ?? []);
    pacer.feed(metrics.registry);
    const protocol = new MeteredMoveProtocol(
      catalog,
      tierSet,
      vfs,
      {
        pauseAt: testPauseHook(cfg.dataDir),
        atStep: testRandomPauses(),
        crashAt: process.env.TIERFS_TEST_CRASH_AT as CrashPoint | undefined,
        corruptSourceRead: process.env.TIERFS_TEST_CORRUPT_MOVE_READ === '1',
        // Always, even unlimited: a bandwidth set while mounted (config apply) reaches running moves.
        throttle: meteredThrottle(pacer.take, metrics.registry),
      },
      metrics.registry,
    );
    took.lap('open');
    // Renames and unlinks the daemon died in, then interrupted moves: none may leave names
    // or partial copies for reconcile to import as files, or bytes it would call missing.
    vfs.finishRenames();
    vfs.finishUnlinks();
    await protocol.recover();
    took.lap('recovery');
    const report = reconcile(catalog, tierSet.locals);
    took.lap('reconcile');
    vfs.copyUp = async (ino, keepBytes) => {
      // Admitted as a new file of its size is (ENOSPC only when no local tier has space):
      // every tier above its high watermark still takes it while pressure makes room.
      const size = vfs.inode(ino).size;
      const to = vfs.place(Math.min(size, keepBytes ?? size)).tier;
      // The application waits in open(): no bandwidth limit, no queue.
      const r = await protocol.move(ino, to.name, 'copy-up', { ignorePin: true, unthrottled: true, onlyIfCold: true, admitted: true, keepBytes });
      if (r.state === 'aborted') throw new FsError('EBUSY', `could not bring the file back: ${r.reason}`);
    };
    const background = new BackgroundMover({
      catalog,
      protocol,
      config: cfg.mover,
      foregroundRate: () => recorder.opsPerSecond(),
      openHold: (ino) => vfs.openHold(ino),
    });
    // A move that waited for its file to close runs as soon as it does, not a retryDelay later.
    vfs.onLastNameGone = (ino) => protocol.stopMoveOf(ino);
    vfs.onOldCopyUnread = () => void protocol.collectGarbage().catch((err) => log.warn({ err }, 'old copy not deleted yet; garbage collection will retry'));
    vfs.onHoldEnded = (ino) => {
      if (catalog.moveDueNow(ino)) background.kick();
    };
    const classifier = new Classifier({
      catalog,
      tiers: tierSet,
      tierConfigs: cfg.tiers,
      policy: cfg.policy,
      openHold: (ino) => vfs.openHold(ino),
    });
    const listings = new ListingHabits(cfg.mount.readdirplus);
    const ops = createFuseOps(vfs, {
      attrTimeoutS: cfg.mount.attrTimeout / 1000,
      entryTimeoutS: cfg.mount.entryTimeout / 1000,
      negativeTimeoutS: cfg.mount.negativeTimeout / 1000,
      fastPath: cfg.mount.fastPath,
      listings,
      nativeCreates: cfg.mount.nativeCreates,
    });
    metrics.fuse.listings = listings;
    metrics.fuse.listingsAhead = vfs.listingAhead.counts;
    metrics.attach({ catalog, tiers, tierConfigs: cfg.tiers, minResidencyMs: () => cfg.policy.minResidency });
    session = await mount(mountpoint, observed ? meterFuseOps(ops, metrics.fuse) : ops, mountOptions(cfg));
    took.lap('mount');
    if (cfg.mount.passthrough === 'auto' && !session.passthrough) {
      log.info('passthrough unavailable (Linux before 6.9, mount.fastPath off or mount.writebackCache on, or the kernel did not agree): local files are served by the native fast path');
    }
    metrics.fuse.passthrough = () => ({ enabled: session?.passthrough ?? false, ...(session?.passthroughCounts() ?? { opens: 0, refused: 0 }) });
    metrics.fuse.xattrsAnswered = () => session?.xattrsAnswered() ?? 0;
    metrics.fuse.dirAttrsAnswered = () => session?.dirAttrsAnswered() ?? 0;
    metrics.fuse.fileAttrsAnswered = () => session?.fileAttrsAnswered() ?? { getattrs: 0, lookups: 0 };
    metrics.fuse.listingPagesAnswered = () => session?.listingPagesAnswered() ?? 0;
    metrics.fuse.createCounts = () => session?.createCounts() ?? { lookups: 0, creates: 0 };
    metrics.fuse.cellCounts = () => session?.cellCounts() ?? NO_CELL_COUNTS;
    vfs.onHandleLeftCopy = (fh) => session?.dropCells(fh);

    // Background work: classification (incremental often, full now and then), the move
    // queue, and deletion of old copies whose last reader has closed. Each is a
    // BackgroundTask: a failure (a volume gone, a full disk under the catalog) is caught,
    // counted for status and retried with back-off; it never takes the mount down.
    // When the last full pass started; 0: the next pass is full. Set as a full pass starts,
    // so that a config apply during it (which sets 0) still gets a full pass of its own.
    let lastFull = 0;
    const classify = async () => {
      const passTime = metrics.registry.histogram('tierfs_classifier_pass_seconds').startTimer();
      recorder.flush();
      const startedMs = Date.now();
      const full = startedMs - lastFull >= cfg.policy.fullPassInterval;
      if (full) lastFull = startedMs;
      // In steps: a pass over a large catalog yields to the mount between pages. A pass
      // that fails has taken the changed files off the catalog's list: the next is full.
      const r = await classifier.passInSteps(full).catch((err: unknown) => {
        lastFull = 0;
        throw err;
      });
      passTime();
      if (r.enqueued > 0) background.kick();
      log.debug(r, 'classification pass');
    };
    // Observation: the history's points every minute (and misplacements found), backend probes.
    const { minutes, hours, days } = cfg.metrics.history;
    const history = cfg.metrics.history.enabled
      ? new MetricsHistory(new MetricsHistoryStore(catalog.db), metrics.registry, { retention: { minuteMs: minutes, hourMs: hours, dayMs: days } })
      : undefined;
    const removals = new CostQueries(catalog.db);
    // One sample at a time (the minute's, or a report's): each counts from the totals the last one saw.
    let sampling: Promise<unknown> = Promise.resolve();
    const sampleHistory = () => (sampling = sampling.catch(() => undefined).then(() => history?.sample()));
    const observe = async () => {
      metrics.checkPlacement();
      await sampleHistory();
      removals.pruneRemovals(Date.now() - days); // kept as long as the history's daily points
    };
    const observeTask = new BackgroundTask('metrics', observe, { intervalMs: 60_000 });
    // The tasks read their interval from these at each run: config apply changes them.
    const [classifyEvery, probeEvery] = [{ intervalMs: cfg.policy.interval }, { intervalMs: cfg.metrics.probeInterval }];
    const probe = new BackgroundTask('probe-backends', () => metrics.probeBackends(10_000), probeEvery);
    const classifyTask = new BackgroundTask('classify', classify, classifyEvery);
    const alerting = startAlerting(cfg.alerts, { db: catalog.db, registry: metrics.registry, mountpoint, history: cfg.metrics.history.enabled, now: testClock() });
    const tasks = [
      new BackgroundTask('collect-garbage', () => protocol.collectGarbage(), { intervalMs: 5000 }),
      new BackgroundTask('mount-heartbeat', () => heartbeat!.beat(), { intervalMs: HEARTBEAT_INTERVAL_MS }),
      new BackgroundTask(
        'mover-pace',
        () => {
          pacer.tick();
          background.slowedBy = pacer.pace.describe();
        },
        { intervalMs: 500 },
      ),
      classifyTask,
      observeTask,
      ...(tiers.objects.length > 0 ? [probe] : []),
      ...(alerting ? [alerting.task] : []),
    ];
    const backupStore = configuredBackupStore(cfg);
    const backups = backupStore && new CatalogBackups(catalog, backupStore, { keep: cfg.catalog.backup.keep, workDir: join(cfg.dataDir, 'backup-work') });
    const backupTask = backups && new BackgroundTask('catalog-backup', () => backups.take(), { intervalMs: cfg.catalog.backup.interval });
    if (backupTask) tasks.push(backupTask);
    // Manifests follow renames and attribute changes of cold files; marks left by a crash go first.
    // (Tests hold it back to see the window between a change and its manifest.)
    const manifestTask = new BackgroundTask('manifest-sync', () => syncManifests({ catalog, tiers, holdCopy: (id) => vfs.holdCopy(id) }), { intervalMs: 1000 });
    if (process.env.TIERFS_TEST_HOLD_MANIFEST_SYNC !== '1') tasks.push(manifestTask);
    const lastRecovery = catalog.getMeta(LAST_RECOVERY_META);
    const catalogStatus = () => ({
      recoveredAtThisMount: recovery !== null,
      lastRecovery: lastRecovery ? (JSON.parse(lastRecovery) as RecoveryReport) : null,
      backup: backups ? { ...backups.status(), intervalMs: cfg.catalog.backup.interval } : null,
    });
    const health = () => ({
      tasks: [...tasks, background.task].map((t) => t.status()),
      unhandledRejections: guard?.unhandledRejections ?? 0,
    });
    const metricsStatus = (): MetricsStatus => ({
      ...(http?.status() ?? { listen: null, url: null, configured: 'off', tokenRequired: false, tokenFile: null, scrapeTokenFile: null, error: 'not started yet' }),
      history: { enabled: history !== undefined, keepMinutePointsMs: minutes, keepHourPointsMs: hours, keepDayPointsMs: days },
    });
    const api = new AdminApi({
      catalog, tiers, tierConfigs: cfg.tiers, policy: cfg.policy, vfs, recorder, protocol, background, classifier, mountpoint, health,
      catalogStatus, backupNow: backups && (() => backups.take({ force: true })),
      metrics: metricsStatus, history, alerts: alerting && ((limit) => alerting.evaluator.status(limit)), onScrubbed: (file, report) => metrics.scrubbed(file, report),
      waitingRequests: observed ? () => metrics.fuse.unanswered() : undefined,
    });
    const routes = adminRoutes(api, () => recorder.flush(), (n) => bandwidth.take(n));
    const reports = reportRoutes({ db: catalog.db, config: () => cfg, now: testClock() ?? Date.now, sample: sampleHistory });
    const running = cfg;
    const applyLive = (next: Config) => {
      // The classifier, the mover, the admin API and the local tiers hold sections of this
      // one configuration object: updated in place, each of them follows at once.
      Object.assign(running.policy, next.policy);
      Object.assign(running.mover, next.mover);
      Object.assign(running.recording, next.recording);
      // Tiers added after the last one (stage's commit opened them), and backends reconnected.
      running.tiers.push(...next.tiers.slice(running.tiers.length));
      running.tiers.forEach((t, i) => {
        const n = next.tiers[i]!;
        t.watermarks = n.watermarks;
        if (t.kind === 'object' && n.kind === 'object') Object.assign(t, { backends: n.backends, verifyWrites: n.verifyWrites });
      });
      classifier.tiersChanged();
      if (tiers.objects.length > 0 && !tasks.includes(probe)) {
        tasks.push(probe);
        probe.start({ now: true });
      }
      // An object tier's capacity for manual moves was copied at open: its high watermark too.
      for (const t of tiers.ordered) if (t.kind === 'object' && t.capacity) t.capacity.high = next.tiers.find((c) => c.name === t.name)!.watermarks.high;
      running.metrics.probeInterval = next.metrics.probeInterval;
      running.catalog.configVersions = next.catalog.configVersions;
      running.cost = next.cost; // prices: the next report uses them
      Object.assign(recording, { enabled: next.recording.enabled, flushIntervalMs: next.recording.flushInterval, logMaxRows: next.recording.logMaxRows, halfLifeMs: next.policy.halfLife });
      [classifyEvery.intervalMs, probeEvery.intervalMs] = [next.policy.interval, next.metrics.probeInterval];
      pacer.configured();
      Object.assign(running.cache, next.cache);
      for (const t of tiers.ordered) {
        if (t.kind === 'object') t.object.resizeCaches(next.cache.memory, next.cache.disk).catch((err: Error) => log.warn({ err, tier: t.name }, 'cannot resize the recall cache'));
      }
      running.alerts = next.alerts;
      alerting?.apply(next.alerts);
      lastFull = 0; // every file, under the new rules
      classifyTask.kick();
      background.kick();
    };
    const configManager =
      atMount &&
      new ConfigManager({
        versions,
        file: opts.configFile,
        running: { config: cfg, text: atMount.repairedText ?? configText! },
        preview: (next) => classifier.preview(next.policy, new Map(next.tiers.map((t) => [t.name, t.watermarks.high]))),
        holding: (tier) => catalog.usageByTier().get(tier) ?? { files: 0, bytes: 0 },
        stage: (changes) =>
          stageTierChanges(changes, {
            tiers,
            fsid: catalog.fsid,
            open: async (t) => {
              await checkLayoutMounted(t, realMountpoint);
              return openTier(cfg, t, catalog.fsid, metrics, false);
            },
            store: (t, i) => tierStore(t, i, metrics.objectTierOptions.store),
            layoutsToCheck: (tier) => catalog.layoutsToCheck(tier, 8),
            timeoutMs: 30_000,
          }),
        applyLive,
        crashAfterRecord: process.env.TIERFS_TEST_CRASH_AFTER_CONFIG_RECORD === '1' ? () => process.kill(process.pid, 'SIGKILL') : undefined,
      });
    // Configuration on the socket, and on the listener only behind the dashboard's admin credential: the YAML may hold credentials.
    const drain = drainRoutes({ catalog, tiers, tierConfigs: cfg.tiers, policy: cfg.policy, background });
    const actions = dashboardActionRoutes({ background, configFile: opts.configFile });
    const login: Routes = { 'POST /v1/dashboard/login': (_url, body) => http!.login(body.link === true) };
    admin = await startAdminServer(socketPathOf(cfg.dataDir), { ...routes, ...reports, ...drain, ...actions, ...login, ...(configManager ? configRoutes(configManager) : {}) });
    http = await serveMetrics(cfg.metrics.listen, cfg.metrics, cfg.dataDir, {
      metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.exposition() }),
      routes: { ...routes, ...reports },
      // The dashboard reads what the CLI reads; its configuration routes need a credential.
      dashboard: {
        routes: { ...routes, ...reports, ...actions, ...(configManager ? configRoutes(configManager) : {}) },
        snapshots: { status: () => api.status(), moves: () => movesSnapshot(api, catalog, background) },
      },
    });
    // A rebuilt catalog is backed up at once: the next loss must not start from the tiers again.
    // Probes and the history's first points at once too: status and history begin at the mount.
    const atOnce = new Set<BackgroundTask>([manifestTask, probe, observeTask, ...(alerting ? [alerting.task] : []), ...(backupTask && recovery !== null ? [backupTask] : [])]);
    for (const t of tasks) t.start({ now: atOnce.has(t) });
    background.start();
    log.info({ mountpoint, dataDir: cfg.dataDir, tiers: cfg.tiers.map((t) => t.name), tookMs: took.done() }, 'mounted');

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await Promise.all(tasks.map((t) => t.stop()));
        await background.stop();
        await alerting?.close();
        admin?.close();
        await http?.close();
        await session?.unmount();
        vfs.closeAll();
        recorder.flush();
        await Promise.all(tierSet!.objects.map((o) => o.close()));
        catalog.close();
        await heartbeat?.end(); // after the unmount: the filesystem is free for another mount
        rmSync(pidFile, { force: true });
        rmSync(socketPathOf(cfg.dataDir), { force: true });
        guard?.uninstall();
        log.info({ mountpoint }, 'unmounted');
      })());
    guard = guardProcess(stop);
    return { mountpoint, reconcile: report, recovery, closed: session.closed, stop };
  } catch (err) {
    admin?.close();
    await http?.close();
    await session?.unmount().catch(() => undefined);
    await Promise.all((tierSet?.objects ?? []).map((o) => o.close().catch(() => undefined)));
    catalog.close();
    await heartbeat?.end();
    rmSync(pidFile, { force: true });
    throw err;
  }
}

/**
 * How long each step of starting the mount took, in ms, for the "mounted" log line: where
 * a slow mount's time went (boot: the process's start and module loading until here).
 */
class Laps {
  private readonly ms: Record<string, number> = { boot: Math.round(performance.now()) };
  private last = performance.now();

  lap(step: string): void {
    const now = performance.now();
    this.ms[step] = Math.round(now - this.last);
    this.last = now;
  }

  done(): Record<string, number> {
    this.lap('rest');
    return this.ms;
  }
}
