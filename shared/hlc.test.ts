import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HybridClock, parseHlc } from './hlc.ts';
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
