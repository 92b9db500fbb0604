import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type HangarServer } from '../browser/server.ts';
import { snapshot, syncedRegistry } from './clients.ts';

let server: HangarServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('team', 'write');
});
afterAll(() => server?.close());

describe('sync between registries and the server', () => {
  it('two devices work offline, then converge: one model, server numbers, nothing lost or doubled', async () => {
    const a = await syncedRegistry(server, token, ['team']);
    const b = await syncedRegistry(server, token, ['team']);
    a.net.offline = b.net.offline = true;

    const ma = await a.hangar.newModel({ namespace: 'team', name: 'churn', task: 'tabular' });
    const va = await ma.newVersion({ version: 'gold' });
    await va.logMetrics({ loss: 0.5 }, { step: 1 });
    await ma.setAlias('production', va);
    const mb = await b.hangar.newModel({ namespace: 'team', name: 'churn', description: 'from b' });
    const vb = await mb.newVersion({ version: 'gold' });
    await vb.logMetrics({ loss: 0.4 }, { step: 1 });
    await vb.updateMetadata('params', { lr: 0.01 });
    await mb.setAlias('production', vb);
    await a.hangar.flush();
    await b.hangar.flush();

    a.net.offline = b.net.offline = false;
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    await a.hangar.syncNow();

    const sa = await snapshot(a.hangar, 'team');
    expect(await snapshot(b.hangar, 'team')).toEqual(sa);
    const churn = sa.churn as { versions: { id: string; number: number; label: string | null }[]; fields: unknown; aliases: Record<string, string>; points: string[] };
    // Server numbers in arrival order: a's first.
    expect(churn.versions.map((v) => [v.id, v.number])).toEqual([
      [va.id, 1],
      [vb.id, 2],
    ]);
    // First to arrive keeps the label; the other is kept without it, and b sees a conflict.
    expect(churn.versions.map((v) => v.label)).toEqual(['gold', null]);
    // A create carries only the fields given: a's task and b's description both stay.
    expect(churn.fields).toEqual({ owner: null, task: 'tabular', description: 'from b' });
    expect(churn.aliases).toEqual({ production: va.id });
    expect(churn.points).toHaveLength(2);
    const conflicts = await b.hangar.conflicts();
    expect(conflicts.map((c) => c.kind).sort()).toEqual(['alias', 'version-label']);
    expect(await a.hangar.conflicts()).toEqual([]);
    // The server agrees.
    const versions = await (await server.api('/namespaces/team/models/churn/versions')).json();
    expect(versions.items.map((v: { id: string; number: number }) => [v.id, v.number]).sort((x: [string, number], y: [string, number]) => x[1] - y[1])).toEqual([
      [va.id, 1],
      [vb.id, 2],
    ]);
    expect((await b.hangar.find('team/churn/2')).numberConfirmed).toBe(true);

    // b keeps its alias move: a new write on top of the server's, which a then pulls.
    const alias = conflicts.find((c) => c.kind === 'alias')!;
    await b.hangar.resolveConflict(alias.id, 'mine');
    await b.hangar.syncNow();
    await a.hangar.syncNow();
    expect((await a.hangar.find('team/churn@production')).id).toBe(vb.id);
    expect(await b.hangar.conflicts()).toHaveLength(1);
    await a.hangar.close();
    await b.hangar.close();
  });

  it('sees what a teammate pushed over plain HTTP', async () => {
    const a = await syncedRegistry(server, token, ['team']);
    await server.api('/namespaces/team/models', { json: { name: 'from-ci', task: 'ci' } });
    await server.api('/namespaces/team/models/from-ci/versions', { json: { version: 'nightly' } });
    await server.api('/namespaces/team/models/from-ci/versions/1/metrics', { json: { metrics: [{ key: 'acc', value: 0.9, step: 3 }] } });
    await a.hangar.syncNow();
    const v = await a.hangar.find('team/from-ci/1');
    expect(v).toMatchObject({ version: 'nightly', numberConfirmed: true });
    expect((await v.metrics()).acc).toMatchObject({ last: 0.9, count: 1 });
    await a.hangar.close();
  });

  it('loses nothing and doubles nothing when requests and answers are lost', async () => {
    const a = await syncedRegistry(server, token, ['team']);
    const m = await a.hangar.newModel({ namespace: 'team', name: 'flaky' });
    const v = await m.newVersion();
    for (let i = 0; i < 5; i++) await v.logMetrics({ acc: i / 10 }, { step: i });
    await a.hangar.flush();
    a.net.next = ['drop-response', 'drop-request', 'drop-response'];
    for (let i = 0; i < 6; i++) await a.hangar.syncNow().catch(() => undefined);
    await a.hangar.syncNow();
    expect(a.net.next).toEqual([]);
    expect(await a.hangar.pendingMutations()).toBe(0);
    const history = await (await server.api('/namespaces/team/models/flaky/versions/1/metrics/acc')).json();
    expect(history.points.map((p: { value: number }) => p.value)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    await a.hangar.close();
  });

  it('uploads artifact bytes, and another device downloads them only when needed, verified', async () => {
    const a = await syncedRegistry(server, token, ['team']);
    const b = await syncedRegistry(server, token, ['team']);
    const m = await a.hangar.newModel({ namespace: 'team', name: 'files' });
    const v = await m.newVersion();
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    await v.uploadArtifacts([{ path: 'weights.bin', file: new Blob([bytes]) }]);
    await a.hangar.syncNow();
    expect(a.hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, pendingBytes: 0, online: true, error: null });

    await b.hangar.syncNow();
    const vb = await b.hangar.find('team/files/1');
    const listed = await vb.artifacts();
    expect(listed.map((x) => x.path)).toEqual(['weights.bin']);
    expect(await b.hangar.db.blobs.count()).toBe(0);
    const progress: { loaded: number; total: number }[] = [];
    const read = await vb.readArtifact('weights.bin', { onProgress: (p) => progress.push(p) });
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(bytes);
    expect(progress.at(-1)).toEqual({ loaded: bytes.length, total: bytes.length });
    expect(await b.hangar.db.blobs.count()).toBe(1);
    await a.hangar.close();
    await b.hangar.close();
  });

  it('pins a version: every artifact\'s bytes come down before they are needed, with progress', async () => {
    const a = await syncedRegistry(server, token, ['team']);
    const b = await syncedRegistry(server, token, ['team']);
    const v = await (await a.hangar.newModel({ namespace: 'team', name: 'pinned' })).newVersion();
    await v.uploadArtifacts([
      { path: 'a.bin', file: new Blob([new Uint8Array(1000).fill(1)]) },
      { path: 'b.bin', file: new Blob([new Uint8Array(2000).fill(2)]) },
    ]);
    await v.saveCheckpoint('epoch_1', { 'weights.bin': new Blob([new Uint8Array(500).fill(3)]) });
    await a.hangar.syncNow();
    await b.hangar.syncNow();
    const vb = await b.hangar.find('team/pinned/1');
    expect((await vb.artifacts()).map((x) => x.stored)).toEqual([false, false, false]);
    const progress: number[] = [];
    await vb.pin({ onProgress: (p) => progress.push(p.loaded / p.total) });
    expect(progress.at(-1)).toBe(1);
    expect((await vb.artifacts()).map((x) => x.stored)).toEqual([true, true, true]);
    // Offline now, the checkpoint still loads.
    b.net.offline = true;
    const loaded = await vb.loadCheckpoint();
    expect(loaded.files.map((f) => [f.path, f.size])).toEqual([['weights.bin', 500]]);
    await a.hangar.close();
    await b.hangar.close();
  });

  it('says "update needed" when the server speaks a newer protocol, and stops pushing', async () => {
    const { hangar } = await syncedRegistry(server, token, ['team']);
    await hangar.stopSync();
    const reopened = await import('../../web/client/index.ts').then(({ openRegistry }) =>
      openRegistry({
        name: `sync-test-protocol-${Date.now()}`,
        persist: false,
        // A client from the future: it announces a protocol this server does not speak.
        fetch: (input, init) => {
          const headers = new Headers(init?.headers);
          headers.set('hangar-protocol', '999');
          return fetch(input, { ...init, headers });
        },
      }),
    );
    await reopened.sync({ url: server.url, token, namespaces: ['team'], intervalMs: 3_600_000 });
    await reopened.newModel({ namespace: 'team', name: 'from-the-future' });
    await expect(reopened.syncNow()).rejects.toMatchObject({ code: 'protocol-unsupported' });
    expect(reopened.syncStatus.value).toMatchObject({ updateNeeded: true, error: { code: 'protocol-unsupported' } });
    expect(reopened.syncStatus.value.pendingMutations).toBeGreaterThan(0);
    expect((await server.api('/namespaces/team/models/from-the-future')).status).toBe(404);
    await hangar.close();
    await reopened.close();
  });

  it('goes on with a server restored from an older state: pulls again from the start, pushes what is new', async () => {
    const other = await startServer();
    try {
      const otherToken = await other.token('team', 'write');
      // The registry keeps talking to "its" server, which is now another one with less history.
      let target = server;
      const { openRegistry } = await import('../../web/client/index.ts');
      const hangar = await openRegistry({
        name: `sync-test-restore-${Date.now()}`,
        persist: false,
        fetch: (input, init) => {
          const url = String(input).replace(server.url, target.url);
          const headers = new Headers(init?.headers);
          if (target === other) headers.set('authorization', `Bearer ${otherToken}`);
          return fetch(url, { ...init, headers });
        },
      });
      await hangar.sync({ url: server.url, token, namespaces: ['team'], intervalMs: 3_600_000 });
      await hangar.newModel({ namespace: 'team', name: 'before-restore' });
      await hangar.syncNow();
      target = other;
      await hangar.newModel({ namespace: 'team', name: 'after-restore' });
      await hangar.syncNow();
      expect(hangar.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null, online: true });
      expect((await other.api('/namespaces/team/models/after-restore')).status).toBe(200);
      await hangar.close();
    } finally {
      await other.close();
    }
  });
});
