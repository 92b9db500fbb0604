import { LIMITS } from '../../shared/limits.ts';
import { segmentRows } from '../db/metrics.ts';
import { decodeSegment } from '../db/segment-codec.ts';
import type { SweepCtx } from './budget.ts';

const SMALL = LIMITS.metricSegmentSmall;

interface Small {
  id: number;
  n: number;
  data: ArrayBuffer | number[] | string;
}

/**
 * Small metric segments. A client that logs one point a request (REST, MLflow's `log-metric`)
 * writes one segment a point. Pull reads a parent's segments by the names its change-log rows
 * give them, so a key's segments are left as they are while any such row remains; once none does
 * (every client has pulled past them, or the log outlived its retention), the step merges the
 * key's small segments, in step order, into segments of up to `LIMITS.metricSegmentPoints`.
 * The points, the key's summary and the namespace's usage stay exactly as they were.
 *
 * Each merge deletes its segments and writes the merged one in the same batch, and writes it
 * only if every segment it read was still there: a parent purged meanwhile leaves nothing behind.
 * `limit` bounds the segments read a run; what is left waits for the next.
 */
export async function mergeSmallSegments({ env, budget, limit }: SweepCtx): Promise<{ series: number; read: number; written: number }> {
  const db = env.DB;
  const done = { series: 0, read: 0, written: 0 };
  if (!budget.take(1)) return done;
  // `n <= ${SMALL}` as a literal: SQLite uses the partial index only for a condition it can see.
  const { results: candidates } = await db
    .prepare(
      `SELECT s.series FROM metric_segments s JOIN metric_series ser ON ser.id = s.series
       WHERE s.n <= ${SMALL}
       GROUP BY s.series
       HAVING COUNT(*) > 1 AND NOT EXISTS (SELECT 1 FROM change_log c WHERE c.entity = 'metrics' AND c.entity_id = ser.parent_id)
       LIMIT ?`,
    )
    .bind(Math.max(1, Math.floor(limit / 2)))
    .all<{ series: number }>();
  for (const { series } of candidates) {
    const left = limit - done.read;
    if (left < 2 || budget.remaining < 3) break;
    budget.take(1);
    const { results } = await db
      .prepare(`SELECT id, n, data FROM metric_segments WHERE series = ? AND n <= ${SMALL} ORDER BY step_min, id LIMIT ?`)
      .bind(series, left)
      .all<Small>();
    done.read += results.length;
    const statements: D1PreparedStatement[] = [];
    for (const group of groups(results)) {
      if (!budget.take(2)) break;
      const points = group.flatMap((s) => decodeSegment(s.data)).map((p) => ({ ...p, key: '' }));
      const [row] = segmentRows(points);
      const r = row!;
      statements.push(
        db.prepare('DELETE FROM metric_segments WHERE series = ? AND id IN (SELECT value FROM json_each(?))').bind(series, JSON.stringify(group.map((s) => s.id))),
        db
          .prepare(
            `INSERT INTO metric_segments (series, id_max, id_min, step_min, step_max, n, min, max, last, last_wallclock, data)
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE changes() = ?`,
          )
          .bind(series, r.idMax, r.idMin, r.stepMin, r.stepMax, r.n, r.min, r.max, r.last, r.lastWallclock, r.data, group.length),
      );
      done.written++;
    }
    if (statements.length) await db.batch(statements);
    done.series++;
  }
  return done;
}

/**
 * Small segments (in step order) cut into runs to merge: each run as many as fit in one full
 * segment. Runs of one segment are left out (nothing to merge).
 */
function groups(segments: readonly Small[]): Small[][] {
  const out: Small[][] = [];
  let run: Small[] = [];
  let n = 0;
  for (const s of segments) {
    if (n + s.n > LIMITS.metricSegmentPoints) {
      if (run.length > 1) out.push(run);
      run = [];
      n = 0;
    }
    run.push(s);
    n += s.n;
  }
  if (run.length > 1) out.push(run);
  return out;
}
