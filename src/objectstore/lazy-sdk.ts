// The cloud SDKs are loaded when a store of their cloud is first made, not when tierfs
// starts: together they cost about two seconds of every start (each CLI call, each mount
// without a cloud tier). They are CommonJS packages, so a require() made here loads them
// synchronously, where the stores are made.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** The module `name`, loaded at the first call. */
export function lazyModule<T>(name: string): () => T {
  let m: T | undefined;
  return () => (m ??= load(name) as T);
}
