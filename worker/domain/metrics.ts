import { uuidv7 } from '../../shared/ids.ts';
import type { MetricPointInput } from '../../shared/metrics.ts';
import { logChange } from '../db/change-log.ts';
import { insertMetricPoints, type StoredPoint } from '../db/metrics.ts';
import { countStoredPoints, withinQuota } from '../db/usage.ts';

/** What metrics hang off: a model or a version (`Parent` from worker/parent.ts fits). */
export interface MetricParent {
  namespace: string;
  id: string;
}

/**
 * Logs metric points on a model or a version: the points and one change-log row (entity
 * `metrics`, op `log`, the points with their ids) in one batch. A point without an id gets a
 * UUIDv7 here; ids already stored are skipped, so a retried batch stores each point once.
 * Returns how many points were accepted (stored now or before).
 */
export async function logMetrics(db: D1Database, parent: MetricParent, input: MetricPointInput[], hlc: string): Promise<number> {
  if (input.length === 0) return 0;
  const now = Date.now();
  const points: StoredPoint[] = input.map((p) => ({
    id: p.id ?? uuidv7(now),
    key: p.key,
    value: p.value,
    step: p.step ?? 0,
    wallclock: p.wallclock ?? now,
  }));
  // Counted right after the insert (new points only); past the namespace's quota, none is stored.
  await withinQuota(db, parent.namespace, { metricPoints: points.length }, () => db.batch([
    insertMetricPoints(db, parent.namespace, parent.id, points),
    countStoredPoints(db, parent.namespace),
    logChange(db, { namespace: parent.namespace, entity: 'metrics', entityId: parent.id, op: 'log', data: { points }, hlc }),
  ]));
  return points.length;
}
