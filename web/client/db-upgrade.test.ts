import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { describe, expect, it } from 'vitest';
import { HangarDb } from './db.ts';
import { referenceBuckets } from '../../shared/downsample.cases.ts';
import { buildCells, flattenCells, seriesCells } from './metric-cells.ts';
import { allPoints, buildSeries, metricSummary, parentPoints, SEGMENT_POINTS, seriesBuckets, seriesColumns } from './metric-store.ts';

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

// Each later version's changes as it shipped: `oldSchema(name, n)` declares versions 1…n.
const LATER: Record<string, string | null>[] = [
  { jobs: 'id, status, submitted' },
  { conflicts: 'id, resolved', uploads: '[namespace+sha256]', outbox: '++seq, namespace' },
  { metrics: null, metricSegments: 'id, [parentId+key+minStep]', metricSummaries: '[parentId+key], parentId', metricIds: 'id' },
  { params: '[parentId+key], parentId' },
  {},
  { metricCells: '[parentId+key+level+first]' },
];

/** A database declared at version `verno` as it shipped, with raw Dexie. */
function oldSchema(name: string, verno: number): Dexie {
  const db = new Dexie(name);
  db.version(1).stores(V1);
  LATER.slice(0, verno - 1).forEach((stores, i) => db.version(i + 2).stores(stores));
  return db;
}

describe('HangarDb upgrade', () => {
  it('opens a version 1 database as the current version: every row kept, jobs and sync tables added', async () => {
    const old = oldSchema('upgrade-v1', 1);
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
    expect(db.verno).toBe(8);
    expect(await db.models.get('m1')).toMatchObject({ name: 'churn', task: 'tabular' });
    expect(await db.versions.where('[modelId+number]').equals(['m1', 1]).count()).toBe(1);
    expect((await parentPoints(db, 'v1')).map((p) => [p.id, p.step, p.value])).toEqual([1, 2, 3].map((step) => [`p${step}`, step, 1 / step]));
    expect(await (await db.blobChunks.get(['c1', 0]))?.data.text()).toBe('bytes');
    expect(await db.outbox.count()).toBe(1);
    // Version 3 indexes the outbox by namespace, rows written before included.
    expect(await db.outbox.where('namespace').equals('team').count()).toBe(1);
    expect(await db.conflicts.count()).toBe(0);
    expect(await db.uploads.count()).toBe(0);
    // Version 4: a summary per key made from its points, none marked as lacking its history
    // (a registry from before has it all); a snapshot's summary for another key sits beside it.
    expect(await db.metricSummaries.toArray()).toEqual([{ parentId: 'v1', key: 'loss', count: 3, min: 1 / 3, max: 1, last: 1 / 3, lastStep: 3, lastWallclock: now, lastId: 'p3' }]);
    await db.metricSummaries.put({ parentId: 'v1', key: 'acc', count: 7, min: 0, max: 1, last: 1, lastStep: 6, lastWallclock: now, lastId: 'x', asOf: 3 });
    expect(await db.metricSummaries.where('parentId').equals('v1').count()).toBe(2);
    expect((await db.state.get('clientId'))?.value).toBe('abc');
    expect(await db.jobs.count()).toBe(0);
    await db.jobs.add({
      ...{ id: 'local:1', type: 'train', module: 'm', status: 'running', progress: null, submitted: now, started: null, completed: null, error: null },
      ...{ request: { ref: 'team/churn' }, versionId: null, lastCheckpoint: null, backend: null },
    });
    expect(await db.jobs.where('status').equals('running').count()).toBe(1);
    db.close();
  });

  it('carries every metric row of a version 3 database over to segments and summaries, point for point', async () => {
    const old = oldSchema('upgrade-v3-metrics', 3);
    await old.open();
    // Random series: several parents and keys, steps out of order and repeated, one long series
    // over several segments, and a point with a negative value.
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const rows: { id: string; parentId: string; key: string; value: number; step: number; wallclock: number }[] = [];
    let id = 0;
    const add = (parentId: string, key: string, n: number, maxStep: number) => {
      for (let i = 0; i < n; i++) rows.push({ id: `id-${String(id++).padStart(6, '0')}`, parentId, key, value: random() * 10 - 3, step: Math.floor(random() * maxStep), wallclock: 1_700_000_000_000 + Math.floor(random() * 1000) });
    };
    add('va', 'loss', SEGMENT_POINTS * 2 + 17, 5000);
    add('va', 'acc', 40, 10);
    add('vb', 'loss', 5, 3);
    add('m', 'best', 1, 1);
    for (let i = 0; i < rows.length; i += 500) await old.table('metrics').bulkAdd(rows.slice(i, i + 500));
    old.close();

    const db = new HangarDb('upgrade-v3-metrics');
    await db.open();
    expect(db.verno).toBe(8);
    expect(db.tables.map((t) => t.name)).not.toContain('metrics');
    const order = (a: (typeof rows)[number], b: (typeof rows)[number]) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : 1);
    const key = (r: (typeof rows)[number]) => `${r.parentId}/${r.key}`;
    const expected = [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : order(a, b)));
    const got = await allPoints(db);
    expect([...got].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : order(a, b)))).toEqual(expected);
    // Each series in order as stored, and summaries as computed from the rows.
    for (const parentId of ['va', 'vb', 'm']) {
      const points = await parentPoints(db, parentId);
      const summary = await metricSummary(db, parentId);
      const keys = [...new Set(rows.filter((r) => r.parentId === parentId).map((r) => r.key))].sort();
      expect(Object.keys(summary)).toEqual(keys);
      for (const k of keys) {
        const series = rows.filter((r) => r.parentId === parentId && r.key === k).sort(order);
        expect(points.filter((p) => p.key === k).map((p) => p.id)).toEqual(series.map((r) => r.id));
        const values = series.map((r) => r.value);
        expect(summary[k]).toEqual({ count: series.length, min: Math.min(...values), max: Math.max(...values), last: series.at(-1)!.value, lastStep: series.at(-1)!.step });
      }
    }
    expect(await db.metricSegments.where('[parentId+key+minStep]').between(['va', 'loss'], ['va', 'loss', []]).count()).toBe(3);
    db.close();
  });
});

