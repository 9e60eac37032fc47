// The embedded default configuration, also what `tierfs init` writes. It needs no
// cloud account: hot and warm tiers are local directories and the cold tier is an
// object store on the local filesystem, all under one data directory.
export const DEFAULT_CONFIG_YAML = `# tierfs configuration (format version 1).
# Sizes take units ("100GiB", "500MB"), durations "7d", "12h", "90s", ratios "80%".
# Relative paths are relative to this file. \`tierfs config docs\` lists every key.
version: 1

# The catalog (SQLite), the admin socket and the recall cache live here.
dataDir: ./tierfs-data

# Tiers, fastest first. New files go to the first local tier below its high watermark.
tiers:
  - name: hot
    kind: local
    volumes: [./tierfs-data/hot]      # one or more directories, e.g. on SSDs
    # capacity: 100GiB                # default: the size of the volumes' filesystem
    watermarks: { high: 90%, low: 75% }
  - name: warm
    kind: local
    volumes: [./tierfs-data/warm]     # e.g. on HDDs
    # capacity: 1TiB
    watermarks: { high: 90%, low: 75% }
  - name: cold
    kind: object
    backends:
      - { name: local, type: fs, root: ./tierfs-data/cold }
    scheme: { k: 4, m: 2 }            # Reed-Solomon: survives the loss of any 2 cells of 6
    chunkSize: 32MiB

# Where files belong. Rules are checked in order; the first whose conditions all hold
# decides, and \`tierfs where FILE\` says which one did and why. A file moves at most once
# per minResidency, and only when it passes a heat threshold by the hysteresis share, so
# nothing bounces between tiers. Capacity pressure (the watermarks) demotes the coldest
# files whatever the rules say.
policy:
  halfLife: 7d                        # heat: opens, each counting half as much a week later
  minResidency: 1d
  rules:
    # Busy files stay fast: about one open a day for the past week keeps a file hot.
    - name: busy
      match: { heatAbove: 5 }
      target: hot
    # Written or opened in the last two weeks: still part of current work.
    - name: recent
      match: { idleBelow: 14d }
      target: hot
    # Untouched for three months and at least 128 KiB (object stores bill small objects
    # as if they were that large, and recall costs a round trip): the object store.
    - name: dormant
      match: { idleAbove: 90d, sizeAbove: 128KiB }
      target: cold
    # Everything else: idle for two weeks or more, or too small to be worth the cloud.
    - name: idle
      target: warm

mount:
  maxWrite: 1MiB
  attrTimeout: 1s
  entryTimeout: 1s
  pageCache: auto                     # keep | auto | none
  defaultPermissions: true
  allowOther: false
  fastPath: true                      # local files are read and written natively
  nativeCreates: true                 # creates in a directory answered natively after its first
  passthrough: auto                   # auto | off: the kernel reads and writes local files itself
  readdirplus: adaptive               # adaptive | always | auto | off: listings carry attributes to callers that stat what they list (du, ls -l), not to find

recording:
  enabled: true
  flushInterval: 250ms
  logMaxRows: 1000000

# Prometheus metrics at http://127.0.0.1:9750/metrics and their history in the catalog
# (tierfs history); docs/MONITORING.md lists them. Off loopback a bearer token is required.
metrics:
  listen: 127.0.0.1:9750              # "off" disables the listener
  history: { enabled: true, minutes: 2d, hours: 90d, days: 730d }
`;

/** A size in the largest binary unit that keeps it whole enough to read (e.g. "12GiB"). */
function roundSize(bytes: number): string {
  const GiB = 2 ** 30;
  return bytes >= 10 * GiB ? `${Math.floor(bytes / GiB)}GiB` : `${Math.max(1, Math.floor(bytes / 2 ** 20))}MiB`;
}

/**
 * What \`tierfs init\` writes: the default, with capacities for hot and warm when they
 * share a filesystem (the starter's volumes are side by side under one directory).
 * Without a capacity each would measure the whole filesystem: the other's files and
 * everything else on the disk would count as its own use, and a watermark below the
 * disk's fill would refuse new files with space free.
 */
export function starterConfig(disk: { totalBytes: number; freeBytes: number } | null): string {
  if (!disk) return DEFAULT_CONFIG_YAML;
  const note = `    # hot and warm share one filesystem here (${roundSize(disk.totalBytes)}, ${roundSize(disk.freeBytes)} free when this
    # file was written): each has a capacity of its own (a third and half of the free space),
    # or each would count the other's files and all else on the disk as its own use.\n`;
  return DEFAULT_CONFIG_YAML.replace(
    '    # capacity: 100GiB                # default: the size of the volumes\' filesystem\n',
    `${note}    capacity: ${roundSize(disk.freeBytes / 3)}\n`,
  ).replace('    # capacity: 1TiB\n', `    capacity: ${roundSize(disk.freeBytes / 2)}\n`);
}
