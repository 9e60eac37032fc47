// The running configuration of a mount, and changes to it while mounted (tierfs config
// apply|rollback|set). A change goes one way: validate (the same errors as at mount,
// key and line) → refuse what cannot change live, saying what to do instead → show
// the differences and what the new policy would move → record the version in the
// catalog → write the config file back (atomically, with a backup) → apply it to the
// running daemon. A refused change leaves the running configuration and the file as
// they were, and is logged.
import { dirname } from 'node:path';
import { moduleLogger } from '../log.js';
import type { StagedTiers } from '../tiers/live-tiers.js';
import type { PolicyImpact } from '../policy/preview.js';
import { writeConfigFile } from './config-file.js';
import { diffTexts, formatChange, type Change } from './diff.js';
import { ConfigError, parseConfig } from './load.js';
import { liveTierChanges, refusedChanges, type LiveTierChanges, type TierHolding } from './live-changes.js';
import type { Config } from './schema.js';
import { hashText, type ConfigVersion, type ConfigVersions } from './versions.js';

const log = moduleLogger('config');

export class ConfigRefused extends Error {
  readonly code = 'ECONFIGREFUSED';
  constructor(readonly reasons: string[]) {
    super(`configuration refused: it cannot be applied while mounted:\n${reasons.map((r) => `  ${r}`).join('\n')}`);
  }
}

export interface Caller {
  uid: number | null;
  user: string | null;
}

export interface ApplyRequest {
  text: string;
  /** where the text came from, for error messages (the CLI's FILE) */
  source?: string;
  message?: string;
  dryRun?: boolean;
  caller?: Caller;
  restoredFrom?: number;
  /** refuse if the running version is no longer this one (a preview then apply must see the same base) */
  expectVersion?: number;
}

export type VersionSummary = Omit<ConfigVersion, 'text'>;

export interface ApplyAnswer {
  /** false for a dry run, or when the text is the running one */
  applied: boolean;
  dryRun: boolean;
  /** the running version before */
  base: number;
  /** the new version, when applied */
  version: VersionSummary | null;
  /** key by key, as written: `policy.rules[2].match.idleAbove: 30d → 14d` */
  changes: Change[];
  /** the same, one line each */
  lines: string[];
  impact: PolicyImpact;
}

export interface ConfigManagerDeps {
  versions: ConfigVersions;
  /** the config file the mount runs from; undefined: the embedded default (no file to keep in step) */
  file: string | undefined;
  running: { config: Config; text: string };
  /** what the new configuration's policy would move (the classifier, dry) */
  preview(next: Config): Promise<PolicyImpact>;
  holding(tier: string): TierHolding;
  /**
   * Open new tiers and make backends' new connections, checking each (src/tiers/live-tiers.ts);
   * problems refuse the change. Called for dry runs too: bad credentials are found there.
   * Nothing on a new tier's volumes changes until its commit().
   */
  stage(changes: LiveTierChanges): Promise<StagedTiers>;
  /** make the running daemon follow `next` (only live keys differ: refusedChanges saw to it; stage's commit has run) */
  applyLive(next: Config): void;
  /** tests: die between the catalog and the file (TIERFS_TEST_CRASH_AFTER_CONFIG_RECORD) */
  crashAfterRecord?: () => void;
}

export const summary = ({ text: _text, ...v }: ConfigVersion): VersionSummary => v;

