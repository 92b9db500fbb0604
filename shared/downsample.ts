import type { MetricPoint } from './metrics.ts';

/** A downsampled point: the bucket's last step, wallclock and value, and the min and max of its values. */
export interface MetricBucket extends MetricPoint {
  min: number;
  max: number;
}

/**
 * The one bucketing definition of a downsampled history (DESIGN §4), shared by the server's
 * history API and the browser's `metricHistory`: steps [from, to] cut into buckets of equal
 * step width (`bucketWidth`), and per bucket that holds points its last point (step, wallclock,
 * value) with the min and max of its values. Points are added in point order (step, wallclock,
 * id); points outside [from, to] are left out. No object is made per point.
 */
export class StepBucketer {
  readonly out: MetricBucket[] = [];
  private readonly width: number;
  private bucket = -1;
  private current: MetricBucket | undefined;
  /** Steps of the current bucket: [from + bucket × width, end). */
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
    // Still in the current bucket: known by its end when a float holds it, else by its index.
    if (c && (step < this.end || bucketIndex(step - this.from, this.width) === this.bucket)) {
      c.step = step;
      c.wallclock = wallclock;
      c.value = value;
      if (value < c.min) c.min = value;
      if (value > c.max) c.max = value;
      return;
    }
    const b = bucketIndex(step - this.from, this.width);
    if (c) this.out.push(c);
    this.bucket = b;
    // The bucket's end, where a float holds it exactly; else each point's bucket is worked out.
    const end = this.from + (b + 1) * this.width;
    this.end = this.from >= 0 && Number.isSafeInteger(end) ? end : -Infinity;
    this.current = { step, wallclock, value, min: value, max: value };
  }

  /** The buckets so far, the current one included. */
  buckets(): MetricBucket[] {
    return this.current ? [...this.out, this.current] : [...this.out];
  }
}

/**
 * A history over steps [from, to] in at most `maxPoints` buckets of equal step width (DESIGN
 * §4): per bucket that holds points, the last point (greatest step, then wallclock: its step,
 * wallclock and value) and the min and max of the bucket's values, so a chart draws the line
 * through what was logged last and the band around it. `points` are ordered by (step,
 * wallclock, id); points outside [from, to] are left out. The server answers `maxPoints` with
 * this, from its segments (worker/db/metrics.ts); the browser with `StepBucketer` over its
 * segments' columns (web/client/metric-store.ts).
 */
export function stepBuckets(points: readonly MetricPoint[], from: number, to: number, maxPoints: number): MetricBucket[] {
  const b = new StepBucketer(from, to, maxPoints);
  for (const p of points) b.add(p.step, p.wallclock, p.value);
  return b.buckets();
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
