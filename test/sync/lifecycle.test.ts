import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { syncedRegistry } from './clients.ts';

// DESIGN §3a across registries and the server: a version created pending stays pending
// everywhere until its creator marks it ready, and `ns/m` resolves to the latest ready version.

let server: HangarServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('life', 'write');
});
afterAll(() => server?.close());

const bytes = (n: number, fill: number) => new Blob([new Uint8Array(n).fill(fill)]);

/** A version's status as the server serves it. */
async function served(number: number): Promise<string> {
  const res = await server.api(`/namespaces/life/models/trained/versions/${number}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { status: string }).status;
}

describe('version lifecycle across registries', () => {
  it('keeps a version made pending on A pending on B and the server while A uploads checkpoints, then ready everywhere', async () => {
    const a = await syncedRegistry(server, token, ['life']);
    const b = await syncedRegistry(server, token, ['life']);
    const model = await a.hangar.newModel({ namespace: 'life', name: 'trained' });
    const first = await model.newVersion();
    await first.uploadArtifacts([{ path: 'model/weights.bin', file: bytes(1000, 1) }]);
    await a.hangar.syncNow();
    expect(await served(1)).toBe('ready');

    const second = await model.newVersion({ status: 'pending' });
    await second.saveCheckpoint('epoch_1', { 'weights.bin': bytes(2000, 2) });
    await a.hangar.syncNow();
    expect(a.hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, pendingBytes: 0, error: null });
    // Its checkpoint's bytes have all arrived, and still it is pending: its creator is not done.
    expect(await served(2)).toBe('pending');
    expect((await second.refresh()).status).toBe('pending');

    await b.hangar.syncNow();
    expect((await b.hangar.find('life/trained/2')).status).toBe('pending');
    expect((await b.hangar.find('life/trained')).id).toBe(first.id);

    await second.saveCheckpoint('epoch_2', { 'weights.bin': bytes(3000, 3) });
    await second.uploadArtifacts([{ path: 'model/weights.bin', file: bytes(4000, 4) }]);
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    expect(await served(2)).toBe('pending');
    expect((await b.hangar.find('life/trained')).id).toBe(first.id);
    expect((await a.hangar.find('life/trained')).id).toBe(first.id);

    await second.markReady();
    expect((await a.hangar.find('life/trained')).id).toBe(second.id);
    await a.hangar.syncNow();
    expect(await served(2)).toBe('ready');
    await b.hangar.syncNow();
    expect((await b.hangar.find('life/trained/2')).status).toBe('ready');
    expect((await b.hangar.find('life/trained')).id).toBe(second.id);
    expect((await second.refresh()).status).toBe('ready');
    await a.hangar.close();
    await b.hangar.close();
  });

  it('a device that marks ready a version another device made ready meanwhile ends ready, as the server serves it', async () => {
    const a = await syncedRegistry(server, token, ['life']);
    const b = await syncedRegistry(server, token, ['life']);
    const model = await a.hangar.newModel({ namespace: 'life', name: 'both-done' });
    const v = await model.newVersion({ status: 'pending' });
    await v.uploadArtifacts([{ path: 'weights.bin', file: bytes(500, 9) }]);
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    const onB = await b.hangar.find('life/both-done/1');
    expect(onB.status).toBe('pending');

    // B says done while offline; it lacks the bytes, so it still shows pending here.
    b.net.offline = true;
    await onB.markReady();
    expect((await onB.refresh()).status).toBe('pending');
    // A says done too, and the server serves it ready.
    await v.markReady();
    await a.hangar.syncNow();
    const res = await server.api('/namespaces/life/models/both-done/versions/1');
    expect(((await res.json()) as { status: string }).status).toBe('ready');

    // B's round learns the server's time first (a pull, which sees "ready" while B's own
    // change waits), then pushes a change that changes nothing on the server: B must end ready.
    b.net.offline = false;
    await b.hangar.syncNow();
    await b.hangar.syncNow();
    expect((await onB.refresh()).status).toBe('ready');
    expect((await b.hangar.find('life/both-done')).id).toBe(v.id);
    await a.hangar.close();
    await b.hangar.close();
  });

  it('serves a version whose training failed as failed everywhere, never as ns/m', async () => {
    const a = await syncedRegistry(server, token, ['life']);
    const b = await syncedRegistry(server, token, ['life']);
    const model = await a.hangar.newModel({ namespace: 'life', name: 'broken' });
    const v = await model.newVersion({ status: 'pending' });
    await v.saveCheckpoint('epoch_1', { 'weights.bin': bytes(500, 5) });
    await a.hangar.syncNow();
    await v.markFailed();
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    expect((await b.hangar.find('life/broken/1')).status).toBe('failed');
    await expect(b.hangar.find('life/broken')).rejects.toMatchObject({ code: 'version-not-found' });
    const res = await server.api('/namespaces/life/models/broken/versions/1');
    expect(((await res.json()) as { status: string }).status).toBe('failed');
    await a.hangar.close();
    await b.hangar.close();
  });
});
