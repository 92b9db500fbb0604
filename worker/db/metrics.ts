import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { bucketIndex, bucketWidth, stepBuckets, type MetricBucket } from '../../shared/downsample.ts';
import type { MetricPoint, MetricSummary } from '../../shared/metrics.ts';
import { b64url, unb64url, utf8Length } from '../../shared/encoding.ts';
import { comparePoints, decodeSegment, encodeSegment, type SegmentPoint } from './segment-codec.ts';

/**
 * Metric storage (DESIGN §3b): per (parent, key) a `metric_series` row with the key's summary,
 * and the points in `metric_segments` rows of up to `LIMITS.metricSegmentPoints` points packed
 * by segment-codec.ts. A write adds one segment per key it touches and updates the summaries
 * in the same batch; reads pick segments by their step range.
 */

/** A metric point as stored: every default filled in, its id fixed. */
export interface StoredPoint {
  id: string;
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

export interface MetricHistory {
  key: string;
  points: (MetricPoint | MetricBucket)[];
  nextPageToken?: string;
}

/** Bytes of one bound value of the shared statements (D1 caps a value at `LIMITS.d1ValueBytes`). */
const VALUE_BYTES = LIMITS.d1ValueBytes - 1024;

/** One segment about to be written: its ranges, its own summary and its packed points. */
export interface SegmentRow {
  key: string;
  idMin: string;
  idMax: string;
  stepMin: number;
  stepMax: number;
  n: number;
  min: number;
  max: number;
  last: number;
  lastWallclock: number;
  lastId: string;
  data: Uint8Array;
}

/** How the change log names a segment of its parent: (key, greatest point id). */
export type SegmentRef = [key: string, idMax: string];

/** The data of a `metrics`/`log` change row: the segments it wrote, and how many points they hold. */
export interface MetricsLogRef {
  count: number;
  segments: SegmentRef[];
}

const minId = (a: string, b: string) => (b < a ? b : a);
const maxId = (a: string, b: string) => (b > a ? b : a);

/** Cuts points (of any keys, any order) into segment rows: per key, sorted, at most `metricSegmentPoints` each. */
export function segmentRows(points: readonly StoredPoint[]): SegmentRow[] {
  const byKey = new Map<string, StoredPoint[]>();
  for (const p of points) {
    const list = byKey.get(p.key);
    if (list) list.push(p);
    else byKey.set(p.key, [p]);
  }
  const rows: SegmentRow[] = [];
  for (const [key, list] of byKey) {
    list.sort(comparePoints);
    for (let i = 0; i < list.length; i += LIMITS.metricSegmentPoints) {
      const chunk = list.slice(i, i + LIMITS.metricSegmentPoints);
      const last = chunk[chunk.length - 1]!;
      let idMin = chunk[0]!.id;
      let idMax = idMin;
      let min = Infinity;
      let max = -Infinity;
      for (const p of chunk) {
        idMin = minId(idMin, p.id);
        idMax = maxId(idMax, p.id);
        if (p.value < min) min = p.value;
        if (p.value > max) max = p.value;
      }
      rows.push({
        key,
        idMin,
        idMax,
        stepMin: chunk[0]!.step,
        stepMax: last.step,
        n: chunk.length,
        min,
        max,
        last: last.value,
        lastWallclock: last.wallclock,
        lastId: last.id,
        data: encodeSegment(chunk),
      });
    }
  }
  return rows;
}

/**
 * Segments in one statement pair: each carries three floats (min, max, last) as bound
 * parameters of their own, since a float read from JSON by SQLite may be off by one unit in the
 * last place, and D1 takes at most 100 bound parameters a statement.
 */
export const SEGMENTS_PER_STATEMENT = 32;

/**
 * The statements that write segments and keep their summaries current, gathered for one batch:
 * up to `SEGMENTS_PER_STATEMENT` summary rows in ONE upsert, and their segment rows in ONE
 * insert (ranges as one bound JSON, the packed points as one bound BLOB cut by `substr`, the
 * floats bound one by one), flushed into new statements whenever a statement is full or a
 * bound value would pass D1's 1 MB. A flush writes the summaries first: the segment insert
 * finds its series by (parent, key).
 */
export class MetricWrites {
  private series: string[] = [];
  private segments: string[] = [];
  private floats: number[] = [];
  private jsonBytes = 2;
  private blobs: Uint8Array[] = [];
  private blobBytes = 0;

  constructor(
    private readonly db: D1Database,
    private readonly namespace: string,
  ) {}

  get empty(): boolean {
    return this.series.length === 0;
  }

