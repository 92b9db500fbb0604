// Seeds the local D1 of a `wrangler dev --persist-to <dir>` state directory from Node, before
// wrangler starts (bench/browser/bootstrap.bench-test.ts): each namespace as seed.ts writes it.
import { decodeSegment } from '../../worker/db/segment-codec.ts';
import { openLocalD1 } from './local-d1.ts';
import { seedPoints, seedRegistry, type SeedTimes } from './seed.ts';

/** Steps per key of one write of a version's points. */
const SLICE = 10_000;

export interface SeedPlan {
  ns: string;
  models: number;
  versions: number;
  keys: string[];
  /** Points per key per version. */
  steps: number;
}

export interface Seeded {
  ns: string;
  points: number;
  /** How long the seeding took (not part of any figure). */
  ms: number;
}

/** Seeds every plan's namespace, then checks the rows are there as counted. */
export async function seedLocal(persistTo: string, plans: readonly SeedPlan[], log: (line: string) => void = () => {}): Promise<Seeded[]> {
  const { db, stats, close } = await openLocalD1(persistTo);
  const out: Seeded[] = [];
  try {
    for (const plan of plans) {
      const start = Date.now();
      const versions = await seedRegistry(db, plan.ns, plan);
      // Batches of at most ~100,000 points (about 2 MB of segments), a few segment statements each.
      const perBatch = Math.max(1, Math.floor(100_000 / (plan.keys.length * Math.min(plan.steps, SLICE))));
      const times: SeedTimes = { buildMs: 0, waitMs: 0 };
      let points = 0;
      // Steps in slices of SLICE per key: a version's points are written as a run logs them, in many writes.
      for (let from = 0; from < plan.steps; from += SLICE) {
        const steps = Math.min(SLICE, plan.steps - from);
        points += await seedPoints(db, plan.ns, versions, { keys: plan.keys, from, steps, perBatch, times });
        const mb = (stats.bytes / 1e6).toFixed(0);
        log(
          `seeded ${plan.ns}: ${points.toLocaleString('en')} points, ${Math.round((Date.now() - start) / 1000)} s (so far ${stats.batches} batches, ${mb} MB; ` +
            `${Math.round(times.buildMs / 1000)} s making the statements, ${Math.round(stats.ms / 1000)} s of D1 round trips, ${Math.round(times.waitMs / 1000)} s waiting for them)`,
        );
      }
      const ms = Date.now() - start;
      await checkSeeded(db, plan, points);
      out.push({ ns: plan.ns, points, ms });
    }
  } finally {
    await close();
  }
  return out;
}

/**
 * Throws unless the namespace holds what was seeded: its versions, the point count of its usage
 * row, of its summaries and of its segments (each a BLOB), and a metrics.log change row per write.
 */
async function checkSeeded(db: D1Database, plan: SeedPlan, points: number): Promise<void> {
  const [rows] = await db.batch([
    db
      .prepare(
        `SELECT
           (SELECT count(*) FROM versions WHERE namespace = ?1) AS versions,
           (SELECT metric_points FROM namespace_usage WHERE namespace = ?1) AS usage,
           (SELECT count(*) FROM metric_series WHERE namespace = ?1) AS series,
           (SELECT sum(count) FROM metric_series WHERE namespace = ?1) AS summarized,
           (SELECT sum(s.n) FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.namespace = ?1) AS segmented,
           (SELECT count(*) FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.namespace = ?1 AND typeof(s.data) <> 'blob') AS notBlobs,
           (SELECT count(*) FROM change_log WHERE namespace = ?1 AND entity = 'metrics' AND op = 'log') AS logs`,
      )
      .bind(plan.ns),
  ]);
  const got = (rows!.results as Record<string, number>[])[0]!;
  const writes = plan.versions * Math.ceil(plan.steps / SLICE);
  const want = { versions: plan.versions, usage: points, series: plan.versions * plan.keys.length, summarized: points, segmented: points, notBlobs: 0, logs: writes };
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`seeded ${plan.ns}: expected ${JSON.stringify(want)}, found ${JSON.stringify(got)}`);
  // The last segment written reads back as the Worker reads it: its points, ids and steps in range.
  const [last] = await db.batch([
    db
      .prepare('SELECT s.n, s.id_min, s.id_max, s.step_min, s.step_max, s.data FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.namespace = ? ORDER BY s.id DESC LIMIT 1')
      .bind(plan.ns),
  ]);
  const seg = (last!.results as { n: number; id_min: string; id_max: string; step_min: number; step_max: number; data: number[] }[])[0]!;
  const decoded = decodeSegment(seg.data);
  const ids = decoded.map((p) => p.id).sort();
  const fits =
    decoded.length === seg.n &&
    ids[0] === seg.id_min &&
    ids[ids.length - 1] === seg.id_max &&
    decoded[0]!.step === seg.step_min &&
    decoded[decoded.length - 1]!.step === seg.step_max &&
    ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id));
  if (!fits) throw new Error(`seeded ${plan.ns}: the last segment does not read back as written (${JSON.stringify({ ...seg, data: undefined, decoded: decoded.length })})`);
}
