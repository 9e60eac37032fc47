// A mount for the dashboard's tests: hot and warm local tiers and a cold object tier on
// the fs backend (three stores, 2+1), the HTTP listener on a free port, and its address
// and a login link read as a user would (tierfs status, tierfs dashboard --open).
import { TierfsMount } from '../helpers/tierfs.js';
import { tempDir } from '../helpers/tmp.js';

export interface DashboardMount {
  t: TierfsMount;
  /** http://HOST:PORT/ */
  url: string;
  dispose(): Promise<void>;
}

export async function dashboardMount(opts: { listen?: string; extraYaml?: string; env?: NodeJS.ProcessEnv } = {}): Promise<DashboardMount> {
  const cold = tempDir('tierfs-dashboard-cold-');
  const t = new TierfsMount({
    hotCapacity: '1GiB',
    warmCapacity: '1GiB', // use is the catalog's count, not a shared disk's (other processes write there)
    moreTiers: `  - name: cold
    kind: object
    scheme: { k: 2, m: 1 }
    chunkSize: 256KiB
    smallFileThreshold: 4KiB
    backends:
      - { name: a, type: fs, root: ${cold.path}/a }
      - { name: b, type: fs, root: ${cold.path}/b }
      - { name: c, type: fs, root: ${cold.path}/c }
`,
    extraYaml: `metrics: { listen: "${opts.listen ?? '127.0.0.1:0'}" }\n${opts.extraYaml ?? ''}`,
  });
  const dispose = async () => {
    await t.dispose();
    cold.remove();
  };
  try {
    await t.start(opts.env);
    const r = await t.cli(['dashboard', '--json', t.mnt]);
    if (r.code !== 0) throw new Error(`tierfs dashboard failed: ${r.stderr}`);
    return { t, url: (JSON.parse(r.stdout) as { url: string }).url, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A one-time login link, as `tierfs dashboard --open --json` prints it. */
export async function loginLink(t: TierfsMount): Promise<string> {
  const r = await t.cli(['dashboard', '--open', '--json', t.mnt]);
  if (r.code !== 0) throw new Error(`tierfs dashboard --open failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { loginUrl: string }).loginUrl;
}
