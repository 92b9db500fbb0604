import Dexie, { type Table } from 'dexie';
import { StepBucketer, type MetricBucket } from '../../shared/downsample.ts';
import { uuidv7 } from '../../shared/ids.ts';
import type { MetricPoint, MetricSummary } from '../../shared/metrics.ts';
import type { HangarDb, MetricIdsRecord, MetricRecord, MetricSegmentRecord, MetricSummaryRecord, PackedColumn } from './db.ts';
import { addToCells, cellLevelFor, eachCell, parentCells, rebuildCells } from './metric-cells.ts';
import { foldPoint } from './metric-summaries.ts';

/**
 * Metric history in IndexedDB (DESIGN §7): per (parent, key), segments of up to this many points
 * held as packed columns, in step order, and a summary row per key kept current in the same
 * transaction. A segment is rewritten whole when points land in it, so the size weighs the cost
 * of a small write (the last segment of a series) against the number of records a chart reads.
 */
export const SEGMENT_POINTS = 1024;

/** A point as the store keeps it (its parent and key given apart). */
export interface StoredPoint {
  id: string;
  value: number;
  step: number;
  wallclock: number;
}

/** The tables metric history lives in: every transaction that touches points names them all. */
export const metricTables = (db: HangarDb): Table[] => [db.metricSegments, db.metricSummaries, db.metricIds, db.metricCells];

/** Point order: step, then wallclock, then id. */
function before(a: StoredPoint, b: StoredPoint): boolean {
  return a.step !== b.step ? a.step < b.step : a.wallclock !== b.wallclock ? a.wallclock < b.wallclock : a.id < b.id;
}
const compare = (a: StoredPoint, b: StoredPoint) => (before(a, b) ? -1 : before(b, a) ? 1 : 0);

const seriesRange = (db: HangarDb, parentId: string, key: string, lo: unknown = Dexie.minKey, hi: unknown = Dexie.maxKey, loOpen = false, hiOpen = false) =>
  db.metricSegments.where('[parentId+key+minStep]').between([parentId, key, lo], [parentId, key, hi], !loOpen, !hiOpen);

/** Every segment of a parent, all keys: `[id]` sorts before every `[id, key, step]`, `[id, []]` after. */
export const parentSegments = (db: HangarDb, parentId: string) => db.metricSegments.where('[parentId+key+minStep]').between([parentId], [parentId, []]);

const parentSummaries = (db: HangarDb, parentId: string) => db.metricSummaries.where('[parentId+key]').between([parentId, Dexie.minKey], [parentId, Dexie.maxKey]);

/** A column's values, read by index (a stored Float64Array or Float32Array as it is). */
type ColumnValues = ArrayLike<number>;

/**
 * A column in the smallest form that gives back every value exactly (see PackedColumn): an
 * integer progression, integer differences of 8, 16 or 32 bits, float32, else float64.
 */