  /** Statements a flush writes now. */
  get pending(): number {
    return this.empty ? 0 : 2;
  }

  /** Statements that `rows` add at most, flushes included. */
  static cost(rows: number): number {
    return rows ? 2 * Math.ceil(rows / SEGMENTS_PER_STATEMENT) + 2 : 0;
  }

  /** Adds a parent's segment rows (one summary row per segment: the upsert merges them). */
  add(parentId: string, rows: readonly SegmentRow[], out: D1PreparedStatement[]): void {
    for (const r of rows) {
      const series = JSON.stringify([parentId, r.key, r.n, r.stepMin, r.stepMax, r.lastWallclock, r.lastId]);
      const segment = JSON.stringify([parentId, r.key, r.idMax, r.idMin, r.stepMin, r.stepMax, r.n, r.lastWallclock, this.blobBytes + 1, r.data.length]);
      const bytes = utf8Length(series) + utf8Length(segment) + 2;
      if (!this.empty && (this.series.length >= SEGMENTS_PER_STATEMENT || this.jsonBytes + bytes > VALUE_BYTES || this.blobBytes + r.data.length > VALUE_BYTES)) {
        this.flush(out);
        this.add(parentId, [r], out);
        continue;
      }
      this.series.push(series);
      this.segments.push(segment);
      this.floats.push(r.min, r.max, r.last);
      this.jsonBytes += bytes;
      this.blobs.push(r.data);
      this.blobBytes += r.data.length;
    }
  }

  flush(out: D1PreparedStatement[]): void {
    if (this.empty) return;
    const blob = new Uint8Array(this.blobBytes);
    let at = 0;
    for (const b of this.blobs) {
      blob.set(b, at);
      at += b.length;
    }
    // f(i, mn, mx, last): the floats of row i, bound from ?3 on.
    const values = this.series.map((_, i) => `(${i}, ?${3 + 3 * i}, ?${4 + 3 * i}, ?${5 + 3 * i})`).join(', ');
    const floats = `WITH f(i, mn, mx, last) AS (VALUES ${values})`;
    const newer = `(excluded.last_step, excluded.last_wallclock, excluded.last_id) > (metric_series.last_step, metric_series.last_wallclock, metric_series.last_id)`;
    out.push(
      this.db
        .prepare(
          `${floats}
           INSERT INTO metric_series (namespace, parent_id, key, count, min, max, last, first_step, last_step, last_wallclock, last_id)
           SELECT ?1, j.value ->> 0, j.value ->> 1, j.value ->> 2, f.mn, f.mx, f.last, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6
           FROM json_each(?2) j JOIN f ON f.i = j.key ORDER BY j.key
           ON CONFLICT (parent_id, key) DO UPDATE SET
             count = metric_series.count + excluded.count,
             min = min(metric_series.min, excluded.min),
             max = max(metric_series.max, excluded.max),
             first_step = min(metric_series.first_step, excluded.first_step),
             last = CASE WHEN ${newer} THEN excluded.last ELSE metric_series.last END,
             last_wallclock = CASE WHEN ${newer} THEN excluded.last_wallclock ELSE metric_series.last_wallclock END,
             last_id = CASE WHEN ${newer} THEN excluded.last_id ELSE metric_series.last_id END,
             last_step = max(metric_series.last_step, excluded.last_step)`,
        )
        .bind(this.namespace, `[${this.series.join(',')}]`, ...this.floats),
      this.db
        .prepare(
          `${floats}
           INSERT INTO metric_segments (series, id_max, id_min, step_min, step_max, n, min, max, last, last_wallclock, data)
           SELECT s.id, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, f.mn, f.mx, f.last, j.value ->> 7,
             substr(?2, j.value ->> 8, j.value ->> 9)
           FROM json_each(?1) j JOIN f ON f.i = j.key JOIN metric_series s ON s.parent_id = j.value ->> 0 AND s.key = j.value ->> 1
           ORDER BY j.key`,
        )
        .bind(`[${this.segments.join(',')}]`, blob.buffer, ...this.floats),
    );
    this.series = [];
    this.segments = [];
    this.floats = [];
    this.jsonBytes = 2;
    this.blobs = [];
    this.blobBytes = 0;
  }
}

/** Statements that delete every point and summary of a parent. */
export function deleteMetricsOf(db: D1Database, parentId: string): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM metric_segments WHERE series IN (SELECT id FROM metric_series WHERE parent_id = ?)').bind(parentId),
    db.prepare('DELETE FROM metric_series WHERE parent_id = ?').bind(parentId),
  ];
}

