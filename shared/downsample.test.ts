import { describe, expect, it } from 'vitest';
import { BUCKET_CASES, caseRange, referenceBuckets, type CasePoint } from './downsample.cases.ts';
import { bucketWidth, StepBucketer, stepBuckets } from './downsample.ts';

const ordered = (ps: CasePoint[]) => [...ps].sort((a, b) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

describe('stepBuckets (DESIGN §4)', () => {
  for (const c of BUCKET_CASES) {
    it(c.name, () => {
      const { from, to } = caseRange(c);
      expect(referenceBuckets(c.points, from, to, c.maxPoints)).toEqual(c.buckets);
      expect(stepBuckets(ordered(c.points), from, to, c.maxPoints)).toEqual(c.buckets);
    });
  }

  it('agrees with the reference on random series', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const span = [5, 60, 2000, 2 ** 40][round % 4]!;
      const points: CasePoint[] = Array.from({ length: 1 + rand(300) }, (_, i) => ({ id: `p${i}`, step: rand(span), value: rand(1000) / 8 - 60, wallclock: rand(4) }));
      const from = rand(2) ? 0 : rand(span);
      const to = from + rand(span);
      const maxPoints = 2 + rand(50);
      expect(stepBuckets(ordered(points), from, to, maxPoints)).toEqual(referenceBuckets(points, from, to, maxPoints));
    }
  });

  it('gives the buckets so far while points are still being added', () => {
    const b = new StepBucketer(0, 9, 2);
    b.add(0, 1, 5);
    expect(b.buckets()).toEqual([{ step: 0, wallclock: 1, value: 5, min: 5, max: 5 }]);
    b.add(8, 2, 1);
    expect(b.buckets()).toHaveLength(2);
  });

  it('takes the least power-of-two width whose edges leave at most maxPoints buckets in the range', () => {
    expect(bucketWidth(0, 999_999, 2000)).toBe(512);
    expect(bucketWidth(0, 99_999, 2000)).toBe(64);
    expect(bucketWidth(0, 1999, 2000)).toBe(1);
    expect(bucketWidth(1, 2001, 2000)).toBe(2);
    expect(bucketWidth(0, Number.MAX_SAFE_INTEGER, 1)).toBe(2 ** 53);
  });

  it('folds a run of points given by its summary as the points themselves would be', () => {
    const points = [0, 1, 2, 3, 4, 5, 6, 7].map((step) => ({ step, wallclock: step, value: (step * 5) % 7 }));
    const whole = new StepBucketer(0, 7, 2);
    for (const p of points) whole.add(p.step, p.wallclock, p.value);
    const summed = new StepBucketer(0, 7, 2);
    summed.add(0, 0, 0);
    // Steps 1..3, a cell of width 2 and one of width 1, and 4..7 one of width 4.
    summed.addSummary(2, 2, 3, 3, 5);
    summed.add(3, 3, 1);
    summed.addSummary(7, 7, 0, 0, 6);
    expect(summed.buckets()).toEqual(whole.buckets());
  });
});
