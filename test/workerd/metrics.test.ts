import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../shared/sync.ts';
import { call, expectError, freshModel, freshVersion, tokenFor } from './api.ts';

const NS = 'metrics';
const newModel = () => freshModel(NS);
const newVersion = () => freshVersion(NS);

const points = (n: number, key = 'loss', from = 0) =>
  Array.from({ length: n }, (_, i) => ({ key, value: (from + i) / 10, step: from + i, wallclock: 1_700_000_000_000 + from + i }));

const log = (parent: string, metrics: unknown[], token?: string) => call('POST', `${parent}/metrics`, { body: { metrics }, token });
const summary = async (parent: string) => (await call('GET', `${parent}/metrics`)).body.metrics;
const history = (parent: string, key: string, query: Record<string, string> = {}) =>
  call('GET', `${parent}/metrics/${encodeURIComponent(key)}?${new URLSearchParams(query)}`);

const storedCount = async (parentPath: string) => {
  const all = await summary(parentPath);
  return Object.values(all as Record<string, { count: number }>).reduce((n, s) => n + s.count, 0);
};

describe('POST …/metrics', () => {
  it('accepts 1000 points in one request and answers 201 with the count', async () => {
    const m = await newModel();
    const r = await log(m, points(1000));
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ count: 1000 });
    expect(await storedCount(m)).toBe(1000);
  });

  it('refuses 1001 points with 413 payload-too-large and stores nothing', async () => {
    const m = await newModel();
    const r = await log(m, points(1001));
    expectError(r, 413, 'payload-too-large');
    expect(r.body.error.details).toMatchObject({ limit: 1000, count: 1001 });
    expect(await summary(m)).toEqual({});
  });

  it('stores each point once when a batch with the same ids is retried, or repeats an id', async () => {
    const m = await newModel();
    const batch = points(3).map((p) => ({ ...p, id: crypto.randomUUID() }));
    expect((await log(m, batch)).body).toEqual({ count: 3 });
    expect((await log(m, batch)).body).toEqual({ count: 3 });
    expect((await log(m, [batch[0], batch[0]])).status).toBe(201);
    expect((await summary(m)).loss.count).toBe(3);
  });

  it('writes one change-log row per request naming its segments, and pull sends their points with their ids', async () => {
    const m = await newModel();
    await log(m, [...points(3), ...points(2, 'acc')]);
    const id = (await call('GET', m)).body.id;
    const { results } = await env.DB.prepare("SELECT seq, op, data FROM change_log WHERE entity = 'metrics' AND entity_id = ?")
      .bind(id)
      .all<{ seq: number; op: string; data: string }>();
    expect(results).toHaveLength(1);
    expect(results[0]!.op).toBe('log');
    const ref = JSON.parse(results[0]!.data) as { count: number; segments: [string, string][] };
    // The row refers to the points: no copy of them.
    expect(ref.count).toBe(5);
    expect(ref.segments.map(([key]) => key).sort()).toEqual(['acc', 'loss']);
    const page = await call('GET', `/namespaces/${NS}/sync/pull?clientId=${crypto.randomUUID()}&cursor=${results[0]!.seq - 1}&limit=1`, { headers: { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) } });
    expect(page.status).toBe(200);
    const logged = page.body.changes[0].data.points as { id: string; key: string; step: number; value: number }[];
    expect(logged.filter((p) => p.key === 'loss').map((p) => p.step)).toEqual([0, 1, 2]);
    expect(logged.filter((p) => p.key === 'acc').map((p) => p.value)).toEqual([0, 0.1]);
    for (const p of logged) expect(p.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes no change-log row when every point of a request is stored already', async () => {
    const m = await newModel();
    const batch = points(4).map((p) => ({ ...p, id: crypto.randomUUID() }));
    await log(m, batch);
    await log(m, batch.slice(1, 3));
    const id = (await call('GET', m)).body.id;
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM change_log WHERE entity = 'metrics' AND entity_id = ?").bind(id).first<number>('n');
    expect(n).toBe(1);
  });

  it('defaults step to 0 and wallclock to the time of the request', async () => {
    const m = await newModel();
    const before = Date.now();
    await log(m, [{ key: 'acc', value: 0.5 }]);
    const r = await history(m, 'acc');
    expect(r.body.points).toHaveLength(1);
    expect(r.body.points[0].step).toBe(0);
    expect(r.body.points[0].wallclock).toBeGreaterThanOrEqual(before);
    expect(r.body.points[0].wallclock).toBeLessThanOrEqual(Date.now());
  });

  it('returns 201 with count 0 for an empty list', async () => {
    const m = await newModel();
    expect((await log(m, [])).body).toEqual({ count: 0 });
  });

  it('returns 400 for NaN, Infinity, strings or null as values and stores nothing', async () => {
    const m = await newModel();
    const raw = (value: string) => call('POST', `${m}/metrics`, { body: `{"metrics":[{"key":"ok","value":1},{"key":"x","value":${value}}]}` });
    expectError(await raw('NaN'), 400, 'invalid-json');
    expectError(await raw('1e999'), 400, 'invalid-argument'); // JSON.parse reads it as Infinity
    expectError(await raw('-1e999'), 400, 'invalid-argument');
    expectError(await raw('"0.5"'), 400, 'invalid-argument');
    const r = await raw('null');
    expectError(r, 400, 'invalid-argument');
    expect(r.body.error.details.issues[0].path).toBe('metrics.1.value');
    expect(await summary(m)).toEqual({});
  });

  it('returns 400 for a negative or fractional step, a bad id and a missing key', async () => {
    const m = await newModel();
    expectError(await log(m, [{ key: 'a', value: 1, step: -1 }]), 400, 'invalid-argument');
    expectError(await log(m, [{ key: 'a', value: 1, step: 1.5 }]), 400, 'invalid-argument');
    expectError(await log(m, [{ key: 'a', value: 1, id: 'not-a-uuid' }]), 400, 'invalid-argument');
    expectError(await log(m, [{ value: 1 }]), 400, 'invalid-argument');
    expectError(await call('POST', `${m}/metrics`, { body: { points: [] } }), 400, 'invalid-argument');
  });

  it('returns 400 for a key longer than 250 characters, when logging and when reading', async () => {
    const m = await newModel();
    expectError(await log(m, [{ key: 'k'.repeat(251), value: 1 }]), 400, 'invalid-argument');
    expect((await log(m, [{ key: 'k'.repeat(250), value: 1 }])).status).toBe(201);
    expectError(await history(m, 'k'.repeat(251)), 400, 'invalid-argument');
  });

  it('keeps values exactly as sent', async () => {
    const m = await newModel();
    const values = [0, -0.1, 1 / 3, Math.PI, 5e-324, 1.7976931348623157e308, -123456789.987654321, ...Array.from({ length: 50 }, () => Math.random() * 1e6)];
    await log(m, values.map((value, step) => ({ key: 'exact', value, step })));
    const r = await history(m, 'exact', { pageSize: '1000' });
    expect(r.body.points.map((p: { value: number }) => p.value)).toEqual(values.map((v) => (Object.is(v, -0) ? 0 : v)));
  });
});

