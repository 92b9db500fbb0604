import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { recordStagedBlob, readBlob, storedDigests, withStagedBlobs } from '../blob-store.ts';
import type { ClientContext, RemoteBlobs } from '../context.ts';
import type { HangarDb, UploadRecord } from '../db.ts';
import { SyncHttp } from './http.ts';
import { PREVIOUS, type Previous } from './state.ts';

/** Bytes asked for in one Range request when downloading. */
export const DOWNLOAD_RANGE_BYTES = LIMITS.uploadPartBytes;

/** An upload in flight, for `syncStatus.uploads`. */
export interface UploadProgress {
  sha256: string;
  size: number;
  sent: number;
}

/** Whether an upload record speaks of this server (records from before `server` existed do). */
const ofServer = (u: UploadRecord, server: string) => u.server === undefined || u.server === server;

/**
 * Marks what a server now holds of an upload, only if the record still speaks of that server: a
 * device that moved to another server meanwhile has queued the blob again for the new one, and
 * an answer from the old server must not mark that entry done.
 */
async function markUpload(db: HangarDb, u: UploadRecord, server: string, changes: Partial<UploadRecord>): Promise<void> {
  await db.transaction('rw', db.uploads, async () => {
    const now = await db.uploads.get([u.namespace, u.sha256]);
    if (now && ofServer(now, server)) await db.uploads.put({ ...now, ...changes, server });
  });
}

/**
 * Adds to the upload queue every blob of these namespaces' artifacts that is on this device
 * and not yet known to be on `server`. Returns the queue's open entries.
 */
export async function queueUploads(db: HangarDb, namespaces: string[], server: string): Promise<UploadRecord[]> {
  const artifacts = await db.artifacts.where('sha256').above('').toArray();
  const wanted = new Map<string, { namespace: string; sha256: string; size: number }>();
  for (const a of artifacts) {
    if (a.sha256 && a.size !== null && namespaces.includes(a.namespace)) wanted.set(`${a.namespace}/${a.sha256}`, { namespace: a.namespace, sha256: a.sha256, size: a.size });
  }
  const held = await storedDigests(db, [...wanted.values()].map((w) => w.sha256));
  return db.transaction('rw', db.uploads, async () => {
    const known = await db.uploads.bulkGet([...wanted.values()].map((w) => [w.namespace, w.sha256] as [string, string]));
    const fresh = [...wanted.values()].filter((w, i) => !(known[i] && ofServer(known[i], server)) && held.has(w.sha256));
    await db.uploads.bulkPut(fresh.map((w) => ({ ...w, uploadId: null, partSize: LIMITS.uploadPartBytes, doneParts: [], done: false, server })));
    return db.uploads.filter((u) => !u.done && ofServer(u, server)).toArray();
  });
}

/** Uploads every blob of a namespace not yet on the server, reporting what is in flight. */
export async function uploadNamespace(db: HangarDb, http: SyncHttp, ns: string, show: (uploads: UploadProgress[]) => void): Promise<void> {
  const queue = await queueUploads(db, [ns], http.remote.url);
  const progress = new Map<string, UploadProgress>(queue.map((u) => [u.sha256, { sha256: u.sha256, size: u.size, sent: 0 }]));
  show([...progress.values()]);
  for (const u of queue) {
    await uploadBlob(db, http, u, (sent) => {
      progress.set(u.sha256, { sha256: u.sha256, size: u.size, sent });
      show([...progress.values()]);
    });
    progress.delete(u.sha256);
    show([...progress.values()]);
  }
}

type StartUpload = { exists: true } | { exists: false; uploadId: string; partSize: number; partCount: number; receivedParts: number[] };

/**
 * Sends one blob: skipped when the server holds it, in one request when small, else part by
 * part through the resumable upload API, each finished part recorded here so a reload or a lost
 * connection resumes from the last finished part. The server verifies size and SHA-256.
 */