describe('HangarDb upgrade to version 5', () => {
  it('opens a version 3 database: every row kept, models given kind "model", an empty params table', async () => {
    const old = oldSchema('upgrade-v3', 3);
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
    expect(db.verno).toBe(8);
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

describe('HangarDb upgrade to version 6', () => {
  it('packs the columns of every metric segment of a version 5 database, point for point', async () => {
    const old = oldSchema('upgrade-v5', 5);
    await old.open();
    // Segments as versions 4 and 5 wrote them: every column a Float64Array. Series of several
    // kinds: steps one by one with wallclocks ms apart, repeated and jumping steps with float64
    // values, float32 values, a key on two segments that share a step.
    type Row = { id: string; step: number; value: number; wallclock: number };
    const series: Record<string, Row[]> = {};
    let seed = 11;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const make = (name: string, n: number, step: (i: number) => number, value: (i: number) => number, wallclock: (i: number) => number) => {
      series[name] = Array.from({ length: n }, (_, i) => ({ id: `${name}-${String(i).padStart(5, '0')}`, step: step(i), value: value(i), wallclock: wallclock(i) }));
    };
    make('va/loss', SEGMENT_POINTS * 2 + 9, (i) => i, () => random() * 4 - 1, (i) => 1_700_000_000_000 + i * 3 + Math.floor(random() * 3));
    make('va/acc', 300, (i) => i * 7 + (i % 3 ? 0 : 2_000_000), (i) => Math.fround(i / 300), () => 1_700_000_000_000 + Math.floor(random() * 10_000_000));
    make('vb/loss', 50, (i) => Math.floor(i / 10), (i) => (i % 2 ? -0 : 1e-300), (i) => 1_700_000_000_000 + i);
    for (const rows of Object.values(series)) rows.sort((a, b) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : 1));
    let segment = 0;
    for (const [name, rows] of Object.entries(series)) {
      const [parentId, key] = name.split('/') as [string, string];
      for (let i = 0; i < rows.length; i += SEGMENT_POINTS) {
        const chunk = rows.slice(i, i + SEGMENT_POINTS);
        const id = `seg-${segment++}`;
        const values = chunk.map((r) => r.value);
        await old.table('metricSegments').add({
          ...{ id, parentId, key, minStep: chunk[0]!.step, maxStep: chunk.at(-1)!.step, count: chunk.length, min: Math.min(...values), max: Math.max(...values) },
          ...{ steps: Float64Array.from(chunk, (r) => r.step), values: Float64Array.from(values), wallclocks: Float64Array.from(chunk, (r) => r.wallclock) },
        });
        await old.table('metricIds').add({ id, ids: chunk.map((r) => r.id).join(',') });
      }
      const last = rows.at(-1)!;
      const values = rows.map((r) => r.value);
      await old.table('metricSummaries').add({ parentId, key, count: rows.length, min: Math.min(...values), max: Math.max(...values), last: last.value, lastStep: last.step, lastWallclock: last.wallclock, lastId: last.id });
    }
    const summariesBefore = await old.table('metricSummaries').toArray();
    expect(old.verno).toBe(5);
    old.close();

    const db = new HangarDb('upgrade-v5');
    await db.open();
    expect(db.verno).toBe(8);
    expect(await db.metricSegments.count()).toBe(segment);
    expect(await db.metricSummaries.toArray()).toEqual(summariesBefore);
    const forms = new Set<string>();
    for (const s of await db.metricSegments.toArray()) {
      for (const c of [s.steps, s.values, s.wallclocks]) forms.add('stride' in c ? 'progression' : 'deltas' in c ? c.deltas.constructor.name : c.constructor.name);
    }
    // Steps one by one, wallclocks ms apart, float32 and float64 values: each in its own form.
    expect([...forms].sort()).toEqual(['Float32Array', 'Float64Array', 'Int32Array', 'Int8Array', 'progression']);
    for (const [name, rows] of Object.entries(series)) {
      const [parentId, key] = name.split('/') as [string, string];
      const points = (await parentPoints(db, parentId)).filter((p) => p.key === key);
      expect(points).toHaveLength(rows.length);
      points.forEach((p, i) => {
        const r = rows[i]!;
        expect([p.id, p.step, p.wallclock]).toEqual([r.id, r.step, r.wallclock]);
        expect(Object.is(p.value, r.value)).toBe(true);
      });
      expect((await seriesColumns(db, parentId, key)).length).toBe(rows.length);
      expect(await seriesBuckets(db, parentId, key, 37)).toEqual(referenceBuckets(rows, rows[0]!.step, rows.at(-1)!.step, 37));
    }
    db.close();
  });
});

describe('HangarDb upgrade to version 7', () => {
  it('makes the per-level cells of every series of a version 6 database from its points, and answers buckets from them', async () => {
    const old = oldSchema('upgrade-v6', 6);
    await old.open();
    // Series as version 6 stores them (packed segments): a long one step by step, one with
    // sparse far steps, one with many points at each step and ties on (step, wallclock).
    type Row = { id: string; step: number; value: number; wallclock: number };
    let seed = 5;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const series: Record<string, Row[]> = {
      'va/loss': Array.from({ length: SEGMENT_POINTS * 5 + 3 }, (_, i) => ({ id: `a${String(i).padStart(6, '0')}`, step: i, value: random() * 4 - 1, wallclock: 1000 + i })),
      'va/acc': Array.from({ length: 700 }, (_, i) => ({ id: `b${String(i).padStart(6, '0')}`, step: Math.floor(random() * 2 ** 40), value: random(), wallclock: 5 })),
      'vb/loss': Array.from({ length: 3000 }, (_, i) => ({ id: `c${String(i).padStart(6, '0')}`, step: Math.floor(i / 40) * 3, value: random() * 100, wallclock: Math.floor(random() * 3) })),
    };
    for (const [name, rows] of Object.entries(series)) {
      const [parentId, key] = name.split('/') as [string, string];
      const built = buildSeries(parentId, key, rows);
      await old.table('metricSegments').bulkAdd(built.segments);
      await old.table('metricIds').bulkAdd(built.ids);
      await old.table('metricSummaries').add(built.summary);
    }
    expect(old.verno).toBe(6);
    old.close();

    const db = new HangarDb('upgrade-v6');
    await db.open();
    expect(db.verno).toBe(8);
    const order = (a: Row, b: Row) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : 1);
    for (const [name, rows] of Object.entries(series)) {
      const [parentId, key] = name.split('/') as [string, string];
      const sorted = [...rows].sort(order);
      expect(flattenCells(await seriesCells(db, parentId, key).toArray())).toEqual(flattenCells(buildCells(parentId, key, sorted)));
      const first = sorted[0]!.step;
      const last = sorted.at(-1)!.step;
      for (const max of [2, 10, 100, 2000]) {
        expect(await seriesBuckets(db, parentId, key, max)).toEqual(referenceBuckets(rows, first, last, max));
        const from = first + Math.floor((last - first) / 7);
        const to = last - Math.floor((last - first) / 5);
        expect(await seriesBuckets(db, parentId, key, max, { from, to })).toEqual(referenceBuckets(rows, from, to, max));
      }
    }
    expect((await parentPoints(db, 'va')).length).toBe(SEGMENT_POINTS * 5 + 3 + 700);
    db.close();
  });
});

describe('HangarDb upgrade to version 8', () => {
  it('indexes the versions of a version 7 database by the version they were registered from', async () => {
    const old = oldSchema('upgrade-v7', 7);
    await old.open();
    const now = Date.now();
    const version = (id: string, number: number, sourceVersionId?: string | null) => ({
      id,
      modelId: 'm1',
      namespace: 'team',
      number,
      numberConfirmed: true,
      version: null,
      status: 'ready',
      clocks: {},
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
      ...(sourceVersionId === undefined ? {} : { sourceVersionId }),
    });
    // Versions as version 7 stored them: registered from run r1 (two), from r2, with null, and
    // from before the field existed.
    await old.table('versions').bulkAdd([version('v1', 1, 'r1'), version('v2', 2, 'r2'), version('v3', 3, 'r1'), version('v4', 4, null), version('v5', 5)]);
    expect(old.verno).toBe(7);
    old.close();

    const db = new HangarDb('upgrade-v7');
    await db.open();
    expect(db.verno).toBe(8);
    expect(await db.versions.count()).toBe(5);
    expect((await db.versions.where('sourceVersionId').equals('r1').primaryKeys()).sort()).toEqual(['v1', 'v3']);
    expect(await db.versions.where('sourceVersionId').equals('r2').primaryKeys()).toEqual(['v2']);
    expect(await db.versions.where('sourceVersionId').equals('v4').count()).toBe(0);
    db.close();
  });
});
