// The `tierfs` command. Commands that act on a mounted filesystem talk to its daemon.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { AdminError } from '../admin/client.js';
import { registerAlertsCommands } from './alerts-cmd.js';
import { registerCatalogCommands } from './catalog-cmd.js';
import { registerConfigCommands } from './config-cmd.js';
import { registerDashboardCommands } from './dashboard-cmd.js';
import { registerInfoCommands } from './info-cmd.js';
import { registerMetricsCommands } from './metrics-cmd.js';
import { registerMountCommands } from './mount-cmd.js';
import { registerMoveCommands } from './move-cmd.js';
import { registerRepairCommands } from './repair-cmd.js';
import { registerReportCommands } from './report-cmd.js';
import { registerSimCommands } from './sim-cmd.js';
import { CliError, escapeControlsInOutput } from './output.js';

/** The reader of our output went away (`tierfs status | head -1`): that ends the command, quietly. */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

export async function main(argv = process.argv): Promise<void> {
  endQuietlyOnClosedPipe();
  escapeControlsInOutput();
  const program = new Command()
    .name('tierfs')
    .description('one directory over local disks and object storage; every file moves to the tier its use calls for')
    .showHelpAfterError()
    .exitOverride();
  registerConfigCommands(program);
  registerMountCommands(program);
  registerInfoCommands(program);
  registerMoveCommands(program);
  registerRepairCommands(program);
  registerCatalogCommands(program);
  registerMetricsCommands(program);
  registerAlertsCommands(program);
  registerDashboardCommands(program);
  registerReportCommands(program);
  registerSimCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const known = err instanceof CliError || err instanceof ConfigError || err instanceof AdminError || ['EDAEMON', 'ERECOVERY'].includes((err as { code?: string }).code ?? '');
    const message = (err as Error).message ?? String(err);
    process.stderr.write(`tierfs: ${known ? message : (err as Error).stack ?? String(err)}\n`);
    // A script that asked for JSON gets JSON on failure too, not an empty stdout.
    if (argv.includes('--json')) {
      const code = (err as { code?: unknown }).code;
      const problems = err instanceof ConfigError ? err.problems : undefined;
      process.stdout.write(`${JSON.stringify({ error: { message, ...(typeof code === 'string' ? { code } : {}), ...(problems ? { problems } : {}) } })}\n`);
    }
    process.exit(err instanceof CliError ? err.exitCode : known ? 1 : 70);
  }
}
