import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { BUCKET_CASES, caseRange, referenceBuckets } from '../../shared/downsample.cases.ts';
import { HangarDb } from './db.ts';
import { BLOCK_CELLS, buildCells, flattenCells, seriesCells } from './metric-cells.ts';
import {
  allPoints,
  columnPoints,
  deleteParentMetrics,
  deletePoints,
  insertPoints,
  metricSummary,
  metricTables,
  packColumn,
  packSegmentColumns,
  parentPoints,
  SEGMENT_POINTS,
  seriesBuckets,
  seriesColumns,
  storeFetchedHistory,
  summariesLackingHistory,
  type StoredPoint,
  unpackColumn,
} from './metric-store.ts';

let n = 0;
const freshDb = () => new HangarDb(`metric-store-${n++}`);
type P = StoredPoint & { key: string };
const order = (a: P, b: P) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : 1);

/** The reference: every point kept in a plain list. */
function reference(points: P[], key: string, from = 0, to = Number.MAX_SAFE_INTEGER) {
  return points.filter((p) => p.key === key && p.step >= from && p.step <= to).sort(order);
}

function rng(seed: number) {
  return () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
}

describe('metric segments against a plain list of points', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random batches (seed ${seed}): in order, out of order, at repeated steps, pulled twice; then ranges, summaries, deletes`, async () => {
      const db = freshDb();
      const random = rng(seed);
      const held: P[] = [];
      let id = 0;
      let step = 0;
      for (let batch = 0; batch < 40; batch++) {
        const size = Math.floor(random() * (batch % 7 === 0 ? 1500 : 80)) + 1;
        const points: P[] = [];
        for (let i = 0; i < size; i++) {
          const kind = random();
          // Mostly forward; sometimes back in the past, sometimes many at one step.
          const s = kind < 0.1 ? Math.floor(random() * (step + 1)) : kind < 0.2 ? step : (step += Math.floor(random() * 3));
          points.push({ id: `p${String(id++).padStart(7, '0')}`, key: random() < 0.8 ? 'loss' : 'acc', value: random() * 100 - 50, step: s, wallclock: 1000 + Math.floor(random() * 50) });
        }
        // A pulled page may hold points stored already (this device's own, coming back).
        const again = held.length && random() < 0.3 ? held.slice(-Math.floor(random() * 20) - 1) : [];
        const dedupe = again.length > 0 || random() < 0.3;
        const stored = await db.transaction("rw", metricTables(db), async () => insertPoints(db, "v", [...points, ...again], { dedupe })).catch((e) => { console.log("BATCH", batch, dedupe, again.length, e.stack); throw e; });
        expect(stored.length).toBe(points.length);
        held.push(...points);
      }
      for (const key of ['loss', 'acc']) {
        const want = reference(held, key);
        const cols = await seriesColumns(db, 'v', key);
        expect(columnPoints(cols).map((p) => [p.step, p.value, p.wallclock])).toEqual(want.map((p) => [p.step, p.value, p.wallclock]));
        const from = want[Math.floor(want.length / 3)]!.step;
        const to = want[Math.floor((want.length * 2) / 3)]!.step;
        const ranged = columnPoints(await seriesColumns(db, 'v', key, from, to));
        expect(ranged.map((p) => [p.step, p.value])).toEqual(reference(held, key, from, to).map((p) => [p.step, p.value]));
        // Downsampled: the reference buckets (shared with the server's tests), whole and ranged.
        for (const max of [2, 7, 100, 5000]) {
          expect(await seriesBuckets(db, 'v', key, max)).toEqual(referenceBuckets(want, want[0]!.step, want.at(-1)!.step, max));
          expect(await seriesBuckets(db, 'v', key, max, { from, to })).toEqual(referenceBuckets(want, from, to, max));
          expect(await seriesBuckets(db, 'v', key, max, { from })).toEqual(referenceBuckets(want, from, want.at(-1)!.step, max));
          expect(await seriesBuckets(db, 'v', key, max, { to })).toEqual(referenceBuckets(want, want[0]!.step, to, max));
        }
        // The cells kept point by point are the cells made from the whole series at once.
        expect(flattenCells(await seriesCells(db, 'v', key).toArray())).toEqual(flattenCells(buildCells('v', key, want)));
        const summary = (await metricSummary(db, 'v'))[key]!;
        const values = want.map((p) => p.value);
        expect(summary).toEqual({ count: want.length, min: Math.min(...values), max: Math.max(...values), last: want.at(-1)!.value, lastStep: want.at(-1)!.step });
      }
      // No segment over the size, and all points of the parent in key then step order.
      for (const s of await db.metricSegments.toArray()) expect(s.count).toBeLessThanOrEqual(SEGMENT_POINTS);
      // No cell record over the size, each keyed by its first cell.
      for (const r of await db.metricCells.toArray()) {
        expect(r.cell.length).toBeGreaterThan(0);
        expect(r.cell.length).toBeLessThanOrEqual(BLOCK_CELLS);
        expect(r.first).toBe(r.cell[0]);
      }
      expect((await parentPoints(db, 'v')).length).toBe(held.length);

      // Refused points undone: they go, the summary follows.
      const gone = held.filter((_, i) => i % 5 === 0);
      await db.transaction('rw', metricTables(db), async () => deletePoints(db, 'v', gone));
      const left = held.filter((_, i) => i % 5 !== 0);
      expect((await allPoints(db)).map((p) => p.id).sort()).toEqual(left.map((p) => p.id).sort());
      const loss = reference(left, 'loss');
      expect((await metricSummary(db, 'v')).loss).toMatchObject({ count: loss.length, last: loss.at(-1)!.value, min: Math.min(...loss.map((p) => p.value)) });
      expect(flattenCells(await seriesCells(db, 'v', 'loss').toArray())).toEqual(flattenCells(buildCells('v', 'loss', loss)));
      for (const max of [2, 7, 100]) expect(await seriesBuckets(db, 'v', 'loss', max)).toEqual(referenceBuckets(loss, loss[0]!.step, loss.at(-1)!.step, max));

      await db.transaction('rw', metricTables(db), async () => deleteParentMetrics(db, 'v'));
      expect(await db.metricSegments.count()).toBe(0);
      expect(await db.metricCells.count()).toBe(0);
      expect(await metricSummary(db, 'v')).toEqual({});
      db.close();
    });
  }

  it('appends in order without reading more than the last segment, and fills segments to the size', async () => {
    const db = freshDb();
    const total = SEGMENT_POINTS * 3 + 5;
    for (let at = 0; at < total; at += 100) {
      const points = Array.from({ length: Math.min(100, total - at) }, (_, i) => ({ id: `a${String(at + i).padStart(6, '0')}`, key: 'loss', value: at + i, step: at + i, wallclock: 1 }));
      await db.transaction('rw', metricTables(db), async () => insertPoints(db, 'v', points));
    }
    const counts = (await db.metricSegments.where('[parentId+key+minStep]').between(['v', 'loss'], ['v', 'loss', []]).toArray()).map((s) => s.count);
    expect(counts).toEqual([SEGMENT_POINTS, SEGMENT_POINTS, SEGMENT_POINTS, 5]);
    expect((await metricSummary(db, 'v')).loss).toEqual({ count: total, min: 0, max: total - 1, last: total - 1, lastStep: total - 1 });
    db.close();
  });
});

describe('metric cells', () => {
  it('keep a sparse series (a cell per point) in as few records as a dense one, and answer its buckets', async () => {
    const db = freshDb();
    const points = Array.from({ length: 5000 }, (_, i) => ({ id: `s${String(i).padStart(5, '0')}`, key: 'loss', value: Math.sin(i), step: i * 2 ** 20 + (i % 7), wallclock: 1 }));
    for (let at = 0; at < points.length; at += 700) await db.transaction('rw', metricTables(db), async () => insertPoints(db, 'v', points.slice(at, at + 700)));
    const perLevel = new Map<number, number>();
    for (const r of await db.metricCells.toArray()) perLevel.set(r.level, (perLevel.get(r.level) ?? 0) + 1);
    // 5,000 cells at the fine levels: 5 records of up to 1,024 each, not one per point.
    for (const records of perLevel.values()) expect(records).toBeLessThanOrEqual(Math.ceil(5000 / BLOCK_CELLS));
    expect(flattenCells(await seriesCells(db, 'v', 'loss').toArray())).toEqual(flattenCells(buildCells('v', 'loss', points)));
    for (const max of [2, 50, 3000]) {
      expect(await seriesBuckets(db, 'v', 'loss', max)).toEqual(referenceBuckets(points, 0, points.at(-1)!.step, max));
      expect(await seriesBuckets(db, 'v', 'loss', max, { from: 12345, to: 3000 * 2 ** 20 })).toEqual(referenceBuckets(points, 12345, 3000 * 2 ** 20, max));
    }
    db.close();
  });
});

describe('downsampled history: the shared bucket cases (shared/downsample.cases.ts)', () => {
  for (const c of BUCKET_CASES) {
    it(c.name, async () => {
      const db = freshDb();
      await db.transaction('rw', metricTables(db), async () => insertPoints(db, 'v', c.points.map((p) => ({ ...p, key: 'loss' }))));
      const { from, to } = caseRange(c);
      const range = { ...(c.from !== undefined ? { from } : {}), ...(c.to !== undefined ? { to } : {}) };
      expect(await seriesBuckets(db, 'v', 'loss', c.maxPoints, range)).toEqual(c.buckets);
      db.close();
    });
  }
});

describe('packed columns', () => {
  const cases: [string, number[], string][] = [
    ['steps one by one', [5, 6, 7, 8], 'progression'],
    ['one step', [42], 'progression'],
    ['a step repeated', [3, 3, 3], 'progression'],
    ['wallclocks a few ms apart', [1_700_000_000_000, 1_700_000_000_003, 1_700_000_000_010, 1_700_000_000_009], 'Int8Array'],
    ['wallclocks seconds apart', [1_700_000_000_000, 1_700_000_005_000, 1_700_000_012_000], 'Int16Array'],
    ['wallclocks minutes apart', [1_700_000_000_000, 1_700_000_600_000, 1_700_000_000_000], 'Int32Array'],
    ['integers too far apart for 32 bits', [0, 2 ** 40 + 1, 2 ** 41 + 3], 'Float64Array'],
    ['the largest safe integers', [Number.MAX_SAFE_INTEGER - 3, Number.MAX_SAFE_INTEGER], 'progression'],
    ['float32 values', [0.5, 0.25, Math.fround(0.1), -3], 'Float32Array'],
    ['float64 values', [0.1, 0.2, 1e-300], 'Float64Array'],
    ['negative zero kept', [0, -0, 0], 'Float32Array'],
    ['extremes', [1.7976931348623157e308, -1.7976931348623157e308, 5e-324], 'Float64Array'],
  ];
  const form = (c: ReturnType<typeof packColumn>) => ('stride' in c ? 'progression' : 'deltas' in c ? c.deltas.constructor.name : c.constructor.name);
  for (const [name, values, kind] of cases) {
    it(`${name}: packed as ${kind}, every value given back exactly`, () => {
      const packed = packColumn(values);
      expect(form(packed)).toBe(kind);
      const back = Array.from(unpackColumn(packed, values.length));
      expect(back).toHaveLength(values.length);
      back.forEach((v, i) => expect(Object.is(v, values[i])).toBe(true));
    });
  }

  it('stores steps and wallclocks of points logged one by one in a few bytes, and packing again changes nothing', async () => {
    const db = freshDb();
    const points = Array.from({ length: SEGMENT_POINTS }, (_, i) => ({ id: `p${String(i).padStart(5, '0')}`, key: 'loss', value: Math.fround(1 / (i + 1)), step: i, wallclock: 1_700_000_000_000 + i * 250 }));
    await db.transaction('rw', metricTables(db), async () => insertPoints(db, 'v', points));
    const [segment] = await db.metricSegments.toArray();
    expect(segment!.steps).toEqual({ first: 0, stride: 1 });
    expect(segment!.wallclocks).toEqual({ first: 1_700_000_000_000, stride: 250 });
    expect(segment!.values).toBeInstanceOf(Float32Array);
    expect(packSegmentColumns(segment!)).toEqual({ steps: segment!.steps, values: segment!.values, wallclocks: segment!.wallclocks });
    expect((await parentPoints(db, 'v')).map((p) => [p.id, p.step, p.value, p.wallclock])).toEqual(points.map((p) => [p.id, p.step, p.value, p.wallclock]));
    db.close();
  });
});

describe('a key known from a snapshot (its history not here)', () => {
  const server = { parentId: 'v', key: 'loss', count: 100, min: 0.5, max: 9, last: 0.5, lastStep: 99, lastWallclock: 1000, lastId: 's099', asOf: 10 };
  const point = (i: number, value = 1): P => ({ id: `s${String(i).padStart(3, '0')}`, key: 'loss', value, step: i, wallclock: 1000 + Math.max(0, i - 99) });

  it('pulled points the summary counts are stored but not added; later and local ones are added once; the fetched history makes it exact', async () => {
    const db = freshDb();
    await db.metricSummaries.put({ ...server });
    await db.transaction('rw', metricTables(db), async () => {
      // Seq 9 is at or before asOf: counted already. Seq 11, then the same point again at 12.
      await insertPoints(db, 'v', [point(98, 2)], { dedupe: true, seq: 9 });
      await insertPoints(db, 'v', [point(100, 0.25)], { dedupe: true, seq: 11 });
      await insertPoints(db, 'v', [point(100, 0.25)], { dedupe: true, seq: 12 });
      // Logged here.
      await insertPoints(db, 'v', [{ id: 'local1', key: 'loss', value: 20, step: 101, wallclock: 2000 }]);
    });
    expect(await metricSummary(db, 'v')).toEqual({ loss: { count: 102, min: 0.25, max: 20, last: 20, lastStep: 101 } });
    expect(await summariesLackingHistory(db)).toHaveLength(1);

    // The history arrives: the server has 0..100 and one point more (101 by another device, not pulled yet).
    const fetched = [...Array.from({ length: 101 }, (_, i) => point(i, i === 98 ? 2 : i === 100 ? 0.25 : 0.5 + i / 100)), { id: 'other', key: 'loss', value: 3, step: 102, wallclock: 3000 }];
    await db.transaction('rw', metricTables(db), async () => {
      await storeFetchedHistory(db, 'v', 'loss', fetched);
    });
    const all = await parentPoints(db, 'v');
    expect(all).toHaveLength(103);
    expect(new Set(all.map((p) => p.id)).size).toBe(103);
    expect(await summariesLackingHistory(db)).toEqual([]);
    expect((await metricSummary(db, 'v')).loss).toEqual({ count: 103, min: 0.25, max: 20, last: 3, lastStep: 102 });
    // Pulled later, that point is here already: nothing changes.
    await db.transaction('rw', metricTables(db), async () => {
      await insertPoints(db, 'v', [{ id: 'other', key: 'loss', value: 3, step: 102, wallclock: 3000 }], { dedupe: true, seq: 13 });
    });
    expect((await metricSummary(db, 'v')).loss!.count).toBe(103);
    db.close();
  });

  it('undoing a refused local write keeps the server summary, less the points removed', async () => {
    const db = freshDb();
    await db.metricSummaries.put({ ...server });
    const logged = [0, 1, 2].map((i): P => ({ id: `l${i}`, key: 'loss', value: 1, step: 200 + i, wallclock: 5000 }));
    await db.transaction('rw', metricTables(db), async () => {
      await insertPoints(db, 'v', logged);
    });
    expect((await metricSummary(db, 'v')).loss!.count).toBe(103);
    await db.transaction('rw', metricTables(db), async () => {
      await deletePoints(db, 'v', logged.slice(0, 2));
    });
    expect(await parentPoints(db, 'v')).toHaveLength(1);
    const row = (await db.metricSummaries.get(['v', 'loss']))!;
    expect(row).toMatchObject({ count: 101, min: 0.5, max: 9, asOf: 10 });
    db.close();
  });
});
