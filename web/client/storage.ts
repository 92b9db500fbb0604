/** How much this site stores and may store, and whether the browser may evict it. */
export interface StorageInfo {
  usage: number | null;
  quota: number | null;
  persisted: boolean;
}

/** Reads `navigator.storage`; fields are null where the browser does not say. */
export async function storageInfo(): Promise<StorageInfo> {
  const storage = globalThis.navigator?.storage;
  const estimate = await storage?.estimate?.().catch(() => undefined);
  const persisted = (await storage?.persisted?.().catch(() => false)) ?? false;
  return { usage: estimate?.usage ?? null, quota: estimate?.quota ?? null, persisted };
}

/**
 * Asks the browser to keep this site's data even under storage pressure. Browsers may
 * answer no (or ask the user); the registry works either way.
 */
export async function requestPersistence(): Promise<boolean> {
  const storage = globalThis.navigator?.storage;
  if (!storage?.persist) return false;
  if (await storage.persisted?.().catch(() => false)) return true;
  return storage.persist().catch(() => false);
}