export function packColumn(values: ArrayLike<number>): PackedColumn {
  const n = values.length;
  let integers = n > 0;
  for (let i = 0; i < n && integers; i++) {
    const v = values[i]!;
    if (!Number.isSafeInteger(v) || Object.is(v, -0)) integers = false;
  }
  if (integers) {
    const first = values[0]!;
    const stride = n > 1 ? values[1]! - first : 0;
    let progression = Number.isSafeInteger(stride);
    for (let i = 2; i < n && progression; i++) if (values[i]! - values[i - 1]! !== stride) progression = false;
    if (progression) return { first, stride };
    let lo = 0;
    let hi = 0;
    for (let i = 1; i < n; i++) {
      const d = values[i]! - values[i - 1]!;
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    const Deltas = lo >= -128 && hi <= 127 ? Int8Array : lo >= -32768 && hi <= 32767 ? Int16Array : lo >= -(2 ** 31) && hi < 2 ** 31 ? Int32Array : undefined;
    if (Deltas) {
      const deltas = new Deltas(n - 1);
      for (let i = 1; i < n; i++) deltas[i - 1] = values[i]! - values[i - 1]!;
      return { first, deltas };
    }
  }
  let single = true;
  for (let i = 0; i < n && single; i++) if (Math.fround(values[i]!) !== values[i]) single = false;
  return single ? Float32Array.from(values) : Float64Array.from(values);
}

/** A stored column's `n` values: a typed array as stored, or decoded into `into` (or a new array). */
export function unpackColumn(c: PackedColumn, n: number, into?: Float64Array): ColumnValues {
  if (c instanceof Float64Array || c instanceof Float32Array) return c;
  const out = into && into.length >= n ? into : new Float64Array(n);
  if ('stride' in c) {
    for (let i = 0; i < n; i++) out[i] = c.first + i * c.stride;
  } else {
    let v = c.first;
    if (n > 0) out[0] = v;
    for (let i = 1; i < n; i++) out[i] = v += c.deltas[i - 1]!;
  }
  return out;
}

/** A segment's columns packed (the Dexie version 6 upgrade; packing packed columns again gives the same). */
export function packSegmentColumns(s: MetricSegmentRecord): Pick<MetricSegmentRecord, 'steps' | 'values' | 'wallclocks'> {
  return { steps: packColumn(unpackColumn(s.steps, s.count)), values: packColumn(unpackColumn(s.values, s.count)), wallclocks: packColumn(unpackColumn(s.wallclocks, s.count)) };
}

/** A segment's columns, unpacked. */
function segmentColumns(s: MetricSegmentRecord): { steps: ColumnValues; values: ColumnValues; wallclocks: ColumnValues } {
  return { steps: unpackColumn(s.steps, s.count), values: unpackColumn(s.values, s.count), wallclocks: unpackColumn(s.wallclocks, s.count) };
}

/** A segment with its point ids. */
type Loaded = MetricSegmentRecord & { ids: string };

async function withIds(db: HangarDb, segments: MetricSegmentRecord[]): Promise<Loaded[]> {
  if (!segments.length) return [];
  const ids = await db.metricIds.bulkGet(segments.map((s) => s.id));
  return segments.map((s, i) => ({ ...s, ids: ids[i]?.ids ?? '' }));
}

function pointsOf(s: Loaded): StoredPoint[] {
  const ids = s.ids.split(',');
  const { steps, values, wallclocks } = segmentColumns(s);
  const out: StoredPoint[] = new Array(s.count);
  for (let i = 0; i < s.count; i++) out[i] = { id: ids[i]!, value: values[i]!, step: steps[i]!, wallclock: wallclocks[i]! };
  return out;
}

/** The points of a series' segments (with their ids, in the same order), in point order. */
export function seriesPointsIn(segments: MetricSegmentRecord[], ids: string[]): StoredPoint[] {
  const points = segments.flatMap((s, i) => pointsOf({ ...s, ids: ids[i] ?? '' }));
  return points.some((p, i) => i > 0 && before(p, points[i - 1]!)) ? points.sort(compare) : points;
}

/** Every point of a series, in point order. */
async function seriesPoints(db: HangarDb, parentId: string, key: string): Promise<StoredPoint[]> {
  const segments = await withIds(db, await seriesRange(db, parentId, key).toArray());
  return seriesPointsIn(segments, segments.map((s) => s.ids));
}

/** The value of the last point of sorted `points` at or before (step, wallclock). */
function lastIn(points: StoredPoint[], step: number, wallclock: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const p = points[mid]!;
    if (p.step < step || (p.step === step && p.wallclock <= wallclock)) lo = mid + 1;
    else hi = mid;
  }
  return points[lo - 1]!.value;
}

/** The value of the last stored point (by id) of a series at one step and wallclock. */
async function lastValueAt(db: HangarDb, parentId: string, key: string, step: number, wallclock: number): Promise<number> {
  const at = (await withIds(db, await segmentsCovering(db, parentId, key, step, step))).flatMap(pointsOf).filter((p) => p.step === step && p.wallclock === wallclock);
  return at.sort(compare).at(-1)!.value;
}

function segmentOf(id: string, parentId: string, key: string, points: StoredPoint[]): { segment: MetricSegmentRecord; ids: MetricIdsRecord } {
  const n = points.length;
  const steps = new Float64Array(n);
  const values = new Float64Array(n);
  const wallclocks = new Float64Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    steps[i] = p.step;
    values[i] = p.value;
    wallclocks[i] = p.wallclock;
    if (p.value < min) min = p.value;
    if (p.value > max) max = p.value;
  }
  return {
    segment: { id, parentId, key, minStep: steps[0]!, maxStep: steps[n - 1]!, count: n, min, max, steps: packColumn(steps), values: packColumn(values), wallclocks: packColumn(wallclocks) },
    ids: { id, ids: points.map((p) => p.id).join(',') },
  };
}

/**
 * Writes `merged` (sorted) over the segments `old` (in order): as many segments of at most
 * SEGMENT_POINTS as it takes, reusing the old segments' ids first, deleting those left over.
 */
