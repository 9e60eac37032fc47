// The log's writer (src/log-stream.ts), through processes that log to a stderr whose
// reader goes away, stalls, or reads along: the process always ends, and what is
// written arrives whole and in order.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOG = fileURLToPath(new URL('../dist/log.js', import.meta.url));

/** A node process that runs `body` with `log` (the daemon's logger) in scope; stderr piped to the test. */
function logger(body: string) {
  return spawn(process.execPath, ['--input-type=module', '-e', `const { log, flushLogSync } = await import(${JSON.stringify(LOG)});\n${body}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TIERFS_LOG_LEVEL: 'info' },
  });
}

function exited(child: ReturnType<typeof spawn>, withinMs: number): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the process had not exited after ${withinMs} ms`));
    }, withinMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - t0 });
    });
  });
}

describe('the log writer', () => {
  it('a process whose log reader is gone exits, by process.exit and on SIGTERM', { timeout: 30_000 }, async () => {
    // pino's own destination looped for ever at exit here (its flush retries a broken pipe).
    const byExit = logger(`await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 1000; i++) log.info({ i }, 'a line for a reader that is gone');
      process.exit(0);`);
    byExit.stderr!.destroy();
    expect((await exited(byExit, 10_000)).code).toBe(0);

    const bySignal = logger(`process.on('SIGTERM', () => { log.warn('stopping'); process.exit(3); });
      setInterval(() => log.info('still here'), 5);`);
    bySignal.stderr!.destroy();
    await new Promise((r) => setTimeout(r, 300));
    bySignal.kill('SIGTERM');
    expect((await exited(bySignal, 10_000)).code).toBe(3);
  });

  it('writes every line, in order, to a reader that keeps up; log.flush calls back once they are out', { timeout: 30_000 }, async () => {
    const child = logger(`for (let i = 0; i < 20000; i++) log.info({ i }, 'line');
      log.flush(() => { log.info('flushed'); });
      log.flush(() => process.exit(5));`);
    let out = '';
    child.stderr!.on('data', (d) => (out += d));
    expect((await exited(child, 20_000)).code).toBe(5);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { i?: number; msg: string });
    expect(lines.slice(0, 20000).map((l) => l.i)).toEqual(Array.from({ length: 20000 }, (_, k) => k));
    expect(lines.at(-1)!.msg).toBe('flushed');
  });

  it('flushLogSync writes out every line, in order, before a death by signal (which runs no exit handler)', { timeout: 30_000 }, async () => {
    const child = logger(`for (let i = 0; i < 5000; i++) log.info({ i }, 'line');
      flushLogSync();
      process.kill(process.pid, 'SIGKILL');`);
    let out = '';
    child.stderr!.on('data', (d) => (out += d));
    await exited(child, 20_000);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 5000 }, (_, k) => k));
  });

  it('a reader that stalls costs a bounded queue: the lines past it are counted and said', { timeout: 30_000 }, async () => {
    // 40 MiB of lines while the reader reads nothing: more than the queue (16 MiB) and the pipe hold.
    const child = logger(`const pad = 'x'.repeat(1000);
      for (let i = 0; i < 40000; i++) log.info({ i, pad }, 'line');
      await new Promise((r) => setTimeout(r, 1500));
      log.info('after the stall');`);
    child.stderr!.pause();
    setTimeout(() => child.stderr!.resume(), 1000);
    let out = '';
    child.stderr!.on('data', (d) => (out += d));
    expect((await exited(child, 20_000)).code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { i?: number; msg: string });
    const kept = lines.filter((l) => l.i !== undefined).map((l) => l.i!);
    expect(kept.length).toBeLessThan(40000);
    expect(kept).toEqual([...kept].sort((a, b) => a - b)); // in order, a gap where lines were dropped
    const said = lines.find((l) => / log lines dropped: /.test(l.msg));
    expect(said, 'a line that says how many were dropped').toBeDefined();
    expect(Number(said!.msg.split(' ')[0])).toBe(40000 - kept.length);
    expect(lines.at(-1)!.msg).toBe('after the stall');
  });
});
