// The configuration versions at mount: the file the mount starts with becomes a version
// (the first, or the next when the file was edited by hand since), and a crash between
// recording a version and writing the file is finished one way — the catalog's text is
// written to the file, since the catalog is the source of truth — and logged.
import { userInfo } from 'node:os';
import { moduleLogger } from '../log.js';
import { writeConfigFile } from './config-file.js';
import { hashText, type ConfigVersion, type ConfigVersions } from './versions.js';

const log = moduleLogger('config');

export interface ConfigAtMount {
  version: ConfigVersion;
  /** set when the file did not hold the newest version: the text now written there, to run */
  repairedText?: string;
}

function whoAmI(): { uid: number | null; user: string | null } {
  try {
    const u = userInfo();
    return { uid: u.uid, user: u.username };
  } catch {
    return { uid: process.getuid?.() ?? null, user: null };
  }
}

/** file undefined: the mount runs the embedded default, which has no file to keep in step. */
export function configAtMount(versions: ConfigVersions, file: string | undefined, text: string): ConfigAtMount {
  const latest = versions.latest();
  if (latest && !latest.fileWritten) {
    // Recorded, and the daemon died before (or while) the file was replaced.
    if (file !== undefined && hashText(text) !== latest.hash) {
      writeConfigFile(file, latest.text);
      log.warn({ file, version: latest.version }, 'configuration repaired: the config file was written from the catalog (the daemon stopped between recording the version and writing the file)');
      versions.markWritten(latest.version);
      return { version: { ...latest, fileWritten: true }, repairedText: latest.text };
    }
    versions.markWritten(latest.version);
    return { version: { ...latest, fileWritten: true } };
  }
  if (latest && latest.hash === hashText(text)) return { version: latest };
  const message = latest ? 'the config file was changed outside tierfs (found at mount)' : 'the configuration at the first mount';
  const version = versions.add({ ...whoAmI(), message, text, restoredFrom: null, fileWritten: true });
  log.info({ file, version: version.version }, message);
  return { version };
}
