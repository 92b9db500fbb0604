import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Change } from '../../shared/sync.ts';
import type { HangarDb } from './db.ts';
import { openRegistry, type Hangar } from './index.ts';
import { LocalFinder } from './jobs/finder.ts';
import { applyChanges, applyTables, pendingOf } from './sync/apply.ts';
import { codeOf, freshContext } from './test-helpers.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(): Promise<Hangar> {
  const h = await openRegistry({ name: `lifecycle-${n++}`, persist: false });
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

/** The outbox's version mutations, as `name:status`. */
async function versionMutations(db: HangarDb): Promise<string[]> {
  const rows = await db.outbox.toArray();
  return rows.filter((m) => m.name.startsWith('version.')).map((m) => `${m.name}:${(m.args as { status?: string }).status}`);
}

/** Applies pulled changes as the sync engine does: with what the outbox still holds on top. */
async function pull(db: HangarDb, changes: Omit<Change, 'seq' | 'hlc'>[]) {
  await db.transaction('rw', [...applyTables(db), db.outbox], async () => {
    const pending = pendingOf(await db.outbox.toArray());
    await applyChanges(db, 'team', changes.map((c, i) => ({ ...c, seq: i + 1, hlc: `0000${Date.now()}-000001-server` })), pending);
  });
}

const statusChange = (entityId: string, status: string): Omit<Change, 'seq' | 'hlc'> => ({ entity: 'version', entityId, op: 'status', data: { status } });

describe('version lifecycle in the library (DESIGN §3a)', () => {
  it('keeps a version created pending out of ns/m until markReady, and sends both through the outbox', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const v1 = await m.newVersion();
    const v2 = await m.newVersion({ status: 'pending' });
    expect([v1.status, v2.status]).toEqual(['ready', 'pending']);
    expect((await h.find('team/churn')).id).toBe(v1.id);
    const ready = await v2.markReady();
    expect(ready.status).toBe('ready');
    expect((await h.find('team/churn')).id).toBe(v2.id);
    expect(await versionMutations(h.db)).toEqual(['version.create:ready', 'version.create:pending', 'version.update:ready']);
  });

  it('keeps a failed version failed: markReady is refused and changes nothing', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const v = await m.newVersion({ status: 'pending' });
    expect((await v.markFailed()).status).toBe('failed');
    const before = await h.pendingMutations();
    expect(await codeOf(v.markReady())).toBe('invalid-argument');
    expect(await h.pendingMutations()).toBe(before);
    expect((await v.refresh()).status).toBe('failed');
    expect(await codeOf(h.find('team/churn'))).toBe('version-not-found');
  });

  it('serves a version marked ready as pending while an uploaded artifact lacks its bytes here', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const v = await m.newVersion({ status: 'pending' });
    // Another device registered a file whose bytes this device has not fetched.
    await pull(h.db, [
      {
        entity: 'artifact',
        entityId: v.id,
        op: 'create',
        data: { id: crypto.randomUUID(), modelId: m.id, parentId: v.id, path: 'model/w.bin', mimeType: 'application/octet-stream', fileType: 'MODEL', size: 3, sha256: 'c'.repeat(64), url: null },
      },
    ]);
    expect((await v.markReady()).status).toBe('pending');
    // The server, which has the bytes, says ready; nothing here holds it pending any more once pushed.
    await h.db.outbox.clear();
    await pull(h.db, [statusChange(v.id, 'ready')]);
    expect((await v.refresh()).status).toBe('ready');
  });

  it('never lets a pulled status undo a status change this device has not pushed yet', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const v = await m.newVersion({ status: 'pending' });
    await v.uploadArtifacts([{ file: new Blob(['epoch 1']), path: 'epoch1.bin' }]);
    // Its pending create not answered yet: a pulled ready does not make it ready here.
    await pull(h.db, [statusChange(v.id, 'ready')]);
    expect((await v.refresh()).status).toBe('pending');
    expect(await codeOf(h.find('team/churn'))).toBe('version-not-found');
    // Once answered, a served ready is what the server holds declared (another device marked it
    // ready): this device follows, so every replica agrees.
    await h.db.outbox.clear();
    await pull(h.db, [statusChange(v.id, 'ready')]);
    expect((await v.refresh()).status).toBe('ready');
    // Marked ready here, its status change not yet pushed: a pulled `pending` does not undo it.
    await v.markReady();
    await pull(h.db, [statusChange(v.id, 'pending')]);
    expect((await v.refresh()).status).toBe('ready');
    // `failed` is final, wherever it comes from.
    await pull(h.db, [statusChange(v.id, 'failed')]);
    expect((await v.refresh()).status).toBe('failed');
    expect(await codeOf(v.markReady())).toBe('invalid-argument');
  });

  it('follows the server for versions it only pulled', async () => {
    const ctx = freshContext(`lifecycle-pulled-${n++}`);
    const id = crypto.randomUUID();
    const modelId = crypto.randomUUID();
    await pull(ctx.db, [
      { entity: 'model', entityId: modelId, op: 'create', data: { name: 'churn', owner: null, task: null, description: null } },
      { entity: 'version', entityId: id, op: 'create', data: { modelId, number: 1, version: null, name: null, description: null, framework: null, status: 'pending' } },
    ]);
    expect((await ctx.db.versions.get(id))?.status).toBe('pending');
    await pull(ctx.db, [statusChange(id, 'ready')]);
    expect((await ctx.db.versions.get(id))?.status).toBe('ready');
    await ctx.db.close();
  });

  it('lists versions with an unanswered create or status change as held here', () => {
    const out = (name: string, args: unknown) => ({ name, namespace: 'team', args, hlc: '', createdAt: 0 });
    const pending = pendingOf([out('version.create', { id: 'a' }), out('version.update', { id: 'b', fields: {} }), out('version.update', { id: 'c', fields: {}, status: 'ready' })]);
    expect([...pending.versions].sort()).toEqual(['a', 'c']);
  });

  it("resolves ns/m in the LOCAL finder to the latest ready version, and follows it once marked ready", async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const v1 = await m.newVersion({ metadata: { module: 'tabular-classifier' } });
    const v2 = await m.newVersion({ status: 'pending', metadata: { module: 'tabular-classifier' } });
    const finder = new LocalFinder((h as unknown as { ctx: ConstructorParameters<typeof LocalFinder>[0] }).ctx);
    expect((await finder.find('team/churn')).version.id).toBe(v1.id);
    await v2.markReady();
    expect((await finder.find('team/churn')).version.id).toBe(v2.id);
  });
});
