import Dexie from 'dexie';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import type { HangarDb } from './db.ts';
import { openSha256 } from '../common/hashing.ts';
import { storageError } from './writer.ts';

/**
 * Bytes per `blobChunks` row. Each chunk is written in its own small transaction, so a
 * multi-GB file never sits in memory nor holds one huge transaction open; 4 MiB keeps the
 * row count low (256 per GiB) while one chunk's bytes, read to be hashed, cost little. This
 * is the local store's layout, not a rule the server checks, so it lives here and not in
 * `shared/limits.ts` (the server's upload parts are a different size).
 */
export const BLOB_CHUNK_BYTES = 4 * 1024 * 1024;

let defaultChunkBytes = BLOB_CHUNK_BYTES;

/** Sets the chunk size of blobs stored from now on (tests use tiny ones); returns the previous size. */
export function setBlobChunkBytes(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError('The chunk size must be a positive integer.');
  const previous = defaultChunkBytes;
  defaultChunkBytes = bytes;
  return previous;
}

/** Bytes written as chunks and hashed, not yet recorded in `blobs`. */
export interface StagedBlob {
  sha256: string;
  size: number;
  chunksId: string;
  chunkCount: number;
}

export interface StageOptions {
  /** Called after each chunk with the bytes done so far and the total. */
  onProgress?(loaded: number, total: number): void;
  /** Bytes per chunk; default {@link BLOB_CHUNK_BYTES}. */
  chunkBytes?: number;
}

/** Stages one blob: what {@link withStagedBlobs} hands its body. */
export type StageBlob = (blob: Blob, opts?: StageOptions) => Promise<StagedBlob>;

/** Chunk groups being written in this JavaScript realm: garbage collection leaves them alone. */
const staging = new Set<string>();

const lockName = (db: HangarDb) => `hangar-blob-staging:${db.name}`;

/**
 * Runs `body` with a function that stores blobs as chunks under fresh chunk ids, hashing each
 * slice's bytes as it goes (one pass). The body records the blobs it keeps with
 * {@link recordStagedBlob} inside its own write transaction. Afterwards, whatever happened,
 * the chunks of every staged blob that no `blobs` row points at are deleted: a duplicate of
 * bytes already stored, or a transaction that rolled back. Other tabs see the staging through
 * a shared Web Lock, so their garbage collection cannot take chunks still being written.
 */
export async function withStagedBlobs<T>(db: HangarDb, body: (stage: StageBlob) => Promise<T>): Promise<T> {
  const staged: StagedBlob[] = [];
  const release = await holdSharedLock(lockName(db));
  try {
    return await body(async (blob, opts) => {
      const s = await stageBlob(db, blob, opts);
      staged.push(s);
      return s;
    });
  } finally {
    try {
      await releaseStaged(db, staged);
    } finally {
      release();
    }
  }
}

/**
 * Inside a write transaction that includes `db.blobs`: records a staged blob. Returns false
 * when those bytes were stored already (the staged copy is then dropped afterwards).
 */
export async function recordStagedBlob(db: HangarDb, staged: StagedBlob): Promise<boolean> {
  if (await db.blobs.get(staged.sha256)) return false;
  await db.blobs.add({ ...staged, createdAt: Date.now() });
  return true;
}

/** Stores a blob once per digest, in its own transaction. `created` is false for bytes already held. */
export async function storeBlob(db: HangarDb, blob: Blob, opts?: StageOptions): Promise<{ sha256: string; size: number; created: boolean }> {
  return withStagedBlobs(db, async (stage) => {
    const s = await stage(blob, opts);
    const created = await db.transaction('rw', db.blobs, () => recordStagedBlob(db, s)).catch((err: unknown) => {
      throw storageError(err, 'the file');
    });
    return { sha256: s.sha256, size: s.size, created };
  });
}

/**
 * The stored bytes of a digest as one Blob composed of the chunk Blobs (no bytes are copied
 * in JavaScript), or undefined when they are not on this device.
 */
export async function readBlob(db: HangarDb, sha256: string, type = ''): Promise<Blob | undefined> {
  return db.transaction('r', [db.blobs, db.blobChunks], async () => {
    const row = await db.blobs.get(sha256);
    if (!row) return undefined;
    const chunks = await chunkRange(db, row.chunksId).toArray();
    if (chunks.length !== row.chunkCount) {
      throw new HangarError(ErrorCode.Internal, `The stored bytes of blob ${sha256} are incomplete (${chunks.length} of ${row.chunkCount} chunks).`, {
        sha256,
      });
    }
    return new Blob(
      chunks.map((c) => c.data),
      { type },
    );
  });
}

/** Which of these digests have their bytes on this device. */
export async function storedDigests(db: HangarDb, sha256s: Iterable<string>): Promise<Set<string>> {
  const wanted = [...new Set(sha256s)];
  const rows = await db.blobs.bulkGet(wanted);
  return new Set(rows.flatMap((r) => (r ? [r.sha256] : [])));
}

/**
 * Frees blobs nothing references ({@link freeUnreferencedBlobs}), then deletes chunks no
 * `blobs` row points at: what a crash or a closed tab left mid-upload. Call it when the
 * registry opens. The chunk sweep is skipped (returns `skipped: true`) while any tab of this
 * registry is storing a blob, since its chunks have no `blobs` row yet.
 */
export async function collectGarbage(db: HangarDb): Promise<{ deletedChunks: number; skipped: boolean; freed: FreedBlobs }> {
  // Blobs nothing references any more (a delete whose pass a closed tab cut short): these
  // have `blobs` rows, so no staging tab can be writing them.
  const freed = await freeUnreferencedBlobs(db);
  const locks = globalThis.navigator?.locks;
  if (!locks) return { ...(await sweep(db)), freed };
  const swept = await locks.request(lockName(db), { mode: 'exclusive', ifAvailable: true }, (lock) =>
    lock ? sweep(db) : { deletedChunks: 0, skipped: true },
  );
  return { ...swept, freed };
}

