import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHlc } from '../../../shared/hlc.ts';
import { openRegistry, type Hangar } from '../index.ts';
import { fakeServer } from './fake-server.ts';

const DAY = 24 * 3600 * 1000;
const MINUTE = 60_000;
let open: Hangar[] = [];
let n = 0;
async function registry(fetcher: typeof fetch, namespaces = ['team'], name = `engine-${Date.now()}-${n++}`): Promise<Hangar> {
  const h = await openRegistry({ name, persist: false, fetch: fetcher });
  open.push(h);
  await h.sync({ url: 'http://hangar.test', token: 't', namespaces, intervalMs: 3_600_000 });
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});
const msOf = (hlc: string) => parseHlc(hlc)!.ms;
const lastStamp = async (h: Hangar) => msOf((await h.db.outbox.toArray()).at(-1)!.hlc);

describe('clocks corrected by the server', () => {
  it('stamps with the server-corrected time, moves earlier stamps with it, and keeps the correction after a reload', async () => {
    // The device runs a day slow: the server's time is a day ahead of it.
    const server = fakeServer({ serverTime: () => Date.now() + DAY });
    const name = `engine-offset-${Date.now()}`;
    const h = await registry(server.fetcher, ['team'], name);
    const m = await h.newModel({ namespace: 'team', name: 'early', task: 'x' });
    await h.syncNow();
    // Written before the server's time was known, pushed with the corrected clock.
    const pushed = server.pushes.flatMap((p) => p.body.mutations);
    expect(pushed.map((x) => x.name)).toEqual(['model.create']);
    expect(Math.abs(msOf(pushed[0]!.hlc) - (Date.now() + DAY))).toBeLessThan(MINUTE);
    // Its own row's clocks moved too: a later edit wins locally.
    await m.update({ task: 'y' });
    expect((await h.model('team', 'early')).task).toBe('y');
    expect(Math.abs((await lastStamp(h)) - (Date.now() + DAY))).toBeLessThan(MINUTE);

    await h.close();
    open = [];
    // Reloaded with no network: the correction is still there.
    const offline = fakeServer();
    offline.offline = true;
    const again = await openRegistry({ name, persist: false, fetch: offline.fetcher });
    open.push(again);
    await again.newModel({ namespace: 'team', name: 'after-reload' });
    expect(Math.abs((await lastStamp(again)) - (Date.now() + DAY))).toBeLessThan(MINUTE);
  });

  it('a device clock changed after the first correction: what was stamped right stays, what it stamped far ahead moves back', async () => {
    const server = fakeServer();
    let skew = 0;
    const h = await openRegistry({ name: `engine-jump-${Date.now()}`, persist: false, fetch: server.fetcher, now: () => Date.now() + skew });
    open.push(h);
    await h.sync({ url: 'http://hangar.test', token: 't', namespaces: ['team'], intervalMs: 3_600_000 });
    const early = await h.newModel({ namespace: 'team', name: 'early', task: 'a' });
    await h.syncNow();
    const before = (await h.db.models.get(early.id))!.clocks.task!;
    // The device clock is set a day fast while offline; a write stamps with it.
    skew = DAY;
    server.offline = true;
    const late = await h.newModel({ namespace: 'team', name: 'late', task: 'b' });
    server.offline = false;
    await h.syncNow();
    expect((await h.db.models.get(early.id))!.clocks.task).toBe(before);
    const pushedLate = server.pushes.flatMap((p) => p.body.mutations).find((m) => (m.args as { id: string }).id === late.id)!;
    expect(Math.abs(msOf(pushedLate.hlc) - Date.now())).toBeLessThan(MINUTE);
    expect(Math.abs(msOf((await h.db.models.get(late.id))!.clocks.task!) - Date.now())).toBeLessThan(MINUTE);
  });

  it('takes in a pulled clock within the allowed drift, never one far ahead', async () => {
    const near = `${String(Date.now() + 2 * MINUTE).padStart(15, '0')}-000000-other`;
    const far = `${String(Date.now() + DAY).padStart(15, '0')}-000000-hostile`;
    const id = '0190a000-0000-7000-8000-0000000000aa';
    const server = fakeServer({
      pull: () => ({
        changes: [
          { seq: 1, entity: 'model', entityId: id, op: 'create', data: { name: 'pulled', task: 't' }, hlc: near },
          { seq: 2, entity: 'model', entityId: id, op: 'update', data: { description: 'd' }, hlc: far },
        ],
        cursor: 2,
      }),
    });
    const h = await registry(server.fetcher);
    await h.syncNow();
    await h.newModel({ namespace: 'team', name: 'local' });
    const stamp = (await h.db.outbox.toArray()).at(-1)!.hlc;
    expect(stamp > near).toBe(true);
    expect(msOf(stamp)).toBeLessThan(Date.now() + 5 * MINUTE);
  });
});

