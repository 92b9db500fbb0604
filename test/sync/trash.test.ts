import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { snapshot, syncedRegistry } from './clients.ts';

// DESIGN §3b across registries: a model deleted on one device and restored on the server (from
// the trash) comes back on every device, with the versions its delete took and its aliases.

let server: HangarServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('bin', 'write');
});
afterAll(() => server?.close());

describe('trash across registries', () => {
  it('a model deleted on A and restored from the trash comes back on A and B as it was', async () => {
    const a = await syncedRegistry(server, token, ['bin']);
    const b = await syncedRegistry(server, token, ['bin']);
    const model = await a.hangar.newModel({ namespace: 'bin', name: 'churn', task: 'tabular' });
    const v1 = await model.newVersion({ version: 'first' });
    const v2 = await model.newVersion();
    await v2.logMetrics({ loss: 0.5 }, { step: 1 });
    await model.setAlias('prod', v2);
    await v1.delete();
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    const before = await snapshot(b.hangar, 'bin');
    expect(Object.keys(before)).toEqual(['churn']);

    await model.delete();
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    expect(await snapshot(b.hangar, 'bin')).toEqual({});
    await expect(b.hangar.find('bin/churn')).rejects.toMatchObject({ code: 'model-not-found' });

    // The trash lists it; a restore brings back the model with version 2 (version 1 was deleted before).
    const trash = (await (await server.api('/namespaces/bin/trash', { token })).json()) as { items: { kind: string; model: string }[] };
    expect(trash.items.map((e) => `${e.kind}:${e.model}`)).toEqual(['model:churn', 'version:churn']);
    const restored = await server.api('/namespaces/bin/models/churn/restore', { token, method: 'POST' });
    expect(restored.status).toBe(200);
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    const after = await snapshot(b.hangar, 'bin');
    expect(after).toEqual(before);
    expect(await snapshot(a.hangar, 'bin')).toEqual(before);
    expect((await b.hangar.find('bin/churn@prod')).id).toBe(v2.id);
    expect(await (await b.hangar.model('bin', 'churn')).versions().then((vs) => vs.map((v) => v.number))).toEqual([2]);

    // Version 1 comes back too when restored on its own.
    expect((await server.api('/namespaces/bin/models/churn/versions/1/restore', { token, method: 'POST' })).status).toBe(200);
    await b.hangar.syncNow();
    expect((await b.hangar.find('bin/churn/1')).id).toBe(v1.id);
    await a.hangar.close();
    await b.hangar.close();
  });

  it('hangar.trash() lists what was deleted here; hangar.restore(ref) works offline and reaches the server and B', async () => {
    const a = await syncedRegistry(server, token, ['bin']);
    const b = await syncedRegistry(server, token, ['bin']);
    const model = await a.hangar.newModel({ namespace: 'bin', name: 'offline' });
    const v1 = await model.newVersion({ version: 'one' });
    await model.newVersion();
    await a.hangar.syncNow();
    await (await model.version(2)).delete();
    await model.delete();
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    const listed = (await a.hangar.trash('bin')).filter((e) => e.model === 'offline');
    expect(listed.map((e) => e.ref)).toEqual(['bin/offline', 'bin/offline/2']);
    expect(listed[0]!.expiresAt.getTime() - listed[0]!.deletedAt.getTime()).toBe(30 * 24 * 3600 * 1000);
    await expect(a.hangar.restore('bin/offline/2')).rejects.toMatchObject({ code: 'model-not-found' });
    await expect(a.hangar.restore('bin/never')).rejects.toMatchObject({ code: 'not-in-trash' });

    a.net.offline = true;
    await a.hangar.restore('bin/offline');
    expect((await a.hangar.find('bin/offline/1')).id).toBe(v1.id);
    await expect(a.hangar.find('bin/offline/2')).rejects.toMatchObject({ code: 'version-not-found' });
    await expect(a.hangar.restore('bin/offline')).rejects.toMatchObject({ code: 'model-exists' });
    a.net.offline = false;
    await a.hangar.syncNow();
    expect((await server.api('/namespaces/bin/models/offline/versions/1', { token })).status).toBe(200);
    await b.hangar.syncNow();
    expect((await b.hangar.find('bin/offline/1')).id).toBe(v1.id);
    expect((await b.hangar.trash('bin')).filter((e) => e.model === 'offline').map((e) => e.ref)).toEqual(['bin/offline/2']);

    // A restore the server refuses (purged meanwhile) is undone here, and says so; the purge
    // reaches every device: what it freed is gone there too, and no trash offers it any more.
    const offlineId = (await a.hangar.model('bin', 'offline')).id;
    await (await a.hangar.model('bin', 'offline')).delete();
    await a.hangar.syncNow();
    a.net.offline = true;
    await a.hangar.restore('bin/offline');
    expect((await server.api('/namespaces/bin/trash', { token: server.adminToken, method: 'DELETE' })).status).toBe(200);
    a.net.offline = false;
    await a.hangar.syncNow();
    await expect(a.hangar.model('bin', 'offline')).rejects.toMatchObject({ code: 'model-not-found' });
    const refused = (await a.hangar.conflicts()).filter((c) => c.kind === 'rejected');
    expect(refused.map((c) => c.mine.name)).toContain('model.restore');
    await b.hangar.syncNow();
    for (const r of [a.hangar, b.hangar]) {
      expect((await r.trash('bin')).filter((e) => e.model === 'offline')).toEqual([]);
      expect(await r.db.models.get(offlineId)).toBeUndefined();
      expect(await r.db.versions.where('modelId').equals(offlineId).count()).toBe(0);
      await expect(r.restore('bin/offline')).rejects.toMatchObject({ code: 'not-in-trash' });
    }
    const events = (await (await server.api('/namespaces/bin/events', { token })).json()) as { items: { type: string }[] };
    expect(events.items.map((e) => e.type)).toContain('model.purged');
    await a.hangar.close();
    await b.hangar.close();
  });
});
