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