export async function uploadBlob(db: HangarDb, http: SyncHttp, u: UploadRecord, onProgress: (sent: number) => void): Promise<void> {
  const server = http.remote.url;
  const blob = await readBlob(db, u.sha256);
  if (!blob) {
    // Its artifacts went, and the bytes with them: nothing to send.
    await db.uploads.delete([u.namespace, u.sha256]);
    return;
  }
  const base = `/blobs`;
  if (u.size <= LIMITS.uploadPartBytes) {
    await http.request(u.namespace, `${base}/sha256/${u.sha256}`, { method: 'PUT', body: blob, headers: { 'content-type': 'application/octet-stream' } });
  } else {
    const start = await http.json<StartUpload>(`/namespaces/${u.namespace}${base}/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sha256: u.sha256, size: u.size }),
    });
    if (!start.exists) {
      const done = new Set<number>(u.uploadId === start.uploadId ? [...u.doneParts, ...start.receivedParts] : start.receivedParts);
      await markUpload(db, u, server, { uploadId: start.uploadId, partSize: start.partSize, doneParts: [...done] });
      const sentOf = () => [...done].reduce((sum, n) => sum + Math.min(start.partSize, u.size - (n - 1) * start.partSize), 0);
      onProgress(sentOf());
      for (let n = 1; n <= start.partCount; n++) {
        if (done.has(n)) continue;
        const part = blob.slice((n - 1) * start.partSize, Math.min(n * start.partSize, u.size));
        await http.request(u.namespace, `${base}/uploads/${start.uploadId}/parts/${n}`, { method: 'PUT', body: part });
        done.add(n);
        await markUpload(db, u, server, { doneParts: [...done] });
        onProgress(sentOf());
      }
      await http.request(u.namespace, `${base}/uploads/${start.uploadId}/complete`, { method: 'POST' });
    }
  }
  onProgress(u.size);
  await markUpload(db, u, server, { done: true, doneParts: [] });
}

/**
 * Downloads blobs from the server with Range requests, verifies them against their SHA-256
 * while storing them, and keeps nothing that does not match.
 */
export class BlobDownloader implements RemoteBlobs {
  private readonly inflight = new Map<string, Promise<void>>();

  /**
   * `fromSyncServer` false: the bytes come from a server this device left (see
   * {@link fetchOwedBlobs}), so they are queued to go up to the current one.
   */
  constructor(
    private readonly db: HangarDb,
    private readonly http: () => SyncHttp | undefined,
    private readonly fromSyncServer = true,
  ) {}

  fetch(namespace: string, sha256: string, size: number | null, onProgress?: (loaded: number, total: number) => void): Promise<void> {
    const key = `${namespace}/${sha256}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.download(namespace, sha256, size, onProgress).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async download(namespace: string, sha256: string, size: number | null, onProgress?: (loaded: number, total: number) => void) {
    if ((await storedDigests(this.db, [sha256])).has(sha256)) return;
    const http = this.http();
    if (!http) throw new HangarError(ErrorCode.BlobNotFound, 'These bytes are not on this device and no sync server is configured.', { sha256 });
    const path = `/blobs/sha256/${sha256}`;
    const total = size ?? Number((await http.request(namespace, path, { method: 'HEAD' })).headers.get('content-length'));
    const parts: Blob[] = [];
    for (let at = 0; at < total || (total === 0 && parts.length === 0); at += DOWNLOAD_RANGE_BYTES) {
      const end = Math.min(at + DOWNLOAD_RANGE_BYTES, total) - 1;
      const res = await http.request(namespace, path, total === 0 ? {} : { headers: { range: `bytes=${at}-${end}` } });
      parts.push(await res.blob());
      onProgress?.(Math.min(end + 1, total), total);
      if (total === 0) break;
    }
    await withStagedBlobs(this.db, async (stage) => {
      const staged = await stage(new Blob(parts));
      if (staged.sha256 !== sha256 || staged.size !== total) {
        throw new HangarError(ErrorCode.DigestMismatch, `The bytes downloaded for ${sha256} do not match their digest; nothing was kept.`, { sha256 });
      }
      // The server holds these bytes (they came from it): never queue them to go back.
      await this.db.transaction('rw', [this.db.blobs, this.db.uploads], async () => {
        await recordStagedBlob(this.db, staged);
        if (this.fromSyncServer) {
          await this.db.uploads.put({ namespace, sha256, size: total, uploadId: null, partSize: LIMITS.uploadPartBytes, doneParts: [], done: true, server: http.remote.url });
        }
      });
    });
  }
}

/** Downloads every artifact's bytes of a model or version that this device lacks. */
export async function pinParent(ctx: ClientContext, parentId: string, onProgress?: (p: { loaded: number; total: number }) => void): Promise<void> {
  const rows = (await ctx.db.artifacts.where('parentId').equals(parentId).toArray()).filter((r) => r.sha256 !== null && r.url === null);
  const held = await storedDigests(ctx.db, rows.map((r) => r.sha256!));
  const missing = [...new Map(rows.filter((r) => !held.has(r.sha256!)).map((r) => [r.sha256!, r])).values()];
  const total = missing.reduce((sum, r) => sum + (r.size ?? 0), 0);
  let done = 0;
  onProgress?.({ loaded: 0, total });
  for (const r of missing) {
    if (!ctx.remote) {
      throw new HangarError(ErrorCode.BlobNotFound, `The bytes of "${r.path}" are not on this device and no sync server is configured.`, { path: r.path });
    }
    await ctx.remote.fetch(r.namespace, r.sha256!, r.size, (loaded) => onProgress?.({ loaded: done + loaded, total }));
    done += r.size ?? 0;
  }
  onProgress?.({ loaded: total, total });
}

/**
 * Before this device leaves a server for another: downloads the bytes of the namespaces'
 * artifacts it lacks, so the re-seed offers the new server every blob, not only the ones made
 * here. Bytes the old server cannot give now (this device offline, the server down) are asked
 * for again in later rounds ({@link fetchOwedBlobs}). Answers how many blobs are still missing.
 */
export async function fetchMissingBlobs(db: HangarDb, downloads: BlobDownloader, namespaces: string[]): Promise<number> {
  const wanted = new Set(namespaces);
  const rows = await db.artifacts.filter((r) => wanted.has(r.namespace) && r.sha256 !== null && r.url === null).toArray();
  const held = await storedDigests(db, rows.map((r) => r.sha256!));
  const missing = [...new Map(rows.filter((r) => !held.has(r.sha256!)).map((r) => [r.sha256!, r])).values()];
  let left = 0;
  for (const r of missing) await downloads.fetch(r.namespace, r.sha256!, r.size).catch(() => void left++);
  return left;
}

/**
 * A round's errand for a server this device moved away from: fetches from it the bytes the
 * move could not take along; once none is missing, the old server is forgotten. Best effort:
 * an old server out of reach is asked again next round.
 */
export async function fetchOwedBlobs(db: HangarDb, fetcher?: typeof fetch): Promise<void> {
  const previous = (await db.state.get(PREVIOUS))?.value as Previous | undefined;
  if (!previous) return;
  const http = new SyncHttp({ url: previous.url, token: previous.token }, fetcher);
  const left = await fetchMissingBlobs(db, new BlobDownloader(db, () => http, false), previous.namespaces);
  if (left === 0) await db.state.delete(PREVIOUS);
}
