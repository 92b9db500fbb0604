// Metric segments against a naive reference (DESIGN §3b, §4): random series (random steps,
// repeated steps, steps out of order, ties on step and wallclock, extreme values) written in
// random batches through REST and through sync pushes, some points sent again; then every
// segment, summary, page, step range, bucket and pull compared with what a plain list of the
// points says.
import { env } from 'cloudflare:test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceBuckets } from '../../shared/downsample.cases.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { decodeSegment } from '../../worker/db/segment-codec.ts';
import { call, expectError } from './api.ts';
import { newModelOp, syncClient } from './sync-client.ts';

const NS = 'segments';

interface Point {
  id: string;
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

const order = (a: Point, b: Point) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const value = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, 1, -1, 0.1, 5e-324, 1.7976931348623157e308, -1.7976931348623157e308),
  fc.integer({ min: -1000, max: 1000 }).map((x) => x / 8),
);

const point = (keys: string[], maxStep: number) =>
  fc.record({
    key: fc.constantFrom(...keys),
    value,
    step: fc.oneof(fc.integer({ min: 0, max: maxStep }), fc.constant(0), fc.constant(maxStep)),
    wallclock: fc.integer({ min: 0, max: 3 }).map((w) => 1_700_000_000_000 + w),
    /** How its id is made: a UUIDv7 (as the library makes them), a random UUIDv4, or none (the server makes one). */
    idKind: fc.constantFrom('v7', 'v7', 'v4', 'none'),
  });

