import { env } from 'cloudflare:test';

/**
 * Seeds `count` points of one key on a parent straight into the metric tables, as migration
 * 0009 writes them (segments of JSON text), `perSegment` points a segment, and counts them in
 * the namespace's usage as a write does: for tests that need more points, or more segment rows,
 * than logging them quickly gives. Point i has the id `<prefix>-<i, 8 digits>`, value and step
 * i, wallclock 0. Answers the series' id.
 */
export async function seedPoints(ns: string, parentId: string, key: string, count: number, perSegment = 1000, prefix = key): Promise<number> {
  const id = (i: number) => `${prefix}-${String(i).padStart(8, '0')}`;
  const segments: unknown[] = [];
  for (let from = 0; from < count; from += perSegment) {
    const to = Math.min(count, from + perSegment) - 1;
    const data = JSON.stringify(Array.from({ length: to - from + 1 }, (_, j) => [id(from + j), from + j, 0, String(from + j)]));
    segments.push([id(to), id(from), from, to, to - from + 1, from, to, to, data]);
  }
  const db = env.DB;
  const [series] = await db.batch<{ id: number }>([
    db
      .prepare(
        `INSERT INTO metric_series (namespace, parent_id, key, count, min, max, last, first_step, last_step, last_wallclock, last_id)
         VALUES (?1, ?2, ?3, ?4, 0, ?4 - 1, ?4 - 1, 0, ?4 - 1, 0, ?5) RETURNING id`,
      )
      .bind(ns, parentId, key, count, id(count - 1)),
    db
      .prepare(
        `INSERT INTO metric_segments (series, id_max, id_min, step_min, step_max, n, min, max, last, last_wallclock, data)
         SELECT (SELECT id FROM metric_series WHERE parent_id = ?1 AND key = ?2), s.value ->> 0, s.value ->> 1, s.value ->> 2, s.value ->> 3,
           s.value ->> 4, s.value ->> 5, s.value ->> 6, s.value ->> 7, 0, s.value ->> 8
         FROM json_each(?3) s`,
      )
      .bind(parentId, key, JSON.stringify(segments)),
    db
      .prepare(
        `INSERT INTO namespace_usage (namespace, metric_points) VALUES (?1, ?2)
         ON CONFLICT (namespace) DO UPDATE SET metric_points = metric_points + excluded.metric_points`,
      )
      .bind(ns, count),
  ]);
  return series!.results[0]!.id;
}

/** Points stored on a parent (all keys), counted from its segments. */
export async function storedPointCount(parentId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT COALESCE(SUM(n), 0) AS n FROM metric_segments WHERE series IN (SELECT id FROM metric_series WHERE parent_id = ?)')
    .bind(parentId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The namespace's metric points as its usage row counts them. */
export async function usedPoints(ns: string): Promise<number> {
  return (await env.DB.prepare('SELECT metric_points AS n FROM namespace_usage WHERE namespace = ?').bind(ns).first<number>('n')) ?? 0;
}
