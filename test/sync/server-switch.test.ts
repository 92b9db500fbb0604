import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../web/client/index.ts';
import { startServer, type HangarServer } from '../browser/server.ts';
import { snapshot, syncedRegistry } from './clients.ts';

let one: HangarServer;
let two: HangarServer;
let tokenOne: string;
let tokenTwo: string;

beforeAll(async () => {
  [one, two] = await Promise.all([startServer(), startServer()]);
  tokenOne = await one.token('team', 'write');
  tokenTwo = await two.token('team', 'write');
});
afterAll(async () => {
  await one?.close();
  await two?.close();
});

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * seed + 3) % 251);
const bytesOf = async (b: Blob) => new Uint8Array(await b.arrayBuffer());

describe('changing server (DESIGN §6)', () => {
  it('a registry moved to another server arrives whole, and a fresh registry there sees the same, byte for byte', async () => {
    const a = await syncedRegistry(one, tokenOne, ['team']);
    const m = await a.hangar.newModel({ namespace: 'team', name: 'moved', task: 'tabular', metadata: { team: 'growth', gone: true } });
    await m.deleteMetadata('gone');
    const v1 = await m.newVersion({ version: 'gold', metadata: { lr: 0.01 } });
    // More points than one mutation carries: the re-seed sends them in chunks.
    for (let step = 0; step < 1500; step++) void v1.logMetrics({ loss: 1 / (step + 1) }, { step });
    await a.hangar.flush();
    const weights = bytes(300_000, 7);
    await v1.uploadArtifacts([{ path: 'weights.bin', file: new Blob([weights]) }]);
    await v1.saveCheckpoint('epoch_1', { 'w.bin': new Blob([bytes(500, 3)]) });
    const v2 = await m.newVersion();
    await v2.delete();
    const v3 = await m.newVersion({ name: 'third' });
    await m.setAlias('production', v1);
    await m.logMetrics({ auc: 0.9 });
    await a.hangar.syncNow();
    expect(a.hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, pendingBytes: 0, error: null });

    // Moved: nothing of this was ever pushed to server two, and a pending edit waits too.
    await v3.update({ description: 'made before the move' });
    await a.hangar.sync({ url: two.url, token: tokenTwo, namespaces: ['team'], intervalMs: 3_600_000 });
    await a.hangar.syncNow();
    expect(a.hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, pendingBytes: 0, error: null, conflicts: 0 });

    const fresh = await syncedRegistry(two, tokenTwo, ['team']);
    await fresh.hangar.syncNow();
    const mine = await snapshot(a.hangar, 'team');
    expect(await snapshot(fresh.hangar, 'team')).toEqual(mine);
    const moved = mine.moved as { versions: { number: number; name: string | null }[]; points: string[] };
    expect(moved.versions.map((v) => [v.number, v.name])).toEqual([
      [1, null],
      [3, 'third'],
    ]);
    expect(moved.points).toHaveLength(1501);
    const fm = await fresh.hangar.model('team', 'moved');
    expect(await fm.metadata()).toEqual({ team: 'growth' });
    expect((await fresh.hangar.find('team/moved/3')).description).toBe('made before the move');
    const fv = await fresh.hangar.find('team/moved@production');
    expect(fv.id).toBe(v1.id);
    expect(await fv.metadata()).toEqual({ lr: 0.01 });
    expect(await bytesOf(await fv.readArtifact('weights.bin'))).toEqual(weights);
    const checkpoint = await fv.loadCheckpoint();
    expect(await bytesOf(checkpoint.files[0]!.blob)).toEqual(bytes(500, 3));
    // The server holds it all too.
    const history = await (await two.api('/namespaces/team/models/moved/versions/1/metrics/loss?maxPoints=5000')).json();
    expect(history.points).toHaveLength(1500);
    await a.hangar.close();
    await fresh.hangar.close();
  });

  it('brings along the bytes it only knew of: fetched from the old server before it moves', async () => {
    const a = await syncedRegistry(one, tokenOne, ['team']);
    const v = await (await a.hangar.newModel({ namespace: 'team', name: 'known-of' })).newVersion();
    const data = bytes(5000, 11);
    await v.uploadArtifacts([{ path: 'data.bin', file: new Blob([data]) }]);
    await a.hangar.syncNow();
    // b pulled the artifact's record, never its bytes; then it moves to server two.
    const b = await syncedRegistry(one, tokenOne, ['team']);
    await b.hangar.syncNow();
    await b.hangar.sync({ url: two.url, token: tokenTwo, namespaces: ['team'], intervalMs: 3_600_000 });
    await b.hangar.syncNow();
    const sha = (await b.hangar.db.artifacts.where('parentId').equals(v.id).first())!.sha256!;
    const res = await two.api(`/namespaces/team/blobs/sha256/${sha}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    expect((await (await two.api('/namespaces/team/models/known-of/versions/1')).json()).status).toBe('ready');
    await a.hangar.close();
    await b.hangar.close();
  });

  it('moved while offline, it fetches those bytes from the old server in a later round and sends them on', async () => {
    const a = await syncedRegistry(one, tokenOne, ['team']);
    const v = await (await a.hangar.newModel({ namespace: 'team', name: 'owed' })).newVersion();
    const data = bytes(7000, 13);
    await v.uploadArtifacts([{ path: 'data.bin', file: new Blob([data]) }]);
    await a.hangar.syncNow();
    const b = await syncedRegistry(one, tokenOne, ['team']);
    await b.hangar.syncNow();
    // Offline at the move: the old server cannot give the bytes now.
    b.net.offline = true;
    await b.hangar.sync({ url: two.url, token: tokenTwo, namespaces: ['team'], intervalMs: 3_600_000 });
    await b.hangar.syncNow().catch(() => undefined);
    b.net.offline = false;
    await b.hangar.syncNow();
    // The first round back fetches them from server one; the upload to server two follows.
    await b.hangar.syncNow();
    const sha = (await b.hangar.db.artifacts.where('parentId').equals(v.id).first())!.sha256!;
    const res = await two.api(`/namespaces/team/blobs/sha256/${sha}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    expect((await (await two.api('/namespaces/team/models/owed/versions/1')).json()).status).toBe('ready');
    expect(await b.hangar.db.state.get('sync.previous')).toBeUndefined();
    await a.hangar.close();
    await b.hangar.close();
  });

  it('does not upload back the bytes it downloaded', async () => {
    const a = await syncedRegistry(one, tokenOne, ['team']);
    const v = await (await a.hangar.newModel({ namespace: 'team', name: 'downloaded' })).newVersion();
    await v.uploadArtifacts([{ path: 'data.bin', file: new Blob([bytes(2000, 5)]) }]);
    await a.hangar.syncNow();
    const b = await syncedRegistry(one, tokenOne, ['team']);
    await b.hangar.syncNow();
    await (await b.hangar.find('team/downloaded/1')).pin();
    await (await b.hangar.model('team', 'downloaded')).update({ description: 'a round after the download' });
    await b.hangar.syncNow();
    expect(b.net.log.filter((l) => l.includes('/blobs/') && !l.startsWith('GET') && !l.startsWith('HEAD'))).toEqual([]);
    expect(b.hangar.syncStatus.value).toMatchObject({ pendingBytes: 0, uploads: [] });
    await a.hangar.close();
    await b.hangar.close();
  });

  it('a download from the old server that ends after the move does not mark the bytes as held by the new one', async () => {
    const a = await syncedRegistry(one, tokenOne, ['team']);
    const v = await (await a.hangar.newModel({ namespace: 'team', name: 'raced' })).newVersion();
    const data = bytes(3000, 17);
    await v.uploadArtifacts([{ path: 'data.bin', file: new Blob([data]) }]);
    await a.hangar.syncNow();
    const sha = (await a.hangar.db.artifacts.where('parentId').equals(v.id).first())!.sha256!;

    // Two tabs of one device (one IndexedDB database), each with a network that can be cut and
    // can hold the next matching request at a gate.
    const deferred = () => {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    };
    const gated = () => {
      const gate = { offline: false, match: (_: string) => false, held: deferred(), release: deferred(), log: [] as string[] };
      const fetcher: typeof fetch = async (input, init) => {
        if (gate.offline) throw new TypeError('Failed to fetch (offline)');
        gate.log.push(`${init?.method ?? 'GET'} ${String(input)}`);
        if (gate.match(`${init?.method ?? 'GET'} ${String(input)}`)) {
          gate.match = () => false;
          gate.held.resolve();
          await gate.release.promise;
        }
        return fetch(input, init);
      };
      return { gate, fetcher };
    };
    const name = `sync-test-tabs-${Date.now()}`;
    const first = gated();
    const tab1 = await openRegistry({ name, persist: false, fetch: first.fetcher });
    await tab1.sync({ url: one.url, token: tokenOne, namespaces: ['team'], intervalMs: 3_600_000 });
    await tab1.syncNow();
    const second = gated();
    const tab2 = await openRegistry({ name, persist: false, fetch: second.fetcher });
    await tab2.sync({ url: one.url, token: tokenOne, namespaces: ['team'], intervalMs: 3_600_000 });

    // The second tab starts downloading the bytes from server one; its answer is held.
    second.gate.match = (line) => line.startsWith(`GET ${one.url}`) && line.includes(`/blobs/sha256/${sha}`);
    const pinned = (await tab2.find('team/raced/1')).pin();
    await second.gate.held.promise;
    // The first tab moves to server two while offline (the bytes are owed), then starts its round
    // there: it fetches the owed bytes, re-seeds, and is held at its first push.
    first.gate.offline = true;
    await tab1.sync({ url: two.url, token: tokenTwo, namespaces: ['team'], intervalMs: 3_600_000 });
    await tab1.syncNow().catch(() => undefined);
    first.gate.offline = false;
    first.gate.match = (line) => line.startsWith(`POST ${two.url}`) && line.includes('/sync/push');
    const round = tab1.syncNow();
    await first.gate.held.promise;
    // The old server's answer lands now: it says server one holds the bytes, nothing of server two.
    second.gate.release.resolve();
    await pinned;
    first.gate.release.resolve();
    await round;
    await tab1.syncNow();

    const res = await two.api(`/namespaces/team/blobs/sha256/${sha}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);

    // The second tab, told nothing, syncs where the registry now syncs: server two.
    second.gate.log.length = 0;
    await tab2.syncNow();
    expect(second.gate.log.length).toBeGreaterThan(0);
    expect(second.gate.log.filter((line) => !line.includes(two.url))).toEqual([]);
    expect(tab2.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null });
    await tab2.close();
    await tab1.close();
    await a.hangar.close();
  });

  it('a server that lost a model this device holds gets it again, with the edit that found it missing', async () => {
    let target = one;
    const hangar = await openRegistry({
      name: `sync-test-lost-${Date.now()}`,
      persist: false,
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        if (target === two) headers.set('authorization', `Bearer ${tokenTwo}`);
        return fetch(String(input).replace(one.url, target.url), { ...init, headers });
      },
    });
    await hangar.sync({ url: one.url, token: tokenOne, namespaces: ['team'], intervalMs: 3_600_000 });
    const m = await hangar.newModel({ namespace: 'team', name: 'lost-here', task: 'a' });
    await hangar.syncNow();
    // Same URL, but the data behind it is gone (restored elsewhere from nothing).
    target = two;
    await m.update({ description: 'edited after the loss' });
    await hangar.syncNow();
    expect(hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null, conflicts: 0 });
    const res = await two.api('/namespaces/team/models/lost-here');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ task: 'a', description: 'edited after the loss' });
    await hangar.close();
  });
});