/** What a write checks for ids it may already hold: per key of one parent, the id and step ranges of its points. */
export interface IdProbe {
  parentId: string;
  key: string;
  idMin: string;
  idMax: string;
  stepMin: number;
  stepMax: number;
}

/** The probes of a write: one per key. */
export function probesOf(parentId: string, points: readonly { id: string; key: string; step: number }[]): IdProbe[] {
  const byKey = new Map<string, IdProbe>();
  for (const p of points) {
    const probe = byKey.get(p.key);
    if (!probe) byKey.set(p.key, { parentId, key: p.key, idMin: p.id, idMax: p.id, stepMin: p.step, stepMax: p.step });
    else {
      probe.idMin = minId(probe.idMin, p.id);
      probe.idMax = maxId(probe.idMax, p.id);
      probe.stepMin = Math.min(probe.stepMin, p.step);
      probe.stepMax = Math.max(probe.stepMax, p.step);
    }
  }
  return [...byKey.values()];
}

export const seriesKey = (parentId: string, key: string) => `${parentId}\0${key}`;

/**
 * The ids already stored that a write with these probes may repeat: those of every segment
 * whose id range AND step range meet a probe's (a point sent again has the id and step it had).
 * A write of new points (UUIDv7 ids, later than every stored one) reads no segment at all.
 * Answers `parent\0key` → ids, in one query.
 */
