// The pieces of live configuration changes, without a mount: what may change live and
// why the rest is refused, the key-by-key differences, and the versions in the catalog
// with the repair of a crash between recording a version and writing the file.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog } from '../../src/catalog/catalog.js';
import { configAtMount } from '../../src/config/at-mount.js';
import { diffTexts, formatChange } from '../../src/config/diff.js';
import { liveTierChanges, refusedChanges } from '../../src/config/live-changes.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigVersions } from '../../src/config/versions.js';
import { tempDir } from '../helpers/tmp.js';

const BASE = `dataDir: ./data
tiers:
  - name: hot
    kind: local
    volumes: [./hot]
  - name: warm
    kind: local
    volumes: [./warm]
  - name: cold
    kind: object
    backends: [{ type: fs, root: ./cold }]
policy:
  rules:
    - name: a
      target: hot
    - name: b
      target: warm
    - name: old
      match: { idleAbove: 30d }
      target: cold
`;
const parse = (text: string) => parseConfig(text, 'tierfs.yaml', '/base');
const empty = (_tier?: string) => ({ files: 0, bytes: 0 });
const refused = (text: string, holding: (tier: string) => { files: number; bytes: number } = empty) => refusedChanges(parse(BASE), parse(text), holding, 'tierfs.yaml');

describe('what a mounted tierfs takes live', () => {
  it('takes policy, mover, recording, watermark and probe changes', () => {
    expect(refused(BASE.replace('idleAbove: 30d', 'idleAbove: 14d'))).toEqual([]);
    expect(refused(`${BASE}mover: { bandwidth: 20MiB, concurrency: 4, windows: [{ from: "01:00", to: "05:00" }] }\nrecording: { flushInterval: 1s }\nmetrics: { probeInterval: 10s }\n`)).toEqual([]);
    expect(refused(BASE.replace('volumes: [./warm]', 'volumes: [./warm]\n    watermarks: { high: 80%, low: 60% }'))).toEqual([]);
  });

  it('takes new cache sizes and alert rules, webhooks and interval; not a cache or alerting turned on or off', () => {
    expect(refused(`${BASE}cache: { memory: 1GiB, disk: 1GiB }\n`)).toEqual([]);
    expect(refused(`${BASE}alerts: { interval: 5s, keepHistory: 100, rules: { TierfsTierAlmostFull: { threshold: 90% }, TierfsStripesAtRisk: off }, webhooks: [{ url: "http://127.0.0.1:1/" }] }\n`)).toEqual([]);
    expect(refused(`${BASE}cache: { memory: 0 }\n`)).toEqual(['cache.memory: turning a recall cache off needs a remount (a new size applies live): change it in tierfs.yaml and remount']);
    expect(refused(`${BASE}alerts: { enabled: false }\n`)[0]).toMatch(/^alerts\.enabled cannot change while mounted/);
  });

  it('refuses what is read once at mount, saying what to do', () => {
    expect(refused(`${BASE}mount: { maxRead: 64KiB }\n`)).toEqual(['mount.maxRead cannot change while mounted (it is read once at mount): change it in tierfs.yaml and remount']);
    expect(refused(BASE.replace('volumes: [./warm]', 'volumes: [./warm2]'))).toEqual([
      'tiers[1].volumes[0].path cannot change while mounted (tier warm is opened with it): change it in tierfs.yaml and remount',
    ]);
  });

  it('refuses a tier that holds files going away, or its k+m changing, naming the drain', () => {
    const holding = (t: string) => (t === 'cold' ? { files: 3, bytes: 300 } : empty());
    const withoutCold = BASE.replace(/ {2}- name: cold\n.*\n.*\n/, '').replace('target: cold', 'target: warm');
    expect(refused(withoutCold, holding)).toEqual([
      'tier cold holds 3 files (300 bytes): it cannot be removed while it does: drain it first (tierfs tier drain cold), then remove it and remount',
    ]);
    expect(refused(withoutCold)).toEqual(['removing tier cold needs a remount: change it in tierfs.yaml and remount']);
    const k3 = BASE.replace('backends: [{ type: fs, root: ./cold }]', 'backends: [{ type: fs, root: ./cold }]\n    scheme: { k: 3, m: 1 }');
    expect(refused(k3, holding)).toHaveLength(1);
    expect(refused(k3, holding)[0]).toMatch(/^tiers\[2\]\.scheme: the k\+m of tier cold cannot change while it holds 3 files .* re-encode/);
  });

  it('takes tiers added after the last one, for the daemon to open; not one added in between', () => {
    const added = BASE.replace('policy:', '  - name: archive\n    kind: local\n    volumes: [./archive]\npolicy:');
    expect(refused(added)).toEqual([]);
    expect(liveTierChanges(parse(BASE), parse(added))).toEqual({ added: [parse(added).tiers[3]], backends: [] });
    const between = BASE.replace('  - name: cold', '  - name: archive\n    kind: local\n    volumes: [./archive]\n  - name: cold');
    expect(refused(between)).toEqual([
      'adding tier archive anywhere but after the last tier needs a remount: change it in tierfs.yaml and remount',
    ]);
  });

  it("takes a backend's new connection, for the daemon to check; not a backend added, removed or renamed", () => {
    const moved = BASE.replace('root: ./cold }', 'root: ./cold2, retry: { maxAttempts: 2 } }');
    expect(refused(moved)).toEqual([]);
    expect(liveTierChanges(parse(BASE), parse(moved)).backends).toEqual([{ tier: parse(moved).tiers[2], index: 0 }]);
    expect(refused(BASE.replace('root: ./cold }', 'root: ./cold, name: c0 }'))).toEqual([
      "tiers[2].backends[0].name: a backend's name labels its metrics and history: change it in tierfs.yaml and remount",
    ]);
    expect(refused(BASE.replace('root: ./cold }', 'root: ./cold }, { type: fs, root: ./cold2 }'))[0]).toMatch(
      /^tiers\[2\]\.backends: tier cold's stripes are placed over its backends by their place in the list/,
    );
  });
});

