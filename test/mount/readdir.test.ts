// Directory listings through a real mount: attributes as they are when listed (not as
// they were at opendir), POSIX semantics while the directory changes, and open handles
// that cost the daemon no memory however large the directory.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { TierfsMount } from '../helpers/tierfs.js';
import { waitFor } from '../helpers/mount.js';

const NOBODY = 65534;
/** children still running when a test ends (a failed one) are killed before the unmount */
const children = new Set<ChildProcess>();

/** A child process spoken to line by line (perl here: readdir, rewinddir, telldir, seekdir). */
function converse(argv: string[], uid?: number) {
  const full = uid === undefined ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv];
  const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  children.add(child);
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  child.on('close', () => children.delete(child));
  return {
    get out() {
      return out;
    },
    send: (line: string) => child.stdin.write(`${line}\n`),
    until: (re: RegExp) => waitFor(() => re.test(out), 60_000, () => `no ${re} from ${argv.join(' ')}:\n${out}\n${err}`),
    async close() {
      child.stdin.end();
      await closed;
      return { out, err };
    },
  };
}

/** Resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

/** What listAcrossChanges saw: each a list of names. */
interface Listing {
  /** read after the telldir, before the changes */
  next: string[];
  /** read after seekdir back to it, as many as `next` */
  again: string[];
  /** the whole pass: what was read before the telldir, `again`, and the rest to the end */
  pass: string[];
  /** after rewinddir, the whole directory */
  fresh: string[];
}

/**
 * A perl lister of dir (after reading the directory `first` whole, if given, so that dir is
 * its second): reads `seen` entries, notes telldir, reads `next` more, waits while `change`
 * runs, then seekdir back, reads on to the end, and lists again after rewinddir.
 */
async function listAcrossChanges(dir: string, o: { seen: number; next: number; first?: string }, change: () => Promise<void>): Promise<Listing> {
  const lister = converse([
    'perl',
    '-e',
    `$| = 1; my ($dir, $seen, $next, $first) = @ARGV;
     if (defined $first) { opendir(my $f, $first) or die "opendir: $!"; my @x = readdir($f); closedir($f) }
     opendir(my $d, $dir) or die "opendir: $!";
     my @seen; for (1..$seen) { my $e = readdir($d); push @seen, $e if defined $e }
     my $pos = telldir($d);
     my @next; for (1..$next) { push @next, scalar readdir($d) }
     print "PAUSE\n"; my $go = <STDIN>;
     seekdir($d, $pos);
     my @again; for (1..$next) { push @again, scalar readdir($d) }
     my @rest; while (defined(my $e = readdir($d))) { push @rest, $e }
     rewinddir($d); my @fresh = readdir($d);
     print "NEXT ", join("/", @next), "\n";
     print "AGAIN ", join("/", @again), "\n";
     print "PASS ", join("/", @seen, @again, @rest), "\n";
     print "FRESH ", join("/", @fresh), "\n";`,
    dir,
    String(o.seen),
    String(o.next),
    ...(o.first ? [o.first] : []),
  ]);
  await lister.until(/PAUSE/);
  await change();
  lister.send('go');
  const { out, err } = await lister.close();
  expect(err).toBe('');
  const line = (tag: string) => new RegExp(`^${tag} (.*)$`, 'm').exec(out)![1]!.split('/');
  return { next: line('NEXT'), again: line('AGAIN'), pass: line('PASS'), fresh: line('FRESH') };
}

/**
 * No name twice; every name that existed throughout, once; seekdir to a telldir cookie
 * continues where it was: the same entries (removed ones may or may not show again, as
 * POSIX leaves open).
 */
function expectListedOnceAndResumed(l: Listing, names: string[], removed: Set<string>): void {
  expect(l.pass.length).toBe(new Set(l.pass).size);
  const listed = new Set(l.pass);
  expect(names.filter((n) => !removed.has(n) && !listed.has(n))).toEqual([]);
  const kept = l.next.filter((n) => !removed.has(n));
  expect(kept.length).toBeGreaterThan(0);
  expect(l.again.filter((n) => !removed.has(n)).slice(0, kept.length)).toEqual(kept);
}

