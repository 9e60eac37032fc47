// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against
// a real daemon with a real mount: its numbers are the CLI's, it follows moves live
// without a reload, a move started from it runs with its progress shown, and the
// configuration editor validates, previews, applies and rolls back. Each page is
// screenshotted to .tmp/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ALL_ON_HOT, REPO } from '../helpers/tierfs.js';
import { dashboardMount, loginLink, type DashboardMount } from './setup.js';

const SHOTS = join(REPO, '.tmp', 'screenshots');
const MiB = 1024 * 1024;

// No automatic moves (the mover takes only manual ones): every move is the test's.
const POLICY = `${ALL_ON_HOT}mover:
  enabled: false
  bandwidth: 2MiB
cost:
  tiers:
    hot: { storagePerGBMonth: 1000 }
    cold: { class: s3-standard, writesPer1000: 500 }
`;
// (Prices so high that a few MiB for a few minutes cost more than a rounding error.)
const LOGS_RULE = `    - name: logs
      match: { path: ["*.log"] }
      target: warm
`;

let m: DashboardMount;
let clockFile: string;
let browser: Browser;
let page: Page;
const errors: string[] = [];

async function status() {
  const r = await m.t.cli(['status', '--json', m.t.mnt]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { tiers: { name: string; files: number; bytes: number }[] };
}

/** Go to a page of the app the way a user does: its link in the navigation (no reload). */
async function open(name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name, exact: true }).click();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // The reports' "now" (TIERFS_TEST_CLOCK): the page and the CLI must price the same moment.
  clockFile = join(tmpdir(), `tierfs-dashboard-clock-${process.pid}`);
  m = await dashboardMount({ extraYaml: POLICY, env: { TIERFS_TEST_CLOCK: clockFile } });
  await fs.mkdir(join(m.t.mnt, 'sub'), { recursive: true });
  await fs.writeFile(join(m.t.mnt, 'a.log'), Buffer.alloc(3000, 1));
  await fs.writeFile(join(m.t.mnt, 'sub', 'b.bin'), Buffer.alloc(200_000, 2));
  await fs.writeFile(join(m.t.mnt, 'big.bin'), Buffer.alloc(6 * MiB, 3));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(`${msg.text()} ${msg.location().url}`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  // The login link of `tierfs dashboard --open` sets the session and lands on the app.
  await page.goto(await loginLink(m.t));
  await page.waitForURL(m.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await m?.dispose();
  rmSync(clockFile, { force: true });
});

