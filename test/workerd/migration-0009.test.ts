// Upgrade test for migration 0009 (metric segments): points written under the old schema, one
// row each in `metrics`, come out of the new storage point for point (id, step, wallclock and
// the exact float64 value), with the same summaries, histories and filters; the old table is
// gone, and the API goes on writing into the carried-over series. This file starts its own
// (per-file isolated) database over: every table dropped, the migrations before 0009 applied.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelId } from '../../shared/ids.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../shared/sync.ts';
import { decodeSegment } from '../../worker/db/segment-codec.ts';
import { call } from './api.ts';

const apply = async (name: string) => {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith(name));
  if (!migration) throw new Error(`no migration ${name}`);
  await env.DB.batch(migration.queries.map((q) => env.DB.prepare(q)));
};

interface OldPoint {
  id: string;
  parent: string;
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

/** Values a float64 column must keep exactly, and the digits SQL must print for them. */
const HARD = [0, -0, 0.1, 1 / 3, Math.PI, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 2 ** 53, -123456789.987654321, 0.30000000000000004];

const order = (a: OldPoint, b: OldPoint) => a.step - b.step || a.wallclock - b.wallclock || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe('migration 0009 (metric segments)', () => {
  let model = '';
  let version = '';
  const old: OldPoint[] = [];

  beforeAll(async () => {
    const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{
      name: string;
    }>();
    await env.DB.batch(results.map((t) => env.DB.prepare(`DROP TABLE "${t.name}"`)));
    for (const m of env.TEST_MIGRATIONS.filter((m) => m.name < '0009')) await apply(m.name.slice(0, 4));
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'metrics'").first('n')).toBe(1);
    model = await modelId('upg9', 'old');
    version = crypto.randomUUID();
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare('INSERT INTO namespaces (name, created_at) VALUES (?, ?)').bind('upg9', now),
      env.DB.prepare("INSERT INTO models (id, namespace, name, clocks, created_at, updated_at) VALUES (?, 'upg9', 'old', '{}', ?, ?)").bind(model, now, now),
      env.DB.prepare("INSERT INTO versions (id, namespace, model_id, number, status, created_at, updated_at) VALUES (?, 'upg9', ?, 1, 'ready', ?, ?)").bind(version, model, now, now),
    ]);
    // 2,345 points of one key (three segments), out of order, with repeated steps and ties on
    // (step, wallclock); the hard values; a key on the version; ids of every case the old
    // schema took (UUIDv7, UUIDv4, upper case).
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2345; i++) {
      old.push({ id: crypto.randomUUID(), parent: model, key: 'loss', value: rand() * 10 - 5, step: Math.floor(rand() * 800), wallclock: 1_700_000_000_000 + Math.floor(rand() * 3) });
    }
    HARD.forEach((value, i) => old.push({ id: crypto.randomUUID().toUpperCase(), parent: model, key: 'hard', value, step: i, wallclock: 5 }));
    for (let i = 0; i < 30; i++) old.push({ id: `0190a0b0-c0d0-7${String(i).padStart(3, '0')}-8000-00000000000${i % 10}`, parent: version, key: 'val/acc', value: i / 30, step: i * 10, wallclock: 9 });
    const insert = (rows: OldPoint[]) =>
      env.DB.prepare(
        `INSERT INTO metrics (id, namespace, parent_id, key, value, step, wallclock)
         SELECT p.value ->> 0, 'upg9', p.value ->> 1, p.value ->> 2, p.value ->> 3, p.value ->> 4, p.value ->> 5 FROM json_each(?) p`,
      ).bind(JSON.stringify(rows.map((p) => [p.id, p.parent, p.key, p.value, p.step, p.wallclock])));
    await env.DB.batch([
      insert(old.slice(0, 1200)),
      insert(old.slice(1200)),
      // The change log as the old code wrote it: a copy of the points.
      env.DB.prepare("INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at) VALUES ('upg9', 'metrics', ?, 'log', ?, '000000000000001-000000-dev', ?)").bind(
        version,
        JSON.stringify({ points: old.filter((p) => p.parent === version).map(({ parent: _, ...p }) => p) }),
        now,
      ),
    ]);
    for (const m of env.TEST_MIGRATIONS.filter((m) => m.name >= '0009')) await apply(m.name.slice(0, 4));
  });

  it('drops the old table and carries every point over exactly, in segments of at most 1,000', async () => {
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'metrics'").first('n')).toBe(0);
    const { results } = await env.DB.prepare(
      'SELECT ser.parent_id, ser.key, s.n, s.step_min, s.step_max, s.id_min, s.id_max, s.data FROM metric_segments s JOIN metric_series ser ON ser.id = s.series',
    ).all<{ parent_id: string; key: string; n: number; step_min: number; step_max: number; id_min: string; id_max: string; data: string }>();
    const got: OldPoint[] = [];
    for (const r of results) {
      const points = decodeSegment(r.data);
      expect(points).toHaveLength(r.n);
      expect(r.n).toBeLessThanOrEqual(1000);
      expect(r.step_min).toBe(points[0]!.step);
      expect(r.step_max).toBe(points.at(-1)!.step);
      expect(r.id_min).toBe(points.map((p) => p.id).sort()[0]);
      expect(r.id_max).toBe(points.map((p) => p.id).sort().at(-1));
      for (const p of points) got.push({ ...p, parent: r.parent_id, key: r.key });
    }
    expect(results.filter((r) => r.key === 'loss').map((r) => r.n).sort()).toEqual([1000, 1000, 345]);
    const key = (p: OldPoint) => `${p.parent}/${p.key}/${p.id}`;
    const want = new Map(old.map((p) => [key(p), p]));
    expect(got).toHaveLength(old.length);
    for (const p of got) {
      const w = want.get(key(p));
      expect(w, key(p)).toBeDefined();
      expect(p.step).toBe(w!.step);
      expect(p.wallclock).toBe(w!.wallclock);
      // Object.is: exact to the last bit (the old code sent values through JSON, so -0 was stored as 0).
      expect(Object.is(p.value, Object.is(w!.value, -0) ? 0 : w!.value), `${p.value} vs ${w!.value}`).toBe(true);
    }
  });

  it('answers the summaries, histories and filters the old rows answered', async () => {
    const summary = (await call('GET', '/namespaces/upg9/models/old/metrics')).body.metrics;
    for (const k of ['loss', 'hard']) {
      const pts = old.filter((p) => p.parent === model && p.key === k).sort(order);
      const values = pts.map((p) => p.value);
      expect(summary[k]).toEqual({ last: pts.at(-1)!.value, min: Math.min(...values), max: Math.max(...values), count: pts.length, lastStep: pts.at(-1)!.step });
    }
    const loss = old.filter((p) => p.key === 'loss').sort(order);
    const seen: number[] = [];
    let token: string | undefined;
    do {
      const r = await call('GET', `/namespaces/upg9/models/old/metrics/loss?pageSize=700${token ? `&pageToken=${token}` : ''}`);
      seen.push(...r.body.points.map((p: { value: number }) => p.value));
      token = r.body.nextPageToken;
    } while (token);
    expect(seen).toEqual(loss.map((p) => p.value));
    const hard = (await call('GET', '/namespaces/upg9/models/old/metrics/hard?pageSize=100')).body.points.map((p: { value: number }) => p.value);
    expect(hard).toEqual(HARD.map((v) => (Object.is(v, -0) ? 0 : v)));
    const lastLoss = loss.at(-1)!.value;
    const filter = (f: string) => call('GET', `/namespaces/upg9/models?filter=${encodeURIComponent(f)}`);
    expect((await filter(`metrics.loss = ${lastLoss}`)).body.items).toHaveLength(1);
    expect((await filter(`metrics.loss > ${lastLoss}`)).body.items).toHaveLength(0);
  });

  it('still pulls the old change log’s copy of the points', async () => {
    const r = await call('GET', `/namespaces/upg9/sync/pull?clientId=${crypto.randomUUID()}&cursor=0`, { headers: { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) } });
    const logs = r.body.changes.filter((c: { entity: string }) => c.entity === 'metrics');
    expect(logs).toHaveLength(1);
    expect(logs[0].data.points.map((p: { id: string }) => p.id)).toEqual(old.filter((p) => p.parent === version).map((p) => p.id));
  });

  it('goes on writing into the carried-over series, skipping the ids it holds', async () => {
    const again = old.filter((p) => p.key === 'loss').slice(0, 5).map(({ id, key, value, step, wallclock }) => ({ id, key, value, step, wallclock }));
    const r = await call('POST', '/namespaces/upg9/models/old/metrics', { body: { metrics: [...again, { key: 'loss', value: -99, step: 10_000 }] } });
    expect(r.status).toBe(201);
    const summary = (await call('GET', '/namespaces/upg9/models/old/metrics')).body.metrics;
    expect(summary.loss).toMatchObject({ count: 2346, last: -99, min: -99, lastStep: 10_000 });
    const buckets = (await call('GET', '/namespaces/upg9/models/old/metrics/loss?maxPoints=2&from=0&to=799')).body.points;
    // Two aligned buckets of a power-of-two width (shared/downsample.ts): steps 0–511 and 512–799.
    const first = old.filter((p) => p.key === 'loss' && p.step < 512).sort(order);
    expect(buckets[0]).toMatchObject({ step: first.at(-1)!.step, value: first.at(-1)!.value, min: Math.min(...first.map((p) => p.value)), max: Math.max(...first.map((p) => p.value)) });
  });
});