describe('GET …/metrics', () => {
  it('summarises each key: last by (step, wallclock), min, max, count and lastStep', async () => {
    const m = await newModel();
    await log(m, [
      { key: 'loss', value: 0.9, step: 1, wallclock: 10 },
      { key: 'loss', value: 0.2, step: 3, wallclock: 10 },
      { key: 'loss', value: 0.4, step: 3, wallclock: 30 }, // same step, later: this is last
      { key: 'loss', value: 0.1, step: 2, wallclock: 99 },
      { key: 'acc', value: 0.7, step: 5 },
    ]);
    // Logged later but at an earlier step: does not become "last".
    await log(m, [{ key: 'loss', value: 5, step: 0 }]);
    expect(await summary(m)).toEqual({
      acc: { last: 0.7, min: 0.7, max: 0.7, count: 1, lastStep: 5 },
      loss: { last: 0.4, min: 0.1, max: 5, count: 5, lastStep: 3 },
    });
  });

  it('answers an empty summary for a model without metrics', async () => {
    const m = await newModel();
    const r = await call('GET', `${m}/metrics`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ metrics: {} });
  });
});

describe('GET …/metrics/{key}', () => {
  it('pages a history in (step, wallclock) order, covering every point exactly once', async () => {
    const m = await newModel();
    // 237 points, three per step with distinct wallclocks, logged out of order.
    const all = Array.from({ length: 237 }, (_, i) => ({ key: 'train/loss', value: i, step: Math.floor(i / 3), wallclock: 1000 + (i % 3) }));
    await log(m, [...all].reverse());
    const seen: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await history(m, 'train/loss', { pageSize: '50', ...(token ? { pageToken: token } : {}) });
      expect(r.status).toBe(200);
      expect(r.body.key).toBe('train/loss');
      expect(r.body.points.length).toBeLessThanOrEqual(50);
      seen.push(...r.body.points.map((p: { value: number }) => p.value));
      token = r.body.nextPageToken;
      pages++;
    } while (token);
    expect(pages).toBe(5);
    expect(seen).toEqual(all.map((p) => p.value));
  });

  it('pages points that share step and wallclock by id, without loss', async () => {
    const m = await newModel();
    await log(m, Array.from({ length: 7 }, (_, i) => ({ key: 'tie', value: i, step: 1, wallclock: 5 })));
    const seen: number[] = [];
    let token: string | undefined;
    do {
      const r = await history(m, 'tie', { pageSize: '2', ...(token ? { pageToken: token } : {}) });
      seen.push(...r.body.points.map((p: { value: number }) => p.value));
      token = r.body.nextPageToken;
    } while (token);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reads a key holding "/" whether it is sent percent-encoded or as is', async () => {
    const m = await newModel();
    await log(m, [{ key: 'val/acc top-1%', value: 0.8, step: 1 }]);
    expect((await history(m, 'val/acc top-1%')).body.points).toEqual([{ id: expect.any(String), step: 1, value: 0.8, wallclock: expect.any(Number) }]);
    const plain = await call('GET', `${m}/metrics/val/acc%20top-1%25`);
    expect(plain.body).toMatchObject({ key: 'val/acc top-1%', points: [{ step: 1, value: 0.8 }] });
  });

  it('answers 200 with no points for a key that has none yet', async () => {
    const m = await newModel();
    const r = await history(m, 'never-logged');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ key: 'never-logged', points: [] });
  });

  it('returns 400 invalid-page-token for a token it did not issue', async () => {
    const m = await newModel();
    expectError(await history(m, 'loss', { pageToken: 'garbage' }), 400, 'invalid-page-token');
    expectError(await history(m, 'loss', { pageToken: btoa(JSON.stringify({ s: 'x', w: 1, i: 'a' })) }), 400, 'invalid-page-token');
  });

  it('returns 400 invalid-argument for a bad pageSize or maxPoints, or maxPoints with a page token', async () => {
    const m = await newModel();
    expectError(await history(m, 'loss', { pageSize: '0' }), 400, 'invalid-argument');
    expectError(await history(m, 'loss', { maxPoints: '1' }), 400, 'invalid-argument');
    expectError(await history(m, 'loss', { maxPoints: '10001' }), 400, 'invalid-argument');
    expectError(await history(m, 'loss', { maxPoints: '10', pageToken: 'x' }), 400, 'invalid-argument');
  });

  it('downsamples 10,000 points to at most maxPoints buckets of a power-of-two width with their last point and min/max band', async () => {
    const m = await newModel();
    // A sawtooth, so every bucket has a band: value = step % 7.
    const all = Array.from({ length: 10_000 }, (_, step) => ({ key: 'saw', value: step % 7, step, wallclock: 2_000_000 + step }));
    for (let i = 0; i < all.length; i += 1000) expect((await log(m, all.slice(i, i + 1000))).status).toBe(201);
    const r = await history(m, 'saw', { maxPoints: '100' });
    expect(r.status).toBe(200);
    expect(r.body.nextPageToken).toBeUndefined();
    const got = r.body.points as { step: number; value: number; wallclock: number; min: number; max: number }[];
    // Width 128, the least power of two that cuts steps 0–9999 into at most 100 buckets: 79 of them.
    expect(got.length).toBe(79);
    expect(got[0]!.step).toBe(127); // the last step of the first bucket (steps 0–127)
    expect(got[got.length - 1]!.step).toBe(9999);
    for (let b = 0; b < got.length; b++) {
      const bucket = all.slice(b * 128, b * 128 + 128).map((p) => p.value);
      const p = got[b]!;
      expect(p.min).toBe(Math.min(...bucket));
      expect(p.max).toBe(Math.max(...bucket));
      expect(p.value).toBe(bucket[bucket.length - 1]);
      expect(p.wallclock).toBe(2_000_000 + p.step);
      if (b > 0) expect(p.step).toBeGreaterThan(got[b - 1]!.step);
    }
  });

  it('returns every point, each its own band, when maxPoints exceeds the count', async () => {
    const m = await newModel();
    await log(m, points(10, 'few'));
    const r = await history(m, 'few', { maxPoints: '100' });
    expect(r.body.points).toHaveLength(10);
    for (const [i, p] of (r.body.points as { step: number; value: number; min: number; max: number }[]).entries()) {
      expect(p).toMatchObject({ step: i, value: i / 10, min: i / 10, max: i / 10 });
    }
  });
});

