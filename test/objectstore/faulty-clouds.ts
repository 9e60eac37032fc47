// The three clouds' test servers, each behind a fault server, with a config that
// points the real adapter (and its SDK) at the fault server, and predicates that
// pick out each kind of request in that cloud's wire protocol.
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../helpers/azurite.js';
import { startFaultServer, type Cloud, type FaultServer, type SeenRequest } from '../helpers/fault-server.js';
import { startGcsServer } from '../helpers/gcs-server.js';
import { startS3Server } from '../helpers/s3-server.js';
import type { BackendConfigInput } from '../../src/config/backends.js';

export const CONTAINER = 'tierfs-test';
const AZURE_ACCOUNT = 'devstoreaccount1';

type Match = (r: SeenRequest) => boolean;

export interface FaultyCloud {
  cloud: Cloud;
  fault: FaultServer;
  /** A config for createObjectStore that reaches the cloud through the fault server. */
  config(extra?: Partial<Record<string, unknown>>): BackendConfigInput;
  /** The request that fetches the bytes of `key` (GCS: the media request, not the metadata one). */
  isGet(key: string): Match;
  /** The request that fetches the metadata of `key`. */
  isHead(key: string): Match;
  isList(): Match;
  isDelete(key: string): Match;
  stop(): Promise<void>;
}

const fast = { retry: { maxAttempts: 3, baseDelay: '1ms', maxDelay: '5ms' } };

async function s3(): Promise<FaultyCloud> {
  const server = await startS3Server(CONTAINER);
  const fault = await startFaultServer({ cloud: 's3', upstream: server.endpoint });
  const { credentials, ...client } = server.clientOptions;
  const objectPath = (key: string) => `/${CONTAINER}/${key}`;
  const plain = (r: SeenRequest) => r.query.size === 0 || (r.query.size === 1 && r.query.has('x-id'));
  return {
    cloud: 's3',
    fault,
    config: (extra = {}) => ({ type: 's3', bucket: CONTAINER, ...client, ...credentials, endpoint: fault.endpoint, ...fast, ...extra }) as BackendConfigInput,
    isGet: (key) => (r) => r.method === 'GET' && r.path === objectPath(key) && plain(r),
    isHead: (key) => (r) => r.method === 'HEAD' && r.path === objectPath(key),
    isList: () => (r) => r.method === 'GET' && (r.path === `/${CONTAINER}` || r.path === `/${CONTAINER}/`) && r.query.get('list-type') === '2',
    isDelete: (key) => (r) => r.method === 'DELETE' && r.path === objectPath(key) && plain(r),
    stop: async () => {
      await fault.stop();
      await server.stop();
    },
  };
}

async function azure(): Promise<FaultyCloud> {
  const azurite = await startAzurite();
  try {
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(CONTAINER).createIfNotExists();
  } catch (err) {
    await azurite.stop();
    throw err;
  }
  const fault = await startFaultServer({ cloud: 'azure', upstream: `http://127.0.0.1:${azurite.port}` });
  const connectionString = azurite.connectionString.replace(/BlobEndpoint=[^;]+;/, `BlobEndpoint=${fault.endpoint}/${AZURE_ACCOUNT};`);
  const blobPath = (key: string) => `/${AZURE_ACCOUNT}/${CONTAINER}/${key}`;
  return {
    cloud: 'azure',
    fault,
    config: (extra = {}) => ({ type: 'azure', container: CONTAINER, connectionString, ...fast, ...extra }) as BackendConfigInput,
    isGet: (key) => (r) => r.method === 'GET' && r.path === blobPath(key) && !r.query.has('comp'),
    isHead: (key) => (r) => r.method === 'HEAD' && r.path === blobPath(key),
    isList: () => (r) => r.method === 'GET' && r.path === `/${AZURE_ACCOUNT}/${CONTAINER}` && r.query.get('comp') === 'list',
    isDelete: (key) => (r) => r.method === 'DELETE' && r.path === blobPath(key),
    stop: async () => {
      await fault.stop();
      await azurite.stop();
    },
  };
}

async function gcs(): Promise<FaultyCloud> {
  const server = await startGcsServer({ buckets: [CONTAINER] });
  const fault = await startFaultServer({ cloud: 'gcs', upstream: server.endpoint });
  const objectPath = (key: string) => `/storage/v1/b/${CONTAINER}/o/${key}`;
  return {
    cloud: 'gcs',
    fault,
    config: (extra = {}) => ({ type: 'gcs', bucket: CONTAINER, endpoint: fault.endpoint, projectId: 'test', ...fast, ...extra }) as BackendConfigInput,
    isGet: (key) => (r) => r.method === 'GET' && r.path === objectPath(key) && r.query.get('alt') === 'media',
    isHead: (key) => (r) => r.method === 'GET' && r.path === objectPath(key) && r.query.get('alt') !== 'media',
    isList: () => (r) => r.method === 'GET' && r.path === `/storage/v1/b/${CONTAINER}/o`,
    isDelete: (key) => (r) => r.method === 'DELETE' && r.path === objectPath(key),
    stop: async () => {
      await fault.stop();
      await server.stop();
    },
  };
}

export const CLOUDS: { name: Cloud; start: () => Promise<FaultyCloud> }[] = [
  { name: 's3', start: s3 },
  { name: 'azure', start: azure },
  { name: 'gcs', start: gcs },
];
