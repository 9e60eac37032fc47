// Configuration changes on a running mount (tierfs config apply|history|diff|rollback|
// show): the dry run lists what the new policy would move, the apply takes effect
// without a remount and is written back to the config file, every change is a version
// that survives remounts and crashes, and a bad or non-live change is refused with the
// running configuration and the file left as they were.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { adminJson, socketPathOf } from '../../src/admin/client.js';
import { ALL_ON_HOT, TierfsMount } from '../helpers/tierfs.js';
import { eventually } from '../helpers/mount.js';

let t: TierfsMount | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** tierfs config …, naming this mount: other tests' mounts may be up at the same time. */
const cfg = (m: TierfsMount, args: string[]) => m.cli(['config', ...args, '--mount', m.mnt]);
/**
 * Reads of the history and of a version's text straight from the admin socket (what the
 * CLI asks): each CLI run costs seconds on a loaded machine, and the CLI's own output is
 * checked where it matters.
 */
const history = (m: TierfsMount) => adminJson<History>(socketPathOf(m.dataDir), 'GET', '/v1/config/versions');
const runningText = async (m: TierfsMount) => (await adminJson<{ text: string }>(socketPathOf(m.dataDir), 'GET', '/v1/config/version')).text;
const tierOf = (m: TierfsMount, path: string) => (existsSync(join(m.hot, path)) ? 'hot' : existsSync(join(m.warm, path)) ? 'warm' : 'none');


// Everything on hot; the new version sends *.log to warm first.
const POLICY = ALL_ON_HOT;
const LOGS_RULE = `    - name: logs
      match: { path: ["*.log"] }
      target: warm
`;
const withLogsRule = (text: string) => text.replace('  rules:\n', `  rules:\n${LOGS_RULE}`);

const FILES: Record<string, number> = { 'a.log': 3000, 'sub/b.log': 70_000, 'sub/deep/c.log': 12_345, 'x.txt': 5000, 'sub/y.bin': 9000 };
const LOGS = Object.keys(FILES).filter((p) => p.endsWith('.log'));

async function writeFiles(m: TierfsMount): Promise<void> {
  await fs.mkdir(join(m.mnt, 'sub/deep'), { recursive: true });
  for (const [p, size] of Object.entries(FILES)) await fs.writeFile(join(m.mnt, p), Buffer.alloc(size, p));
}

