import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Hangar } from './index.ts';
import { codeOf, markSynced } from './test-helpers.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(name = `t${n++}`): Promise<Hangar> {
  const h = await openRegistry({ name, persist: false });
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});


describe('models and versions', () => {
  it('creates a model and numbers its versions 1, 2, 3, provisionally', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn', owner: 'ana', task: 'tabular', metadata: { team: 'growth' } });
    expect(m).toMatchObject({ namespace: 'team', name: 'churn', owner: 'ana', task: 'tabular' });
    expect(await m.metadata()).toEqual({ team: 'growth' });
    const vs = [await m.newVersion(), await m.newVersion({ version: '2024-q3' }), await m.newVersion()];
    expect(vs.map((v) => [v.number, v.numberConfirmed, v.status])).toEqual([
      [1, false, 'ready'],
      [2, false, 'ready'],
      [3, false, 'ready'],
    ]);
    expect((await m.versions()).map((v) => v.number)).toEqual([1, 2, 3]);
  });

  it('derives the same model id on two devices', async () => {
    const a = await (await registry()).newModel({ namespace: 'team', name: 'same' });
    const b = await (await registry()).newModel({ namespace: 'team', name: 'same' });
    expect(a.id).toBe(b.id);
  });

  it('refuses a duplicate model, a bad name and a taken label, changing nothing', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    expect(await codeOf(h.newModel({ namespace: 'team', name: 'churn' }))).toBe('model-exists');
    expect(await codeOf(h.newModel({ namespace: 'team', name: '../x' }))).toBe('invalid-argument');
    expect(await codeOf(h.newModel({ namespace: 'Team', name: 'x' }))).toBe('invalid-argument');
    await m.newVersion({ version: 'q3' });
    const before = await h.pendingMutations();
    expect(await codeOf(m.newVersion({ version: 'q3', metadata: { a: 1 } }))).toBe('version-label-taken');
    expect(await h.pendingMutations()).toBe(before);
    expect((await m.versions()).length).toBe(1);
  });

  it('rolls back a version whose alias breaks a rule: no version, no metadata, no outbox entry', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const before = await h.pendingMutations();
    expect(await codeOf(m.newVersion({ metadata: { a: 1 }, uniqueTags: ['v1'] }))).toBe('invalid-argument');
    expect(await m.versions()).toEqual([]);
    expect(await h.pendingMutations()).toBe(before);
  });

  it('updates fields, marks a version failed, and deletes with tombstones', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn', owner: 'ana' });
    const u = await m.update({ owner: null, task: 'vision', metadata: { k: [1] } });
    expect(u).toMatchObject({ owner: null, task: 'vision' });
    const v = await m.newVersion({ name: 'x' });
    expect((await v.update({ status: 'failed', description: 'oom' })).status).toBe('failed');
    await v.delete();
    expect(await codeOf(m.version(1))).toBe('version-not-found');
    expect((await m.newVersion()).number).toBe(2);
    await m.logMetrics({ auc: 1 });
    await m.delete();
    expect(await codeOf(h.model('team', 'churn'))).toBe('model-not-found');
    expect((await h.db.models.toArray())[0]?.deletedAt).toBeTypeOf('number');
    const again = await h.newModel({ namespace: 'team', name: 'churn' });
    expect({ metadata: await again.metadata(), metrics: await again.metrics(), versions: await again.versions() }).toEqual({ metadata: {}, metrics: {}, versions: [] });
  });
});

