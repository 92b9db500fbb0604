import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../shared/ids.ts';
import { collectGarbage, freeUnreferencedBlobs, readBlob, recordStagedBlob, setBlobChunkBytes, storeBlob, withStagedBlobs } from './blob-store.ts';
import { HangarDb } from './db.ts';
import { sha256OfBlob } from '../common/hashing.ts';

let n = 0;
const freshDb = () => new HangarDb(`blob-store-${n++}`);
const bytes = (length: number, seed = 1) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) % 251);
const bytesOf = async (b: Blob) => new Uint8Array(await b.arrayBuffer());

let previous = 0;
beforeAll(() => {
  previous = setBlobChunkBytes(4);
});
afterAll(() => {
  setBlobChunkBytes(previous);
});

describe('blob store', () => {
  it('stores bytes as chunks of the chunk size and reads them back as one Blob', async () => {
    const db = freshDb();
    const data = bytes(10);
    const stored = await storeBlob(db, new Blob([data]));
    expect(stored).toEqual({ sha256: await sha256Hex(data), size: 10, created: true });
    const row = await db.blobs.get(stored.sha256);
    expect(row).toMatchObject({ sha256: stored.sha256, size: 10, chunkCount: 3 });
    const chunks = await db.blobChunks.toArray();
    expect(chunks.map((c) => [c.chunksId === row!.chunksId, c.index, c.data.size])).toEqual([
      [true, 0, 4],
      [true, 1, 4],
      [true, 2, 2],
    ]);
    const read = await readBlob(db, stored.sha256, 'application/octet-stream');
    expect(read?.type).toBe('application/octet-stream');
    expect(await bytesOf(read!)).toEqual(data);
  });

  it('keeps the bytes once per digest and drops the second copy of the chunks', async () => {
    const db = freshDb();
    const data = bytes(9);
    const first = await storeBlob(db, new Blob([data]));
    const second = await storeBlob(db, new Blob([data.slice()]));
    expect(second).toEqual({ ...first, created: false });
    expect(await db.blobs.count()).toBe(1);
    expect(await db.blobChunks.count()).toBe(3);
  });

  it('honours a chunk size given per call and reports progress up to the total', async () => {
    const db = freshDb();
    const seen: [number, number][] = [];
    await storeBlob(db, new Blob([bytes(25)]), { chunkBytes: 10, onProgress: (loaded, total) => seen.push([loaded, total]) });
    expect(seen).toEqual([
      [10, 25],
      [20, 25],
      [25, 25],
    ]);
    expect(await db.blobChunks.count()).toBe(3);
  });

  it('stores an empty blob with no chunks', async () => {
    const db = freshDb();
    const stored = await storeBlob(db, new Blob([]));
    expect(stored.sha256).toBe(await sha256Hex(new Uint8Array(0)));
    expect((await db.blobs.get(stored.sha256))?.chunkCount).toBe(0);
    expect((await readBlob(db, stored.sha256))?.size).toBe(0);
  });

  it('answers undefined for bytes it does not hold, and internal for a blob missing chunks', async () => {
    const db = freshDb();
    expect(await readBlob(db, 'f'.repeat(64))).toBeUndefined();
    const { sha256 } = await storeBlob(db, new Blob([bytes(8)]));
    await db.blobChunks.where('[chunksId+index]').above(['', 0]).limit(1).delete();
    await expect(readBlob(db, sha256)).rejects.toMatchObject({ code: 'internal' });
  });

  it('deletes staged chunks that no blobs row points at when the body fails', async () => {
    const db = freshDb();
    await expect(
      withStagedBlobs(db, async (stage) => {
        await stage(new Blob([bytes(12)]));
        expect(await db.blobChunks.count()).toBe(3);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.blobChunks.count()).toBe(0);
    expect(await db.blobs.count()).toBe(0);
  });

  it('keeps staged chunks that the body recorded', async () => {
    const db = freshDb();
    const s = await withStagedBlobs(db, async (stage) => {
      const staged = await stage(new Blob([bytes(6)]));
      await db.transaction('rw', db.blobs, () => recordStagedBlob(db, staged));
      return staged;
    });
    expect(await db.blobChunks.count()).toBe(2);
    expect((await db.blobs.get(s.sha256))?.chunksId).toBe(s.chunksId);
  });
});

describe('garbage collection', () => {
  it('deletes chunks left by an interrupted upload and keeps stored blobs', async () => {
    const db = freshDb();
    const kept = await storeBlob(db, new Blob([bytes(8)]));
    await db.artifacts.add(artifact('a', 'm', 'm', kept.sha256));
    await db.blobChunks.bulkAdd([
      { chunksId: 'crashed', index: 0, data: new Blob([bytes(4)]) },
      { chunksId: 'crashed', index: 1, data: new Blob([bytes(4)]) },
    ]);
    expect(await collectGarbage(db)).toEqual({ deletedChunks: 2, skipped: false, freed: nothing });
    expect(await db.blobChunks.count()).toBe(2);
    expect(await bytesOf((await readBlob(db, kept.sha256))!)).toEqual(bytes(8));
    expect(await collectGarbage(db)).toEqual({ deletedChunks: 0, skipped: false, freed: nothing });
  });

  it('leaves alone chunks still being staged', async () => {
    const db = freshDb();
    await withStagedBlobs(db, async (stage) => {
      const staged = await stage(new Blob([bytes(8)]));
      expect((await collectGarbage(db)).deletedChunks).toBe(0);
      await db.transaction('rw', db.blobs, () => recordStagedBlob(db, staged));
    });
    expect(await db.blobChunks.count()).toBe(2);
  });
});

const nothing = { blobs: 0, bytes: 0, chunks: 0 };
const now = 1_700_000_000_000;
const artifact = (id: string, modelId: string, parentId: string, sha256: string) => ({
  ...{ id, namespace: 'team', modelId, parentId, path: `${id}.bin`, mimeType: 'application/octet-stream', fileType: 'MODEL' as const },
  ...{ size: 8, sha256, url: null, createdAt: now },
});
const model = (id: string, deletedAt: number | null = null) => ({
  ...{ id, namespace: 'team', name: id, owner: null, task: null, description: null, clocks: {} },
  ...{ createdAt: now, updatedAt: now, deletedAt },
});
const version = (id: string, modelId: string, deletedAt: number | null = null) => ({
  ...{ id, modelId, namespace: 'team', number: 1, numberConfirmed: false, version: null, name: null, description: null, framework: null },
  ...{ status: 'ready' as const, clocks: {}, createdAt: now, updatedAt: now, deletedAt },
});

describe('freeing unreferenced blobs', () => {
  it('frees the blobs of deleted models and versions, with their chunks, and keeps what anything live still uses', async () => {
    const db = freshDb();
    const [gone, shared, inVersion, uploading, orphan] = await Promise.all([1, 2, 3, 4, 5].map((seed) => storeBlob(db, new Blob([bytes(8, seed)]))));
    await db.models.bulkAdd([model('dead', now), model('live')]);
    await db.versions.bulkAdd([version('v-dead', 'live', now), version('v-live', 'live')]);
    await db.artifacts.bulkAdd([
      artifact('a1', 'dead', 'dead', gone!.sha256),
      // The same bytes under a deleted model and under a live version: kept.
      artifact('a2', 'dead', 'dead', shared!.sha256),
      artifact('a3', 'live', 'v-live', shared!.sha256),
      artifact('a4', 'live', 'v-dead', inVersion!.sha256),
      // A deleted version's bytes still on their way to the server: kept until they arrive.
      artifact('a5', 'live', 'v-dead', uploading!.sha256),
    ]);
    await db.uploads.add({ namespace: 'team', sha256: uploading!.sha256, size: 8, uploadId: null, partSize: 8, doneParts: [], done: false });
    expect(await db.blobChunks.count()).toBe(10);

    expect(await freeUnreferencedBlobs(db)).toEqual({ blobs: 3, bytes: 24, chunks: 6 });
    expect((await db.blobs.toCollection().primaryKeys()).sort()).toEqual([shared!.sha256, uploading!.sha256].sort());
    expect(await db.blobChunks.count()).toBe(4);
    expect(orphan).toBeDefined();
    // Run again: nothing more to free.
    expect(await freeUnreferencedBlobs(db)).toEqual(nothing);

    await db.uploads.update(['team', uploading!.sha256], { done: true });
    expect(await freeUnreferencedBlobs(db)).toEqual({ blobs: 1, bytes: 8, chunks: 2 });
    expect(await bytesOf((await readBlob(db, shared!.sha256))!)).toEqual(bytes(8, 2));
  });

  it('looks only at the digests it is given, and counts an artifact of a model it has no row for as live', async () => {
    const db = freshDb();
    const [a, b, c] = await Promise.all([1, 2, 3].map((seed) => storeBlob(db, new Blob([bytes(4, seed)]))));
    await db.artifacts.add(artifact('x', 'elsewhere', 'elsewhere', c!.sha256));
    expect(await freeUnreferencedBlobs(db, [a!.sha256, c!.sha256, 'f'.repeat(64)])).toEqual({ blobs: 1, bytes: 4, chunks: 1 });
    expect((await db.blobs.toCollection().primaryKeys()).sort()).toEqual([b!.sha256, c!.sha256].sort());
  });

  it('finishes at the next open what a pass cut short left: collectGarbage frees unreferenced blobs', async () => {
    const db = freshDb();
    const s = await storeBlob(db, new Blob([bytes(8)]));
    await db.models.add(model('m', now));
    await db.artifacts.add(artifact('a', 'm', 'm', s.sha256));
    expect(await collectGarbage(db)).toEqual({ deletedChunks: 0, skipped: false, freed: { blobs: 1, bytes: 8, chunks: 2 } });
    expect(await db.blobChunks.count()).toBe(0);
  });
});

describe('hashing', () => {
  it('hashes a Blob in slices to the same digest as in one piece', async () => {
    const data = bytes(1000, 7);
    expect(await sha256OfBlob(new Blob([data]), { sliceBytes: 64 })).toBe(await sha256Hex(data));
  });

  it('refuses a chunk size that is not a positive integer', () => {
    expect(() => setBlobChunkBytes(0)).toThrow(RangeError);
  });
});