async function rewrite(db: HangarDb, parentId: string, key: string, old: MetricSegmentRecord[], merged: StoredPoint[]): Promise<void> {
  const rows: ReturnType<typeof segmentOf>[] = [];
  for (let i = 0, n = 0; i < merged.length; i += SEGMENT_POINTS, n++) {
    rows.push(segmentOf(old[n]?.id ?? uuidv7(), parentId, key, merged.slice(i, i + SEGMENT_POINTS)));
  }
  if (rows.length) {
    await db.metricSegments.bulkPut(rows.map((r) => r.segment));
    await db.metricIds.bulkPut(rows.map((r) => r.ids));
  }
  if (old.length > rows.length) {
    const gone = old.slice(rows.length).map((s) => s.id);
    await db.metricSegments.bulkDelete(gone);
    await db.metricIds.bulkDelete(gone);
  }
}

/**
 * The segments of a series that may hold points with steps in [lo, hi]: the last one starting
 * before `lo` (segments never overlap but at an equal step, so no earlier one reaches `lo`),
 * and every one starting in [lo, hi].
 */
async function segmentsCovering(db: HangarDb, parentId: string, key: string, lo: number, hi: number): Promise<MetricSegmentRecord[]> {
  const [head, rest] = await Promise.all([seriesRange(db, parentId, key, Dexie.minKey, lo, false, true).last(), seriesRange(db, parentId, key, lo, hi).toArray()]);
  return head ? [head, ...rest] : rest;
}