describe('metrics on versions and access', () => {
  it('keeps a version’s metrics apart from its model’s', async () => {
    const { model, version } = await newVersion();
    expect((await log(version, points(4, 'v-only'))).status).toBe(201);
    expect((await log(model, points(2, 'm-only'))).status).toBe(201);
    expect(Object.keys(await summary(version))).toEqual(['v-only']);
    expect(Object.keys(await summary(model))).toEqual(['m-only']);
    expect((await history(version, 'v-only')).body.points).toHaveLength(4);
    expect((await history(model, 'v-only')).body.points).toEqual([]);
  });

  it('returns 404 for a model or version that does not exist', async () => {
    const { model } = await newVersion();
    expectError(await log(`/namespaces/${NS}/models/nope`, points(1)), 404, 'model-not-found');
    expectError(await call('GET', `/namespaces/${NS}/models/nope/metrics`), 404, 'model-not-found');
    expectError(await log(`${model}/versions/99`, points(1)), 404, 'version-not-found');
    expectError(await history(`${model}/versions/99`, 'loss'), 404, 'version-not-found');
  });

  it('lets a read token GET metrics but answers 403 permission-denied to its POST', async () => {
    const { version } = await newVersion();
    await log(version, points(2));
    const reader = await tokenFor(NS, 'read');
    expect((await call('GET', `${version}/metrics`, { token: reader })).status).toBe(200);
    expect((await call('GET', `${version}/metrics/loss`, { token: reader })).body.points).toHaveLength(2);
    expectError(await log(version, points(1), reader), 403, 'permission-denied');
    const writer = await tokenFor(NS, 'write');
    expect((await log(version, points(1, 'w'), writer)).status).toBe(201);
  });

  it('answers 401 without a token and 404 to a token of another namespace', async () => {
    const m = await newModel();
    expectError(await call('GET', `${m}/metrics`, { token: null }), 401, 'unauthenticated');
    const other = await tokenFor('elsewhere', 'admin');
    expectError(await call('GET', `${m}/metrics`, { token: other }), 404, 'namespace-not-found');
  });
});
