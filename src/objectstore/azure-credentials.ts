// Azure credentials beyond keys and SAS tokens: Microsoft Entra ID through the Azure
// SDK's DefaultAzureCredential (environment variables, workload identity, managed
// identity, Azure CLI, in that order), and words for an error that say which
// credential was refused (and when a SAS ran out), never the secret itself.
//
// @azure/identity is loaded on the first token request only: it is large, and
// backends with a key or a SAS never need it.
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { FatalError } from './errors.js';

/** DefaultAzureCredential, created on first use. */
export class DefaultCredential implements TokenCredential {
  private inner: Promise<TokenCredential> | undefined;

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.inner ??= import('@azure/identity').then(
      (identity) => new identity.DefaultAzureCredential(),
      (err: unknown) => {
        throw new FatalError('azure auth "default" needs the @azure/identity package (npm install @azure/identity)', { cause: err });
      },
    );
    return (await this.inner).getToken(scopes, options);
  }
}

/** Which credential a store uses, for error messages: its kind and account, a SAS's end time; no secret. */
export function describeCredential(opts: { auth?: 'default'; connectionString?: string; accountUrl?: string; accountName?: string; accountKey?: string }): string {
  if (opts.auth === 'default') return 'DefaultAzureCredential (Microsoft Entra ID: environment, workload or managed identity, Azure CLI)';
  const fields = new Map(
    (opts.connectionString ?? '').split(';').filter(Boolean).map((kv) => {
      const at = kv.indexOf('=');
      return [kv.slice(0, at), kv.slice(at + 1)] as const;
    }),
  );
  const sas = fields.get('SharedAccessSignature') ?? (opts.accountUrl?.includes('?') ? opts.accountUrl.slice(opts.accountUrl.indexOf('?') + 1) : undefined);
  if (sas !== undefined) {
    const end = new URLSearchParams(sas).get('se');
    const endDate = end ? new Date(end) : undefined;
    if (!endDate || Number.isNaN(endDate.getTime())) return 'SAS token (no end time in it)';
    return endDate.getTime() <= Date.now()
      ? `SAS token, expired at ${endDate.toISOString()}: issue a new one`
      : `SAS token, valid until ${endDate.toISOString()}`;
  }
  if (fields.get('UseDevelopmentStorage') === 'true') return 'development storage account key';
  const account = fields.get('AccountName') ?? opts.accountName;
  return `shared key of account ${account ?? '(unnamed)'}`;
}
