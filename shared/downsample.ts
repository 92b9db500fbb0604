import type { MetricPoint } from './metrics.ts';

/** A downsampled point: the bucket's last step and wallclock, its mean value, and its range. */
export interface MetricBucket extends MetricPoint {
  min: number;
  max: number;
}

/**
 * Cuts points (ordered by step) into `maxPoints` buckets by rank, as the server does in SQL:
 * step and wallclock of the bucket's last point, the mean value, and min/max for a band.
 */
export function downsample(points: readonly MetricPoint[], maxPoints: number): MetricBucket[] {
  const n = points.length;
  const buckets: MetricBucket[] = [];
  let sum = 0;
  let count = 0;
  let current: MetricBucket | undefined;
  let currentBucket = -1;
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    const b = Math.floor((i * maxPoints) / n);
    if (b !== currentBucket) {
      if (current) buckets.push({ ...current, value: sum / count });
      current = { step: p.step, wallclock: p.wallclock, value: p.value, min: p.value, max: p.value };
      currentBucket = b;
      sum = 0;
      count = 0;
    }
    current = { ...current!, step: Math.max(current!.step, p.step), wallclock: Math.max(current!.wallclock, p.wallclock), min: Math.min(current!.min, p.value), max: Math.max(current!.max, p.value) };
    sum += p.value;
    count++;
  }
  if (current) buckets.push({ ...current, value: sum / count });
  return buckets;
}

/**
 * A history over steps [from, to] in at most `maxPoints` buckets of equal step width (DESIGN
 * §4): per bucket that holds points, the last point (greatest step, then wallclock: its step,
 * wallclock and value) and the min and max of the bucket's values, so a chart draws the line
 * through what was logged last and the band around it. `points` are ordered by (step,
 * wallclock, id); points outside [from, to] are left out. The server answers `maxPoints` with
 * this, from its segments (worker/db/metrics.ts).
 */
export function stepBuckets(points: readonly MetricPoint[], from: number, to: number, maxPoints: number): MetricBucket[] {
  const width = bucketWidth(from, to, maxPoints);
  const out: MetricBucket[] = [];
  let bucket = -1;
  let current: MetricBucket | undefined;
  for (const p of points) {
    if (p.step < from || p.step > to) continue;
    const b = bucketIndex(p.step - from, width);
    if (b !== bucket || !current) {
      if (current) out.push(current);
      bucket = b;
      current = { step: p.step, wallclock: p.wallclock, value: p.value, min: p.value, max: p.value };
      continue;
    }
    current.step = p.step;
    current.wallclock = p.wallclock;
    current.value = p.value;
    if (p.value < current.min) current.min = p.value;
    if (p.value > current.max) current.max = p.value;
  }
  if (current) out.push(current);
  return out;
}

/**
 * The step width of `maxPoints` buckets over [from, to]: ⌈(to − from + 1) / maxPoints⌉, at
 * least 1. Exact for every pair of safe-integer steps (BigInt where a float could round).
 */
export function bucketWidth(from: number, to: number, maxPoints: number): number {
  const span = to - from + 1;
  if (span < 2 ** 52) return Math.max(1, Math.ceil(span / maxPoints));
  const m = BigInt(maxPoints);
  return Number((BigInt(to) - BigInt(from) + 1n + m - 1n) / m);
}

/** ⌊offset / width⌋ of a non-negative safe-integer offset, exactly. */
export function bucketIndex(offset: number, width: number): number {
  if (offset < 2 ** 52) return Math.floor(offset / width);
  return Number(BigInt(offset) / BigInt(width));
}