describe('differences key by key', () => {
  it('names each changed key with its values as written', () => {
    const changes = diffTexts(BASE, BASE.replace('idleAbove: 30d', 'idleAbove: 14d').replace('name: b\n      target: warm', 'name: b\n      target: hot'));
    expect(changes.map(formatChange)).toEqual(['policy.rules[1].target: warm → hot', 'policy.rules[2].match.idleAbove: 30d → 14d']);
    expect(diffTexts(BASE, `${BASE}mover:\n  bandwidth: 20MiB\n`).map(formatChange)).toEqual(['mover: (not set) → {"bandwidth":"20MiB"}']);
  });

  it('shows no secret: keys, tokens, webhook headers and the path of a webhook URL (the log and the dashboard show these lines)', () => {
    const s3 = (secret: string) => `tiers:\n  - name: cold\n    backends:\n      - { type: s3, bucket: b, accessKeyId: AKIA1, secretAccessKey: ${secret} }\n`;
    const hooks = (path: string, auth: string) => `alerts:\n  webhooks:\n    - { url: "https://hooks.example/services/${path}", headers: { Authorization: "Bearer ${auth}" } }\n`;
    const before = `${s3('OLDSECRET')}${hooks('T1/B1/OLDHOOK', 'OLDAUTH')}metrics: { token: OLDTOKEN0123456789 }\n`;
    const after = `${s3('NEWSECRET')}${hooks('T1/B1/NEWHOOK', 'NEWAUTH')}metrics: { token: NEWTOKEN0123456789 }\n`;
    const lines = diffTexts(before, after).map(formatChange);
    expect(lines).toEqual([
      'tiers[0].backends[0].secretAccessKey: (secret) → (secret)',
      'alerts.webhooks[0].url: https://hooks.example/… (the rest not shown) → https://hooks.example/… (the rest not shown)',
      'alerts.webhooks[0].headers.Authorization: (secret) → (secret)',
      'metrics.token: (secret) → (secret)',
    ]);
    // A backend added whole: its secret within it is hidden too.
    const added = diffTexts('tiers: []\n', s3('ADDEDSECRET')).map(formatChange).join('\n');
    expect(added).not.toContain('ADDEDSECRET');
    expect(added).toContain('AKIA1');
    expect(added).toContain('"backends":[{"type":"s3"'); // lists stay lists
    expect(JSON.stringify(diffTexts(before, after))).not.toMatch(/OLD|NEW/);
    // Azure's accountUrl may carry a SAS in its query
    const azure = (sig: string) => `tiers:\n  - name: cold\n    backends:\n      - { type: azure, container: c, accountUrl: "https://acct.blob.core.windows.net/?sv=2024&sig=${sig}" }\n`;
    expect(diffTexts(azure('OLDSIG'), azure('NEWSIG')).map(formatChange)).toEqual([
      'tiers[0].backends[0].accountUrl: https://acct.blob.core.windows.net/… (the rest not shown) → https://acct.blob.core.windows.net/… (the rest not shown)',
    ]);
  });
});

