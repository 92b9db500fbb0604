import { env, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import { insertMetricPoints, type StoredPoint } from '../../worker/db/metrics.ts';
import { median, report, timed } from './report.ts';

const ADMIN = 'hgr_test_admin_token';
const NS = 'bench';
const POINTS = 10_000;
const PER_REQUEST = 1000;
const ROUNDS = 5;
const KEYS = ['loss', 'accuracy', 'val/loss', 'val/accuracy', 'lr'];

const COLUMNS = '(id, namespace, parent_id, key, value, step, wallclock)';
const ONE_ROW = '(?, ?, ?, ?, ?, ?, ?)';

/** 10,000 points as a training run logs them: five keys per step, fresh ids. */
function makePoints(): StoredPoint[] {
  const t0 = Date.now();
  return Array.from({ length: POINTS }, (_, i) => ({
    id: uuidv7(t0),
    key: KEYS[i % KEYS.length]!,
    value: Math.random(),
    step: Math.floor(i / KEYS.length),
    wallclock: t0 + i,
  }));
}

const chunks = <T>(xs: T[], size: number) => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, i * size + size));

type Insert = (db: D1Database, parentId: string, rows: StoredPoint[]) => D1PreparedStatement[];

/** The substrate: a plain D1 batch of one INSERT per row. */
const plainInsert: Insert = (db, parentId, rows) => {
  const stmt = db.prepare(`INSERT INTO metrics ${COLUMNS} VALUES ${ONE_ROW}`);
  return rows.map((r) => stmt.bind(r.id, NS, parentId, r.key, r.value, r.step, r.wallclock));
};

/** The ways the API could write points, compared on D1 alone. */
const strategies: Record<string, { name: string; insert: Insert }> = {
  perRow: {
    name: 'Insert 10,000 points: one INSERT OR IGNORE per row',
    insert: (db, parentId, rows) => {
      const stmt = db.prepare(`INSERT OR IGNORE INTO metrics ${COLUMNS} VALUES ${ONE_ROW}`);
      return rows.map((r) => stmt.bind(r.id, NS, parentId, r.key, r.value, r.step, r.wallclock));
    },
  },
  multiRow: {
    // 14 rows × 7 parameters = 98, under D1's 100 bound parameters per statement.
    name: 'Insert 10,000 points: INSERT OR IGNORE of 14 rows per statement',
    insert: (db, parentId, rows) =>
      chunks(rows, 14).map((c) =>
        db
          .prepare(`INSERT OR IGNORE INTO metrics ${COLUMNS} VALUES ${c.map(() => ONE_ROW).join(', ')}`)
          .bind(...c.flatMap((r) => [r.id, NS, parentId, r.key, r.value, r.step, r.wallclock])),
      ),
  },
  jsonEach: {
    name: 'Insert 10,000 points: one json_each INSERT OR IGNORE per 1000 (the API’s way)',
    insert: (db, parentId, rows) => [insertMetricPoints(db, NS, parentId, rows)],
  },
};

/** Writes the points with `insert`, 1000 per batch, as 10 batches in a row. */
async function viaD1(insert: Insert, parentId: string, rows: StoredPoint[]): Promise<void> {
  for (const c of chunks(rows, PER_REQUEST)) await env.DB.batch(insert(env.DB, parentId, c));
}

async function countOf(parentId: string): Promise<number> {
  return (await env.DB.prepare('SELECT COUNT(*) AS n FROM metrics WHERE parent_id = ?').bind(parentId).first<number>('n')) ?? 0;
}

async function api(method: string, path: string, body: string): Promise<Response> {
  return SELF.fetch(`https://hangar.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body,
  });
}

let models = 0;

/** One round of the API side on a fresh model: 10 requests of 1000 points, in a row. */
async function apiRound(rows: StoredPoint[]): Promise<number> {
  const name = `run${++models}`;
  const created = await api('POST', `/namespaces/${NS}/models`, JSON.stringify({ name }));
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const bodies = chunks(rows, PER_REQUEST).map((c) => JSON.stringify({ metrics: c }));
  const ms = await timed(async () => {
    for (const body of bodies) {
      const res = await api('POST', `/namespaces/${NS}/models/${name}/metrics`, body);
      if (res.status !== 201) throw new Error(`the API answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  });
  expect(await countOf(id)).toBe(POINTS);
  return ms;
}

async function d1Round(insert: Insert, rows: StoredPoint[]): Promise<number> {
  const parentId = uuidv7();
  const ms = await timed(() => viaD1(insert, parentId, rows));
  expect(await countOf(parentId)).toBe(POINTS);
  return ms;
}

it('logs 10,000 metric points through the API vs a plain D1 batch', async () => {
  const sides: Record<string, (rows: StoredPoint[]) => Promise<number>> = {
    api: apiRound,
    plain: (rows) => d1Round(plainInsert, rows),
    ...Object.fromEntries(Object.entries(strategies).map(([k, s]) => [k, (rows: StoredPoint[]) => d1Round(s.insert, rows)])),
  };
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
  const plain = median(samples.plain!);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  report({
    name: 'Log 10,000 metric points through the API (10 requests × 1000)',
    value: round1(median(samples.api!)),
    unit: 'ms',
    baseline: round1(plain),
    goal: '≤ 1.5',
    note:
      'API: POST …/models/{m}/metrics via SELF.fetch with the admin token (auth, validation, ids, change-log row); ' +
      `baseline: the same 10,000 rows as plain D1 batch() calls of one INSERT per row (10 × 1000), same workerd; median of ${ROUNDS} alternating rounds on fresh parents.`,
    samples: samples.api!.map(round1),
    baselineSamples: samples.plain!.map(round1),
  });
  for (const [key, s] of Object.entries(strategies)) {
    report({
      name: s.name,
      value: round1(median(samples[key]!)),
      unit: 'ms',
      baseline: round1(plain),
      goal: null,
      note: 'D1 only (no HTTP, no change log), 10 batches of 1000 rows, against the same plain-INSERT baseline: picks how the API writes points.',
      samples: samples[key]!.map(round1),
    });
  }
});
