import type { HangarDb } from '../db.ts';
import type { UploadProgress } from './blobs.ts';
import { ERROR, LAST_SYNC, OFFSET } from './state.ts';

/** What `hangar.syncStatus` holds. */
export interface SyncStatus {
  /** A server is configured. */
  enabled: boolean;
  /** The last request reached the server (false while offline or unreachable; a 5xx or 429 is online). */
  online: boolean;
  /** A round is running in this tab. */
  syncing: boolean;
  pendingMutations: number;
  /** Bytes of artifacts still to upload. */
  pendingBytes: number;
  lastSync: number | null;
  /** Open conflicts. */
  conflicts: number;
  /** The last round's error: the first namespace's that failed, with the others' in `details.namespaces`. */
  error: { code: string; message: string; details?: Record<string, unknown> } | null;
  /** The server speaks a newer sync protocol: the app must be updated. */
  updateNeeded: boolean;
  /** This tab holds an open live socket for every synced namespace: changes arrive as they happen (false in tabs that do not lead sync). */
  live: boolean;
  uploads: UploadProgress[];
}

/** A value that changes: read `value`, or `subscribe` to hear each change (returns the unsubscribe). */
export interface LiveValue<T> {
  readonly value: T;
  subscribe(listener: (value: T) => void): () => void;
}

export class Live<T> implements LiveValue<T> {
  private readonly listeners = new Set<(value: T) => void>();
  constructor(public value: T) {}
  set(patch: Partial<T>): void {
    this.value = { ...this.value, ...patch };
    for (const l of this.listeners) l(this.value);
  }
  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    listener(this.value);
    return () => this.listeners.delete(listener);
  }
}

export const OFF: SyncStatus = {
  enabled: false,
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  syncing: false,
  live: false,
  pendingMutations: 0,
  pendingBytes: 0,
  lastSync: null,
  conflicts: 0,
  error: null,
  updateNeeded: false,
  uploads: [],
};

/** The parts of the status the database holds (any tab's writes), and the stored clock correction. */
export async function countStatus(db: HangarDb) {
  const [pendingMutations, conflicts, uploads, lastSync, error] = await Promise.all([
    db.outbox.count(),
    db.conflicts.where('resolved').equals(0).count(),
    db.uploads.filter((u) => !u.done).toArray(),
    db.state.get(LAST_SYNC),
    db.state.get(ERROR),
  ]);
  // Finished parts of an upload are not pending any more (the last part may be short).
  const pendingBytes = uploads.reduce((sum, u) => sum + u.size - Math.min(u.size, u.doneParts.length * u.partSize), 0);
  return {
    pendingMutations,
    conflicts,
    pendingBytes,
    lastSync: (lastSync?.value as number | undefined) ?? null,
    error: (error?.value as SyncStatus['error'] | undefined) ?? null,
  };
}

/** The stored clock correction, watched so a tab that does not lead stamps as the leader learned. */
export async function storedOffset(db: HangarDb): Promise<number | undefined> {
  const v = (await db.state.get(OFFSET))?.value;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
