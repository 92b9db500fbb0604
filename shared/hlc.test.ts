import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHlc, HybridClock, isHlc, parseHlc } from './hlc.ts';
import { LIMITS } from './limits.ts';
import { modelId, uuidv7 } from './ids.ts';

describe('hybrid logical clock', () => {
  it('never goes backwards, even when the wall clock does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2e12 }), { minLength: 1, maxLength: 50 }), (walls) => {
        let i = 0;
        const clock = new HybridClock('a', () => walls[i++ % walls.length]!);
        const stamps = walls.map(() => clock.now());
        return stamps.every((s, j) => j === 0 || s > stamps[j - 1]!);
      }),
    );
  });

  it('orders after a remote clock it has received', () => {
    const clock = new HybridClock('a', () => 1000);
    clock.receive('000000000005000-000003-b');
    const next = clock.now();
    expect(next > '000000000005000-000003-b').toBe(true);
    expect(parseHlc(next)).toEqual({ ms: 5000, counter: 4, node: 'a' });
  });

  it('refuses to adopt a clock further ahead than the allowed drift, and keeps its format', () => {
    const clock = new HybridClock('a', () => 1_800_000_000_000);
    expect(clock.receive('999999999999999-999999-x')).toBe(false);
    expect(clock.receive(formatHlc(1_800_000_000_000 + LIMITS.maxClockDriftMs + 1, 0, 'x'))).toBe(false);
    const next = clock.now();
    expect(parseHlc(next)).toEqual({ ms: 1_800_000_000_000, counter: 0, node: 'a' });
    expect(clock.receive(formatHlc(1_800_000_000_000 + LIMITS.maxClockDriftMs, 0, 'x'))).toBe(true);
  });

  it('moves to the next millisecond when the counter is full, never leaving the format', () => {
    const clock = new HybridClock('a', () => 1000);
    clock.receive(formatHlc(1000, 999_998, 'b'));
    const stamps = [clock.now(), clock.now(), clock.now()];
    expect(stamps.every(isHlc)).toBe(true);
    expect(stamps.map((s) => parseHlc(s))).toEqual([
      { ms: 1000, counter: 999_999, node: 'a' },
      { ms: 1001, counter: 0, node: 'a' },
      { ms: 1001, counter: 1, node: 'a' },
    ]);
  });

  it('stamps with the wall time corrected by the offset learned from a server', () => {
    const day = 86_400_000;
    const clock = new HybridClock('a', () => 1_800_000_000_000 + day);
    clock.offsetMs = -day;
    expect(parseHlc(clock.now())!.ms).toBe(1_800_000_000_000);
    // A server clock a minute ahead of the corrected time is adopted.
    expect(clock.receive(formatHlc(1_800_000_060_000, 0, 's'))).toBe(true);
  });
});

describe('ids', () => {
  it('makes UUIDv7s that sort by time', () => {
    const a = uuidv7(1000);
    const b = uuidv7(2000);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });

  it('derives the same model id from the same namespace and name, on any device', async () => {
    expect(await modelId('team', 'churn')).toBe(await modelId('team', 'churn'));
    expect(await modelId('team', 'churn')).not.toBe(await modelId('team2', 'churn'));
    expect(await modelId('team', 'churn')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8/);
  });
});

describe('uuidv7 ordering', () => {
  it('keeps ids made within one millisecond in the order they were made', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(42));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
