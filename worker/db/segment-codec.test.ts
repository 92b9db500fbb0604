import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import { comparePoints, decodeSegment, encodeSegment, type SegmentPoint } from './segment-codec.ts';

const step = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(0, 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const id = fc.oneof(
  fc.constant(null).map(() => uuidv7()),
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.string({ minLength: 1, maxLength: 40 }),
);
const point = fc.record({
  id,
  step,
  wallclock: step,
  value: fc.double({ noNaN: true }),
});

describe('segment codec', () => {
  it('round-trips any points exactly: safe-integer steps and wallclocks, every float64, any id', () => {
    fc.assert(
      fc.property(fc.array(point, { minLength: 1, maxLength: 300 }), (raw) => {
        const points = [...raw].sort(comparePoints);
        const back = decodeSegment(encodeSegment(points));
        expect(back).toHaveLength(points.length);
        back.forEach((p, i) => {
          const want = points[i]!;
          expect([p.id, p.step, p.wallclock]).toEqual([want.id, want.step, want.wallclock]);
          expect(Object.is(p.value, want.value)).toBe(true);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('packs points logged with UUIDv7 ids at a steady pace in little more than their value and random bits', () => {
    const t0 = 1_765_000_000_000;
    const points: SegmentPoint[] = Array.from({ length: 1000 }, (_, i) => ({ id: uuidv7(t0 + i * 3), step: i, wallclock: t0 + i * 3, value: Math.random() }));
    const bytes = encodeSegment(points).length;
    expect(bytes / points.length).toBeLessThan(16.1);
    expect(bytes / points.length).toBeGreaterThanOrEqual(16);
    // An irregular pace costs up to a byte per column.
    const jitter: SegmentPoint[] = points.map((p, i) => ({ ...p, step: i * 2 + (i % 3), wallclock: t0 + i * 3 + (i % 5) }));
    expect(encodeSegment(jitter).length / points.length).toBeLessThan(19);
  });

  it('reads the JSON segments migration 0009 writes, in (step, wallclock, id) order', () => {
    const json = JSON.stringify([
      ['b', 2, 1, '0.33333333333333331'],
      ['a', 1, 5, '-0'],
      ['c', 1, 5, '1.7976931348623157e+308'],
    ]);
    expect(decodeSegment(json)).toEqual([
      { id: 'a', step: 1, wallclock: 5, value: -0 },
      { id: 'c', step: 1, wallclock: 5, value: 1.7976931348623157e308 },
      { id: 'b', step: 2, wallclock: 1, value: 1 / 3 },
    ]);
  });

  it('refuses a segment of an unknown format or cut short', () => {
    const data = encodeSegment([{ id: uuidv7(), step: 1, wallclock: 2, value: 3 }]);
    expect(() => decodeSegment(Uint8Array.of(9, ...data.subarray(1)))).toThrow(/format 9/);
    expect(() => decodeSegment(data.subarray(0, data.length - 3))).toThrow(/ends early/);
  });
});