const json = <T>(r: { stdout: string; stderr: string; code: number }): T => {
  if (r.code !== 0) throw new Error(`tierfs failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

interface Flow {
  from: string;
  to: string;
  files: number;
  bytes: number;
  paths: string[];
  rules: string[];
}
interface Answer {
  applied: boolean;
  base: number;
  lines: string[];
  version: { version: number; parent: number; restoredFrom: number | null; user: string; uid: number; message: string } | null;
  impact: { examined: number; flows: Flow[]; tiers: { tier: string; bytesNow: number; bytesAfter: number }[] };
}
interface History {
  current: number;
  versions: { version: number; parent: number | null; user: string | null; uid: number | null; message: string; hash: string; restoredFrom: number | null }[];
}

describe('tierfs config apply / history / rollback on a running mount', () => {
  it('previews exactly the files a new rule would move, applies it live, keeps versions, and rolls back', async () => {
    t = await new TierfsMount({ extraYaml: POLICY }).start();
    await writeFiles(t);
    const original = readFileSync(t.configFile, 'utf8');
    const next = join(t.root, 'next.yaml');
    writeFileSync(next, withLogsRule(original));

    // The dry run: exactly the *.log files and their bytes, hot → warm; nothing changes.
    const [dryRun, text] = await Promise.all([cfg(t, ['apply', next, '--dry-run', '--json']), cfg(t, ['apply', next, '--dry-run'])]);
    const dry = json<Answer>(dryRun);
    expect(dry.applied).toBe(false);
    expect(dry.lines).toEqual([
      'policy.rules[0].name: rest → logs',
      'policy.rules[0].target: hot → warm',
      'policy.rules[0].match: (not set) → {"path":["*.log"]}',
      'policy.rules[1]: (not set) → {"name":"rest","target":"hot"}',
    ]);
    expect(dry.impact.flows).toHaveLength(1);
    const flow = dry.impact.flows[0]!;
    expect({ from: flow.from, to: flow.to, files: flow.files, bytes: flow.bytes, rules: flow.rules }).toEqual({
      from: 'hot',
      to: 'warm',
      files: LOGS.length,
      bytes: LOGS.reduce((a, p) => a + FILES[p]!, 0),
      rules: ['logs'],
    });
    expect([...flow.paths].sort()).toEqual([...LOGS].sort());
    const hot = dry.impact.tiers.find((x) => x.tier === 'hot')!;
    expect(hot.bytesNow - hot.bytesAfter).toBe(flow.bytes);
    expect(readFileSync(t.configFile, 'utf8')).toBe(original);
    expect((await history(t)).versions).toHaveLength(1);
    // People read the same preview as text.
    expect(text.stdout).toContain('hot → warm: 3 files');
    expect(text.stdout).toContain('sub/deep/c.log');

    // Applied: the mover takes the logs to warm with no remount; the rest stays.
    const applied = json<Answer>(await cfg(t, ['apply', next, '--yes', '--json', '-m', 'logs to warm']));
    expect(applied.applied).toBe(true);
    expect(applied.version).toMatchObject({ version: 2, parent: 1, restoredFrom: null, user: userInfo().username, uid: userInfo().uid, message: 'logs to warm' });
    await eventually(
      () => Object.keys(FILES).every((p) => tierOf(t!, p) === (p.endsWith('.log') ? 'warm' : 'hot')),
      20_000,
      () => JSON.stringify(Object.keys(FILES).map((p) => [p, tierOf(t!, p)])),
    );
    for (const [p, size] of Object.entries(FILES)) expect((await fs.readFile(join(t.mnt, p))).equals(Buffer.alloc(size, p))).toBe(true);
    // The file on disk is the running version; the one before is kept beside it.
    expect(readFileSync(t.configFile, 'utf8')).toBe(withLogsRule(original));
    expect(readFileSync(`${t.configFile}.bak`, 'utf8')).toBe(original);

    const [historyRun, diff, show1] = await Promise.all([cfg(t, ['history', '--json']), cfg(t, ['diff', '1', '2']), cfg(t, ['show', '1'])]);
    const h = json<History>(historyRun);
    expect(h.current).toBe(2);
    expect(h.versions.map((v) => [v.version, v.parent, v.message])).toEqual([
      [1, null, 'the configuration at the first mount'],
      [2, 1, 'logs to warm'],
    ]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('policy.rules[0].target: hot → warm');
    expect(show1.stdout).toBe(original);

    // Rollback: a new version with version 1's text; the logs come back to hot.
    const rolled = json<Answer>(await cfg(t, ['rollback', '1', '--yes', '--json']));
    expect(rolled.version).toMatchObject({ version: 3, parent: 2, restoredFrom: 1 });
    expect(rolled.impact.flows).toEqual([expect.objectContaining({ from: 'warm', to: 'hot', files: LOGS.length })]);
    await eventually(() => Object.keys(FILES).every((p) => tierOf(t!, p) === 'hot'), 20_000, () => JSON.stringify(Object.keys(FILES).map((p) => [p, tierOf(t!, p)])));
    expect(readFileSync(t.configFile, 'utf8')).toBe(original);
    expect((await history(t)).versions.map((v) => v.restoredFrom)).toEqual([null, null, 1]);
  }, 180_000);

  it('refuses a bad file of each kind with its key and line; the running configuration and the file stay', async () => {
    // Everything to warm: a tier that holds files cannot go away.
    t = await new TierfsMount({ extraYaml: POLICY.replace('target: hot', 'target: warm') }).start();
    await fs.writeFile(join(t.mnt, 'kept.bin'), 'data');
    await eventually(() => tierOf(t!, 'kept.bin') === 'warm', 20_000, () => 'kept.bin did not reach warm');
    const original = readFileSync(t.configFile, 'utf8');
    const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const cases = [
      { kind: 'syntax', text: `${original}mover:\n  windows: [\n`, key: '', line: (x: string) => lineOf(x, 'windows: [') + 1 },
      { kind: 'unknown key', text: `${original}mover:\n  bandwith: 20MiB\n`, key: 'mover.bandwith', line: (x: string) => lineOf(x, 'bandwith') },
      { kind: 'bad unit', text: `${original}mover:\n  bandwidth: 20 MiBps\n`, key: 'mover.bandwidth', line: (x: string) => lineOf(x, 'bandwidth') },
      { kind: 'missing tier', text: original.replace('target: warm', 'target: cold'), key: 'policy.rules[0].target', line: (x: string) => lineOf(x, 'target: cold') },
    ];
    const runs = await Promise.all(
      cases.map((c) => {
        const file = join(t!.root, `bad-${c.kind.replace(' ', '-')}.yaml`);
        writeFileSync(file, c.text);
        return cfg(t!, ['apply', file, '--yes', '--json']).then((r) => ({ c, r, file }));
      }),
    );
    for (const { c, r, file } of runs) {
      expect(r.code, c.kind).toBe(1);
      const problems = (JSON.parse(r.stdout) as { error: { code: string; problems: { key: string; line: number }[] } }).error.problems;
      expect(problems.map((p) => [p.key, p.line]), c.kind).toContainEqual([c.key, c.line(c.text)]);
      expect(r.stderr, c.kind).toContain(`${file}:${c.line(c.text)}:`);
    }
    // Not live: a mount option, and a tier that holds files going away.
    const notLive = [
      { text: original.replace('attrTimeout: 0s', 'attrTimeout: 5s'), says: 'mount.attrTimeout cannot change while mounted' },
      { text: original.replace(/ {2}- name: warm\n.*\n.*\n/, '').replace('target: warm', 'target: hot'), says: 'tierfs tier drain warm' },
    ];
    // (Straight to the admin socket: the CLI's way of reporting a refusal is checked above.)
    for (const c of notLive) {
      const refusal = await adminJson(socketPathOf(t.dataDir), 'POST', '/v1/config/apply', { text: c.text }).catch((err: Error & { code?: string }) => err);
      expect(refusal).toMatchObject({ code: 'ECONFIGREFUSED', message: expect.stringContaining(c.says) });
    }
    expect(readFileSync(t.configFile, 'utf8')).toBe(original);
    expect(existsSync(`${t.configFile}.bak`)).toBe(false);
    expect(await runningText(t)).toBe(original);
    expect((await history(t)).versions).toHaveLength(1);
    expect(t.output).toContain('configuration refused: invalid');
    expect(t.output).toContain('configuration refused: not a live change');
  }, 180_000);

  it('keeps versions across a remount and finishes a change the daemon died in the middle of', async () => {
    t = await new TierfsMount({ extraYaml: POLICY }).start({ TIERFS_TEST_CRASH_AFTER_CONFIG_RECORD: '1' });
    await writeFiles(t);
    const original = readFileSync(t.configFile, 'utf8');
    const next = join(t.root, 'next.yaml');
    writeFileSync(next, withLogsRule(original));
    // The daemon records version 2 in the catalog and is killed before it writes the file.
    const r = await cfg(t, ['apply', next, '--yes']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot reach the tierfs daemon');
    await t.stop(); // already dead (stop, not kill9: the helper's kill9 waits for an exit that has happened)
    expect(readFileSync(t.configFile, 'utf8')).toBe(original);

    // The next mount finishes it one way: the catalog's version is written to the file and runs.
    await t.start();
    expect(t.output).toContain('configuration repaired');
    expect(readFileSync(t.configFile, 'utf8')).toBe(withLogsRule(original));
    await eventually(() => LOGS.every((p) => tierOf(t!, p) === 'warm'), 20_000, () => JSON.stringify(LOGS.map((p) => [p, tierOf(t!, p)])));
    const before = await history(t);
    expect(before.versions.map((v) => v.version)).toEqual([1, 2]);

    // A clean remount adds nothing; a file edited by hand becomes the next version.
    await t.stop();
    await t.start();
    expect(await history(t)).toEqual(before);
    await t.stop();
    writeFileSync(t.configFile, original.replace('interval: 1s', 'interval: 2s'));
    await t.start();
    const after = await history(t);
    expect(after.versions.map((v) => [v.version, v.message])).toEqual([
      [1, 'the configuration at the first mount'],
      [2, ''],
      [3, 'the config file was changed outside tierfs (found at mount)'],
    ]);
  }, 180_000);

  it('config set changes one key through the same path: validated, a version, written to the file', async () => {
    t = await new TierfsMount({ extraYaml: POLICY }).start();
    const original = readFileSync(t.configFile, 'utf8');
    const bad = await cfg(t, ['set', 'mover.bandwidth', 'fast', '--yes']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/:\d+:\d+: mover\.bandwidth: expected a size/);
    expect(readFileSync(t.configFile, 'utf8')).toBe(original);

    const set = json<Answer>(await cfg(t, ['set', 'mover.bandwidth', '20MiB', '--yes', '--json']));
    expect(set.lines).toEqual(['mover: (not set) → {"bandwidth":"20MiB"}']);
    expect(set.version).toMatchObject({ version: 2, message: 'set mover.bandwidth 20MiB' });
    const again = json<Answer>(await cfg(t, ['set', 'policy.rules[0].target', 'warm', '--yes', '--json']));
    expect(again.lines).toEqual(['policy.rules[0].target: hot → warm']);
    const file = readFileSync(t.configFile, 'utf8');
    expect(file).toContain('bandwidth: 20MiB');
    expect(file).toContain('target: warm');
    expect(await runningText(t)).toBe(file);
    expect((await history(t)).current).toBe(3);

    // A credential set this way is in the running configuration, never in the message that
    // the history, the log and the dashboard show.
    const hook = '[{ url: "http://127.0.0.1:9/hooks/PATH-SECRET", headers: { Authorization: "Bearer HEADER-SECRET" } }]';
    const secret = json<Answer>(await cfg(t, ['set', 'alerts.webhooks', hook, '--yes', '--json']));
    expect(secret.version!.message).toBe('set alerts.webhooks [{"url":"http://127.0.0.1:9/… (the rest not shown)","headers":"(secret)"}]');
    expect(await runningText(t)).toContain('HEADER-SECRET');
    const shown = (await cfg(t, ['history', '--json'])).stdout + t.output;
    expect(shown).not.toMatch(/PATH-SECRET|HEADER-SECRET/);
  }, 180_000);
});
