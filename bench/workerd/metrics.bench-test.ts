import { env, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import type { StoredPoint } from '../../worker/db/metrics.ts';
import { createPlainTable, PLAIN_TABLE, plainRows, storedPoints } from './plain-metrics.ts';
import { median, report, timed } from './report.ts';

const ADMIN = 'hgr_test_admin_token';
const NS = 'bench';
const POINTS = 10_000;
const PER_REQUEST = 1000;
const ROUNDS = 5;
const KEYS = ['loss', 'accuracy', 'val/loss', 'val/accuracy', 'lr'];
/** Points logged for the storage figures: enough that page rounding and a first segment's overhead vanish. */
const STORAGE_POINTS = 100_000;

/**
 * Points as a training run logs them through the client library: five keys per step, each
 * point's id a UUIDv7 made when it is logged, a few milliseconds apart.
 */
function makePoints(n = POINTS): StoredPoint[] {
  const t0 = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const wallclock = t0 + Math.floor(i / KEYS.length) * 3;
    return { id: uuidv7(wallclock), key: KEYS[i % KEYS.length]!, value: Math.random(), step: Math.floor(i / KEYS.length), wallclock };
  });
}

const chunks = <T>(xs: T[], size: number) => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, i * size + size));

/** The baseline: the same rows as plain D1 batch() calls of one INSERT per row, 1000 per batch. */
async function plainRound(rows: StoredPoint[]): Promise<number> {
  const parentId = uuidv7();
  const stmt = env.DB.prepare(`INSERT INTO ${PLAIN_TABLE} (id, namespace, parent_id, key, value, step, wallclock) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const ms = await timed(async () => {
    for (const c of chunks(rows, PER_REQUEST)) await env.DB.batch(c.map((r) => stmt.bind(r.id, NS, parentId, r.key, r.value, r.step, r.wallclock)));
  });
  expect(await plainRows(parentId)).toBe(rows.length);
  return ms;
}

async function api(method: string, path: string, body: string): Promise<Response> {
  return SELF.fetch(`https://hangar.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body,
  });
}

let models = 0;

async function newModel(): Promise<{ name: string; id: string }> {
  const name = `run${++models}`;
  const created = await api('POST', `/namespaces/${NS}/models`, JSON.stringify({ name }));
  expect(created.status).toBe(201);
  return { name, id: ((await created.json()) as { id: string }).id };
}

