// The history API's buckets (GET …/metrics/{key}?maxPoints, DESIGN §4) against the shared table
// of cases (shared/downsample.cases.ts) that the browser's metricHistory answers too.
import { describe, expect, it } from 'vitest';
import { BUCKET_CASES, caseRange } from '../../shared/downsample.cases.ts';
import { call, freshModel } from './api.ts';

const NS = 'metric-buckets';

/** UUIDs in the order of the case's ids, so ties on (step, wallclock) break the same way. */
const uuidsFor = (ids: string[]) => {
  const rank = new Map([...ids].sort().map((id, i) => [id, i]));
  return (id: string) => `00000000-0000-7000-8000-${rank.get(id)!.toString(16).padStart(12, '0')}`;
};

describe('GET …/metrics/{key}?maxPoints answers the shared bucket cases', () => {
  for (const c of BUCKET_CASES) {
    it(c.name, async () => {
      const m = await freshModel(NS);
      const uuid = uuidsFor(c.points.map((p) => p.id));
      const r = await call('POST', `${m}/metrics`, { body: { metrics: c.points.map((p) => ({ id: uuid(p.id), key: 'loss', value: p.value, step: p.step, wallclock: p.wallclock })) } });
      expect(r.status).toBe(201);
      const { from, to } = caseRange(c);
      const query = new URLSearchParams({ maxPoints: String(c.maxPoints), ...(c.from !== undefined ? { from: String(from) } : {}), ...(c.to !== undefined ? { to: String(to) } : {}) });
      const h = await call('GET', `${m}/metrics/loss?${query}`);
      expect(h.status).toBe(200);
      expect(h.body.points).toEqual(c.buckets);
    });
  }
});
