import { uuidv7 } from '../../../shared/ids.ts';
import type { HangarDb } from '../db.ts';

/** Keys of the sync engine's rows in the `state` table. */
export const CONFIG = 'sync.config';
export const CLIENT = 'sync.clientId';
export const LAST_SYNC = 'sync.lastSync';
export const ERROR = 'sync.error';
/** The server this registry last synced with (kept after `stopSync`). */
export const LAST_URL = 'sync.lastUrl';
/** The server's time minus this device's, learned on sync; kept so a reload stamps corrected clocks at once. */
export const OFFSET = 'sync.offsetMs';
/** The server left with artifacts' bytes this device still lacks: fetched from it in later rounds ({@link Previous}). */
export const PREVIOUS = 'sync.previous';

/** A server this device moved away from, still owing it bytes for these namespaces. */
export interface Previous {
  url: string;
  token: string;
  namespaces: string[];
}
export const nsKey = (ns: string) => `sync.ns.${ns}`;

/**
 * The registry was moved to another server, or its token changed, while a round for the old one
 * was in flight (in this tab or another on the same database): the round's answers speak for a
 * server this registry no longer syncs with, so nothing of them may be written.
 */
export class ServerChanged extends Error {
  override readonly name = 'ServerChanged';
}

/**
 * Throws {@link ServerChanged} unless the stored configuration still names this server and
 * token. Called inside the transactions that write what a server answered, so a stale answer
 * never acknowledges outbox entries, moves a cursor or marks seqs as applied for the new server.
 */
export async function assertServer(db: HangarDb, remote: { url: string; token: string }): Promise<void> {
  const stored = (await db.state.get(CONFIG))?.value as { url: string; token: string } | undefined;
  if (stored?.url !== remote.url || stored.token !== remote.token) {
    throw new ServerChanged(`The registry now syncs with ${stored?.url ?? 'no server'}: an answer from ${remote.url} was set aside.`);
  }
}

export interface NamespaceState {
  cursor: number;
  /** The last seq of ours the server has applied in this namespace. */
  afterSeq: number;
  /** The server does not hold what this device holds here: push it all before the outbox (DESIGN §6 "Changing server"). */
  reseed?: boolean;
  /** A bootstrap under way (sync/snapshot.ts): the first page's cursor, and the next page's token. */
  bootstrap?: { cursor: number; pageToken: string };
  /** The snapshot was read (its cursor may be 0: a namespace with no change yet). */
  bootstrapped?: boolean;
}

export async function nsState(db: HangarDb, ns: string): Promise<NamespaceState> {
  return ((await db.state.get(nsKey(ns)))?.value as NamespaceState | undefined) ?? { cursor: 0, afterSeq: 0 };
}

export async function patchNsState(db: HangarDb, ns: string, patch: Partial<NamespaceState>): Promise<void> {
  await db.transaction('rw', db.state, async () => {
    await db.state.put({ key: nsKey(ns), value: { ...(await nsState(db, ns)), ...patch } });
  });
}

export async function clientIdOf(db: HangarDb): Promise<string> {
  return (await db.state.get(CLIENT))!.value as string;
}

/**
 * A new client id (a new token): the server applies its seqs afresh. With a new server, cursors
 * start over too, and with `reseed` every namespace (those named too) is marked for a re-seed.
 * Runs inside a transaction over `state`.
 */
export async function newClientId(db: HangarDb, newServer: boolean, namespaces: string[], reseed: boolean): Promise<void> {
  await db.state.put({ key: CLIENT, value: uuidv7() });
  const keys = new Set((await db.state.toCollection().primaryKeys()).filter((k) => k.startsWith('sync.ns.')));
  if (reseed) for (const ns of namespaces) keys.add(nsKey(ns));
  for (const key of keys) {
    const s = ((await db.state.get(key))?.value as NamespaceState | undefined) ?? { cursor: 0, afterSeq: 0 };
    await db.state.put({ key, value: newServer ? { cursor: 0, afterSeq: 0, ...(reseed ? { reseed: true } : {}) } : { ...s, afterSeq: 0 } });
  }
}
