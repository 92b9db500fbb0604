import type { MetricSummary } from '../../shared/metrics.ts';
import type { HangarDb, MetricSummaryRecord } from './db.ts';

/** A point as a summary takes it in. */
export interface SummaryPoint {
  id: string;
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

/** Whether `p` comes after the summary's last point: greater (step, wallclock, id), as the server orders them. */
const after = (p: SummaryPoint, s: MetricSummaryRecord) =>
  p.step > s.lastStep || (p.step === s.lastStep && (p.wallclock > s.lastWallclock || (p.wallclock === s.lastWallclock && p.id > s.lastId)));

/** Adds one point to a summary. */
export function foldPoint(s: MetricSummaryRecord, p: SummaryPoint): void {
  s.count++;
  s.min = Math.min(s.min, p.value);
  s.max = Math.max(s.max, p.value);
  if (after(p, s)) Object.assign(s, { last: p.value, lastStep: p.step, lastWallclock: p.wallclock, lastId: p.id });
}

/**
 * Folds points just stored on this device (and not here before) into the parent's snapshot
 * summaries, inside the caller's transaction over `metricSummaries`. A point pulled at change
 * `seq` is in a summary already when `seq` is at or before the summary's `asOf`; a point logged
 * here (`seq` undefined) never is.
 */
export async function foldIntoSummaries(db: HangarDb, parentId: string, points: SummaryPoint[], seq?: number): Promise<void> {
  if (!points.length) return;
  const rows = await db.metricSummaries.where('parentId').equals(parentId).toArray();
  if (!rows.length) return;
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const changed = new Set<MetricSummaryRecord>();
  for (const p of points) {
    const s = byKey.get(p.key);
    if (!s || (seq !== undefined && seq <= s.asOf)) continue;
    foldPoint(s, p);
    changed.add(s);
  }
  if (changed.size) await db.metricSummaries.bulkPut([...changed]);
}

/** The summary as `metrics()` answers it. */
export const asSummary = (s: MetricSummaryRecord): MetricSummary => ({ last: s.last, min: s.min, max: s.max, count: s.count, lastStep: s.lastStep });
