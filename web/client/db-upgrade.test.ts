import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { describe, expect, it } from 'vitest';
import { HangarDb } from './db.ts';

// Version 1 as it shipped, declared with raw Dexie so this test keeps seeding the old schema
// whatever HangarDb becomes.
const V1 = {
  models: 'id, &[namespace+name], namespace, task, updatedAt',
  versions: 'id, [modelId+number], [modelId+version], modelId',
  metadata: '[parentId+key], parentId',
  metrics: 'id, [parentId+key+step]',
  aliases: '[modelId+alias], versionId',
  aliasHistory: 'id, [modelId+alias]',
  artifacts: 'id, &[parentId+path], parentId, sha256',
  blobs: 'sha256, chunksId',
  blobChunks: '[chunksId+index]',
  checkpoints: '[versionId+handle], versionId',
  outbox: '++seq',
  state: 'key',
};

describe('HangarDb upgrade', () => {
  it('opens a version 1 database as the current version: every row kept, jobs and sync tables added', async () => {
    const old = new Dexie('upgrade-v1');
    old.version(1).stores(V1);
    await old.open();
    const now = Date.now();
    await old.table('models').add({ id: 'm1', namespace: 'team', name: 'churn', owner: null, task: 'tabular', description: null, clocks: {}, createdAt: now, updatedAt: now, deletedAt: null });
    await old.table('versions').add({ id: 'v1', modelId: 'm1', namespace: 'team', number: 1, numberConfirmed: false, version: null, status: 'ready', clocks: {}, createdAt: now, updatedAt: now, deletedAt: null });
    await old.table('metrics').bulkAdd([1, 2, 3].map((step) => ({ id: `p${step}`, parentId: 'v1', key: 'loss', value: 1 / step, step, wallclock: now })));
    await old.table('blobChunks').add({ chunksId: 'c1', index: 0, data: new Blob(['bytes']) });
    await old.table('outbox').add({ name: 'model.create', namespace: 'team', args: { id: 'm1' }, hlc: 'x', createdAt: now });
    await old.table('state').put({ key: 'clientId', value: 'abc' });
    expect(old.verno).toBe(1);
    old.close();

    const db = new HangarDb('upgrade-v1');
    await db.open();
    expect(db.verno).toBe(6);
    expect(await db.models.get('m1')).toMatchObject({ name: 'churn', task: 'tabular' });
    expect(await db.versions.where('[modelId+number]').equals(['m1', 1]).count()).toBe(1);
    expect(await db.metrics.where('[parentId+key+step]').between(['v1', 'loss', 0], ['v1', 'loss', 10]).count()).toBe(3);
    expect(await (await db.blobChunks.get(['c1', 0]))?.data.text()).toBe('bytes');
    expect(await db.outbox.count()).toBe(1);
    // Version 3 indexes the outbox by namespace, rows written before included.
    expect(await db.outbox.where('namespace').equals('team').count()).toBe(1);
    expect(await db.conflicts.count()).toBe(0);
    expect(await db.uploads.count()).toBe(0);
    // Version 4: no snapshot summaries; every key's history is here, so summaries come from the points.
    expect(await db.metricSummaries.count()).toBe(0);
    await db.metricSummaries.put({ parentId: 'v1', key: 'acc', count: 7, min: 0, max: 1, last: 1, lastStep: 6, lastWallclock: now, lastId: 'x', asOf: 3 });
    expect(await db.metricSummaries.where('parentId').equals('v1').count()).toBe(1);
    expect((await db.state.get('clientId'))?.value).toBe('abc');
    expect(await db.jobs.count()).toBe(0);
    await db.jobs.add({
      ...{ id: 'local:1', type: 'train', module: 'm', status: 'running', progress: null, submitted: now, started: null, completed: null, error: null },
      ...{ request: { ref: 'team/churn' }, versionId: null, lastCheckpoint: null, backend: null },
    });
    expect(await db.jobs.where('status').equals('running').count()).toBe(1);
    db.close();
  });
});

describe('HangarDb upgrade to version 6', () => {
  it('opens a version 3 database: every row kept, models given kind "model", an empty params table', async () => {
    const old = new Dexie('upgrade-v3');
    old.version(1).stores(V1);
    old.version(2).stores({ jobs: 'id, status, submitted' });
    old.version(3).stores({ conflicts: 'id, resolved', uploads: '[namespace+sha256]', outbox: '++seq, namespace' });
    await old.open();
    const now = Date.now();
    await old.table('models').bulkAdd([
      { id: 'm1', namespace: 'team', name: 'churn', owner: null, task: null, description: null, clocks: {}, createdAt: now, updatedAt: now, deletedAt: null },
      { id: 'm2', namespace: 'team', name: 'gone', owner: null, task: null, description: null, clocks: {}, createdAt: now, updatedAt: now, deletedAt: now },
    ]);
    await old.table('versions').add({ id: 'v1', modelId: 'm1', namespace: 'team', number: 1, numberConfirmed: true, version: null, status: 'ready', clocks: {}, createdAt: now, updatedAt: now, deletedAt: null });
    await old.table('metadata').add({ parentId: 'v1', key: 'lr', namespace: 'team', value: 0.1, hlc: 'h' });
    await old.table('outbox').add({ name: 'model.create', namespace: 'team', args: { id: 'm1' }, hlc: 'x', createdAt: now });
    expect(old.verno).toBe(3);
    old.close();

    const db = new HangarDb('upgrade-v3');
    await db.open();
    expect(db.verno).toBe(6);
    expect((await db.models.toArray()).map((m) => [m.id, m.kind])).toEqual([['m1', 'model'], ['m2', 'model']]);
    expect(await db.versions.get('v1')).toMatchObject({ number: 1, status: 'ready' });
    expect((await db.metadata.get(['v1', 'lr']))?.value).toBe(0.1);
    expect(await db.outbox.where('namespace').equals('team').count()).toBe(1);
    expect(await db.params.count()).toBe(0);
    await db.params.bulkAdd([
      { parentId: 'v1', key: 'lr', namespace: 'team', value: '0.1', hlc: 'h' },
      { parentId: 'v1', key: 'epochs', namespace: 'team', value: '5', hlc: 'h' },
    ]);
    expect(await db.params.where('parentId').equals('v1').count()).toBe(2);
    // Keyed [parentId+key]: one row per key.
    await expect(db.params.add({ parentId: 'v1', key: 'lr', namespace: 'team', value: '0.2', hlc: 'h' })).rejects.toThrow();
    db.close();
  });
});
