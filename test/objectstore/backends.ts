// The five backends the conformance suite runs against, each with the server it
// needs started on 127.0.0.1 and a config for createObjectStore. Sizes are small
// where that keeps the suite fast and still crosses the same boundaries: parts of
// 5 MiB (S3's minimum) above a threshold of 8 MiB, listing pages of 7 entries.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../helpers/azurite.js';
import { startGcsServer, type GcsServer } from '../helpers/gcs-server.js';
import { startS3Server } from '../helpers/s3-server.js';
import type { BackendConfigInput } from '../../src/config/backends.js';
import { MemoryStore, type ObjectStore } from '../../src/objectstore/index.js';

export const PART_SIZE = 5 * 2 ** 20;
export const PAGE_SIZE = 7;

const sizes = { partSize: PART_SIZE, multipartThreshold: 8 * 2 ** 20, partConcurrency: 4, listPageSize: PAGE_SIZE };

export interface RunningBackend {
  config: BackendConfigInput;
  /** For memory: the one adapter every store of the test must share, since each would otherwise be empty. */
  adapter?: ObjectStore;
  gcs?: GcsServer;
  stop(): Promise<void>;
}

export interface BackendUnderTest {
  name: string;
  start(): Promise<RunningBackend>;
  /** Run the 1 GiB streaming case here (costly on 2 cores: fs and one network backend). */
  huge: boolean;
  /** A storage class whose objects need a restore, if the backend has one that its test server honours. */
  archiveClass?: string;
  /**
   * Limits of the test server, not of the backend or our adapter: s3rver keeps each
   * object as a directory in its own filesystem store, so it cannot hold "a" beside
   * "a/b" nor an empty key segment, and a range request on an empty object never
   * gets an answer from it. Real S3 does all three.
   */
  serverQuirks?: { noKeyThatIsAlsoAPrefix?: boolean; noEmptyObjectRange?: boolean };
}

export const BACKENDS: BackendUnderTest[] = [
  {
    name: 'memory',
    huge: false,
    archiveClass: 'ARCHIVE',
    start: async () => ({
      config: { type: 'memory', ...sizes },
      adapter: new MemoryStore({ listPageSize: PAGE_SIZE }),
      stop: async () => undefined,
    }),
  },
  {
    name: 'fs',
    huge: true,
    start: async () => {
      const root = await mkdtemp(join(tmpdir(), 'tierfs-fsstore-'));
      return { config: { type: 'fs', root, ...sizes }, stop: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    huge: true,
    serverQuirks: { noKeyThatIsAlsoAPrefix: true, noEmptyObjectRange: true },
    start: async () => {
      const server = await startS3Server();
      const { credentials, ...client } = server.clientOptions;
      return { config: { type: 's3', bucket: server.bucket, ...client, ...credentials, ...sizes }, stop: server.stop };
    },
  },
  {
    name: 'azure',
    huge: false,
    archiveClass: 'Archive',
    start: async () => {
      const azurite = await startAzurite();
      try {
        await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('tierfs-test').createIfNotExists();
      } catch (err) {
        await azurite.stop();
        throw err;
      }
      return { config: { type: 'azure', container: 'tierfs-test', connectionString: azurite.connectionString, ...sizes }, stop: azurite.stop };
    },
  },
  {
    name: 'gcs',
    huge: false,
    start: async () => {
      const gcs = await startGcsServer({ buckets: ['tierfs-test'] });
      return { config: { type: 'gcs', bucket: 'tierfs-test', endpoint: gcs.endpoint, projectId: 'test', ...sizes }, gcs, stop: gcs.stop };
    },
  },
];
