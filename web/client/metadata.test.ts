import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import type { Change } from '../../shared/sync.ts';
import { readEntryBytes, readZipDirectory, writeZip } from './archive-zip.ts';
import { openRegistry, type Hangar } from './index.ts';
import { applyChanges, applyTables, pendingOf } from './sync/apply.ts';
import { codeOf } from './test-helpers.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(): Promise<Hangar> {
  const h = await openRegistry({ name: `meta-${Date.now()}-${n++}`, persist: false });
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const clock = (msAgo: number, node = 'other') => formatHlc(Date.now() - msAgo, 0, node);
const change = (c: Partial<Change> & Pick<Change, 'entity' | 'op' | 'entityId' | 'data' | 'hlc'>): Change => ({ seq: 1, ...c });
const pull = (h: Hangar, changes: Change[]) => h.db.transaction('rw', applyTables(h.db), async () => applyChanges(h.db, 'team', changes, pendingOf([])));

describe('metadata tombstones', () => {
  it('deleteMetadata hides the key everywhere, keeps a tombstone with its clock, and emits metadata.delete', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn', metadata: { team: 'growth', keep: 1 } });
    const v = await m.newVersion({ metadata: { lr: 0.1 } });
    await m.deleteMetadata('team');
    await v.deleteMetadata('lr');
    await v.deleteMetadata('never-set');
    expect(await m.metadata()).toEqual({ keep: 1 });
    expect(await v.metadata()).toEqual({});
    const row = await h.db.metadata.get([m.id, 'team']);
    expect(row).toMatchObject({ deleted: true });
    const outbox = await h.db.outbox.toArray();
    expect(outbox.filter((o) => o.name === 'metadata.delete').map((o) => o.args)).toEqual([
      { parentId: m.id, key: 'team' },
      { parentId: v.id, key: 'lr' },
    ]);
    expect(outbox.find((o) => o.name === 'metadata.delete')!.hlc).toBe(row!.hlc);
    // The filter language reads no tombstone.
    expect(await h.models({ filter: "tags.team = 'growth'" })).toEqual([]);
    expect((await h.models({ filter: 'tags.keep = 1' })).map((x) => x.name)).toEqual(['churn']);
    // Set again: live again.
    await m.updateMetadata('team', 'core');
    expect(await m.metadata()).toEqual({ keep: 1, team: 'core' });
    expect(await codeOf(m.deleteMetadata(''))).toBe('invalid-argument');
  });

  it('a pulled delete keeps a tombstone; a set older than it does not revive the key, a later one does', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    await pull(h, [change({ entity: 'metadata', op: 'delete', entityId: m.id, data: { key: 'gone' }, hlc: clock(1000) })]);
    await pull(h, [change({ entity: 'metadata', op: 'set', entityId: m.id, data: { key: 'gone', value: 'stale' }, hlc: clock(2000) })]);
    expect(await m.metadata()).toEqual({});
    expect(await h.db.metadata.get([m.id, 'gone'])).toMatchObject({ deleted: true });
    await pull(h, [change({ entity: 'metadata', op: 'set', entityId: m.id, data: { key: 'gone', value: 'fresh' }, hlc: clock(500) })]);
    expect(await m.metadata()).toEqual({ gone: 'fresh' });
  });

  it('an export leaves tombstones out', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn', metadata: { a: 1, b: 2 } });
    await m.deleteMetadata('a');
    const archive = await h.exportModel('team', 'churn');
    const entries = await readZipDirectory(archive);
    const manifest = JSON.parse(new TextDecoder().decode(await readEntryBytes(archive, entries.find((e) => e.name === 'manifest.json')!))) as { metadata: { key: string }[] };
    expect(manifest.metadata.map((r) => r.key)).toEqual(['b']);
  });
});

describe('creates carry only the fields given', () => {
  it('newModel sends no null for fields left out', async () => {
    const h = await registry();
    await h.newModel({ namespace: 'team', name: 'churn', task: 'tabular' });
    const [create] = await h.db.outbox.toArray();
    expect(create!.args).toEqual({ id: expect.any(String), name: 'churn', task: 'tabular' });
  });

  it('a pulled model.create merges only the fields it carries', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn', description: 'mine' });
    // Another device created it too, later, giving only a task.
    await pull(h, [change({ entity: 'model', op: 'create', entityId: m.id, data: { name: 'churn', task: 'tabular' }, hlc: formatHlc(Date.now() + 1000, 0, 'other') })]);
    expect(await h.model('team', 'churn')).toMatchObject({ description: 'mine', task: 'tabular', owner: null });
  });
});

describe('archive clocks', () => {
  async function archiveWith(edit: (manifest: { model: { clocks: Record<string, string> }; metadata: { hlc: string }[] }) => void) {
    const h = await registry();
    await h.newModel({ namespace: 'team', name: 'churn', task: 'tabular', metadata: { k: 1 } });
    const archive = await h.exportModel('team', 'churn');
    const entries = await readZipDirectory(archive);
    const manifest = JSON.parse(new TextDecoder().decode(await readEntryBytes(archive, entries.find((e) => e.name === 'manifest.json')!)));
    edit(manifest);
    return writeZip([{ name: 'manifest.json', bytes: new TextEncoder().encode(JSON.stringify(manifest)) }]);
  }

  it('refuses an archive with a clock far ahead (clock-skew) or not a clock (invalid-argument), importing nothing', async () => {
    const ahead = await archiveWith((m) => (m.model.clocks.task = formatHlc(Date.now() + 24 * 3600 * 1000, 0, 'hostile')));
    const garbage = await archiveWith((m) => (m.metadata[0]!.hlc = 'yesterday'));
    const target = await registry();
    expect(await codeOf(target.importModel(ahead))).toBe('clock-skew');
    expect(await codeOf(target.importModel(garbage))).toBe('invalid-argument');
    expect(await target.db.models.count()).toBe(0);
    expect(await target.db.metadata.count()).toBe(0);
    expect(await target.db.outbox.count()).toBe(0);
    // A clock within the allowed drift is fine.
    const near = await archiveWith((m) => (m.model.clocks.task = formatHlc(Date.now() + 60_000, 0, 'near')));
    expect(await target.importModel(near)).toEqual({ namespace: 'team', name: 'churn' });
  });
});
