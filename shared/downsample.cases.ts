import type { MetricBucket } from './downsample.ts';

/**
 * The bucketing of a downsampled history (DESIGN §4) as one table of cases and a brute-force
 * reference. `shared/downsample.test.ts` runs them against `stepBuckets`; the browser's
 * `metricHistory` (web/client/metric-store.test.ts) and the server's history API
 * (test/workerd/metric-segments.test.ts, test/workerd/metric-buckets.test.ts) answer the same
 * cases, so the two sides cannot drift apart.
 */

/** A point of a case: its id breaks ties on (step, wallclock). */
export interface CasePoint {
  id: string;
  step: number;
  value: number;
  wallclock: number;
}

const byOrder = (a: CasePoint, b: CasePoint) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The reference buckets, by brute force in exact integers: the least power of two w (from 1 up)
 * for which ⌊to / w⌋ − ⌊from / w⌋ + 1 ≤ maxPoints; every bucket [b × w, (b + 1) × w) from
 * ⌊from / w⌋ to ⌊to / w⌋ scanned on its own, over the points with steps in [from, to]; per
 * bucket with points, its last point (greatest step, then wallclock, then id) and the min and
 * max of its values.
 */
export function referenceBuckets(points: readonly CasePoint[], from: number, to: number, maxPoints: number): MetricBucket[] {
  const lo = BigInt(from);
  const hi = BigInt(to);
  let width = 1n;
  while (hi / width - lo / width + 1n > BigInt(maxPoints)) width *= 2n;
  const out: MetricBucket[] = [];
  const sorted = [...points].sort(byOrder);
  for (let b = lo / width; b <= hi / width; b++) {
    const inside = sorted.filter((p) => BigInt(p.step) / width === b && p.step >= from && p.step <= to);
    if (!inside.length) continue;
    const last = inside.at(-1)!;
    const values = inside.map((p) => p.value);
    out.push({ step: last.step, value: last.value, wallclock: last.wallclock, min: Math.min(...values), max: Math.max(...values) });
  }
  return out;
}

export interface BucketCase {
  name: string;
  points: CasePoint[];
  /** The query: `from` and `to` default to the series' first and last step. */
  from?: number;
  to?: number;
  maxPoints: number;
  buckets: MetricBucket[];
}

