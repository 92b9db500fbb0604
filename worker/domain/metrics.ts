import { uuidv7 } from '../../shared/ids.ts';
import type { MetricPointInput } from '../../shared/metrics.ts';
import { logChange } from '../db/change-log.ts';
import { isSegmentTaken, logRef, MetricWrites, newPoints, probesOf, segmentRows, seriesKey, storedIds, type StoredPoint } from '../db/metrics.ts';
import { countStoredPoints, withinQuota } from '../db/usage.ts';

/** What metrics hang off: a model or a version (`Parent` from worker/parent.ts fits). */
export interface MetricParent {
  namespace: string;
  id: string;
}

/** Points with every default filled in: a UUIDv7 id, step 0, wallclock now. */
export function storedPoints(input: readonly MetricPointInput[], now = Date.now()): StoredPoint[] {
  return input.map((p) => ({ id: p.id ?? uuidv7(now), key: p.key, value: p.value, step: p.step ?? 0, wallclock: p.wallclock ?? now }));
}

/**
 * Logs metric points on a model or a version. Points whose ids are stored already (a retried
 * batch, an id repeated) are skipped, so each point is stored once; the rest become one segment
 * per key, written in one batch with their summaries and one change-log row (entity `metrics`,
 * op `log`) that names the segments: pull sends their points. The new points count against the
 * namespace's `metricPoints` quota in the same batch (db/usage.ts): past it, nothing is written
 * (`quota-exceeded`). Returns how many points were accepted (stored now or before).
 */
export async function logMetrics(db: D1Database, parent: MetricParent, input: MetricPointInput[], hlc: string): Promise<number> {
  if (input.length === 0) return 0;
  const points = storedPoints(input);
  // Two writes of the same points at once: the second finds the first's segment taken, and
  // reads again (then skips them all).
  for (let attempt = 0; ; attempt++) {
    const known = await storedIds(db, probesOf(parent.id, points));
    const fresh = newPoints(parent.id, points, (p, k) => known.get(seriesKey(p, k)));
    if (!fresh.length) return points.length;
    const rows = segmentRows(fresh);
    const writes = new MetricWrites(db, parent.namespace);
    const statements: D1PreparedStatement[] = [];
    writes.add(parent.id, rows, statements);
    writes.flush(statements);
    // The namespace's point count moves with the points: past its quota, none is stored.
    statements.push(countStoredPoints(db, parent.namespace, fresh.length));
    statements.push(logChange(db, { namespace: parent.namespace, entity: 'metrics', entityId: parent.id, op: 'log', data: logRef(rows), hlc }));
    try {
      await withinQuota(db, parent.namespace, { metricPoints: fresh.length }, () => db.batch(statements));
      return points.length;
    } catch (err) {
      if (attempt > 0 || !isSegmentTaken(err)) throw err;
    }
  }
}
