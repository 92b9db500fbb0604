import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../web/client/index.ts';
import { startServer, type HangarServer } from '../browser/server.ts';
import { snapshot, syncedRegistry } from './clients.ts';

let server: HangarServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * seed + 3) % 251);
const history = async (ns: string, model: string, version: number, key: string) =>
  ((await (await server.api(`/namespaces/${ns}/models/${model}/versions/${version}/metrics/${key}?maxPoints=5000`)).json()) as { points: unknown[] }).points;

describe('the outbox of a registry that has never synced', () => {
  it('keeps no copy of metric points, and the first sync still brings every point to the server', async () => {
    const hangar = await openRegistry({ name: `compaction-${Date.now()}`, persist: false });
    const m = await hangar.newModel({ namespace: 'team', name: 'offline', metadata: { owner: 'ana' } });
    const v = await m.newVersion({ version: 'first' });
    for (let step = 0; step < 2500; step++) void v.logMetrics({ loss: 1 / (step + 1), acc: step / 2500 }, { step });
    await m.logMetrics({ best: 0.9 });
    await v.uploadArtifacts([{ path: 'w.bin', file: new Blob([bytes(20_000, 5)]) }]);
    const o = await (await hangar.newModel({ namespace: 'other', name: 'later' })).newVersion();
    for (let step = 0; step < 1200; step++) void o.logMetrics({ loss: step }, { step });
    await hangar.flush();

    // 6,201 points stored; none of them in the outbox, which holds only the other writes.
    const outbox = await hangar.db.outbox.toArray();
    expect(outbox.filter((e) => e.name === 'metrics.log')).toEqual([]);
    expect(outbox.map((e) => e.name)).toEqual(['model.create', 'metadata.set', 'version.create', 'artifact.register', 'model.create', 'version.create']);

    // The first sync re-seeds 'team' from what is stored: every point arrives.
    await hangar.sync({ url: server.url, token: server.adminToken, namespaces: ['team'], intervalMs: 3_600_000 });
    await hangar.syncNow();
    expect(hangar.syncStatus.value).toMatchObject({ pendingBytes: 0, error: null, conflicts: 0 });
    expect(await history('team', 'offline', 1, 'loss')).toHaveLength(2500);
    expect(await history('team', 'offline', 1, 'acc')).toHaveLength(2500);
    // Points logged once a server is known go through the outbox as before.
    await v.logMetrics({ loss: 0.0001 }, { step: 2500 });
    await hangar.flush();
    expect((await hangar.db.outbox.toArray()).filter((e) => e.name === 'metrics.log')).toHaveLength(1);
    await hangar.syncNow();
    expect(await history('team', 'offline', 1, 'loss')).toHaveLength(2501);

    // A namespace synced later on the same server is re-seeded too, its early points included.
    await hangar.sync({ url: server.url, token: server.adminToken, namespaces: ['team', 'other'], intervalMs: 3_600_000 });
    await hangar.syncNow();
    expect(hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, pendingBytes: 0, error: null, conflicts: 0 });
    expect(await history('other', 'later', 1, 'loss')).toHaveLength(1200);

    // A fresh registry on that server holds the same as this one, artifact bytes included.
    const fresh = await syncedRegistry(server, server.adminToken, ['team', 'other']);
    await fresh.hangar.syncNow();
    for (const ns of ['team', 'other']) expect(await snapshot(fresh.hangar, ns)).toEqual(await snapshot(hangar, ns));
    const fv = await fresh.hangar.find('team/offline/1');
    expect(new Uint8Array(await (await fv.readArtifact('w.bin')).arrayBuffer())).toEqual(bytes(20_000, 5));
    expect((await (await fresh.hangar.model('team', 'offline')).metrics()).best?.last).toBe(0.9);
    await hangar.close();
    await fresh.hangar.close();
  });
});
