import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { HangarDb } from './db.ts';
import { openRegistry, type Hangar } from './index.ts';
import { reseedUnsent, UNSENT } from './outbox-compaction.ts';
import { nsState } from './sync/state.ts';
import { markSynced } from './test-helpers.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(name = `compaction-${Date.now()}-${n++}`): Promise<Hangar> {
  const h = await openRegistry({ name, persist: false });
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const names = async (h: Hangar) => (await h.db.outbox.toArray()).map((o) => o.name);
const unsent = async (db: HangarDb) => (await db.state.get(UNSENT))?.value;

describe('outbox compaction with no server', () => {
  it('keeps metric points out of the outbox of a registry that has never synced, and remembers their namespaces', async () => {
    const h = await registry();
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    for (let step = 0; step < 3000; step++) void v.logMetrics({ loss: step }, { step });
    await v.updateMetadata('k', 1);
    await h.flush();
    expect(await names(h)).toEqual(['model.create', 'version.create', 'metadata.set']);
    expect((await v.metrics()).loss?.count).toBe(3000);
    expect(await unsent(h.db)).toEqual(['team']);
  });

  it('puts them in the outbox once the registry has synced (sync stopped since, too)', async () => {
    const h = await registry();
    await markSynced(h.db);
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    await v.logMetrics({ loss: 1 });
    await h.flush();
    expect(await names(h)).toEqual(['model.create', 'version.create', 'metrics.log']);
    expect(await unsent(h.db)).toBeUndefined();
  });

  it('drops at open the points an older outbox of a never-synced registry held', async () => {
    const name = `compaction-old-${Date.now()}`;
    const raw = new HangarDb(name);
    const now = Date.now();
    await raw.outbox.bulkAdd([
      { name: 'model.create', namespace: 'team', args: { id: 'm' }, hlc: 'a', createdAt: now },
      { name: 'metrics.log', namespace: 'team', args: { parentId: 'm', points: [] }, hlc: 'b', createdAt: now },
      { name: 'metrics.log', namespace: 'lab', args: { parentId: 'x', points: [] }, hlc: 'c', createdAt: now },
    ]);
    raw.close();
    const h = await registry(name);
    expect(await names(h)).toEqual(['model.create']);
    expect(await unsent(h.db)).toEqual(['lab', 'team']);
  });

  it('leaves the outbox of a registry that has synced whole at open', async () => {
    const name = `compaction-synced-${Date.now()}`;
    const raw = new HangarDb(name);
    await markSynced(raw);
    await raw.outbox.add({ name: 'metrics.log', namespace: 'team', args: { parentId: 'm', points: [] }, hlc: 'b', createdAt: Date.now() });
    raw.close();
    const h = await registry(name);
    expect(await names(h)).toEqual(['metrics.log']);
  });

  it('marks for a re-seed the namespaces sync starts with, and only those', async () => {
    const h = await registry();
    await h.db.state.put({ key: UNSENT, value: ['lab', 'team'] });
    await h.db.transaction('rw', h.db.state, () => reseedUnsent(h.db, ['team', 'other']));
    expect(await nsState(h.db, 'team')).toMatchObject({ reseed: true });
    expect((await nsState(h.db, 'other')).reseed).toBeUndefined();
    expect(await unsent(h.db)).toEqual(['lab']);
    await h.db.transaction('rw', h.db.state, () => reseedUnsent(h.db, ['lab']));
    expect(await unsent(h.db)).toBeUndefined();
  });
});