let t: TierfsMount | undefined;
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  await t?.dispose();
  t = undefined;
});

describe('readdir', () => {
  it('lists attributes as they are now: a chmod before a re-list through an older handle stands', async () => {
    // Long cache timeouts: the kernel believes what a listing says for 30 s.
    t = await new TierfsMount({ allowOther: true, cacheTimeout: '30s' }).start();
    const pub = join(t.mnt, 'pub');
    await fs.mkdir(pub);
    await fs.chmod(pub, 0o755);
    await fs.writeFile(join(pub, 'secret'), 'top secret\n');
    await fs.chmod(join(pub, 'secret'), 0o644);

    // nobody opens the directory and lists it while the file is still readable …
    const reader = converse(
      [
        'perl',
        '-e',
        `$| = 1; my $dir = shift;
         opendir(my $d, $dir) or die "opendir: $!";
         my @a = readdir($d); print "listed ", scalar(@a), "\\n";
         my $go = <STDIN>;
         rewinddir($d); my @b = readdir($d); print "relisted ", join(",", sort @b), "\\n";
         if (open(my $f, "<", "$dir/secret")) { my $c = <$f>; print "READ $c" } else { print "DENIED $!\\n" }`,
        pub,
      ],
      NOBODY,
    );
    await reader.until(/listed \d+/);
    // … then its owner closes it, and nobody lists again through the handle opened before.
    await fs.chmod(join(pub, 'secret'), 0o600);
    reader.send('go');
    const { out } = await reader.close();
    expect(out).toMatch(/relisted .*secret/);
    expect(out).not.toMatch(/READ/);
    expect(out).toMatch(/DENIED Permission denied/);
    expect((await fs.stat(join(pub, 'secret'))).mode & 0o777).toBe(0o600);
  });

  it('lists every entry that exists throughout exactly once while others come and go, and seekdir returns', async () => {
    t = await new TierfsMount().start();
    const dir = join(t.mnt, 'churn');
    await fs.mkdir(dir);
    const names = Array.from({ length: 600 }, (_, k) => `e${String(k).padStart(4, '0')}`);
    for (const n of names) await fs.writeFile(join(dir, n), '');
    const removed = new Set(names.filter((_, k) => k % 2 === 1));

    // Half of the entries go (some listed already, some not yet), and new ones come.
    const listing = await listAcrossChanges(dir, { seen: 300, next: 50 }, async () => {
      for (const n of removed) await fs.unlink(join(dir, n));
      for (let k = 0; k < 200; k++) await fs.writeFile(join(dir, `new${k}`), '');
    });
    expectListedOnceAndResumed(listing, names, removed);
    expect(listing.pass.includes('.') && listing.pass.includes('..')).toBe(true);
  });

  // Pages of names alone are read well ahead and the binding answers the next ones itself
  // (native/fuse/dir-ahead.h): the same semantics whichever answers. 'off' lists every page
  // plain; 'adaptive' gives names-only readdirplus pages from the caller's second directory.
  it.each(['off', 'adaptive'] as const)('lists pages read ahead as POSIX says, with readdirplus %s: once each, seekdir returns, rewinddir sees changes', async (readdirplus) => {
    t = new TierfsMount({ readdirplus, metrics: true });
    const names = Array.from({ length: 5000 }, (_, k) => `e${String(k).padStart(4, '0')}`);
    mkdirSync(join(t.hot, 'big'), { recursive: true });
    mkdirSync(join(t.hot, 'first'));
    for (const n of names) writeFileSync(join(t.hot, 'big', n), '');
    await t.start();
    const dir = join(t.mnt, 'big');
    const removed = new Set(names.filter((_, k) => k % 2 === 1));
    const added = Array.from({ length: 300 }, (_, k) => `new${k}`);
    const answeredBefore = await t.metric('tierfs_fuse_listing_pages_answered_natively_total');

    const listing = await listAcrossChanges(
      dir,
      { seen: 2500, next: 100, first: join(t.mnt, 'first') },
      async () => {
        for (const n of removed) await fs.unlink(join(dir, n));
        for (const n of added) await fs.writeFile(join(dir, n), '');
      },
    );
    expectListedOnceAndResumed(listing, names, removed);
    // After rewinddir the directory as it is now: nothing removed, everything added.
    const fresh = listing.fresh;
    expect(fresh.length).toBe(new Set(fresh).size);
    expect([...fresh].sort()).toEqual(['.', '..', ...names.filter((n) => !removed.has(n)), ...added].sort());
    // And pages were answered by the binding (else this test proves nothing of them).
    expect(await t.metric('tierfs_fuse_listing_pages_answered_natively_total')).toBeGreaterThan(answeredBefore);
  }, 120_000);

  it('keeps the daemon small with many handles open on a large directory', async () => {
    t = new TierfsMount({ recording: false });
    // The entries are adopted from the volume at mount (far quicker than creating them through it).
    const big = join(t.hot, 'big');
    mkdirSync(big, { recursive: true });
    for (let k = 0; k < 20_000; k++) writeFileSync(join(big, `entry-with-a-longish-name-${k}`), '');
    mkdirSync(join(t.hot, 'small'));
    for (let k = 0; k < 10; k++) writeFileSync(join(t.hot, 'small', `s${k}`), '');
    await t.start();
    const pid = t.pid!;

    // Each handle reads its first page, as any lister does.
    const holdHandles = (dir: string) =>
      converse([
        'perl',
        '-e',
        `$| = 1; my $dir = shift; my @h;
         while (my $n = <STDIN>) { chomp $n; for (1..$n) { opendir(my $d, $dir) or die "opendir: $!"; my $e = readdir($d); push @h, $d } print "open ", scalar(@h), "\\n" }`,
        dir,
      ]);
    const HANDLES = 200;
    const BATCH = 10;
    const openAll = async (holder: ReturnType<typeof holdHandles>, check?: (n: number) => void) => {
      for (let n = BATCH; n <= HANDLES; n += BATCH) {
        holder.send(String(BATCH));
        await holder.until(new RegExp(`^open ${n}$`, 'm'));
        check?.(n);
      }
    };

    // Baseline: the same number of handles on a small directory.
    const before = rssMiB(pid);
    const small = holdHandles(join(t.mnt, 'small'));
    await openAll(small);
    const smallGrowth = rssMiB(pid) - before;

    // 200 handles on 20,000 entries: a copy of the directory per handle is some 30 MiB
    // each (6 GiB in all); stop at the first batch that shows it, before it hurts. What
    // listing pages leave behind comes and goes with collections (tens of MiB, measured
    // 35-50 at the peaks) and does not grow with the handles.
    const LIMIT_MIB = 160;
    const large = holdHandles(join(t.mnt, 'big'));
    let worst = 0;
    await openAll(large, (n) => {
      const growth = rssMiB(pid) - before - smallGrowth;
      worst = Math.max(worst, growth);
      if (growth > LIMIT_MIB) throw new Error(`daemon grew by ${growth.toFixed(0)} MiB with ${n} handles on 20,000 entries`);
    });
    console.log(`daemon growth: ${smallGrowth.toFixed(1)} MiB for ${HANDLES} handles on 10 entries, ${worst.toFixed(1)} MiB more on 20,000`);
    expect(worst).toBeLessThan(LIMIT_MIB);
    await small.close();
    await large.close();
    // The listing still works, and whole.
    expect((await fs.readdir(join(t.mnt, 'big'))).length).toBe(20_000);
  }, 180_000);
});
