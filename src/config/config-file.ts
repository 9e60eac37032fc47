// Writing tierfs.yaml back when a configuration version is applied, so the file on disk
// is always what the daemon runs: the new text goes to a temporary file beside it,
// is fsynced and renamed over the old one, and the directory is fsynced, so a crash
// leaves either the old file or the new one, whole. The previous text is kept as
// FILE.bak (written the same way) for whoever edits by hand.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const backupPathOf = (file: string) => `${file}.bak`;

function writeAtomically(file: string, text: string, mode: number): void {
  const temp = join(dirname(file), `.${basename(file)}.tierfs-tmp-${process.pid}`);
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Replace the config file's text, keeping the previous text as FILE.bak. */
export function writeConfigFile(file: string, text: string): void {
  let mode = 0o644;
  let previous: string | undefined;
  try {
    mode = statSync(file).mode & 0o777;
    previous = readFileSync(file, 'utf8');
  } catch {
    // no file yet: nothing to back up
  }
  if (previous !== undefined && previous !== text) writeAtomically(backupPathOf(file), previous, mode);
  writeAtomically(file, text, mode);
}