export async function storedIds(db: D1Database, probes: readonly IdProbe[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (!probes.length) return out;
  const { results } = await db
    .prepare(
      `SELECT ser.parent_id, ser.key, s.data FROM json_each(?1) j
       JOIN metric_series ser ON ser.parent_id = j.value ->> 0 AND ser.key = j.value ->> 1
       JOIN metric_segments s ON s.series = ser.id AND s.id_max >= j.value ->> 2 AND s.id_min <= j.value ->> 3
         AND s.step_max >= j.value ->> 4 AND s.step_min <= j.value ->> 5`,
    )
    .bind(JSON.stringify(probes.map((p) => [p.parentId, p.key, p.idMin, p.idMax, p.stepMin, p.stepMax])))
    .all<{ parent_id: string; key: string; data: ArrayBuffer | number[] | string }>();
  for (const r of results) {
    const k = seriesKey(r.parent_id, r.key);
    let ids = out.get(k);
    if (!ids) out.set(k, (ids = new Set()));
    for (const p of decodeSegment(r.data)) ids.add(p.id);
  }
  return out;
}

/** Drops points already stored (`known`, by `parent\0key`) and repeats within the list, keeping the first. */
export function newPoints<P extends { id: string; key: string }>(parentId: string, points: readonly P[], known: (parentId: string, key: string) => Set<string> | undefined): P[] {
  const seen = new Set<string>();
  return points.filter((p) => {
    const k = `${p.key}\0${p.id}`;
    if (seen.has(k) || known(parentId, p.key)?.has(p.id)) return false;
    seen.add(k);
    return true;
  });
}

/** A write's change-log data: the segments it wrote. */
export const logRef = (rows: readonly SegmentRow[]): MetricsLogRef => ({
  count: rows.reduce((n, r) => n + r.n, 0),
  segments: rows.map((r): SegmentRef => [r.key, r.idMax]),
});

/** Whether a batch failed because a segment with the same (series, greatest id) is stored: another write of the same points got there first. */
export const isSegmentTaken = (err: unknown) => err instanceof Error && /UNIQUE constraint failed: metric_segments\.series, metric_segments\.id_max/i.test(err.message);

/** key → summary for every key of a parent, read from its summary rows. */
export async function metricSummaries(db: D1Database, parentId: string): Promise<Record<string, MetricSummary>> {
  const { results } = await db
    .prepare('SELECT key, count, min, max, last, last_step AS lastStep FROM metric_series WHERE parent_id = ? ORDER BY key')
    .bind(parentId)
    .all<MetricSummary & { key: string }>();
  const out: Record<string, MetricSummary> = {};
  for (const r of results) {
    // defineProperty: a key such as "__proto__" must stay a plain key.
    Object.defineProperty(out, r.key, {
      value: { last: r.last, min: r.min, max: r.max, count: r.count, lastStep: r.lastStep },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * The points of the segments change-log rows name (`parent` → refs), as pull sends them: each
 * with its id and key. A segment no longer stored (its parent purged or revived) gives nothing.
 */
export async function pointsOfRefs(db: D1Database, refs: readonly [parentId: string, key: string, idMax: string][]): Promise<Map<string, StoredPoint[]>> {
  const out = new Map<string, StoredPoint[]>();
  // A few thousand refs a query keeps the bound JSON far under D1's 1 MB per value.
  for (let i = 0; i < refs.length; i += 2000) {
    const { results } = await db
      .prepare(
        `SELECT ser.parent_id, ser.key, s.id_max, s.data FROM json_each(?1) j
         JOIN metric_series ser ON ser.parent_id = j.value ->> 0 AND ser.key = j.value ->> 1
         JOIN metric_segments s ON s.series = ser.id AND s.id_max = j.value ->> 2`,
      )
      .bind(JSON.stringify(refs.slice(i, i + 2000)))
      .all<{ parent_id: string; key: string; id_max: string; data: ArrayBuffer | number[] | string }>();
    for (const r of results) {
      out.set(
        `${r.parent_id}\0${r.key}\0${r.id_max}`,
        decodeSegment(r.data).map((p) => ({ id: p.id, key: r.key, value: p.value, step: p.step, wallclock: p.wallclock })),
      );
    }
  }
  return out;
}

/** Where a page of history resumes: the (step, wallclock, id) of the last point sent. */
interface Cursor {
  s: number;
  w: number;
  i: string;
}

function decodeCursor(token: string): Cursor {
  let c: Partial<Cursor> | null = null;
  try {
    c = JSON.parse(unb64url(token)) as Partial<Cursor>;
  } catch {
    // falls through to the error below
  }
  if (!c || !Number.isSafeInteger(c.s) || !Number.isSafeInteger(c.w) || typeof c.i !== 'string' || c.i.length > 64) {
    throw new HangarError(ErrorCode.InvalidPageToken, 'The page token is not valid for this metric history; start again from the first page.');
  }
  return c as Cursor;
}

interface SeriesRow {
  id: number;
  first_step: number;
  last_step: number;
}

interface SegmentMeta {
  id: number;
  step_min: number;
  step_max: number;
  n: number;
  min: number;
  max: number;
  last: number;
  last_wallclock: number;
}

async function seriesOf(db: D1Database, parentId: string, key: string): Promise<SeriesRow | null> {
  return db.prepare('SELECT id, first_step, last_step FROM metric_series WHERE parent_id = ? AND key = ?').bind(parentId, key).first<SeriesRow>();
}

/** The segments of a series that meet steps [lo, hi], by first step, without their points. */
async function segmentsIn(db: D1Database, series: number, lo: number, hi: number): Promise<SegmentMeta[]> {
  const { results } = await db
    .prepare(
      `SELECT id, step_min, step_max, n, min, max, last, last_wallclock FROM metric_segments
       WHERE series = ? AND step_min <= ? AND step_max >= ? ORDER BY step_min, id`,
    )
    .bind(series, hi, lo)
    .all<SegmentMeta>();
  return results;
}

/** Segments read per query: at most this many (about 20 KB each when full). */
const SEGMENTS_PER_READ = 32;

/** The points of these segments, read in queries of `SEGMENTS_PER_READ`. */
async function loadSegments(db: D1Database, ids: readonly number[]): Promise<SegmentPoint[][]> {
  const out: SegmentPoint[][] = [];
  for (let i = 0; i < ids.length; i += SEGMENTS_PER_READ) {
    const chunk = ids.slice(i, i + SEGMENTS_PER_READ);
    const { results } = await db
      .prepare('SELECT id, data FROM metric_segments WHERE id IN (SELECT value FROM json_each(?))')
      .bind(JSON.stringify(chunk))
      .all<{ id: number; data: ArrayBuffer | number[] | string }>();
    const byId = new Map(results.map((r) => [r.id, r.data]));
    for (const id of chunk) {
      const data = byId.get(id);
      if (data !== undefined) out.push(decodeSegment(data));
    }
  }
  return out;
}

/**
 * One page of a key's points (each with its id) in (step, wallclock, id) order, within steps [from, to]. Reads
 * only the segments that meet the range after the cursor, in order of their first step, until
 * the page's points are certain: no unread segment can hold a point before the page's last.
 */
export async function metricHistoryPage(
  db: D1Database,
  parentId: string,
  key: string,
  opts: { pageSize?: number; pageToken?: string; from?: number; to?: number },
): Promise<MetricHistory> {
  const size = opts.pageSize ?? LIMITS.pageSizeDefault;
  const after = opts.pageToken ? decodeCursor(opts.pageToken) : undefined;
  const series = await seriesOf(db, parentId, key);
  if (!series) return { key, points: [] };
  const lo = Math.max(opts.from ?? 0, after?.s ?? 0);
  const hi = opts.to ?? Number.MAX_SAFE_INTEGER;
  if (lo > hi) return { key, points: [] };
  const metas = await segmentsIn(db, series.id, lo, hi);
  const inRange = (p: SegmentPoint) => p.step >= lo && p.step <= hi && (!after || comparePoints(p, { id: after.i, step: after.s, wallclock: after.w, value: 0 }) > 0);
  let candidates: SegmentPoint[] = [];
  let next = 0;
  while (next < metas.length) {
    // Read on while an unread segment may start at or before the page's last point.
    const bound = candidates.length > size ? candidates[size]!.step : Infinity;
    if (metas[next]!.step_min > bound) break;
    const take: number[] = [];
    while (next < metas.length && take.length < SEGMENTS_PER_READ && (take.length === 0 || candidates.length <= size || metas[next]!.step_min <= bound)) {
      take.push(metas[next]!.id);
      next++;
    }
    for (const seg of await loadSegments(db, take)) for (const p of seg) if (inRange(p)) candidates.push(p);
    candidates.sort(comparePoints);
    if (candidates.length > 4 * (size + 1)) candidates = candidates.slice(0, size + 1);
  }
  const rows = candidates.slice(0, size);
  const last = rows[rows.length - 1];
  const nextPageToken = candidates.length > size && last ? b64url(JSON.stringify({ s: last.step, w: last.wallclock, i: last.id } satisfies Cursor)) : undefined;
  return {
    key,
    // With its id, so a device that fetches a history it lacks stores each point once (bootstrap).
    points: rows.map((r) => ({ id: r.id, step: r.step, value: r.value, wallclock: r.wallclock })),
    ...(nextPageToken ? { nextPageToken } : {}),
  };
}

/**
 * A key's history within steps [from, to] (the key's whole step range by default) in at most
 * `maxPoints` buckets of a power-of-two step width, edges at its multiples (shared/downsample.ts `stepBuckets`): per bucket the
 * last point (its step, wallclock and value), and the min and max. Reads only segments that
 * meet the range; a segment wholly inside the range and inside one bucket is answered from its
 * own min, max and last without unpacking it.
 */
export async function downsampledHistory(
  db: D1Database,
  parentId: string,
  key: string,
  maxPoints: number,
  range: { from?: number; to?: number } = {},
): Promise<MetricHistory> {
  const series = await seriesOf(db, parentId, key);
  if (!series) return { key, points: [] };
  const from = range.from ?? series.first_step;
  const to = range.to ?? series.last_step;
  if (from > to) return { key, points: [] };
  const metas = await segmentsIn(db, series.id, from, to);
  const width = bucketWidth(from, to, maxPoints);
  const bucketOf = (step: number) => bucketIndex(step, width);
  const whole: SegmentMeta[] = [];
  const unpack: number[] = [];
  for (const m of metas) {
    if (m.step_min >= from && m.step_max <= to && bucketOf(m.step_min) === bucketOf(m.step_max)) whole.push(m);
    else unpack.push(m.id);
  }
  const points: SegmentPoint[] = [];
  for (const seg of await loadSegments(db, unpack)) for (const p of seg) if (p.step >= from && p.step <= to) points.push(p);
  // A whole segment stands for itself as three points that carry its min, max and last: the
  // bucket's min, max and last come out the same. Its last point ties another only on
  // (step, wallclock) with an id to compare, so such a segment is unpacked instead.
  const stand: SegmentPoint[] = [];
  const lastKeys = new Map<string, number>();
  for (const m of whole) {
    const k = `${m.step_max}\0${m.last_wallclock}`;
    lastKeys.set(k, (lastKeys.get(k) ?? 0) + 1);
  }
  const tied = new Set(points.map((p) => `${p.step}\0${p.wallclock}`));
  const more: number[] = [];
  for (const m of whole) {
    const k = `${m.step_max}\0${m.last_wallclock}`;
    if (tied.has(k) || lastKeys.get(k)! > 1) {
      more.push(m.id);
      continue;
    }
    // Steps below the last keep the stand-ins from becoming "last" themselves.
    stand.push({ id: '', step: m.step_min, wallclock: -1, value: m.min }, { id: '', step: m.step_min, wallclock: -1, value: m.max });
    stand.push({ id: '\uffff', step: m.step_max, wallclock: m.last_wallclock, value: m.last });
  }
  for (const seg of await loadSegments(db, more)) for (const p of seg) points.push(p);
  const all = [...points, ...stand].sort(comparePoints);
  return { key, points: stepBuckets(all, from, to, maxPoints) };
}
