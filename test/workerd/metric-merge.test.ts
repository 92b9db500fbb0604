import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { SweepBudget } from '../../worker/scheduled/budget.ts';
import { runSweeps } from '../../worker/scheduled/index.ts';
import { mergeSmallSegments } from '../../worker/scheduled/metric-segments.ts';
import { decodeSegment } from '../../worker/db/segment-codec.ts';
import { call, freshVersion } from './api.ts';
import { limitedD1 } from './d1-limits.ts';
import { seedPoints, storedPointCount, usedPoints } from './metric-seed.ts';

// The scheduled sweep's merge of small metric segments (DESIGN §3b): a client logging a point a
// request leaves a segment a point; once no change-log row names them, a key's small segments
// become full ones, and every answer about the points stays exactly the same.

const DAY = 24 * 60 * 60 * 1000;

async function sweep(at: number, limits: Record<string, number> = {}) {
  const usage = { queries: 0 };
  const report = await runSweeps({ ...env, DB: limitedD1(env.DB, usage) }, at, limits);
  expect(usage.queries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
  return report['metric-segments']!;
}

const segments = async (parentId: string, key: string) =>
  (
    await env.DB.prepare('SELECT n FROM metric_segments WHERE series = (SELECT id FROM metric_series WHERE parent_id = ? AND key = ?) ORDER BY step_min, id')
      .bind(parentId, key)
      .all<{ n: number }>()
  ).results.map((r) => r.n);

/** Everything the API answers about a parent's metrics: summary, every page of each key, buckets. */
async function answers(parent: string, keys: string[]) {
  const out: unknown[] = [(await call('GET', `${parent}/metrics`)).body];
  for (const key of keys) {
    let token: string | undefined;
    do {
      const page = await call('GET', `${parent}/metrics/${key}?${new URLSearchParams({ pageSize: '97', ...(token ? { pageToken: token } : {}) })}`);
      expect(page.status).toBe(200);
      out.push(page.body.points);
      token = page.body.nextPageToken;
    } while (token);
    for (const query of [{ maxPoints: '7' }, { maxPoints: '50', from: '10', to: '90' }] as Record<string, string>[]) out.push((await call('GET', `${parent}/metrics/${key}?${new URLSearchParams(query)}`)).body);
  }
  return out;
}

describe('merging small metric segments', () => {
  it('merges a key logged a few points a request once no change-log row names them; every answer stays the same', async () => {
    const { version } = await freshVersion('mm');
    const parentId = (await call('GET', version)).body.id as string;
    // 40 requests of 3 points of `loss`, in shuffled step order, and two of `acc`: a full
    // segment and a small one, nothing to merge.
    const order = Array.from({ length: 40 }, (_, i) => (i * 17) % 40);
    for (const r of order) {
      const metrics = [0, 1, 2].map((j) => ({ key: 'loss', value: Math.sin(r * 3 + j), step: r * 3 + j }));
      expect((await call('POST', `${version}/metrics`, { body: { metrics } })).status).toBe(201);
    }
    const acc = Array.from({ length: 1200 }, (_, i) => ({ key: 'acc', value: i / 1200, step: i }));
    for (const metrics of [acc.slice(0, 1000), acc.slice(1000)]) expect((await call('POST', `${version}/metrics`, { body: { metrics } })).status).toBe(201);
    expect(await segments(parentId, 'loss')).toHaveLength(40);
    const before = await answers(version, ['loss', 'acc']);
    const used = await usedPoints('mm');

    // Change-log rows still name the segments: a pull may read them, so they stay.
    const t0 = Date.now();
    expect(await sweep(t0)).toEqual({ series: 0, read: 0, written: 0 });
    expect(await segments(parentId, 'loss')).toHaveLength(40);

    // Past the log's retention its rows go (change-log step), and the merge follows in the same run.
    const late = t0 + (LIMITS.changeLogRetentionDays + 1) * DAY;
    expect(await sweep(late)).toEqual({ series: 1, read: 40, written: 1 });
    expect(await segments(parentId, 'loss')).toEqual([120]);
    expect(await segments(parentId, 'acc')).toEqual([1000, 200]);
    expect(await answers(version, ['loss', 'acc'])).toEqual(before);
    expect(await usedPoints('mm')).toBe(used);
    expect(await storedPointCount(parentId)).toBe(1320);

    // A new point is named by a change-log row again: nothing moves until that row goes too.
    expect((await call('POST', `${version}/metrics`, { body: { metrics: [{ key: 'loss', value: 9, step: 500 }] } })).status).toBe(201);
    expect(await sweep(Date.now())).toEqual({ series: 0, read: 0, written: 0 });
    expect(await segments(parentId, 'loss')).toEqual([120, 1]);
    expect(await sweep(late + (LIMITS.changeLogRetentionDays + 1) * DAY)).toEqual({ series: 1, read: 2, written: 1 });
    expect(await segments(parentId, 'loss')).toEqual([121]);
    // Nothing left to merge: a run changes nothing.
    expect(await sweep(late + (LIMITS.changeLogRetentionDays + 1) * DAY)).toEqual({ series: 0, read: 0, written: 0 });
  });

  it('a merge cut short by its limit goes on next run, point for point; full segments stay apart', async () => {
    // 5,000 points in 500 segments of 10 (no change-log row names them), a full segment after.
    await seedPoints('mm2', 'p-seeded', 'x', 5000, 10);
    expect(await segments('p-seeded', 'x')).toHaveLength(500);
    const series = await env.DB.prepare("SELECT count, min, max, last, first_step, last_step, last_id FROM metric_series WHERE parent_id = 'p-seeded'").first();
    let runs = 0;
    for (;;) {
      const r = await sweep(Date.now(), { 'metric-segments': 150 });
      if (!r.written) break;
      expect(r.read).toBeLessThanOrEqual(150);
      expect(++runs).toBeLessThan(10);
    }
    expect(runs).toBeGreaterThanOrEqual(3);
    // Each run merges what it read, in step order: at most one small segment is left.
    const after = await segments('p-seeded', 'x');
    expect(after.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(after.filter((n) => n <= LIMITS.metricSegmentSmall).length).toBeLessThanOrEqual(1);
    expect(after.length).toBeLessThanOrEqual(6);
    expect(await env.DB.prepare("SELECT count, min, max, last, first_step, last_step, last_id FROM metric_series WHERE parent_id = 'p-seeded'").first()).toEqual(series);
    // Every point as seeded: id, step, value.
    const { results } = await env.DB.prepare("SELECT data FROM metric_segments WHERE series = (SELECT id FROM metric_series WHERE parent_id = 'p-seeded') ORDER BY step_min").all<{
      data: ArrayBuffer;
    }>();
    const points = results.flatMap((r) => decodeSegment(r.data));
    expect(points.map((p) => [p.id, p.step, p.value])).toEqual(Array.from({ length: 5000 }, (_, i) => [`x-${String(i).padStart(8, '0')}`, i, i]));
  });

  it('a parent purged between the read and the write leaves no segment behind', async () => {
    const seriesId = await seedPoints('mm3', 'p-gone', 'y', 30, 3);
    const purging = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'batch') {
          return async (statements: D1PreparedStatement[]) => {
            await target.batch([
              target.prepare('DELETE FROM metric_segments WHERE series = ?').bind(seriesId),
              target.prepare('DELETE FROM metric_series WHERE id = ?').bind(seriesId),
            ]);
            return target.batch(statements);
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const r = await mergeSmallSegments({ env: { ...env, DB: purging }, now: Date.now(), budget: new SweepBudget(100), limit: 1000 });
    expect(r).toMatchObject({ series: 1, read: 10 });
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM metric_segments WHERE series = ?').bind(seriesId).first('n')).toBe(0);
  });
});