describe('every write appends its outbox mutation in the same transaction', () => {
  it('records mutations in order with increasing clocks', async () => {
    const h = await registry();
    await markSynced(h.db);
    const m = await h.newModel({ namespace: 'team', name: 'churn', metadata: { a: 1 } });
    const v = await m.newVersion({ uniqueTags: ['staging'] });
    await v.updateMetadata('params', { epochs: 3 });
    await v.logMetrics({ loss: 0.5 }, { step: 1 });
    const outbox = await h.db.outbox.toArray();
    expect(outbox.map((o) => o.name)).toEqual(['model.create', 'metadata.set', 'version.create', 'alias.set', 'metadata.set', 'metrics.log']);
    const seqs = outbox.map((o) => o.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const clocks = outbox.map((o) => o.hlc);
    expect(clocks.every((c, i) => i === 0 || c >= clocks[i - 1]!)).toBe(true);
  });
});

describe('metrics', () => {
  it('batches points, summarises and downsamples them', async () => {
    const h = await registry();
    await markSynced(h.db);
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    for (let step = 0; step < 1000; step++) void v.logMetrics({ loss: 1 / (step + 1), acc: step / 1000 }, { step });
    await h.flush();
    const summary = await v.metrics();
    expect(summary.loss).toMatchObject({ count: 1000, last: 1 / 1000, max: 1, lastStep: 999 });
    expect(summary.acc?.min).toBe(0);
    const history = await v.metricHistory('loss');
    expect(history.map((p) => p.step)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const small = await v.metricHistory('loss', { maxPoints: 10 });
    // Steps 0–999 in buckets of 128 steps, the least power of two that leaves at most 10: 8 of them.
    expect(small).toHaveLength(8);
    expect(small[0]).toMatchObject({ max: 1 });
    // Few transactions: 2000 points make outbox entries of at most 1000 points each.
    const entries = (await h.db.outbox.toArray()).filter((o) => o.name === 'metrics.log');
    expect(entries.length).toBe(2);
  });

  it('answers a step range, downsampled by buckets over that range only, and refuses a bad range', async () => {
    const h = await registry();
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    for (let step = 0; step < 5000; step++) void v.logMetrics({ loss: step % 10 }, { step });
    await h.flush();
    const range = await v.metricHistory('loss', { from: 1000, to: 1999 });
    expect(range.map((p) => p.step)).toEqual(Array.from({ length: 1000 }, (_, i) => 1000 + i));
    const buckets = await v.metricHistory('loss', { from: 1000, to: 1999, maxPoints: 10 });
    // Buckets of 128 steps at multiples of 128 (the first, 896–1023, cut by the range to 1000–1023),
    // the last point's value with the min and max: as the server answers.
    expect(buckets).toHaveLength(9);
    expect(buckets[0]).toEqual({ step: 1023, wallclock: expect.any(Number), value: 3, min: 0, max: 9 });
    expect(buckets[1]).toMatchObject({ step: 1151, value: 1, min: 0, max: 9 });
    expect(buckets.at(-1)!.step).toBe(1999);
    expect(await v.metricHistory('loss', { from: 6000 })).toEqual([]);
    expect(await codeOf(v.metricHistory('loss', { from: 10, to: 5 }))).toBe('invalid-argument');
    expect(await codeOf(v.metricHistory('loss', { maxPoints: 1 }))).toBe('invalid-argument');
    expect(await codeOf(v.metricHistory('loss', { maxPoints: 1e9 }))).toBe('invalid-argument');
  });

  it('gives a live metric history that follows new points', async () => {
    const h = await registry();
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    await v.logMetrics({ loss: 1 }, { step: 1 });
    await h.flush();
    const seen: number[][] = [];
    const sub = h.live(() => v.metricHistory('loss')).subscribe({ next: (points) => seen.push(points.map((p) => p.step)) });
    try {
      await expect.poll(() => seen.at(-1)).toEqual([1]);
      await v.logMetrics({ loss: 0.5 }, { step: 2 });
      await h.flush();
      await expect.poll(() => seen.at(-1)).toEqual([1, 2]);
    } finally {
      sub.unsubscribe();
    }
  });

  it('rejects bad values before queueing anything', async () => {
    const h = await registry();
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    expect(await codeOf(v.logMetrics({ loss: Number.NaN }))).toBe('invalid-argument');
    expect(await codeOf(v.logMetrics({ loss: Infinity }))).toBe('invalid-argument');
    expect(await codeOf(v.logMetrics({ ['k'.repeat(251)]: 1 }))).toBe('invalid-argument');
    expect(await codeOf(v.logMetrics({ loss: 1 }, { step: -1 }))).toBe('invalid-argument');
    await h.flush();
    expect(await v.metrics()).toEqual({});
  });

  it('logs on the model as well as on versions', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    await m.logMetrics({ auc: 0.8 });
    expect((await m.metrics()).auc?.last).toBe(0.8);
  });
});

describe('aliases and find', () => {
  it('moves aliases with compare-and-set and keeps their history', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const [v1, v2, v3] = [await m.newVersion(), await m.newVersion(), await m.newVersion()];
    await m.setAlias('production', v1!);
    await m.setAlias('production', 2, { expected: v1 });
    expect(await codeOf(m.setAlias('production', v3!, { expected: 1 }))).toBe('alias-precondition-failed');
    expect(await codeOf(m.setAlias('champion', v3!, { expected: 2 }))).toBe('alias-precondition-failed');
    await m.setAlias('champion', v3!, { expected: null });
    expect(await m.aliases()).toEqual({ champion: 3, production: 2 });
    expect((await h.find('team/churn@production')).id).toBe(v2!.id);
    expect((await h.find('hangar://team/churn/1')).id).toBe(v1!.id);
    await m.deleteAlias('production');
    expect((await m.aliasHistory('production')).map((e) => [e.previousVersion, e.version])).toEqual([
      [null, 1],
      [1, 2],
      [2, null],
    ]);
    expect(await codeOf(h.find('team/churn@production'))).toBe('alias-not-found');
    expect(await codeOf(m.setAlias('v2', v1!))).toBe('invalid-argument');
  });

  it('finds the latest ready version for a bare model reference', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    await m.newVersion();
    const v2 = await m.newVersion();
    await (await m.newVersion()).update({ status: 'failed' });
    expect((await h.find('team/churn')).id).toBe(v2.id);
    expect(await codeOf(h.find('not a ref'))).toBe('invalid-argument');
    expect(await codeOf(h.find('team/nope'))).toBe('model-not-found');
  });
});

