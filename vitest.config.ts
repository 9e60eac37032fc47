import { defineConfig } from 'vitest/config';

// Mount tests serve FUSE from child processes; the native addons call into
// JavaScript from their own threads, so test files run in forked processes,
// never in worker threads.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // Compiles src/ to dist/ when stale: the tests start the CLI and daemon from there.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2 cores: two test files at a time keeps mounts and servers from starving each other.
    maxWorkers: 2,
    // What a test polls for (a page's update, a daemon's answer) may wait behind the other
    // test file's work on two cores: a second, vitest's default, is not enough there.
    expect: { poll: { timeout: 10_000 } },
    // Warnings and errors of the code under test still show; info lines would drown the report.
    env: { TIERFS_LOG_LEVEL: process.env.TIERFS_LOG_LEVEL ?? 'warn' },
  },
});
