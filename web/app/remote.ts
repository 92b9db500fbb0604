import type { Hangar } from '../client/index.ts';
import { CONFIG } from '../client/sync/state.ts';
import { HangarError } from '../../shared/errors.ts';
import { honourRetryAfter } from '../../shared/retry-after.ts';

/** The server this registry syncs with, and its token: what the server-only pages call. */
export interface Connection {
  url: string;
  token: string;
  namespaces: string[];
}

/** The sync configuration kept by `hangar.sync()`; null when this browser does not sync. */
export async function connection(hangar: Hangar): Promise<Connection | null> {
  const stored = (await hangar.db.state.get(CONFIG))?.value as Connection | undefined;
  return stored && typeof stored.url === 'string' && typeof stored.token === 'string' ? stored : null;
}

/**
 * Calls the server's API with the sync token: JSON in and out, a 429 waited out as its
 * Retry-After says, and any refusal thrown as the server's HangarError.
 */
export async function api<T>(c: Connection, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${c.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const url = `${c.url.replace(/\/+$/, '')}/api/v1${path}`;
  let res: Response;
  try {
    res = await honourRetryAfter(
      () => fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
      (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after') }),
      { discard: (r) => void r.body?.cancel().catch(() => undefined) },
    );
  } catch {
    throw new Error(`The server at ${c.url} cannot be reached: this page needs it online.`);
  }
  if (res.status === 204) return undefined as T;
  const parsed: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw HangarError.fromEnvelope(parsed) ?? new Error(`The server answered ${res.status}.`);
  return parsed as T;
}