const pts = (steps: number[], value: (step: number, i: number) => number = (s) => s, wallclock = (_: number, i: number) => 1000 + i): CasePoint[] =>
  steps.map((step, i) => ({ id: `p${String(i).padStart(4, '0')}`, step, value: value(step, i), wallclock: wallclock(step, i) }));

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const BUCKET_CASES: BucketCase[] = [
  {
    name: 'steps 0..9 in 2 buckets of width 8 (the least power of two that fits): last, min and max of each',
    points: pts(range(0, 9), (s) => (s * 7) % 10),
    maxPoints: 2,
    buckets: [
      { step: 7, wallclock: 1007, value: 9, min: 0, max: 9 },
      { step: 9, wallclock: 1009, value: 3, min: 3, max: 6 },
    ],
  },
  {
    name: 'fewer points than maxPoints: one bucket per step, each its own point',
    points: pts([0, 1, 2]),
    maxPoints: 10,
    buckets: [
      { step: 0, wallclock: 1000, value: 0, min: 0, max: 0 },
      { step: 1, wallclock: 1001, value: 1, min: 1, max: 1 },
      { step: 2, wallclock: 1002, value: 2, min: 2, max: 2 },
    ],
  },
  {
    name: 'width rounds up to a power of two: steps 0..10 in 3 buckets of width 4',
    points: pts(range(0, 10)),
    maxPoints: 3,
    buckets: [
      { step: 3, wallclock: 1003, value: 3, min: 0, max: 3 },
      { step: 7, wallclock: 1007, value: 7, min: 4, max: 7 },
      { step: 10, wallclock: 1010, value: 10, min: 8, max: 10 },
    ],
  },
  {
    name: 'edges sit at multiples of the width, not at from; points outside [from, to] are left out',
    points: pts(range(0, 20)),
    from: 5,
    to: 12,
    maxPoints: 2,
    buckets: [
      { step: 7, wallclock: 1007, value: 7, min: 5, max: 7 },
      { step: 12, wallclock: 1012, value: 12, min: 8, max: 12 },
    ],
  },
  {
    name: 'a range that meets more edges than maxPoints allows takes the next width: steps 3..10 in 2 buckets of width 8, not 3 of width 4',
    points: pts(range(0, 20)),
    from: 3,
    to: 10,
    maxPoints: 2,
    buckets: [
      { step: 7, wallclock: 1007, value: 7, min: 3, max: 7 },
      { step: 10, wallclock: 1010, value: 10, min: 8, max: 10 },
    ],
  },
  {
    name: 'empty buckets are left out (by step width, not by rank): width 32',
    points: pts([0, 1, 2, 100]),
    maxPoints: 4,
    buckets: [
      { step: 2, wallclock: 1002, value: 2, min: 0, max: 2 },
      { step: 100, wallclock: 1003, value: 100, min: 100, max: 100 },
    ],
  },
  {
    name: 'ties on step: the last point is the one with the greatest wallclock, then id',
    points: [
      { id: 'b', step: 5, value: 2, wallclock: 7 },
      { id: 'a', step: 5, value: 1, wallclock: 7 },
      { id: 'c', step: 5, value: -3, wallclock: 6 },
      { id: 'd', step: 4, value: 9, wallclock: 9 },
      { id: 'e', step: 7, value: 0, wallclock: 1 },
    ],
    maxPoints: 2,
    buckets: [
      { step: 5, wallclock: 7, value: 2, min: -3, max: 9 },
      { step: 7, wallclock: 1, value: 0, min: 0, max: 0 },
    ],
  },
  {
    name: 'a range with no points answers no buckets',
    points: pts([0, 1, 2, 50]),
    from: 10,
    to: 40,
    maxPoints: 5,
    buckets: [],
  },
  {
    name: 'steps near the largest safe integer are bucketed exactly (width 4)',
    points: pts([Number.MAX_SAFE_INTEGER - 4, Number.MAX_SAFE_INTEGER - 2, Number.MAX_SAFE_INTEGER], (_, i) => i),
    from: Number.MAX_SAFE_INTEGER - 5,
    maxPoints: 2,
    buckets: [
      { step: Number.MAX_SAFE_INTEGER - 4, wallclock: 1000, value: 0, min: 0, max: 0 },
      { step: Number.MAX_SAFE_INTEGER, wallclock: 1002, value: 2, min: 1, max: 2 },
    ],
  },
  {
    name: 'steps from 0 to the largest safe integer: width 2^52, exactly',
    points: pts([0, 2 ** 52 - 1, 2 ** 52, Number.MAX_SAFE_INTEGER], (_, i) => i),
    maxPoints: 2,
    buckets: [
      { step: 2 ** 52 - 1, wallclock: 1001, value: 1, min: 0, max: 1 },
      { step: Number.MAX_SAFE_INTEGER, wallclock: 1003, value: 3, min: 2, max: 3 },
    ],
  },
  {
    name: 'extreme values keep their min and max',
    points: pts(range(0, 3), (_, i) => [5e-324, -1.7976931348623157e308, 1.7976931348623157e308, 0][i]!),
    maxPoints: 2,
    buckets: [
      { step: 1, wallclock: 1001, value: -1.7976931348623157e308, min: -1.7976931348623157e308, max: 5e-324 },
      { step: 3, wallclock: 1003, value: 0, min: 0, max: 1.7976931348623157e308 },
    ],
  },
];

/** The range a case asks, its defaults filled from the series. */
export function caseRange(c: BucketCase): { from: number; to: number } {
  const steps = c.points.map((p) => p.step);
  return { from: c.from ?? Math.min(...steps), to: c.to ?? Math.max(...steps) };
}
