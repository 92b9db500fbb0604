import { describe, expect } from 'vitest';
import { referenceBuckets, type CasePoint } from '../../shared/downsample.cases.ts';
import { expectNoPageErrors, test } from './browser.ts';

// A chart reads the buckets it draws from per-level cells kept beside the segments (DESIGN §7,
// web/client/metric-cells.ts). In real IndexedDB, over random series logged in random batches
// (in order, back in the past, many points at a step with ties on wallclock, far-apart steps)
// and random ranges, the buckets answered from the cells must be the buckets computed from the
// series' every point, before and after the registry is opened again.

interface Query {
  key: string;
  maxPoints: number;
  from?: number;
  to?: number;
}

describe('metric history buckets from the cells', () => {
  test('answer as the buckets computed from every point of random series, over random ranges', { timeout: 400_000 }, async ({ browser }) => {
    const page = await browser.newPage();
    const seen = await page.evaluate(async () => {
      let seed = 20261207;
      const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
      const int = (n: number) => Math.floor(random() * n);
      const hangar = await window.openRegistry({ name: 'cells', persist: false });
      const version = await (await hangar.newModel({ namespace: 'team', name: 'cells' })).newVersion();
      // dense: steps one by one; sparse: far apart; crowded: many points per step, wallclock ties.
      const steps = { dense: 0, sparse: 0, crowded: 0 };
      for (let batch = 0; batch < 30; batch++) {
        const size = 1 + int(batch % 10 === 0 ? 3000 : 200);
        for (let i = 0; i < size; i++) {
          const back = random() < 0.05;
          const dense = back ? int(steps.dense + 1) : steps.dense++;
          const sparse = back ? int(steps.sparse + 1) : (steps.sparse += 1 + int(2 ** 30));
          const crowded = back ? int(steps.crowded + 1) : (steps.crowded += random() < 0.1 ? 1 : 0);
          void version.logMetrics({ dense: random() * 10 - 5 }, { step: dense, wallclock: 1000 + int(4) });
          void version.logMetrics({ sparse: random() }, { step: sparse, wallclock: 1000 + int(1000) });
          void version.logMetrics({ crowded: int(1000) / 7 }, { step: crowded, wallclock: 1000 + int(3) });
        }
        if (batch % 3 === 0) await hangar.flush();
      }
      await hangar.flush();
      const queries: Query[] = [];
      for (const key of ['dense', 'sparse', 'crowded']) {
        for (let i = 0; i < 20; i++) {
          const last = key === 'dense' ? steps.dense : key === 'sparse' ? steps.sparse : steps.crowded;
          const from = int(3) === 0 ? undefined : int(last);
          const to = int(3) === 0 ? undefined : (from ?? 0) + int(last - (from ?? 0) + 1);
          queries.push({ key, maxPoints: 2 + int([10, 300, 3000][i % 3]!), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
        }
      }
      const answer = async (h: typeof hangar) => {
        const v = await h.find('team/cells/1');
        const out = [];
        for (const q of queries) out.push(await v.metricHistory(q.key, { maxPoints: q.maxPoints, ...(q.from !== undefined ? { from: q.from } : {}), ...(q.to !== undefined ? { to: q.to } : {}) }));
        return out;
      };
      const all: Record<string, { step: number; value: number; wallclock: number }[]> = {};
      for (const key of ['dense', 'sparse', 'crowded']) all[key] = (await version.metricHistory(key)) as { step: number; value: number; wallclock: number }[];
      const before = await answer(hangar);
      const cells = await hangar.db.metricCells.count();
      await hangar.close();
      const again = await window.openRegistry({ name: 'cells', persist: false });
      const after = await answer(again);
      await again.close();
      return { queries, all, before, after, cells };
    });
    expect(seen.cells).toBeGreaterThan(0);
    let usedCells = 0;
    for (const [i, q] of seen.queries.entries()) {
      // Every point in point order: its place in the full history breaks ties as its id does.
      const points: CasePoint[] = seen.all[q.key]!.map((p, n) => ({ ...p, id: String(n).padStart(8, '0') }));
      const from = q.from ?? points[0]!.step;
      const to = q.to ?? points.at(-1)!.step;
      const want = from <= to ? referenceBuckets(points, from, to, q.maxPoints) : [];
      expect(seen.before[i], JSON.stringify(q)).toEqual(want);
      expect(seen.after[i], JSON.stringify(q)).toEqual(want);
      if ((to - from + 1) / q.maxPoints >= 16) usedCells++;
    }
    // Most queries are wide enough for the cells to answer them (width ≥ 16 steps).
    expect(usedCells).toBeGreaterThan(seen.queries.length / 2);
    expectNoPageErrors(page);
  });
});
