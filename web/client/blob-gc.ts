import type { Transaction } from 'dexie';
import { freeUnreferencedBlobs, type FreedBlobs } from './blob-store.ts';
import type { HangarDb } from './db.ts';

/**
 * Gives back the bytes of blobs nothing references as soon as a write that may have dropped
 * the last reference commits (DESIGN §3b): a model or version deleted here, in another tab's
 * transaction run through this instance, or by a pulled change; an artifact row gone (a model
 * revived afresh, a refused write undone); an upload finished. Dexie hooks spot those writes
 * inside their transaction; the pass runs once it has committed, in its own transaction, and
 * is safe to cut short: the pass every `openRegistry` runs finishes it.
 */
export class BlobCollector {
  private running: Promise<FreedBlobs> | undefined;
  /** The pass due after the running one: every call meanwhile shares it. */
  private next: Promise<FreedBlobs> | undefined;
  private readonly seen = new WeakSet<object>();
  private closed = false;

  constructor(private readonly db: HangarDb) {
    const onCommit = (trans: Transaction) => this.afterCommit(trans);
    db.models.hook('updating', (mods, _key, _obj, trans) => {
      if (deletes(mods)) onCommit(trans);
    });
    db.versions.hook('updating', (mods, _key, _obj, trans) => {
      if (deletes(mods)) onCommit(trans);
    });
    db.artifacts.hook('deleting', (_key, _obj, trans) => onCommit(trans));
    db.artifacts.hook('updating', (mods, _key, _obj, trans) => {
      if ('sha256' in mods) onCommit(trans);
    });
    db.uploads.hook('deleting', (_key, _obj, trans) => onCommit(trans));
    db.uploads.hook('updating', (mods, _key, _obj, trans) => {
      if ((mods as { done?: unknown }).done === true) onCommit(trans);
    });
  }

  /**
   * Runs a pass (after the one running, if any) and resolves with what it freed. Calls made
   * while a pass runs share the next one.
   */
  collect(): Promise<FreedBlobs> {
    if (this.closed) return Promise.resolve({ blobs: 0, bytes: 0, chunks: 0 });
    if (this.next) return this.next;
    if (this.running) {
      const next = this.running
        .catch(() => undefined)
        .then(() => {
          this.next = undefined;
          return this.start();
        });
      this.next = next;
      return next;
    }
    return this.start();
  }

  /** Resolves once no pass is running or due. */
  async idle(): Promise<void> {
    for (let p = this.next ?? this.running; p; p = this.next ?? this.running) await p.catch(() => undefined);
  }

  private start(): Promise<FreedBlobs> {
    const run: Promise<FreedBlobs> = freeUnreferencedBlobs(this.db).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  close(): void {
    this.closed = true;
  }

  private afterCommit(trans: Transaction): void {
    // The native transaction: its `complete` is the commit, also when Dexie nests transactions.
    const idb = trans.idbtrans as IDBTransaction | null | undefined;
    const key: object = idb ?? trans;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const run = () => void this.collect().catch(() => undefined);
    if (idb) idb.addEventListener('complete', run);
    else trans.on('complete', run);
  }
}

/** True when an update sets `deletedAt`: a tombstone written. */
function deletes(mods: object): boolean {
  const at = (mods as { deletedAt?: unknown }).deletedAt;
  return at !== undefined && at !== null;
}