async function sweep(db: HangarDb): Promise<{ deletedChunks: number; skipped: boolean }> {
  const keys = await db.blobChunks.toCollection().primaryKeys();
  const counts = new Map<string, number>();
  for (const [chunksId] of keys) if (!staging.has(chunksId)) counts.set(chunksId, (counts.get(chunksId) ?? 0) + 1);
  if (!counts.size) return { deletedChunks: 0, skipped: false };
  let deletedChunks = 0;
  await db.transaction('rw', [db.blobs, db.blobChunks], async () => {
    for (const [chunksId, count] of counts) {
      if (staging.has(chunksId) || (await db.blobs.where('chunksId').equals(chunksId).count())) continue;
      await chunkRange(db, chunksId).delete();
      deletedChunks += count;
    }
  });
  return { deletedChunks, skipped: false };
}

function chunkRange(db: HangarDb, chunksId: string) {
  return db.blobChunks.where('[chunksId+index]').between([chunksId, Dexie.minKey], [chunksId, Dexie.maxKey]);
}

/**
 * Writes a blob's slices as chunk rows, one small transaction each, hashing each slice's
 * bytes meanwhile. The rows hold the slices themselves (`blob.slice(a, b)`): the browser
 * copies a File's bytes into IndexedDB without them passing through JavaScript.
 */
async function stageBlob(db: HangarDb, blob: Blob, opts: StageOptions = {}): Promise<StagedBlob> {
  const step = opts.chunkBytes ?? defaultChunkBytes;
  const chunksId = uuidv7();
  staging.add(chunksId);
  const hasher = await openSha256(blob.size);
  let index = 0;
  try {
    for (let at = 0; at < blob.size; at += step, index++) {
      const slice = blob.slice(at, Math.min(at + step, blob.size));
      // Hash this slice (perhaps in the worker) while IndexedDB stores it.
      const hashed = hasher.updateBlob(slice);
      await Promise.all([hashed, db.blobChunks.add({ chunksId, index, data: slice })]);
      opts.onProgress?.(Math.min(at + step, blob.size), blob.size);
    }
    return { sha256: await hasher.digest(), size: blob.size, chunksId, chunkCount: index };
  } catch (err) {
    hasher.abort();
    await chunkRange(db, chunksId)
      .delete()
      .catch(() => undefined);
    staging.delete(chunksId);
    throw storageError(err, 'the file');
  }
}

/** Deletes the chunks of staged blobs that no `blobs` row points at. */
async function releaseStaged(db: HangarDb, staged: StagedBlob[]): Promise<void> {
  try {
    if (!staged.length) return;
    await db.transaction('rw', [db.blobs, db.blobChunks], async () => {
      for (const s of staged) {
        if ((await db.blobs.get(s.sha256))?.chunksId !== s.chunksId) await chunkRange(db, s.chunksId).delete();
      }
    });
  } finally {
    for (const s of staged) staging.delete(s.chunksId);
  }
}

/** Holds a shared Web Lock until the returned function is called; a no-op where there are no Web Locks (Node). */
function holdSharedLock(name: string): Promise<() => void> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(() => undefined);
  return new Promise((granted) => {
    void locks.request(name, { mode: 'shared' }, () => new Promise<void>((release) => granted(() => release())));
  });
}

/** What one pass of {@link freeUnreferencedBlobs} gave back. */
export interface FreedBlobs {
  blobs: number;
  bytes: number;
  chunks: number;
}

/**
 * Deletes every blob (its `blobs` row and its chunks, in one transaction) that nothing still
 * needs: no artifact of a live model or version, and no upload still on its way to the server
 * (a deleted version sits in the server's trash, restorable, so its bytes must arrive). An
 * artifact of a model this device has no row for counts as live. `digests` limits the pass to
 * those blobs; without it every stored blob is looked at. Re-running it is harmless, so a pass
 * cut short by a closed tab is finished by the next one (every `openRegistry` runs one).
 */
export async function freeUnreferencedBlobs(db: HangarDb, digests?: Iterable<string>): Promise<FreedBlobs> {
  const tables = [db.blobs, db.blobChunks, db.artifacts, db.models, db.versions, db.uploads];
  return db.transaction('rw', tables, async () => {
    const freed: FreedBlobs = { blobs: 0, bytes: 0, chunks: 0 };
    const stored = digests ? (await db.blobs.bulkGet([...new Set(digests)])).flatMap((b) => (b ? [b.sha256] : [])) : await db.blobs.toCollection().primaryKeys();
    if (!stored.length) return freed;
    const artifacts = await db.artifacts.where('sha256').anyOf(stored).toArray();
    const ids = [...new Set(artifacts.flatMap((a) => [a.modelId, a.parentId]))];
    const [models, versions] = await Promise.all([db.models.bulkGet(ids), db.versions.bulkGet(ids)]);
    const dead = new Set(ids.filter((_, i) => ((models[i] ?? versions[i])?.deletedAt ?? null) !== null));
    const needed = new Set(artifacts.filter((a) => !dead.has(a.modelId) && !dead.has(a.parentId)).map((a) => a.sha256!));
    for (const u of await db.uploads.filter((u) => !u.done).toArray()) needed.add(u.sha256);
    for (const sha256 of stored) {
      if (needed.has(sha256)) continue;
      const row = await db.blobs.get(sha256);
      if (!row) continue;
      freed.chunks += await chunkRange(db, row.chunksId).delete();
      await db.blobs.delete(sha256);
      freed.blobs++;
      freed.bytes += row.size;
    }
    return freed;
  });
}
