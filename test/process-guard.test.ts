// What escapes every catch in the daemon: a forgotten rejection is logged and counted
// and the process lives on; an uncaught exception stops it in order, with status 1.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const FIXTURE = new URL('./fixtures/guarded-process.ts', import.meta.url).pathname;

function run(mode: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const logLines = (stderr: string) =>
  stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });

describe('process guard', () => {
  it('logs an unhandled rejection once, counts every one, and keeps the process alive', async () => {
    const r = await run('reject');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('alive, 2 unhandled\n');
    const errors = logLines(r.stderr).filter((l) => l.level >= 50);
    expect(errors.map((l) => l.msg)).toEqual([expect.stringMatching(/^unhandled rejection/)]);
  });

  it('stops in order and exits 1 after an uncaught exception', async () => {
    const r = await run('throw');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('alive, 2 unhandled\norderly stop\n');
    expect(logLines(r.stderr).some((l) => l.level === 60 && /uncaught exception/.test(l.msg))).toBe(true);
  });
});