const scenario = fc.record({
  keys: fc.constantFrom<string[]>(['loss'], ['loss', 'acc'], ['a', 'b/c', 'd']),
  maxStep: fc.constantFrom(5, 60, 2_000, Number.MAX_SAFE_INTEGER),
  batches: fc.array(
    fc.record({ size: fc.integer({ min: 1, max: 80 }), via: fc.constantFrom('rest', 'rest', 'sync'), resend: fc.integer({ min: 0, max: 10 }) }),
    { minLength: 1, maxLength: 7 },
  ),
  seed: fc.integer(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

let models = 0;

async function runScenario(s: Scenario) {
  const rng = fc.sample(fc.array(point(s.keys, s.maxStep), { minLength: 800, maxLength: 800 }), { numRuns: 1, seed: s.seed })[0]!;
  const m = await newModelOp(NS, `p${++models}`);
  const sync = syncClient(NS);
  await sync.pushAll([m]);
  const parent = `/namespaces/${NS}/models/p${models}`;
  const stored = new Map<string, Point>();
  let taken = 0;
  for (const b of s.batches) {
    const fresh = rng.slice(taken, taken + b.size);
    taken += b.size;
    // Some points sent again, with their ids (a retried batch, a re-seed).
    const again = [...stored.values()].filter((p) => p.id).slice(0, b.resend);
    if (b.via === 'rest') {
      const body = [...fresh.map((p) => ({ key: p.key, value: p.value, step: p.step, wallclock: p.wallclock, ...(p.idKind === 'none' ? {} : { id: p.idKind === 'v7' ? uuidv7() : crypto.randomUUID() }) })), ...again];
      const r = await call('POST', `${parent}/metrics`, { body: { metrics: body } });
      expect(r.status).toBe(201);
      expect(r.body.count).toBe(body.length);
      for (const p of body) if (p.id) stored.set(p.id, p as Point);
      // Points the server named: learned from the history below (their ids are the server's).
      for (const p of body) if (!p.id) stored.set(`server:${stored.size}`, { ...(p as Omit<Point, 'id'>), id: '' });
    } else {
      const points = [...fresh.map((p) => ({ id: p.idKind === 'v4' ? crypto.randomUUID() : uuidv7(), key: p.key, value: p.value, step: p.step, wallclock: p.wallclock })), ...again];
      const stats = await sync.pushAll([{ name: 'metrics.log', args: { parentId: m.args.id, points } }]);
      expect(stats.pushes).toBeGreaterThan(0);
      for (const p of points) stored.set(p.id, p);
    }
  }
  const all = [...stored.values()];
  const byKey = (k: string) => all.filter((p) => p.key === k);

  // Segments: their ranges and own summaries match their points; each point once.
  const { results: segments } = await env.DB.prepare(
    `SELECT ser.key, s.n, s.step_min, s.step_max, s.id_min, s.id_max, s.min, s.max, s.last, s.last_wallclock, s.data
     FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?`,
  )
    .bind(m.args.id)
    .all<{ key: string; n: number; step_min: number; step_max: number; id_min: string; id_max: string; min: number; max: number; last: number; last_wallclock: number; data: number[] }>();
  const fromSegments: Point[] = [];
  for (const seg of segments) {
    const pts = decodeSegment(seg.data);
    expect(pts.length).toBe(seg.n);
    expect(seg.n).toBeLessThanOrEqual(LIMITS.metricSegmentPoints);
    const sorted = [...pts].sort((a, b) => order({ ...a, key: '' }, { ...b, key: '' }));
    expect(pts).toEqual(sorted);
    expect([seg.step_min, seg.step_max]).toEqual([sorted[0]!.step, sorted.at(-1)!.step]);
    expect([seg.id_min, seg.id_max]).toEqual([pts.map((p) => p.id).sort()[0], pts.map((p) => p.id).sort().at(-1)]);
    expect([seg.min, seg.max]).toEqual([Math.min(...pts.map((p) => p.value)), Math.max(...pts.map((p) => p.value))]);
    expect([seg.last, seg.last_wallclock]).toEqual([sorted.at(-1)!.value, sorted.at(-1)!.wallclock]);
    for (const p of pts) fromSegments.push({ ...p, key: seg.key });
  }
  expect(fromSegments).toHaveLength(all.length);
  expect(new Set(fromSegments.map((p) => `${p.key}\0${p.id}`)).size).toBe(all.length);
  // Points the server named get their ids from the segments.
  const named = new Map(fromSegments.map((p) => [`${p.key}\0${p.id}`, p]));
  for (const p of all) if (p.id) expect(named.get(`${p.key}\0${p.id}`)).toMatchObject({ step: p.step, wallclock: p.wallclock });
  const truth = fromSegments;
  for (const k of s.keys) {
    const mine = byKey(k).map((p) => `${p.step}/${p.wallclock}/${p.value}`).sort();
    expect(truth.filter((p) => p.key === k).map((p) => `${p.step}/${p.wallclock}/${p.value}`).sort()).toEqual(mine);
  }

  // Summaries: last by (step, wallclock, id), min, max, count, lastStep.
  const summary = (await call('GET', `${parent}/metrics`)).body.metrics;
  for (const k of s.keys) {
    const pts = truth.filter((p) => p.key === k).sort(order);
    if (!pts.length) {
      expect(summary[k]).toBeUndefined();
      continue;
    }
    const values = pts.map((p) => p.value);
    expect(summary[k]).toEqual({ last: pts.at(-1)!.value, min: Math.min(...values), max: Math.max(...values), count: pts.length, lastStep: pts.at(-1)!.step });
  }

  for (const k of s.keys) {
    const pts = truth.filter((p) => p.key === k).sort(order);
    const steps = pts.map((p) => p.step);
    // A step range: random, or around the points.
    const lo = steps.length ? steps[Math.floor(steps.length / 3)]! : 0;
    const hi = steps.length ? steps[Math.floor((2 * steps.length) / 3)]! : 0;
    for (const range of [{}, { from: lo, to: hi }, { from: hi }, { to: lo }]) {
      const from = 'from' in range ? range.from : undefined;
      const to = 'to' in range ? range.to : undefined;
      const want = pts.filter((p) => (from === undefined || p.step >= from) && (to === undefined || p.step <= to));
      // Pages of a random size cover the range in order, each point once.
      const pageSize = 15 + ((s.seed >>> 0) % 90);
      const seen: Point[] = [];
      let token: string | undefined;
      const q = (extra: Record<string, string>) => new URLSearchParams({ ...(from !== undefined ? { from: String(from) } : {}), ...(to !== undefined ? { to: String(to) } : {}), ...extra });
      do {
        const r = await call('GET', `${parent}/metrics/${encodeURIComponent(k)}?${q({ pageSize: String(pageSize), ...(token ? { pageToken: token } : {}) })}`);
        expect(r.status).toBe(200);
        expect(r.body.points.length).toBeLessThanOrEqual(pageSize);
        seen.push(...r.body.points);
        token = r.body.nextPageToken;
      } while (token);
      // Each point with its id (a device fetching a history it lacks stores each point once).
      expect(seen).toEqual(want.map((p) => ({ id: p.id, step: p.step, value: p.value, wallclock: p.wallclock })));
      // Buckets: min, max and last per bucket over the range (the key's own range by default).
      for (const maxPoints of [2, 7, 100]) {
        const r = await call('GET', `${parent}/metrics/${encodeURIComponent(k)}?${q({ maxPoints: String(maxPoints) })}`);
        expect(r.status).toBe(200);
        const bFrom = from ?? (pts.length ? pts[0]!.step : 0);
        const bTo = to ?? (pts.length ? pts.at(-1)!.step : 0);
        expect(r.body.points.length).toBeLessThanOrEqual(maxPoints);
        expect(r.body.points).toEqual(pts.length && bFrom <= bTo ? referenceBuckets(pts, bFrom, bTo, maxPoints) : []);
      }
    }
  }

  // Pull sends every point once, with its id, key, step, wallclock and value.
  const pulled: Point[] = [];
  let cursor = 0;
  for (;;) {
    const page = await sync.pull(cursor);
    for (const c of page.body.changes) if (c.entity === 'metrics' && c.entityId === m.args.id) pulled.push(...(c.data.points as Point[]));
    cursor = page.body.cursor;
    if (!page.body.more) break;
  }
  const sortById = (xs: Point[]) => xs.map(({ id, key, value, step, wallclock }) => ({ id, key, value, step, wallclock })).sort((a, b) => (a.id < b.id ? -1 : 1));
  expect(sortById(pulled)).toEqual(sortById(fromSegments));
}

describe('metric segments against a naive reference', () => {
  it('agree on segments, summaries, pages, ranges, buckets and pulls for random series', async () => {
    await fc.assert(fc.asyncProperty(scenario, runScenario), { numRuns: 10, seed: 20261207 });
  }, 300_000);

  it('answer 400 invalid-argument to from > to, a bad step or absurd maxPoints, and change nothing', async () => {
    const m = await newModelOp(NS, 'bad');
    const c = syncClient(NS);
    await c.pushAll([m]);
    const parent = `/namespaces/${NS}/models/bad`;
    await call('POST', `${parent}/metrics`, { body: { metrics: [{ key: 'k', value: 1, step: 3 }] } });
    const before = (await call('GET', `${parent}/metrics`)).body;
    for (const q of ['from=5&to=4', 'from=5&to=4&maxPoints=10', 'from=-1', 'to=1.5', 'from=abc', `maxPoints=${LIMITS.maxPointsMax + 1}`, 'maxPoints=1e9', `to=${2 ** 60}`]) {
      expectError(await call('GET', `${parent}/metrics/k?${q}`), 400, 'invalid-argument');
    }
    expect((await call('GET', `${parent}/metrics`)).body).toEqual(before);
    // from = to is one step.
    expect((await call('GET', `${parent}/metrics/k?from=3&to=3`)).body.points).toEqual([{ id: expect.any(String), step: 3, value: 1, wallclock: expect.any(Number) }]);
  });

  it('stores a point logged twice with the same id once, over REST and sync, in one batch or two', async () => {
    const m = await newModelOp(NS, 'twice');
    const c = syncClient(NS);
    await c.pushAll([m]);
    const parent = `/namespaces/${NS}/models/twice`;
    const p = { id: uuidv7(), key: 'k', value: 0.5, step: 1, wallclock: 10 };
    expect((await call('POST', `${parent}/metrics`, { body: { metrics: [p, p] } })).body.count).toBe(2);
    expect((await call('POST', `${parent}/metrics`, { body: { metrics: [p] } })).body.count).toBe(1);
    await c.pushAll([{ name: 'metrics.log', args: { parentId: m.args.id, points: [p, p] } }, { name: 'metrics.log', args: { parentId: m.args.id, points: [p] } }]);
    expect((await call('GET', `${parent}/metrics`)).body.metrics.k.count).toBe(1);
    expect((await call('GET', `${parent}/metrics/k`)).body.points).toHaveLength(1);
  });
});
