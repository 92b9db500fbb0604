import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Hangar } from '../index.ts';
import { fakeServer } from './fake-server.ts';

let open: Hangar[] = [];
let n = 0;
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

/** A registry whose server refuses every mutation named `refused`, with `code`. */
async function refusing(refused: string, code = 'invalid-argument'): Promise<{ h: Hangar; server: ReturnType<typeof fakeServer> }> {
  const server = fakeServer({ push: () => (m) => (m.name === refused ? { seq: m.seq, status: 'rejected', error: { code: code as 'invalid-argument', message: `no ${m.name}` } } : undefined) });
  const h = await openRegistry({ name: `settle-${Date.now()}-${n++}`, persist: false, fetch: server.fetcher });
  open.push(h);
  await h.sync({ url: 'http://hangar.test', token: 't', namespaces: ['team'], intervalMs: 3_600_000 });
  return { h, server };
}

describe('a refused write is undone here and listed', () => {
  it('artifact.register: the artifact goes, and its bytes are not offered to the server', async () => {
    const { h } = await refusing('artifact.register', 'quota-exceeded');
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    await v.uploadArtifacts([{ path: 'w.bin', file: new Blob([new Uint8Array(100).fill(7)]) }]);
    await h.syncNow();
    expect(await v.artifacts()).toEqual([]);
    // A round may have sent the bytes before the refusal; none waits to go after it.
    expect(await h.db.uploads.filter((u) => !u.done).count()).toBe(0);
    expect((await h.conflicts()).map((c) => [c.kind, c.mine.name, (c.theirs as { code: string }).code])).toEqual([['rejected', 'artifact.register', 'quota-exceeded']]);
  });

  it('checkpoint.save: the checkpoint, its files and the default pointing at it go', async () => {
    const { h } = await refusing('checkpoint.save');
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    await v.saveCheckpoint('epoch_1', { 'w.bin': new Blob([new Uint8Array(10)]) });
    await h.syncNow();
    expect(await v.checkpoints()).toEqual({ items: [], default: null });
    expect(await v.artifacts()).toEqual([]);
    await expect(v.loadCheckpoint()).rejects.toMatchObject({ code: 'checkpoint-not-found' });
    expect((await h.conflicts()).map((c) => c.mine.name)).toEqual(['checkpoint.save']);
  });

  it('metadata.set and metrics.log: the key and the points go', async () => {
    const { h } = await refusing('metadata.set');
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    await m.updateMetadata('k', 1);
    await h.syncNow();
    expect(await m.metadata()).toEqual({});
    const points = await refusing('metrics.log');
    const pm = await points.h.newModel({ namespace: 'team', name: 'p' });
    await pm.logMetrics({ loss: 1 }, { step: 1 });
    await points.h.syncNow();
    expect(await pm.metrics()).toEqual({});
  });

  it('a version create carries only the fields given', async () => {
    const { h, server } = await refusing('none');
    await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion({ name: 'only a name' });
    await h.syncNow();
    const create = server.pushes.flatMap((p) => p.body.mutations).find((m) => m.name === 'version.create')!;
    expect(create.args).toEqual({ id: expect.any(String), modelId: expect.any(String), name: 'only a name', status: expect.any(String) });
  });
});