async function logAll(model: string, rows: StoredPoint[]): Promise<void> {
  for (const c of chunks(rows, PER_REQUEST)) {
    const res = await api('POST', `/namespaces/${NS}/models/${model}/metrics`, JSON.stringify({ metrics: c }));
    if (res.status !== 201) throw new Error(`the API answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
}

/** One round of the API side on a fresh model: 10 requests of 1000 points, in a row. */
async function apiRound(rows: StoredPoint[]): Promise<number> {
  const { name, id } = await newModel();
  const ms = await timed(() => logAll(name, rows));
  expect(await storedPoints(id)).toBe(rows.length);
  return ms;
}

/** The database's size in bytes (D1 reports it after every query). */
async function dbSize(): Promise<number> {
  const size = (await env.DB.prepare('SELECT 1').run()).meta.size_after;
  if (typeof size !== 'number' || !(size > 0)) throw new Error('D1 did not report the database size (meta.size_after)');
  return size;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

it('logs 10,000 metric points through the API vs a plain D1 batch', async () => {
  await createPlainTable();
  const sides: Record<string, (rows: StoredPoint[]) => Promise<number>> = { api: apiRound, plain: plainRound };
  const names = Object.keys(sides);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  // Round 0 warms up (first statements prepared, code paths compiled) and is not counted.
  // Each later round starts with a different side, so drift (a growing table) spreads evenly.
  for (let round = 0; round <= ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const side = names[(i + round) % names.length]!;
      const ms = await sides[side]!(makePoints());
      if (round > 0) samples[side]!.push(ms);
    }
  }
  report({
    name: 'Log 10,000 metric points through the API (10 requests × 1000)',
    value: round1(median(samples.api!)),
    unit: 'ms',
    baseline: round1(median(samples.plain!)),
    goal: '≤ 1.5',
    note:
      'API: POST …/models/{m}/metrics via SELF.fetch with the admin token (auth, validation, the read of ids already stored, segments packed, summaries and change-log row in one batch); ' +
      `baseline: the same 10,000 rows as plain D1 batch() calls of one INSERT per row (10 × 1000) into a plain table of one row per point with its two indexes (the layout before migration 0009), same workerd; median of ${ROUNDS} alternating rounds on fresh parents.`,
    samples: samples.api!.map(round1),
    baselineSamples: samples.plain!.map(round1),
  });
});

it('stores a metric point in ≤ 24 bytes of D1, indexes and change log included', async () => {
  await createPlainTable();
  const rows = makePoints(STORAGE_POINTS);
  // Hangar: the points through the API, 1000 per request, on a fresh model.
  const { name, id } = await newModel();
  const before = await dbSize();
  await logAll(name, rows);
  const after = await dbSize();
  expect(await storedPoints(id)).toBe(STORAGE_POINTS);
  const perPoint = (after - before) / STORAGE_POINTS;

  // The layout before migration 0009: a row per point with its two indexes, and the change
  // log's copy of the points (one row per request of 1000, as logMetrics wrote it then).
  const plainBefore = await dbSize();
  const parentId = uuidv7();
  const stmt = env.DB.prepare(`INSERT INTO ${PLAIN_TABLE} (id, namespace, parent_id, key, value, step, wallclock) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  for (const c of chunks(rows, PER_REQUEST)) {
    const fresh = c.map((p) => ({ ...p, id: uuidv7(p.wallclock) }));
    await env.DB.batch([
      ...fresh.map((r) => stmt.bind(r.id, NS, parentId, r.key, r.value, r.step, r.wallclock)),
      env.DB.prepare("INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at) VALUES (?, 'metrics', ?, 'log', ?, '0', ?)").bind(
        'bench-plain',
        parentId,
        JSON.stringify({ points: fresh }),
        Date.now(),
      ),
    ]);
  }
  const plainPerPoint = (await dbSize() - plainBefore) / STORAGE_POINTS;
  const round2 = (x: number) => Math.round(x * 100) / 100;
  report({
    name: 'D1 bytes per metric point logged 1,000 per request (segments, summaries, indexes and change log)',
    value: round2(perPoint),
    unit: 'bytes',
    baseline: null,
    goal: '≤ 24',
    note:
      `Hangar: ${STORAGE_POINTS.toLocaleString('en')} points (5 keys, random float64 values, UUIDv7 ids made at logging time, as the client library logs them) through POST …/metrics, 1000 per request, on a fresh model; the database's size (D1's meta.size_after) before and after, divided by the points. ` +
      `The layout before migration 0009 took ${round2(plainPerPoint)} bytes a point measured the same way (next figure).`,
  });
  report({
    name: 'D1 bytes per metric point in the layout before migration 0009 (a row per point, its two indexes, the change log copying the points)',
    value: round2(plainPerPoint),
    unit: 'bytes',
    baseline: null,
    goal: null,
    note: 'The same points as the previous figure, stored as the code before migration 0009 stored them: a row per point in a plain table with its primary-key and series indexes, and a change-log row per request of 1000 copying the points; the database size before and after, divided by the points.',
  });
  report({
    name: 'D1 database size per million metric points',
    value: round1((perPoint * 1e6) / 1e6),
    unit: 'MB',
    baseline: round1((plainPerPoint * 1e6) / 1e6),
    goal: null,
    note: `From the bytes per point above (× 1,000,000, in MB of 10^6 bytes); a 10 GB D1 database holds about ${Math.round(10e9 / perPoint / 1e6)} million points this way, ${Math.round(10e9 / plainPerPoint / 1e6)} million before.`,
  });
});

it('measures the D1 bytes of a model version with its metadata and metric summaries', async () => {
  const VERSIONS = 300;
  const KEYS_PER_VERSION = 20;
  const { name } = await newModel();
  const before = await dbSize();
  for (let i = 0; i < VERSIONS; i++) {
    const created = await api('POST', `/namespaces/${NS}/models/${name}/versions`, JSON.stringify({ metadata: { lr: 0.001 * (i + 1), epochs: 50, dataset: 'train-2026-q4.csv' } }));
    expect(created.status).toBe(201);
    const { number } = (await created.json()) as { number: number };
    const points = Array.from({ length: KEYS_PER_VERSION }, (_, k) => ({ key: `metric_${k}`, value: Math.random(), step: 0 }));
    const logged = await api('POST', `/namespaces/${NS}/models/${name}/versions/${number}/metrics`, JSON.stringify({ metrics: points }));
    expect(logged.status).toBe(201);
  }
  const perVersion = (await dbSize() - before) / VERSIONS;
  report({
    name: `D1 bytes per model version (its row, 3 metadata keys, ${KEYS_PER_VERSION} metric keys of one point each, change log)`,
    value: Math.round(perVersion),
    unit: 'bytes',
    baseline: null,
    goal: null,
    note: `${VERSIONS} versions through POST …/versions (3 metadata keys) and one POST …/metrics of ${KEYS_PER_VERSION} keys each, on one model; the database's size (D1's meta.size_after) before and after, divided by the versions. A metric key's summary row and first segment are most of it; further points cost the bytes per point above.`,
  });
});
