// tierfs dashboard: where the web dashboard of a mount is, and (--open) a one-time login
// link that lets a browser make changes — or, off loopback, see anything at all.
import { spawn } from 'node:child_process';
import { closeSync, constants, lstatSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { adminJson, socketPathOf } from '../admin/client.js';
import type { DashboardLogin } from '../admin/http.js';
import { pickMount } from './info-cmd.js';
import { printJson } from './output.js';

/**
 * Start the desktop's browser on the link, if this host has one; the link is printed
 * either way. Not with the link as an argument: a command line is every local user's to
 * read (/proc/PID/cmdline), and xdg-open and the browser keep theirs while the page
 * loads — time enough for another user to spend the code first, and have the session.
 * The browser is given a page only this user can read, which goes on to the link.
 */
function openInBrowser(url: string): void {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  let page: string;
  try {
    page = loginPage(url);
  } catch {
    return; // the printed link is enough
  }
  const child = spawn('xdg-open', [page], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined); // no xdg-open: the printed link is enough
  child.unref();
}

/** A page that sends the browser on to url, in a directory of this user's alone (mode 0700), rewritten each time. */
export function loginPage(url: string): string {
  const dir = join(tmpdir(), `tierfs-dashboard-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { mode: 0o700, recursive: true });
  // A directory of this name someone else made (or a symlink) is not ours to write in.
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) throw new Error(`${dir} is not this user's alone`);
  const page = join(dir, 'login.html');
  rmSync(page, { force: true });
  const fd = openSync(page, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const href = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    writeSync(fd, `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}"><title>tierfs</title><a href="${href}">tierfs dashboard</a>\n`);
  } finally {
    closeSync(fd);
  }
  return page;
}

export function registerDashboardCommands(program: Command): void {
  program
    .command('dashboard')
    .argument('[mountpoint]', 'which mount (default: the only one)')
    .option('--open', 'print a one-time login link (valid 5 minutes) and open it in the browser, if there is one')
    .option('--json', 'print as JSON')
    .description('the address of the web dashboard; --open: a one-time login link (the dashboard shows the files of every user, and makes changes: moves, pins, configuration)')
    .action(async (mountpoint: string | undefined, opts: { open?: boolean; json?: boolean }) => {
      const m = await adminJson<DashboardLogin>(socketPathOf(pickMount(mountpoint).dataDir), 'POST', '/v1/dashboard/login', { link: opts.open === true });
      if (opts.json) return printJson(m);
      const lines = [`dashboard: ${m.url}`];
      if (opts.open) {
        lines.push(`login (once, until ${m.expiresAt}): ${m.loginUrl}`);
        openInBrowser(m.loginUrl!);
      } else {
        lines.push('it shows every user\'s files after a login: run tierfs dashboard --open for a one-time link');
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
