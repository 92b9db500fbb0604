// A registry of many versions with a long metric history, written straight into D1 as the Worker
// writes it: models, versions, a metadata key per version and their change-log rows; metric
// points packed into segments with their per-key summaries (`metric_series`), the change log's
// metrics.log rows naming the segments, and the namespace's point count. Used by the bootstrap
// benchmarks in workerd (env.DB) and in Chromium (local D1 from Node, local-d1.ts).
import { uuidv7 } from '../../shared/ids.ts';
import { logRef, MetricWrites, segmentRows, type StoredPoint } from '../../worker/db/metrics.ts';
import { countStoredPoints } from '../../worker/db/usage.ts';

const hlcOf = (now: number) => `${now.toString().padStart(15, '0')}-000000-bench`;

/** `models` models of `versions / models` versions each, with a metadata key per version, and their change-log rows. Answers the version ids. */
export async function seedRegistry(db: D1Database, ns: string, opts: { models: number; versions: number }): Promise<string[]> {
  const now = Date.now();
  const hlc = hlcOf(now);
  const versions: string[] = [];
  for (let m = 0; m < opts.models; m++) {
    const modelId = uuidv7();
    const rows = Array.from({ length: opts.versions / opts.models }, (_, i) => [uuidv7(), i + 1] as [string, number]);
    versions.push(...rows.map((r) => r[0]));
    await db.batch([
      db.prepare('INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?, ?)').bind(ns, now),
      db.prepare("INSERT INTO models (id, namespace, name, task, clocks, created_at, updated_at) VALUES (?, ?, ?, 'tabular', ?, ?, ?)").bind(modelId, ns, `model-${m}`, JSON.stringify({ task: hlc }), now, now),
      db
        .prepare(
          `INSERT INTO versions (id, namespace, model_id, number, name, status, clocks, created_at, updated_at)
           SELECT r.value ->> 0, ?1, ?2, r.value ->> 1, 'run ' || (r.value ->> 1), 'ready', ?3, ?4, ?4 FROM json_each(?5) r`,
        )
        .bind(ns, modelId, JSON.stringify({ name: hlc }), now, JSON.stringify(rows)),
      db.prepare(`INSERT INTO metadata (namespace, parent_id, key, value, hlc, updated_at) SELECT ?1, r.value ->> 0, 'params', '{"lr":0.01,"depth":6}', ?2, ?3 FROM json_each(?4) r`).bind(ns, hlc, now, JSON.stringify(rows)),
      db.prepare("INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at) VALUES (?, 'model', ?, 'create', ?, ?, ?)").bind(ns, modelId, JSON.stringify({ name: `model-${m}`, task: 'tabular' }), hlc, now),
      db
        .prepare(
          `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at)
           SELECT ?1, 'version', r.value ->> 0, 'create', json_object('modelId', ?2, 'number', r.value ->> 1, 'name', 'run ' || (r.value ->> 1), 'status', 'ready'), ?3, ?4 FROM json_each(?5) r`,
        )
        .bind(ns, modelId, hlc, now, JSON.stringify(rows)),
    ]);
  }
  return versions;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const random = new Uint8Array(65_536);
let randomAt = random.length;
let idMs = 0;
let idSequence = 0;
let idPrefix = '';

/**
 * `n` UUIDv7s laid out as shared/ids.ts's `uuidv7` lays them out (48 bits of milliseconds from
 * `now` on, version 7 and a 12-bit sequence, the variant, random bits), made in bulk: random
 * bytes drawn 64 KiB at a time and printed through a table, where `uuidv7` draws 16 bytes and
 * formats them per id (most of a seeding's time at 10,000,000 points). Monotonic across calls:
 * the sequence counts up within a millisecond and moves on to the next one when full.
 */
export function pointIds(n: number, now = Date.now()): string[] {
  const ids = new Array<string>(n);
  if (now > idMs) {
    idMs = now;
    idSequence = 0;
    idPrefix = '';
  }
  for (let i = 0; i < n; i++) {
    if (idSequence > 0xfff) {
      idMs++;
      idSequence = 0;
      idPrefix = '';
    }
    if (!idPrefix) {
      const t = idMs.toString(16).padStart(12, '0');
      idPrefix = `${t.slice(0, 8)}-${t.slice(8)}-`;
    }
    if (randomAt + 8 > random.length) {
      crypto.getRandomValues(random);
      randomAt = 0;
    }
    const r = randomAt;
    randomAt += 8;
    ids[i] =
      idPrefix +
      HEX[0x70 | (idSequence >> 8)]! +
      HEX[idSequence & 0xff]! +
      '-' +
      HEX[(random[r]! & 0x3f) | 0x80]! +
      HEX[random[r + 1]!]! +
      '-' +
      HEX[random[r + 2]!]! +
      HEX[random[r + 3]!]! +
      HEX[random[r + 4]!]! +
      HEX[random[r + 5]!]! +
      HEX[random[r + 6]!]! +
      HEX[random[r + 7]!]!;
    idSequence++;
  }
  return ids;
}

/** Where a seeding's time went: making the statements (points, ids, segments) and waiting for D1 beyond that. */
export interface SeedTimes {
  buildMs: number;
  waitMs: number;
}

/**
 * `steps` more points per key of every version (steps from `from`), stored as the Worker stores
 * them (segments and their per-key summaries, worker/db/metrics.ts) with a metrics.log row of
 * the change log per version and write, and the namespace's point count. One batch per
 * `perBatch` versions; the next batch is made while D1 runs the one before (one in flight, in order).
 */
export async function seedPoints(
  db: D1Database,
  ns: string,
  versions: readonly string[],
  opts: { keys: readonly string[]; from: number; steps: number; perBatch?: number; times?: SeedTimes },
): Promise<number> {
  const now = Date.now();
  const hlc = hlcOf(now);
  const perBatch = opts.perBatch ?? 10;
  const times = opts.times ?? { buildMs: 0, waitMs: 0 };
  let total = 0;
  let inFlight: Promise<unknown> | undefined;
  for (let i = 0; i < versions.length; i += perBatch) {
    const built = performance.now();
    const statements: D1PreparedStatement[] = [];
    const writes = new MetricWrites(db, ns);
    let stored = 0;
    for (const v of versions.slice(i, i + perBatch)) {
      const points: StoredPoint[] = [];
      for (const key of opts.keys) {
        const ids = pointIds(opts.steps, now);
        for (let s = 0; s < opts.steps; s++) {
          const step = opts.from + s;
          points.push({ id: ids[s]!, key, value: Math.random(), step, wallclock: now + step });
        }
      }
      const rows = segmentRows(points);
      writes.add(v, rows, statements);
      stored += points.length;
      statements.push(db.prepare("INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at) VALUES (?, 'metrics', ?, 'log', ?, ?, ?)").bind(ns, v, JSON.stringify(logRef(rows)), hlc, now));
    }
    writes.flush(statements);
    statements.push(countStoredPoints(db, ns, stored));
    const waited = performance.now();
    times.buildMs += waited - built;
    await inFlight;
    times.waitMs += performance.now() - waited;
    inFlight = db.batch(statements);
    total += stored;
  }
  const waited = performance.now();
  await inFlight;
  times.waitMs += performance.now() - waited;
  return total;
}