/** Merges two sorted lists of points; with `seen`, points whose id it holds are left out. */
function merge(a: StoredPoint[], b: StoredPoint[]): StoredPoint[] {
  const out: StoredPoint[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = before(b[j]!, a[i]!) ? b[j++]! : a[i++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** How points are stored. */
export interface InsertOptions {
  /** Points whose id is stored already are skipped (pulled points coming back, an archive imported twice). */
  dedupe?: boolean;
  /**
   * The change-log seq the points were pulled at: a key whose summary came from a snapshot
   * (`asOf` set) counts them already when `seq` is at or before its `asOf`. Points logged or
   * imported here have none, and are always added to the summary.
   */
  seq?: number;
  /** False: the points go into the segments only, the summary left as it is (a fetched history). */
  summarize?: boolean;
}

/**
 * Inside a transaction over the metric tables: stores points of one series and updates its
 * summary (see InsertOptions); returns the points stored.
 */
export async function insertSeries(db: HangarDb, parentId: string, key: string, input: StoredPoint[], opts: InsertOptions = {}): Promise<StoredPoint[]> {
  if (!input.length) return [];
  let points = [...input].sort(compare);
  if (opts.dedupe || points.some((p, i) => i > 0 && p.id === points[i - 1]!.id)) {
    points = points.filter((p, i) => i === 0 || p.id !== points[i - 1]!.id);
  }
  const first = points[0]!;
  const last = await seriesRange(db, parentId, key).last();
  let old: Loaded[];
  // The common case: points after everything stored land in the last segment. A point at the
  // last segment's first step may belong to the one before it, which a dedupe must look at.
  if (!last || first.step > last.minStep || (!opts.dedupe && first.step === last.minStep)) old = await withIds(db, last ? [last] : []);
  else old = await withIds(db, await segmentsCovering(db, parentId, key, first.step, points[points.length - 1]!.step));
  let held = old.flatMap(pointsOf);
  if (opts.dedupe && held.length) {
    const ids = new Set(held.map((p) => p.id));
    points = points.filter((p) => !ids.has(p.id));
    if (!points.length) return [];
  }
  // Segments of equal steps may hold points out of order between them: sort what is rewritten.
  if (held.some((p, i) => i > 0 && before(p, held[i - 1]!))) held = held.sort(compare);
  if (!old.length) {
    // Points before every segment: they join the first one.
    const head = await seriesRange(db, parentId, key).first();
    if (head) {
      old = await withIds(db, [head]);
      held = pointsOf(old[0]!);
    }
  }
  const all = merge(held, points);
  await rewrite(db, parentId, key, old, all);
  // A step past the first one rewritten has all its stored points in `all`; at the first, an
  // earlier segment may end with points of that step too.
  await addToCells(db, parentId, key, points, async (step, wallclock) => (step > all[0]!.step ? lastIn(all, step, wallclock) : lastValueAt(db, parentId, key, step, wallclock)));
  if (opts.summarize !== false) await summarize(db, parentId, key, points, opts.seq);
  return points;
}

/**
 * Adds stored points to a series' summary row, once: a row from a snapshot (`asOf` set) already
 * counts the points pulled at a change at or before its `asOf`.
 */
async function summarize(db: HangarDb, parentId: string, key: string, points: StoredPoint[], seq?: number): Promise<void> {
  const row = await db.metricSummaries.get([parentId, key]);
  if (row?.asOf !== undefined && seq !== undefined && seq <= row.asOf) return;
  const s: MetricSummaryRecord = row ?? { parentId, key, count: 0, min: Infinity, max: -Infinity, last: 0, lastStep: -1, lastWallclock: -1, lastId: '' };
  for (const p of points) foldPoint(s, p);
  await db.metricSummaries.put(s);
}

/** Makes a series' summary again from every point stored (no `asOf`: the history is all here). */
async function resummarize(db: HangarDb, parentId: string, key: string, points?: StoredPoint[]): Promise<void> {
  const all = points ?? (await seriesPoints(db, parentId, key));
  if (!all.length) return db.metricSummaries.delete([parentId, key]);
  const s: MetricSummaryRecord = { parentId, key, count: 0, min: Infinity, max: -Infinity, last: 0, lastStep: -1, lastWallclock: -1, lastId: '' };
  for (const p of all) foldPoint(s, p);
  await db.metricSummaries.put(s);
}

/**
 * Inside a transaction over the metric tables: a key's whole history, fetched from the server
 * for a key known here only by a snapshot's summary, goes into its segments (each point once,
 * whatever was pulled or logged meanwhile). The points are not added to the summary, which
 * counts them already; as the history is now all here, the summary is made from it, exactly
 * (what the server took in after the snapshot and this device has not pulled yet included),
 * and the key is no longer marked. Nothing happens if the key is no longer marked (its parent
 * revived afresh meanwhile, or another tab stored the history first).
 */
export async function storeFetchedHistory(db: HangarDb, parentId: string, key: string, points: StoredPoint[]): Promise<void> {
  if ((await db.metricSummaries.get([parentId, key]))?.asOf === undefined) return;
  await insertSeries(db, parentId, key, points, { dedupe: true, summarize: false });
  await resummarize(db, parentId, key);
}

/** Summary rows of a parent whose history is not on this device (known from a snapshot). */
export async function summariesLackingHistory(db: HangarDb, parentId?: string): Promise<MetricSummaryRecord[]> {
  const rows = parentId === undefined ? await db.metricSummaries.toArray() : await parentSummaries(db, parentId).toArray();
  return rows.filter((r) => r.asOf !== undefined);
}

/** Inside a transaction over the metric tables: stores points of several keys of one parent. */
export async function insertPoints(db: HangarDb, parentId: string, points: (StoredPoint & { key: string })[], opts: InsertOptions = {}): Promise<(StoredPoint & { key: string })[]> {
  const byKey = new Map<string, StoredPoint[]>();
  for (const p of points) {
    let list = byKey.get(p.key);
    if (!list) byKey.set(p.key, (list = []));
    list.push({ id: p.id, value: p.value, step: p.step, wallclock: p.wallclock });
  }
  const stored: (StoredPoint & { key: string })[] = [];
  for (const [key, list] of byKey) for (const p of await insertSeries(db, parentId, key, list, opts)) stored.push({ ...p, key });
  return stored;
}

/** Inside a transaction over the metric tables: removes points by id (each with its key and step). */
export async function deletePoints(db: HangarDb, parentId: string, points: { id: string; key: string; step: number }[]): Promise<void> {
  const byKey = new Map<string, { id: string; step: number }[]>();
  for (const p of points) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
  for (const [key, list] of byKey) {
    const steps = list.map((p) => p.step);
    const old = await withIds(db, await segmentsCovering(db, parentId, key, Math.min(...steps), Math.max(...steps)));
    const gone = new Set(list.map((p) => p.id));
    const held = old.flatMap(pointsOf);
    const kept = held.filter((p) => !gone.has(p.id));
    if (kept.length === held.length) continue;
    await rewrite(db, parentId, key, old, kept.sort(compare));
    // Rare (a refused write undone): the series' cells are made again from its points, as a
    // cell's min, max and last cannot be taken back point by point.
    const all = await seriesPoints(db, parentId, key);
    await rebuildCells(db, parentId, key, all);
    const row = await db.metricSummaries.get([parentId, key]);
    if (row?.asOf !== undefined) {
      // The key's history is not here (a snapshot's summary), so the summary cannot be made from
      // the points: the removed ones (logged here, so added to it once) come off its count, and
      // min, max and last stay until the history is fetched, which makes it exactly.
      await db.metricSummaries.put({ ...row, count: Math.max(0, row.count - (held.length - kept.length)) });
      continue;
    }
    // The summary is made again from the whole series.
    await resummarize(db, parentId, key, all);
  }
}

/** Inside a transaction over the metric tables: every point of a parent goes (a model revived afresh). */
export async function deleteParentMetrics(db: HangarDb, parentId: string): Promise<void> {
  const ids = await parentSegments(db, parentId).primaryKeys();
  await db.metricSegments.bulkDelete(ids);
  await db.metricIds.bulkDelete(ids);
  await parentCells(db, parentId).delete();
  await parentSummaries(db, parentId).delete();
}

/** Every point of a parent, all keys, each key in step order. */
export async function parentPoints(db: HangarDb, parentId: string): Promise<MetricRecord[]> {
  const segments = await withIds(db, await parentSegments(db, parentId).toArray());
  const out: MetricRecord[] = [];
  const byKey = new Map<string, StoredPoint[]>();
  for (const s of segments) byKey.set(s.key, [...(byKey.get(s.key) ?? []), ...pointsOf(s)]);
  for (const [key, points] of byKey) {
    if (points.some((p, i) => i > 0 && before(p, points[i - 1]!))) points.sort(compare);
    for (const p of points) out.push({ ...p, parentId, key });
  }
  return out;
}

/** Per-key summary of a parent: last (greatest step, then wallclock), min, max, count, from the summary rows. */
export async function metricSummary(db: HangarDb, parentId: string): Promise<Record<string, MetricSummary>> {
  const rows = await parentSummaries(db, parentId).toArray();
  return Object.fromEntries(
    rows.filter((r) => r.count > 0).map((r) => [r.key, { last: r.last, min: r.min, max: r.max, count: r.count, lastStep: r.lastStep }] as const),
  );
}

/** A series' points with steps in [from, to] as columns, in point order. */
export interface Columns {
  steps: Float64Array;
  values: Float64Array;
  wallclocks: Float64Array;
  length: number;
}

/**
 * The points of one series with steps in [from, to], as columns, reading only the segments
 * that hold such steps.
 */
export async function seriesColumns(db: HangarDb, parentId: string, key: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<Columns> {
  // In one read transaction, so the segments are read as of one moment. Live queries still see the ranges read.
  const segments = await db.transaction('r', db.metricSegments, async () => segmentsCovering(db, parentId, key, from, to));
  let total = 0;
  for (const s of segments) total += s.count;
  const steps = new Float64Array(total);
  const values = new Float64Array(total);
  const wallclocks = new Float64Array(total);
  let n = 0;
  let sorted = true;
  for (const seg of segments) {
    const s = segmentColumns(seg);
    let lo = 0;
    let hi = seg.count;
    if (seg.minStep < from) while (lo < hi && s.steps[lo]! < from) lo++;
    if (seg.maxStep > to) while (hi > lo && s.steps[hi - 1]! > to) hi--;
    if (hi <= lo) continue;
    if (n > 0 && (s.steps[lo]! < steps[n - 1]! || (s.steps[lo] === steps[n - 1] && s.wallclocks[lo]! < wallclocks[n - 1]!))) sorted = false;
    for (let i = lo; i < hi; i++, n++) {
      steps[n] = s.steps[i]!;
      values[n] = s.values[i]!;
      wallclocks[n] = s.wallclocks[i]!;
    }
  }
  const cols = { steps: steps.subarray(0, n), values: values.subarray(0, n), wallclocks: wallclocks.subarray(0, n), length: n };
  if (sorted) return cols;
  // Segments of equal steps out of order between them (points logged at one step in several
  // batches, then split): put the points in order.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => cols.steps[a]! - cols.steps[b]! || cols.wallclocks[a]! - cols.wallclocks[b]! || a - b);
  return {
    steps: Float64Array.from(order, (i) => cols.steps[i]!),
    values: Float64Array.from(order, (i) => cols.values[i]!),
    wallclocks: Float64Array.from(order, (i) => cols.wallclocks[i]!),
    length: n,
  };
}

/** Columns as points. */
export function columnPoints(c: Columns): MetricPoint[] {
  const out: MetricPoint[] = new Array(c.length);
  for (let i = 0; i < c.length; i++) out[i] = { step: c.steps[i]!, value: c.values[i]!, wallclock: c.wallclocks[i]! };
  return out;
}

/** The step range a history asks for, the series' own where left out. */
export interface HistoryRange {
  from?: number;
  to?: number;
}

/**
 * A series' history in at most `maxPoints` buckets over [from, to] (the series' first and last
 * step where left out): `StepBucketer`, the definition the server's history API answers with
 * too. The buckets' edges sit at multiples of a power-of-two width, so the stored cells of the
 * coarsest level that fits in a bucket (web/client/metric-cells.ts) answer every whole cell in
 * the range; only the steps at its ends that cut a cell are read from the segments. A range
 * narrower than the finest cells allow is read from its segments. All in one transaction.
 */
export async function seriesBuckets(db: HangarDb, parentId: string, key: string, maxPoints: number, range: HistoryRange = {}): Promise<MetricBucket[]> {
  return db.transaction('r', [db.metricSegments, db.metricCells], async () => {
    let from = range.from;
    let to = range.to;
    if (from === undefined) {
      const first = await seriesRange(db, parentId, key).first();
      if (!first) return [];
      from = first.minStep;
    }
    if (to === undefined) {
      const last = await seriesRange(db, parentId, key).last();
      if (!last) return [];
      // Segments may share a first step: the one that reaches furthest ends the series.
      to = last.maxStep;
      for (const s of await seriesRange(db, parentId, key, last.minStep).toArray()) if (s.maxStep > to) to = s.maxStep;
    }
    if (from > to) return [];
    const buckets = new StepBucketer(from, to, maxPoints);
    const level = cellLevelFor(buckets.width);
    const width = level === undefined ? 0 : 2 ** level;
    // The whole cells in [from, to]: lo × width ≥ from, (hi + 1) × width − 1 ≤ to (exact: powers of two).
    const lo = level === undefined ? 1 : Math.ceil(from / width);
    const hi = level === undefined ? 0 : Math.floor((to + 1) / width) - 1;
    if (lo > hi) {
      await addPoints(buckets, db, parentId, key, from, to);
      return buckets.buckets();
    }
    if (from < lo * width) await addPoints(buckets, db, parentId, key, from, lo * width - 1);
    await eachCell(db, parentId, key, level!, lo, hi, (c) => buckets.addSummary(c.lastStep, c.lastWallclock, c.last, c.min, c.max));
    if ((hi + 1) * width <= to) await addPoints(buckets, db, parentId, key, (hi + 1) * width, to);
    return buckets.buckets();
  });
}

/** Adds a series' points with steps in [lo, hi] to buckets, in point order. */
async function addPoints(buckets: StepBucketer, db: HangarDb, parentId: string, key: string, lo: number, hi: number): Promise<void> {
  const c = await seriesColumns(db, parentId, key, lo, hi);
  for (let i = 0; i < c.length; i++) buckets.add(c.steps[i]!, c.wallclocks[i]!, c.values[i]!);
}

/** Builds a series' segments and summary from points in any order (the Dexie upgrade, tests). */
export function buildSeries(parentId: string, key: string, input: StoredPoint[]): { segments: MetricSegmentRecord[]; ids: MetricIdsRecord[]; summary: MetricSummaryRecord } {
  const points = [...input].sort(compare).filter((p, i, all) => i === 0 || p.id !== all[i - 1]!.id);
  const rows: ReturnType<typeof segmentOf>[] = [];
  for (let i = 0; i < points.length; i += SEGMENT_POINTS) rows.push(segmentOf(uuidv7(), parentId, key, points.slice(i, i + SEGMENT_POINTS)));
  let min = Infinity;
  let max = -Infinity;
  for (const p of points) {
    if (p.value < min) min = p.value;
    if (p.value > max) max = p.value;
  }
  const lastPoint = points[points.length - 1]!;
  return {
    segments: rows.map((r) => r.segment),
    ids: rows.map((r) => r.ids),
    summary: { parentId, key, count: points.length, min, max, last: lastPoint.value, lastStep: lastPoint.step, lastWallclock: lastPoint.wallclock, lastId: lastPoint.id },
  };
}

/** Every point stored, of every parent (tools and tests). */
export async function allPoints(db: HangarDb): Promise<MetricRecord[]> {
  const parents = new Set<string>();
  await db.metricSummaries.toCollection().eachPrimaryKey(([parentId]) => parents.add(parentId));
  const out: MetricRecord[] = [];
  for (const p of parents) out.push(...(await parentPoints(db, p)));
  return out;
}