describe('the dashboard in a browser', () => {
  it('the overview shows each tier with the files and bytes of tierfs status --json', async () => {
    const s = await status();
    for (const t of s.tiers) {
      const card = page.getByTestId(`tier-${t.name}`);
      await expect.poll(() => card.getByTestId('files').textContent()).toBe(t.files.toLocaleString('en'));
      expect(await card.getByTestId('bytes').textContent()).toBe(t.bytes.toLocaleString('en'));
    }
    expect(s.tiers.find((t) => t.name === 'hot')!.files).toBe(3);
    await expect.poll(() => page.getByTestId('live').textContent()).toContain('live');
    await shot('overview');
    expect(errors).toEqual([]);
  });

  it('a file moved with tierfs move shows on its new tier in Files and in the audit log, without a reload', async () => {
    await open('Files');
    await page.getByRole('button', { name: 'sub/' }).click();
    const row = page.locator('[data-testid="file-row"][data-path="sub/b.bin"]');
    await expect.poll(() => row.getAttribute('data-tier')).toBe('hot');
    await page.getByRole('button', { name: 'explain b.bin' }).click();
    await expect.poll(() => page.getByTestId('where').textContent()).toContain('rule rest');
    await shot('files');
    // A mark in this document: a reload would lose it.
    await page.evaluate('window.sameDocument = true');

    const r = await m.t.cli(['move', join(m.t.mnt, 'sub', 'b.bin'), '--to', 'warm']);
    expect(r.code, r.stderr).toBe(0);
    await expect.poll(() => row.getAttribute('data-tier')).toBe('warm');
    await expect.poll(() => row.getByTestId('tier').textContent()).toBe('warm');

    await open('Moves');
    const audit = page.locator('[data-testid="audit-row"][data-path="sub/b.bin"][data-to="warm"]');
    await expect.poll(() => audit.first().getAttribute('data-state')).toBe('done');
    // The same document all along: the page followed the move over its event stream.
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    expect(page.url()).toContain(m.url);
  });

  it('a manual move started from the page runs with its progress shown, and completes', async () => {
    await open('Moves');
    const form = page.getByRole('form', { name: 'manual move' });
    await form.getByLabel('path').fill('big.bin');
    await form.getByLabel('action').selectOption('move');
    await form.getByLabel('tier').selectOption('cold');
    await form.getByRole('button', { name: 'go' }).click();
    await expect.poll(() => form.getByRole('status').textContent()).toBe('queued: big.bin → cold');
    // 6 MiB at the mover's 2 MiB/s: seconds of progress, sent as it goes.
    const active = page.locator('[data-testid="active-move"][data-path="big.bin"]');
    await active.waitFor({ timeout: 10_000 });
    const progress = Number(await active.locator('progress').getAttribute('value'));
    expect(progress).toBeLessThan(6 * MiB);
    await shot('moves');
    const audit = page.locator('[data-testid="audit-row"][data-path="big.bin"][data-to="cold"]');
    await expect.poll(() => audit.first().getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    await expect.poll(() => active.count()).toBe(0);
    const [where] = JSON.parse((await m.t.cli(['where', '--json', join(m.t.mnt, 'big.bin')])).stdout) as { tier: string }[];
    expect(where!.tier).toBe('cold');
  });

  it('the object stores page shows each backend of the cold tier, up', async () => {
    await open('Object stores');
    const rows = page.getByTestId('backend-row');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
    for (const b of ['a', 'b', 'c']) await expect.poll(() => rows.filter({ hasText: b }).first().textContent()).toContain('up');
    await shot('object-stores');
  });

  it('the config editor shows a bad value at its line, previews a good change with its impact, applies it, and rollback restores', async () => {
    await open('Configuration');
    const editor = page.getByTestId('yaml');
    await expect.poll(() => editor.inputValue()).toBe(readFileSync(m.t.configFile, 'utf8'));
    const original = await editor.inputValue();

    const bad = original.replace('minResidency: 0s', 'minResidency: banana');
    const badLine = bad.split('\n').findIndex((l) => l.includes('banana')) + 1;
    await editor.fill(bad);
    const problem = page.getByTestId('problem').first();
    await expect.poll(() => problem.getAttribute('data-line')).toBe(String(badLine));
    expect(await problem.textContent()).toContain('policy.minResidency');
    await shot('config-error');

    const good = original.replace('  rules:\n', `  rules:\n${LOGS_RULE}`);
    await editor.fill(good);
    await expect.poll(() => page.getByTestId('problems').textContent()).toBe('valid');
    await page.getByRole('button', { name: 'preview' }).click();
    const impact = page.getByTestId('impact');
    await expect.poll(() => impact.getByTestId('diff').textContent()).toContain('policy.rules[0].target: hot → warm');
    const flow = impact.getByTestId('flow');
    await expect.poll(() => flow.first().textContent()).toMatch(/^hotwarm1/); // a.log: one file hot → warm
    await shot('config-preview');
    await page.getByRole('button', { name: 'apply' }).click();
    await expect.poll(() => page.getByTestId('config-message').textContent()).toBe('applied: version 2');
    expect(readFileSync(m.t.configFile, 'utf8')).toBe(good);
    await expect.poll(() => editor.inputValue()).toBe(good);

    await page.getByRole('button', { name: 'roll back to version 1' }).click();
    await expect.poll(() => impact.getByTestId('diff').textContent()).toContain('policy.rules[0].target: warm → hot');
    await page.getByRole('button', { name: 'confirm rollback' }).click();
    await expect.poll(() => page.getByTestId('config-message').textContent()).toBe('applied: version 3');
    expect(readFileSync(m.t.configFile, 'utf8')).toBe(original);
    await expect.poll(() => editor.inputValue()).toBe(original);
    await expect.poll(() => page.locator('[data-testid="version-row"][data-version="3"]').textContent()).toContain('restores 1');
    await shot('config');
  });

  it('pauses the mover, cancels a queued move, puts an automatic one first, resumes; Files searches by glob', async () => {
    await open('Moves');
    await page.getByRole('button', { name: 'pause the mover' }).click();
    await page.getByRole('button', { name: 'resume the mover' }).waitFor();
    for (const [path, to] of [['a.log', 'warm'], ['sub/b.bin', 'cold']]) {
      const r = await m.t.cli(['move', '--no-wait', '--to', to!, join(m.t.mnt, path!)]);
      expect(r.code, r.stderr).toBe(0);
    }
    const queued = page.getByTestId('queued-move');
    const rowOf = (path: string) => queued.filter({ has: page.locator(`td:nth-child(2):text-is("${path}")`) });
    const aRow = rowOf('a.log');
    await aRow.waitFor();
    await shot('moves-paused');
    await aRow.getByRole('button', { name: /^cancel move/ }).click();
    await expect.poll(() => aRow.count()).toBe(0); // gone at the next update of the page (live events), as the other waits here

    // The rule "rest" wants big.bin back on hot: an automatic entry (the mover takes none while disabled).
    const bigRow = rowOf('big.bin');
    await expect.poll(() => bigRow.locator('td').nth(3).textContent()).not.toBe('0');
    await bigRow.getByRole('button', { name: /run move \d+ first/ }).click();
    await expect.poll(() => bigRow.locator('td').nth(4).textContent()).toBe('dashboard');
    expect(await bigRow.locator('td').nth(3).textContent()).toBe('0');

    await page.getByRole('button', { name: 'resume the mover' }).click();
    const done = (p: string, to: string) => page.locator(`[data-testid="audit-row"][data-path="${p}"][data-to="${to}"][data-state="done"]`);
    await done('sub/b.bin', 'cold').first().waitFor({ timeout: 30_000 });
    await done('big.bin', 'hot').first().waitFor({ timeout: 30_000 });
    expect(await done('a.log', 'warm').count()).toBe(0);
    const tierOf = async (p: string) => (JSON.parse((await m.t.cli(['where', '--json', join(m.t.mnt, p)])).stdout) as { tier: string }[])[0]!.tier;
    expect(await tierOf('a.log')).toBe('hot');

    await open('Files');
    await page.getByRole('button', { name: '/', exact: true }).click();
    await page.getByLabel('search by glob').fill('*.bin');
    const rows = page.getByTestId('file-row');
    await expect.poll(async () => (await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-path')))).sort()).toEqual(['big.bin', 'sub/b.bin']);
    expect(await page.locator('[data-testid="file-row"][data-path="sub/b.bin"]').getAttribute('data-tier')).toBe('cold');
    await page.getByLabel('search by glob').fill('');
  });

  it('the cost and capacity page renders the numbers of tierfs report --json (or says the reports are not available), and no page logged an error', async () => {
    // One moment for both readers: the page and the CLI price the same one.
    writeFileSync(clockFile, String(Date.now()));
    const served = (await fetch(new URL('/api/report/cost', m.url))).status !== 404;
    await open('Cost & capacity');
    if (!served) {
      for (const name of ['cost', 'capacity', 'advice']) {
        await expect.poll(() => page.getByTestId(`report-${name}`).getByTestId('unavailable').textContent()).toBe('reports not available from this daemon');
      }
    } else {
      const report = async <T>(name: string): Promise<T> => {
        const r = await m.t.cli(['report', name, '--json', m.t.mnt]);
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as T;
      };
      const usd = (n: number) => `$${Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(4)}`;
      type Charges = { totalUsd: number };
      const cost = await report<{ monthToDate: Charges; projectedMonth: Charges; rows: { tier: string; projectedMonth: Charges }[] }>('cost');
      const card = page.getByTestId('report-cost');
      await expect.poll(() => card.getByTestId('cost-mtd').textContent()).toBe(usd(cost.monthToDate.totalUsd));
      expect(await card.getByTestId('cost-projected').textContent()).toBe(usd(cost.projectedMonth.totalUsd));
      expect(cost.rows.map((r) => r.tier).sort()).toEqual(['cold', 'hot', 'warm']);
      for (const row of cost.rows) {
        expect(await card.locator(`[data-testid="cost-row"][data-tier="${row.tier}"] [data-testid="row-projected"]`).textContent()).toBe(usd(row.projectedMonth.totalUsd));
      }
      const capacity = await report<{ tiers: { tier: string; usedBytesNow: number }[] }>('capacity');
      for (const t of capacity.tiers) {
        await expect.poll(() => page.locator(`[data-testid="capacity-row"][data-tier="${t.tier}"] [data-testid="used"]`).textContent()).toBe(t.usedBytesNow.toLocaleString('en'));
      }
      const advice = await report<{ totalEstSavingsUsdPerMonth: number; advice: unknown[] }>('advice');
      await expect.poll(() => page.getByTestId('advice-total').textContent()).toBe(usd(advice.totalEstSavingsUsdPerMonth));
      expect(await page.getByTestId('advice-row').count()).toBe(advice.advice.length);
    }
    await shot('cost');
    await open('Overview');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 420, height: 900 });
    await shot('overview-dark-narrow');
    // A daemon without the reports answers 404 there: the page says so; nothing else may fail.
    expect(errors.filter((e) => served || !e.includes('/api/report/'))).toEqual([]);
  });

  it('without a login, shows how to log in and none of the files', async () => {
    const stranger = await browser.newContext();
    try {
      const p = await stranger.newPage();
      await p.goto(m.url);
      await p.getByText('tierfs dashboard --open').waitFor();
      expect(await p.content()).not.toContain('big.bin');
    } finally {
      await stranger.close();
    }
  });
});