describe('listing with the shared filter language', () => {
  it('filters by fields, tags and metrics and orders', async () => {
    const h = await registry();
    for (const [i, task] of ['tabular', 'vision', 'tabular'].entries()) {
      const m = await h.newModel({ namespace: 'team', name: `m${i}`, task, metadata: { team: i === 2 ? 'growth' : 'core' } });
      await m.logMetrics({ accuracy: 0.8 + i * 0.06 });
    }
    const names = async (filter: string, orderBy?: string) => (await h.models({ filter, ...(orderBy ? { orderBy } : {}) })).map((m) => m.name);
    expect(await names("task = 'tabular'")).toEqual(['m0', 'm2']);
    expect(await names("task = 'tabular' AND tags.team = 'growth' AND metrics.accuracy > 0.9")).toEqual(['m2']);
    expect(await names("name LIKE 'm%'", 'name DESC')).toEqual(['m2', 'm1', 'm0']);
    expect(await codeOf(h.models({ filter: "task = 'x" }))).toBe('invalid-filter');
  });
});

describe('writes respect what other writes did', () => {
  it('refuses writes on a deleted version, queued points included, and keeps the outbox in call order', async () => {
    const h = await registry();
    await markSynced(h.db);
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    const v = await m.newVersion();
    const early = v.logMetrics({ loss: 1 });
    await v.delete();
    // Logged before the delete, so stored before it.
    await expect(early).resolves.toBeUndefined();
    expect(await codeOf(v.updateMetadata('k', 1))).toBe('version-not-found');
    expect(await codeOf(v.logMetrics({ loss: 2 }))).toBe('version-not-found');
    expect(await codeOf(v.uploadArtifacts([{ file: new Blob(['x']), path: 'x.txt' }]))).toBe('version-not-found');
    expect(await codeOf(v.trackArtifacts([{ path: 'y', url: 'https://example.com/y' }]))).toBe('version-not-found');
    expect((await h.db.outbox.toArray()).slice(-2).map((o) => o.name)).toEqual(['metrics.log', 'version.delete']);
  });

  it('writes points logged before another write ahead of it in the outbox', async () => {
    const h = await registry();
    await markSynced(h.db);
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    void v.logMetrics({ loss: 1 });
    await v.updateMetadata('k', 1);
    expect((await h.db.outbox.toArray()).slice(-2).map((o) => o.name)).toEqual(['metrics.log', 'metadata.set']);
  });

  it('points an alias at the version a handle names, never at another model', async () => {
    const h = await registry();
    const a = await h.newModel({ namespace: 'team', name: 'a' });
    const b = await h.newModel({ namespace: 'team', name: 'b' });
    await a.newVersion();
    const bv = await b.newVersion();
    expect(await codeOf(a.setAlias('production', bv))).toBe('invalid-argument');
    expect(await a.aliases()).toEqual({});
  });

  it('lets an edit win over a field written with a later clock by another tab or device', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    // As if a device a minute ahead (within the allowed drift) had written the description.
    const ahead = `${String(Date.now() + 60_000).padStart(15, '0')}-000000-other`;
    await h.db.models.update(m.id, { description: 'from the future', clocks: { description: ahead } });
    await h.db.metadata.put({ parentId: m.id, key: 'k', namespace: 'team', value: 'future', hlc: ahead });
    expect((await m.update({ description: 'mine' })).description).toBe('mine');
    await m.updateMetadata('k', 'mine');
    expect(await m.metadata()).toEqual({ k: 'mine' });
    const clocks = (await h.db.outbox.toArray()).slice(-2).map((o) => o.hlc);
    expect(clocks.every((c) => c > ahead)).toBe(true);
  });

  it('gives tabs that open at once one client id', async () => {
    const [a, b] = await Promise.all([registry('same-id'), registry('same-id')]);
    expect(a!.clientId).toBe(b!.clientId);
  });

  it('recovers from a failed batch: the next flush succeeds', async () => {
    const h = await registry();
    const v = await (await h.newModel({ namespace: 'team', name: 'm' })).newVersion();
    const failed = v.logMetrics({ loss: 1 });
    // Deleted by another tab before the points are written.
    await h.db.versions.update(v.id, { deletedAt: Date.now() });
    expect(await codeOf(failed)).toBe('version-not-found');
    await expect(h.flush()).resolves.toBeUndefined();
  });
});
