// tierfs dashboard: where the web dashboard of a mount is, and (--open) a one-time login
// link that lets a browser make changes — or, off loopback, see anything at all.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { adminJson, socketPathOf } from '../admin/client.js';
import type { DashboardLogin } from '../admin/http.js';
import { pickMount } from './info-cmd.js';
import { printJson } from './output.js';

/** Start the desktop's browser on the link, if this host has one; the link is printed either way. */
function openInBrowser(url: string): void {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined); // no xdg-open: the printed link is enough
  child.unref();
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
