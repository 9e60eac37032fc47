// Object keys of the tier. Everything a copy writes sits under `<fsid>/<fileId>/`, so an
// interrupted write whose layout was never returned can still be found (list that
// prefix) and removed, and every manifest is found by listing `<fsid>/`.

export function filePrefix(fsid: string, fileId: string): string {
  return `${fsid}/${fileId}/`;
}

export function cellKey(fsid: string, fileId: string, stripe: number, cell: number): string {
  return `${filePrefix(fsid, fileId)}s${stripe}/c${cell}`;
}

export function manifestKey(fsid: string, fileId: string): string {
  return `${filePrefix(fsid, fileId)}manifest`;
}

/** The fileId of a manifest key of this fsid, or undefined for any other key. */
export function fileIdOfManifestKey(fsid: string, key: string): string | undefined {
  const prefix = `${fsid}/`;
  if (!key.startsWith(prefix) || !key.endsWith('/manifest')) return undefined;
  const fileId = key.slice(prefix.length, -'/manifest'.length);
  return fileId.length > 0 && !fileId.includes('/') ? fileId : undefined;
}
