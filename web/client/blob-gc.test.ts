import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import { setBlobChunkBytes } from './blob-store.ts';
import { HangarDb } from './db.ts';
import { openRegistry, type Hangar } from './index.ts';
import { applyChanges, applyTables, pendingOf } from './sync/apply.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(): Promise<Hangar> {
  const h = await openRegistry({ name: `blob-gc-${Date.now()}-${n++}`, persist: false });
  open.push(h);
  return h;
}
let previous = 0;
beforeAll(() => {
  previous = setBlobChunkBytes(4);
});
afterAll(() => {
  setBlobChunkBytes(previous);
});
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const bytes = (length: number, seed = 1) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) % 251);
const stored = async (h: Hangar) => ({ blobs: await h.db.blobs.count(), chunks: await h.db.blobChunks.count() });

describe('blobs freed when a delete commits', () => {
  it('deleting a version frees its bytes at once; bytes another model still uses stay', async () => {
    const h = await registry();
    const a = await h.newModel({ namespace: 'team', name: 'a' });
    const b = await h.newModel({ namespace: 'team', name: 'b' });
    const va = await a.newVersion();
    const vb = await b.newVersion();
    await va.uploadArtifacts([
      { file: new Blob([bytes(10, 1)]), path: 'own.bin' },
      { file: new Blob([bytes(8, 2)]), path: 'shared.bin' },
    ]);
    await vb.uploadArtifacts([{ file: new Blob([bytes(8, 2)]), path: 'copy.bin' }]);
    expect(await stored(h)).toEqual({ blobs: 2, chunks: 5 });

    await va.delete();
    expect(await stored(h)).toEqual({ blobs: 1, chunks: 2 });
    expect(new Uint8Array(await (await vb.readArtifact('copy.bin')).arrayBuffer())).toEqual(bytes(8, 2));
    // The artifact rows stay with the tombstone (the delete syncs, and a restore brings them back).
    expect(await h.db.artifacts.where('parentId').equals(va.id).count()).toBe(2);

    await b.delete();
    expect(await stored(h)).toEqual({ blobs: 0, chunks: 0 });
  });

  it('deleting a model frees the bytes of its own artifacts and of every version', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    await m.uploadArtifacts([{ file: new Blob([bytes(6, 3)]), path: 'card.md' }]);
    const v = await m.newVersion();
    await v.uploadArtifacts([{ file: new Blob([bytes(9, 4)]), path: 'w.bin' }]);
    await v.saveCheckpoint('epoch_1', { 'w.bin': new Blob([bytes(5, 5)]) });
    expect((await stored(h)).blobs).toBe(3);
    await m.delete();
    expect(await stored(h)).toEqual({ blobs: 0, chunks: 0 });
  });

  it('a pulled delete frees the bytes once its transaction commits', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    const v = await m.newVersion();
    await v.uploadArtifacts([{ file: new Blob([bytes(12, 6)]), path: 'w.bin' }]);
    const tables = applyTables(h.db);
    const hlc = formatHlc(Date.now() + 1000, 0, 'other');
    await h.db.transaction('rw', tables, async () => applyChanges(h.db, 'team', [{ seq: 1, entity: 'version', op: 'delete', entityId: v.id, data: {}, hlc }], pendingOf([])));
    await h.flush();
    expect(await stored(h)).toEqual({ blobs: 0, chunks: 0 });
  });

  it('keeps bytes still uploading to the server, and frees them once the upload is done', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    const v = await m.newVersion();
    const [art] = await v.uploadArtifacts([{ file: new Blob([bytes(8, 7)]), path: 'w.bin' }]);
    await h.db.uploads.add({ namespace: 'team', sha256: art!.sha256!, size: 8, uploadId: null, partSize: 8, doneParts: [], done: false });
    await v.delete();
    expect(await stored(h)).toEqual({ blobs: 1, chunks: 2 });
    await h.db.uploads.update(['team', art!.sha256!], { done: true });
    await h.flush();
    expect(await stored(h)).toEqual({ blobs: 0, chunks: 0 });
  });

  it('a transaction that rolls back frees nothing', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    const v = await m.newVersion();
    await v.uploadArtifacts([{ file: new Blob([bytes(8, 8)]), path: 'w.bin' }]);
    await expect(
      h.db.transaction('rw', h.db.versions, async () => {
        await h.db.versions.update(v.id, { deletedAt: Date.now() });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await h.flush();
    expect(await stored(h)).toEqual({ blobs: 1, chunks: 2 });
    expect(new Uint8Array(await (await v.readArtifact('w.bin')).arrayBuffer())).toEqual(bytes(8, 8));
  });

  it('opening the registry frees what a closed tab left referenced by nothing', async () => {
    const name = `blob-gc-reopen-${Date.now()}`;
    const h = await openRegistry({ name, persist: false });
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    const v = await m.newVersion();
    await v.uploadArtifacts([{ file: new Blob([bytes(8, 9)]), path: 'w.bin' }]);
    await h.close();
    // A delete committed with no pass after it (as if the tab closed right after the commit).
    const raw = new HangarDb(name);
    await raw.versions.update(v.id, { deletedAt: Date.now() });
    expect(await raw.blobs.count()).toBe(1);
    raw.close();
    const again = await openRegistry({ name, persist: false });
    open.push(again);
    expect(await stored(again)).toEqual({ blobs: 0, chunks: 0 });
  });
});