export class ConfigManager {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: ConfigManagerDeps) {}

  get config(): Config {
    return this.d.running.config;
  }

  current(): ConfigVersion {
    const v = this.d.versions.latest();
    if (!v) throw new Error('no configuration version recorded');
    return v;
  }

  history(): VersionSummary[] {
    return this.d.versions.list().map(summary);
  }

  show(version?: number): ConfigVersion {
    if (version === undefined) return this.current();
    const v = this.d.versions.get(version);
    if (!v) throw Object.assign(new Error(`no configuration version ${version} (kept: ${this.keptRange()})`), { code: 'ENOENT' });
    return v;
  }

  /** From version a to b (default: the running one), key by key as written. */
  diff(a: number, b?: number): { from: number; to: number; changes: Change[]; lines: string[] } {
    const [va, vb] = [this.show(a), this.show(b)];
    const changes = diffTexts(va.text, vb.text);
    return { from: va.version, to: vb.version, changes, lines: changes.map(formatChange) };
  }

  /** Validate, preview and (unless a dry run) apply, one change at a time. */
  apply(req: ApplyRequest): Promise<ApplyAnswer> {
    const run = this.queue.then(() => this.applyNow(req));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A new version whose text is that of `version`. */
  rollback(version: number, opts: Omit<ApplyRequest, 'text' | 'restoredFrom'>): Promise<ApplyAnswer> {
    const old = this.show(version);
    return this.apply({ ...opts, text: old.text, restoredFrom: old.version, message: opts.message ?? `rollback to version ${old.version}`, source: `version ${old.version}` });
  }

  private keptRange(): string {
    const all = this.d.versions.list();
    return all.length ? `${all[0]!.version}–${all.at(-1)!.version}` : 'none';
  }

  private async applyNow(req: ApplyRequest): Promise<ApplyAnswer> {
    const base = this.current();
    const source = req.source ?? this.d.file ?? '<text>';
    const who = { user: req.caller?.user ?? null, uid: req.caller?.uid ?? null, source };
    const file = this.d.file;
    if (file === undefined) {
      // Nothing would keep the change: the next mount starts from the embedded default again.
      throw new ConfigRefused(['this mount runs the embedded default configuration, with no file to keep a change in: write it out (tierfs init), mount with --config FILE, then change it live']);
    }
    if (req.expectVersion !== undefined && req.expectVersion !== base.version) {
      throw new ConfigRefused([`the configuration changed meanwhile (now version ${base.version}, not ${req.expectVersion}): look at it again`]);
    }
    let next: Config;
    try {
      // Relative paths in the text are the config file's: it is written there.
      next = parseConfig(req.text, source, dirname(file));
    } catch (err) {
      if (err instanceof ConfigError) log.warn({ ...who, problems: err.problems }, 'configuration refused: invalid');
      throw err;
    }
    const refused = refusedChanges(this.d.running.config, next, (t) => this.d.holding(t), file);
    if (refused.length > 0) {
      log.warn({ ...who, reasons: refused }, 'configuration refused: not a live change');
      throw new ConfigRefused(refused);
    }
    const staged = await this.d.stage(liveTierChanges(this.d.running.config, next));
    if (staged.problems.length > 0) {
      await staged.discard();
      log.warn({ ...who, reasons: staged.problems }, 'configuration refused: a new tier or connection failed its check');
      throw new ConfigRefused(staged.problems);
    }
    let committed = false;
    try {
      const answer = await this.record(req, base, next, file, who);
      if (answer.applied) {
        staged.commit();
        committed = true;
        this.d.applyLive(next);
        this.d.running.config = next;
        this.d.running.text = req.text;
        const v = answer.version!;
        log.info({ ...who, version: v.version, restoredFrom: v.restoredFrom, message: v.message, changes: answer.lines }, 'configuration applied');
      }
      return answer;
    } finally {
      if (!committed) await staged.discard();
    }
  }

  /** Preview, then (unless a dry run or no change) record the version and write the file. */
  private async record(req: ApplyRequest, base: ConfigVersion, next: Config, file: string, who: Caller & { source: string }): Promise<ApplyAnswer> {
    const changes = diffTexts(base.text, req.text);
    const impact = await this.d.preview(next);
    const answer = { dryRun: req.dryRun === true, base: base.version, changes, lines: changes.map(formatChange), impact };
    if (req.dryRun || hashText(req.text) === base.hash) return { ...answer, applied: false, version: null };

    const v = this.d.versions.add({
      uid: who.uid,
      user: who.user,
      message: req.message ?? '',
      text: req.text,
      restoredFrom: req.restoredFrom ?? null,
      fileWritten: false,
    });
    this.d.crashAfterRecord?.();
    try {
      writeConfigFile(file, req.text);
    } catch (err) {
      // Never a version the file does not hold: take it back, change nothing.
      this.d.versions.remove(v.version);
      log.error({ ...who, err, file }, 'configuration refused: the config file could not be written');
      throw err;
    }
    this.d.versions.markWritten(v.version);
    this.d.versions.keep = next.catalog.configVersions;
    return { ...answer, applied: true, version: summary({ ...v, fileWritten: true }) };
  }
}