describe('configuration versions in the catalog', () => {
  let dir: ReturnType<typeof tempDir> | undefined;
  let catalog: Catalog | undefined;
  afterEach(() => {
    catalog?.close();
    dir?.remove();
    [catalog, dir] = [undefined, undefined];
  });
  const open = () => {
    dir = tempDir();
    catalog = new Catalog(join(dir.path, 'catalog.db'));
    return { versions: new ConfigVersions(catalog.db, 3), file: join(dir.path, 'tierfs.yaml') };
  };

  it('the first mount is version 1; the same file again adds nothing; a hand edit is the next version', () => {
    const { versions, file } = open();
    writeFileSync(file, BASE);
    expect(configAtMount(versions, file, BASE).version).toMatchObject({ version: 1, parent: null, message: 'the configuration at the first mount' });
    expect(configAtMount(versions, file, BASE).version.version).toBe(1);
    const edited = BASE.replace('30d', '14d');
    expect(configAtMount(versions, file, edited).version).toMatchObject({ version: 2, parent: 1, message: 'the config file was changed outside tierfs (found at mount)' });
    expect(versions.list().map((v) => v.text)).toEqual([BASE, edited]);
  });

  it('finishes a version recorded but not written: the catalog text goes to the file, the old one to .bak', () => {
    const { versions, file } = open();
    writeFileSync(file, BASE);
    configAtMount(versions, file, BASE);
    const next = BASE.replace('30d', '14d');
    versions.add({ uid: 0, user: 'root', message: 'm', text: next, restoredFrom: null, fileWritten: false }); // then the crash
    const r = configAtMount(versions, file, BASE);
    expect(r.repairedText).toBe(next);
    expect(r.version).toMatchObject({ version: 2, fileWritten: true });
    expect(readFileSync(file, 'utf8')).toBe(next);
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(BASE);
    expect(versions.latest()!.fileWritten).toBe(true);
    // Written, but not yet marked: nothing to repair, only the mark.
    versions.add({ uid: 0, user: 'root', message: 'm', text: BASE, restoredFrom: 1, fileWritten: false });
    writeFileSync(file, BASE);
    expect(configAtMount(versions, file, BASE).repairedText).toBeUndefined();
    expect(versions.latest()).toMatchObject({ version: 3, fileWritten: true, restoredFrom: 1 });
  });

  it('keeps the newest `keep` versions', () => {
    const { versions } = open();
    for (let i = 0; i < 5; i++) versions.add({ uid: null, user: null, message: `v${i + 1}`, text: `${BASE}# ${i}\n`, restoredFrom: null, fileWritten: true });
    expect(versions.list().map((v) => v.version)).toEqual([3, 4, 5]);
    expect(existsSync(join(dir!.path, 'tierfs.yaml'))).toBe(false);
  });
});
