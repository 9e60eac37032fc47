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
    watermarks: { high: 90%, low: 75% }
  - name: cold
    kind: object
    backends:
      - { name: local, type: fs, root: ./tierfs-data/cold }
    scheme: { k: 4, m: 2 }            # Reed-Solomon: survives the loss of any 2 cells of 6
    chunkSize: 8MiB

mount:
  maxWrite: 1MiB
  attrTimeout: 1s
  entryTimeout: 1s
  pageCache: auto                     # keep | auto | none
  defaultPermissions: true
  allowOther: false
  fastPath: true                      # local files are read and written natively

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
