import type { MetricSummaryRecord } from './db.ts';

/** A point as a summary takes it in. */
export interface SummaryPoint {
  id: string;
  key?: string;
  value: number;
  step: number;
  wallclock: number;
}

/** Whether `p` comes after the summary's last point: greater (step, wallclock, id), as the server orders them. */
const after = (p: SummaryPoint, s: MetricSummaryRecord) =>
  p.step > s.lastStep || (p.step === s.lastStep && (p.wallclock > s.lastWallclock || (p.wallclock === s.lastWallclock && p.id > s.lastId)));

/**
 * Adds one point to a summary (web/client/metric-store.ts keeps one per key, in the transaction
 * that stores its points; a key known from a snapshot starts from the server's).
 */
export function foldPoint(s: MetricSummaryRecord, p: SummaryPoint): void {
  s.count++;
  s.min = Math.min(s.min, p.value);
  s.max = Math.max(s.max, p.value);
  if (s.count === 1 || after(p, s)) Object.assign(s, { last: p.value, lastStep: p.step, lastWallclock: p.wallclock, lastId: p.id });
}
