import type { MetricPoint } from './metrics.ts';

/** A downsampled point: the bucket's last step, wallclock and value, and the min and max of its values. */
export interface MetricBucket extends MetricPoint {
  min: number;
  max: number;
}

/**
 * The one bucketing definition of a downsampled history (DESIGN §4), shared by the server's
 * history API and the browser's `metricHistory`: steps [from, to] cut at the multiples of a
 * power-of-two step width (`bucketWidth`), and per bucket that holds points its last point
 * (step, wallclock, value) with the min and max of its values. Because the edges sit at
 * multiples of a power of two, a bucket is a union of stored per-level summaries (the browser's
 * `metricCells`), so a chart need not read every point. Points are added in point order (step,
 * wallclock, id); points outside [from, to] are left out. No object is made per point.
 */
export class StepBucketer {
  readonly out: MetricBucket[] = [];
  readonly width: number;
  private current: MetricBucket | undefined;
  /** The first step past the current bucket: (index + 1) × width (exact: a multiple of a power of two). */
  private end = -Infinity;

  constructor(
    readonly from: number,
    readonly to: number,
    maxPoints: number,
  ) {
    this.width = bucketWidth(from, to, maxPoints);
  }

  add(step: number, wallclock: number, value: number): void {
    if (step < this.from || step > this.to) return;
    const c = this.current;
    if (c && step < this.end) {
      c.step = step;
      c.wallclock = wallclock;
      c.value = value;
      if (value < c.min) c.min = value;
      if (value > c.max) c.max = value;
      return;
    }
    if (c) this.out.push(c);
    this.end = (bucketIndex(step, this.width) + 1) * this.width;
    this.current = { step, wallclock, value, min: value, max: value };
  }

  /**
   * Adds a run of points at once by its summary: their last point and the min and max of their
   * values. The run's steps lie within [from, to], within one bucket, and after every point
   * added before (a stored cell of a width no greater than the buckets', aligned as they are).
   */
  addSummary(lastStep: number, lastWallclock: number, last: number, min: number, max: number): void {
    this.add(lastStep, lastWallclock, last);
    const c = this.current!;
    if (min < c.min) c.min = min;
    if (max > c.max) c.max = max;
  }

  /** The buckets so far, the current one included. */
  buckets(): MetricBucket[] {
    return this.current ? [...this.out, this.current] : [...this.out];
  }
}

/**
 * A history over steps [from, to] in at most `maxPoints` buckets (DESIGN §4): the buckets are
 * the steps b × width … (b + 1) × width − 1 (within [from, to]) for the least power-of-two
 * width that makes at most `maxPoints` of them meet the range; per bucket that holds points,
 * the last point (greatest step, then wallclock: its step, wallclock and value) and the min and
 * max of the bucket's values, so a chart draws the line through what was logged last and the
 * band around it. `points` are ordered by (step, wallclock, id); points outside [from, to] are
 * left out. The server answers `maxPoints` with this, from its segments (worker/db/metrics.ts);
 * the browser with `StepBucketer` over its per-level cells and segments (web/client/metric-cells.ts).
 */
export function stepBuckets(points: readonly MetricPoint[], from: number, to: number, maxPoints: number): MetricBucket[] {
  const b = new StepBucketer(from, to, maxPoints);
  for (const p of points) b.add(p.step, p.wallclock, p.value);
  return b.buckets();
}

/**
 * The bucket width of a history over [from, to] in at most `maxPoints` buckets: the least power
 * of two w for which ⌊to / w⌋ − ⌊from / w⌋ + 1 ≤ maxPoints (at most 2^53, one bucket, for any
 * safe-integer steps ≥ 0). Exact: dividing by a power of two never rounds.
 */
export function bucketWidth(from: number, to: number, maxPoints: number): number {
  let w = 1;
  while (Math.floor(to / w) - Math.floor(from / w) + 1 > maxPoints && w < 2 ** 53) w *= 2;
  return w;
}

/** The index of the bucket (or cell) of width `width`, a power of two, that holds `step`: ⌊step / width⌋, exactly. */
export function bucketIndex(step: number, width: number): number {
  return Math.floor(step / width);
}
