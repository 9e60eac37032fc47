// The same seeded random sequence of operations on the mount and on a plain directory
// must leave identical trees, bytes, modes and link counts, and fail the same way.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TierfsMount } from '../helpers/tierfs.js';

const OPS = Number(process.env.DIFF_OPS ?? 5000);
const SEED = Number(process.env.DIFF_SEED ?? (Date.now() % 1_000_000));

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

let t: TierfsMount;
let plain: string;
beforeAll(async () => {
  t = await new TierfsMount().start();
  plain = mkdtempSync(join(tmpdir(), 'tierfs-plain-'));
});
afterAll(async () => {
  await t?.dispose();
  if (plain) rmSync(plain, { recursive: true, force: true });
});

type Op = (root: string) => Promise<unknown>;

/** Build the next random operation; names come from a small pool so operations collide. */
function nextOp(rand: () => number): { name: string; run: Op } {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const dirs = ['', 'a', 'b', 'a/c'];
  const names = ['f1', 'f2', 'f3', 'g', 'h'];
  const path = () => join(pick(dirs), pick(names));
  const dirPath = () => pick(['a', 'b', 'a/c', 'b/d']);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const kind = rand();
  if (kind < 0.25) {
    const p = path();
    const off = Math.floor(rand() * 9000);
    const data = bytes(1 + Math.floor(rand() * 5000));
    return {
      name: `write ${p} @${off} ${data.length}B`,
      run: async (r) => {
        const fh = await fs.open(join(r, p), 'a+').then(async (h) => (await h.close(), fs.open(join(r, p), 'r+')));
        try {
          await fh.write(data, 0, data.length, off);
        } finally {
          await fh.close();
        }
      },
    };
  }
  if (kind < 0.35) {
    const p = path();
    const len = Math.floor(rand() * 12000);
    return { name: `truncate ${p} ${len}`, run: (r) => fs.truncate(join(r, p), len) };
  }
  if (kind < 0.5) {
    const [a, b] = [rand() < 0.7 ? path() : dirPath(), rand() < 0.7 ? path() : dirPath()];
    return { name: `rename ${a} ${b}`, run: (r) => fs.rename(join(r, a), join(r, b)) };
  }
  if (kind < 0.6) {
    const p = path();
    return { name: `unlink ${p}`, run: (r) => fs.unlink(join(r, p)) };
  }
  if (kind < 0.7) {
    const d = dirPath();
    return { name: `mkdir ${d}`, run: (r) => fs.mkdir(join(r, d), 0o755) };
  }
  if (kind < 0.77) {
    const d = dirPath();
    return { name: `rmdir ${d}`, run: (r) => fs.rmdir(join(r, d)) };
  }
  if (kind < 0.85) {
    const [a, b] = [path(), path()];
    return { name: `link ${a} ${b}`, run: (r) => fs.link(join(r, a), join(r, b)) };
  }
  if (kind < 0.92) {
    const p = path();
    // Relative targets only, never '..': a link at the top would point outside the tree
    // under test, at different places for the mount and the plain directory.
    const target = pick(['f1', 'g', 'nowhere', 'a/c/h', 'c']);
    return { name: `symlink ${target} ${p}`, run: (r) => fs.symlink(target, join(r, p)) };
  }
  const p = rand() < 0.8 ? path() : dirPath();
  const mode = pick([0o600, 0o644, 0o755, 0o700, 0o444]);
  return { name: `chmod ${p} ${mode.toString(8)}`, run: (r) => fs.chmod(join(r, p), mode) };
}

async function outcome(op: Op, root: string): Promise<string> {
  try {
    await op(root);
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Everything a user can see of a tree, as comparable text. */
async function snapshot(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const names = (await fs.readdir(join(root, rel))).sort();
  for (const name of names) {
    const p = join(rel, name);
    const st = await fs.lstat(join(root, p));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out.push(`d ${p} ${mode} nlink=${st.nlink}`);
      out.push(...(await snapshot(root, p)));
    } else if (st.isSymbolicLink()) {
      out.push(`l ${p} -> ${await fs.readlink(join(root, p))}`);
    } else {
      const data = await fs.readFile(join(root, p));
      out.push(`f ${p} ${mode} nlink=${st.nlink} size=${st.size} sum=${data.reduce((a, b) => (a * 31 + b) >>> 0, 7)}`);
    }
  }
  return out;
}

it(`leaves the mount identical to a plain directory after ${OPS} random operations`, { timeout: 300_000 }, async () => {
  const rand = rng(SEED);
  const log: string[] = [];
  for (let i = 0; i < OPS; i++) {
    const op = nextOp(rand);
    const [want, got] = [await outcome(op.run, plain), await outcome(op.run, t.mnt)];
    log.push(`${i}: ${op.name} → ${want}`);
    if (want !== got) {
      throw new Error(`seed ${SEED}: op ${i} (${op.name}) gave ${got} on tierfs, ${want} on a plain directory\n${log.slice(-20).join('\n')}`);
    }
    if (i % 500 === 499 || i === OPS - 1) {
      const [a, b] = [await snapshot(plain), await snapshot(t.mnt)];
      expect(b, `seed ${SEED}, after op ${i}\n${log.slice(-10).join('\n')}`).toEqual(a);
    }
  }
});
