import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { MetricBucket } from '../../shared/downsample.ts';
import type { MetricPoint, MetricSummary } from '../../shared/metrics.ts';
import { b64url, unb64url } from '../../shared/encoding.ts';

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

/**
 * Inserts points, skipping ids already stored (append-only by id, so a retried batch never
 * duplicates). All points travel as ONE bound JSON parameter unpacked by `json_each`, which
 * sidesteps D1's 100 bound parameters per statement: in `npm run bench` (docs/BENCHMARKS.md)
 * it wrote 10,000 points about 4.5× faster than one INSERT per row and 1.8× faster than
 * INSERTs of 14 rows (7 parameters each), and it keeps a request at two statements, far under
 * D1's queries-per-invocation limit. Points are arrays, not objects, to keep the JSON short.
 */
export function insertMetricPoints(db: D1Database, namespace: string, parentId: string, points: StoredPoint[]): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO metrics (id, namespace, parent_id, key, value, step, wallclock)
       SELECT p.value ->> 0, ?1, ?2, p.value ->> 1, p.value ->> 2, p.value ->> 3, p.value ->> 4 FROM json_each(?3) p`,
    )
    .bind(namespace, parentId, JSON.stringify(points.map((p) => [p.id, p.key, p.value, p.step, p.wallclock])));
}

/** key → summary for every key of a parent. "last" is the point with the greatest (step, wallclock, id). */
export async function metricSummaries(db: D1Database, parentId: string): Promise<Record<string, MetricSummary>> {
  const { results } = await db
    .prepare(
      `SELECT m.key, COUNT(*) AS count, MIN(m.value) AS min, MAX(m.value) AS max, MAX(m.step) AS lastStep,
         (SELECT l.value FROM metrics l WHERE l.parent_id = m.parent_id AND l.key = m.key
          ORDER BY l.step DESC, l.wallclock DESC, l.id DESC LIMIT 1) AS last
       FROM metrics m WHERE m.parent_id = ? GROUP BY m.key ORDER BY m.key`,
    )
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

/** One page of a key's points (with their ids) in (step, wallclock, id) order, by keyset on the series index. */
export async function metricHistoryPage(
  db: D1Database,
  parentId: string,
  key: string,
  opts: { pageSize?: number; pageToken?: string },
): Promise<MetricHistory> {
  const size = opts.pageSize ?? LIMITS.pageSizeDefault;
  const after = opts.pageToken ? decodeCursor(opts.pageToken) : undefined;
  const { results } = await db
    .prepare(
      `SELECT id, step, value, wallclock FROM metrics WHERE parent_id = ? AND key = ?
       ${after ? 'AND (step, wallclock, id) > (?, ?, ?)' : ''}
       ORDER BY step, wallclock, id LIMIT ${size + 1}`,
    )
    .bind(parentId, key, ...(after ? [after.s, after.w, after.i] : []))
    .all<StoredPoint>();
  const rows = results.slice(0, size);
  const last = rows[rows.length - 1];
  const nextPageToken = results.length > size && last ? b64url(JSON.stringify({ s: last.step, w: last.wallclock, i: last.id } satisfies Cursor)) : undefined;
  return {
    key,
    // With its id, so a device that fetches a history it lacks stores each point once (bootstrap).
    points: rows.map((r) => ({ id: r.id, step: r.step, value: r.value, wallclock: r.wallclock })),
    ...(nextPageToken ? { nextPageToken } : {}),
  };
}

/**
 * A key's whole history in at most `maxPoints` points. With more points than that, the rows
 * are cut by rank into `maxPoints` buckets of nearly equal size (bucket = rank × maxPoints /
 * count), each answered as its last step and wallclock, its mean value, and its min and max
 * so a chart can draw the band. With fewer, every bucket holds one point (min = max = value).
 */
export async function downsampledHistory(db: D1Database, parentId: string, key: string, maxPoints: number): Promise<MetricHistory> {
  const { results } = await db
    .prepare(
      `WITH ranked AS (
         SELECT step, value, wallclock,
           ROW_NUMBER() OVER (ORDER BY step, wallclock, id) - 1 AS rn, COUNT(*) OVER () AS n
         FROM metrics WHERE parent_id = ? AND key = ?)
       SELECT (rn * CAST(?3 AS INTEGER)) / n AS bucket,
         MAX(step) AS step, AVG(value) AS value, MAX(wallclock) AS wallclock, MIN(value) AS min, MAX(value) AS max
       FROM ranked GROUP BY bucket ORDER BY bucket`,
    )
    .bind(parentId, key, maxPoints)
    .all<MetricBucket>();
  return { key, points: results.map((r) => ({ step: r.step, value: r.value, wallclock: r.wallclock, min: r.min, max: r.max })) };
}
