// Azure credentials: an expired SAS is refused by the service once, reported as Fatal
// with words that say which credential it was and that it ran out (no retries: a
// repeat cannot cure it); `auth: default` goes through DefaultAzureCredential, here
// its managed-identity leg (App Service's IDENTITY_ENDPOINT), served by a local token
// endpoint so no cloud is needed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, StorageSharedKeyCredential, generateAccountSASQueryParameters } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backendConfigSchema } from '../../src/config/backends.js';
import { DefaultCredential } from '../../src/objectstore/azure-credentials.js';
import { createObjectStore } from '../../src/objectstore/index.js';
import { CLOUDS, CONTAINER, type FaultyCloud } from './faulty-clouds.js';

const identityInstalled = await import('@azure/identity').then(() => true, () => false);

describe('Azure: an expired SAS', () => {
  let azure: FaultyCloud;

  beforeAll(async () => {
    azure = await CLOUDS[1]!.start();
  }, 60_000);

  afterAll(async () => {
    await azure?.stop();
  });

  function sasUrl(expiresOn: Date): string {
    const connectionString = String((azure.config() as { connectionString?: string }).connectionString);
    const field = (name: string) => new RegExp(`${name}=([^;]+)`).exec(connectionString)![1]!;
    const sas = generateAccountSASQueryParameters(
      {
        expiresOn,
        startsOn: new Date(expiresOn.getTime() - 3_600_000),
        permissions: AccountSASPermissions.parse('rwdlac'),
        services: AccountSASServices.parse('b').toString(),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      },
      new StorageSharedKeyCredential(field('AccountName'), field('AccountKey')),
    ).toString();
    return `${field('BlobEndpoint').replace(/\/$/, '')}?${sas}`;
  }

  it('is refused once, as Fatal, with the credential and its end time named', async () => {
    const expired = new Date(Math.floor(Date.now() / 1000) * 1000 - 24 * 3_600_000); // a SAS holds whole seconds
    const store = createObjectStore(backendConfigSchema.parse({ ...azure.config(), connectionString: undefined, accountUrl: sasUrl(expired) }));
    azure.fault.reset();
    const put = store.put('sas/obj', Buffer.from('x'));
    await expect(put).rejects.toMatchObject({ code: 'Fatal' });
    await expect(put).rejects.toThrow(/HTTP 403 (AuthenticationFailed|AuthorizationFailure).*SAS token, expired at/);
    await expect(put).rejects.toThrow(expired.toISOString());
    expect(azure.fault.count()).toBe(1);
    // The message never carries the signature.
    await expect(put).rejects.not.toThrow(/sig=/);
  });

  it('a SAS that is still valid works through the same path', async () => {
    const store = createObjectStore(backendConfigSchema.parse({ ...azure.config(), connectionString: undefined, accountUrl: sasUrl(new Date(Date.now() + 3_600_000)) }));
    await store.put('sas/ok', Buffer.from('fine'));
    expect((await store.get('sas/ok')).data.toString()).toBe('fine');
  });
});

describe.skipIf(!identityInstalled)('Azure: auth "default" (DefaultAzureCredential; skipped only when @azure/identity is not installed)', () => {
  let tokens: Server;
  let answer: { status: number; body: unknown };
  const asked: URL[] = [];
  const saved: Record<string, string | undefined> = {};
  const env = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE', 'MSI_ENDPOINT', 'IMDS_ENDPOINT'];

  beforeAll(async () => {
    tokens = createServer((req, res) => {
      asked.push(new URL(req.url ?? '/', 'http://tokens'));
      res.writeHead(answer.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => tokens.listen(0, '127.0.0.1', resolve));
    for (const name of env) saved[name] = process.env[name];
    for (const name of env) delete process.env[name];
    // App Service's managed identity: a local endpoint and a secret header.
    process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/msi/token`;
    process.env.IDENTITY_HEADER = 'test-secret';
  });

  afterEach(() => {
    asked.length = 0;
  });

  afterAll(async () => {
    for (const name of env) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await new Promise<void>((resolve) => tokens?.close(() => resolve()));
  });

  it('takes its token from the chain, for Azure Storage', async () => {
    answer = { status: 200, body: { access_token: 'token-from-managed-identity', expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: 'https://storage.azure.com', token_type: 'Bearer' } };
    const token = await new DefaultCredential().getToken('https://storage.azure.com/.default');
    expect(token?.token).toBe('token-from-managed-identity');
    expect(asked[0]?.searchParams.get('resource')).toBe('https://storage.azure.com');
  });

  it('a credential that cannot give a token is reported as Fatal, naming it, and the store is never asked', async () => {
    answer = { status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } };
    // Another identity than the test above got a token for: @azure/identity 4 keeps
    // managed-identity tokens in a cache of the process, by identity.
    process.env.AZURE_CLIENT_ID = 'no-such-identity';
    const store = createObjectStore(backendConfigSchema.parse({
      type: 'azure', container: CONTAINER, accountUrl: 'https://127.0.0.1:1/devstoreaccount1', auth: 'default',
      retry: { maxAttempts: 3, baseDelay: '1ms', maxDelay: '5ms' },
    }));
    const head = store.head('k');
    await expect(head).rejects.toMatchObject({ code: 'Fatal' });
    await expect(head).rejects.toThrow(/credential: DefaultAzureCredential/);
    expect(asked.length).toBeGreaterThan(0);
    delete process.env.AZURE_CLIENT_ID;
  }, 30_000);

  it('the config takes accountUrl alone with it', () => {
    expect(() => backendConfigSchema.parse({ type: 'azure', container: CONTAINER, connectionString: 'UseDevelopmentStorage=true', auth: 'default' })).toThrow(/accountUrl alone/);
  });
});