describe('failures told apart', () => {
  it('a 429 is not offline: the error says rate-limited and the round waits', async () => {
    const server = fakeServer({ push: () => new Response('slow down', { status: 429, headers: { 'retry-after': '120' } }) });
    const h = await registry(server.fetcher);
    await h.newModel({ namespace: 'team', name: 'm' });
    await expect(h.syncNow()).rejects.toMatchObject({ code: 'rate-limited', details: { retryAfterMs: 120_000 } });
    expect(h.syncStatus.value).toMatchObject({ online: true, error: { code: 'rate-limited' }, pendingMutations: 1 });
  });

  it('a 5xx is not offline either: online, error shown, nothing lost', async () => {
    const server = fakeServer({ push: () => new Response('bad gateway', { status: 502 }) });
    const h = await registry(server.fetcher);
    await h.newModel({ namespace: 'team', name: 'm' });
    await expect(h.syncNow()).rejects.toMatchObject({ code: 'internal', details: { status: 502 } });
    expect(h.syncStatus.value).toMatchObject({ online: true, error: { code: 'internal' }, pendingMutations: 1 });
  });

  it('unreachable is offline', async () => {
    const server = fakeServer();
    const h = await registry(server.fetcher);
    server.offline = true;
    await expect(h.syncNow()).rejects.toMatchObject({ name: 'NetworkError' });
    expect(h.syncStatus.value).toMatchObject({ online: false, error: { code: 'offline' } });
  });

  it('a 413 halves the batch until it fits; a mutation too large alone goes to conflicts and the rest sync', async () => {
    const server = fakeServer({
      push: ({ body }) =>
        body.mutations.length > 2 || body.mutations.some((m) => (m.args as { name?: string }).name === 'huge')
          ? new Response(JSON.stringify({ error: { code: 'payload-too-large', message: 'too large' } }), { status: 413 })
          : () => undefined,
    });
    const h = await registry(server.fetcher);
    server.offline = true;
    for (const name of ['a', 'b', 'huge', 'c', 'd']) await h.newModel({ namespace: 'team', name });
    server.offline = false;
    await h.syncNow();
    const applied = server.pushes.filter((p) => p.body.mutations.length <= 2 && !p.body.mutations.some((m) => (m.args as { name?: string }).name === 'huge'));
    expect(applied.flatMap((p) => p.body.mutations.map((m) => (m.args as { name: string }).name))).toEqual(['a', 'b', 'c', 'd']);
    expect(h.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null });
    const [conflict] = await h.conflicts();
    expect(conflict).toMatchObject({ kind: 'rejected', theirs: { code: 'payload-too-large' } });
    // Its local effect is undone: the model the server never took is gone here too.
    await expect(h.model('team', 'huge')).rejects.toMatchObject({ code: 'model-not-found' });
  });

  it('a push answered complete: false is followed at once by the rest', async () => {
    const server = fakeServer({ push: () => (_m, i) => (i >= 2 ? 'stop' : undefined) });
    const h = await registry(server.fetcher);
    // Written offline, so one push carries them all.
    server.offline = true;
    for (const name of ['a', 'b', 'c', 'd', 'e']) await h.newModel({ namespace: 'team', name });
    server.offline = false;
    await h.syncNow();
    expect(server.pushes.map((p) => p.body.mutations.length)).toEqual([5, 3, 1]);
    expect(h.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null });
  });

  it('one failing namespace does not stop the others; the error names it', async () => {
    const server = fakeServer({
      push: ({ namespace }) => (namespace === 'alpha' ? new Response(JSON.stringify({ error: { code: 'permission-denied', message: 'no' } }), { status: 403 }) : () => undefined),
    });
    const h = await registry(server.fetcher, ['alpha', 'beta']);
    await h.newModel({ namespace: 'alpha', name: 'a' });
    await h.newModel({ namespace: 'beta', name: 'b' });
    await expect(h.syncNow()).rejects.toMatchObject({ code: 'permission-denied' });
    expect(await h.db.outbox.where('namespace').equals('beta').count()).toBe(0);
    expect(await h.db.outbox.where('namespace').equals('alpha').count()).toBe(1);
    expect(h.syncStatus.value.error).toMatchObject({ code: 'permission-denied', details: { namespaces: { alpha: { code: 'permission-denied' } } } });
  });
});

describe('refused writes are never silent ghosts', () => {
  it('a refused version.create removes the provisional version, and the conflict says why', async () => {
    const server = fakeServer({
      push: () => (m) => (m.name === 'version.create' ? { seq: m.seq, status: 'rejected', error: { code: 'clock-skew', message: 'clock far ahead' } } : undefined),
    });
    const h = await registry(server.fetcher);
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    await m.newVersion();
    await h.syncNow();
    expect(await m.versions()).toEqual([]);
    const [c] = await h.conflicts();
    expect(c).toMatchObject({ kind: 'rejected', mine: { name: 'version.create' }, theirs: { code: 'clock-skew' } });
    expect(c!.message).toContain('clock far ahead');
  });

  it('a write refused as model-not-found for a model held here re-seeds the namespace', async () => {
    let refused = false;
    const server = fakeServer({
      push: () => (m) => {
        if (m.name === 'metadata.set' && !refused) {
          refused = true;
          return { seq: m.seq, status: 'rejected', error: { code: 'model-not-found', message: 'no such model' } };
        }
        return undefined;
      },
    });
    const h = await registry(server.fetcher);
    const m = await h.newModel({ namespace: 'team', name: 'm', description: 'd' });
    await h.syncNow();
    await m.updateMetadata('k', 1);
    await h.syncNow();
    expect(server.names()).toEqual(['model.create', 'metadata.set', 'model.create', 'metadata.set']);
    expect(await h.conflicts()).toEqual([]);
    expect(h.syncStatus.value).toMatchObject({ pendingMutations: 0, error: null });
  });
});
