// Seeds the local D1 of a `wrangler dev --persist-to <dir>` state directory from Node, before
// wrangler starts (bench/browser/bootstrap.bench-test.ts): each namespace as seed.ts writes it.
import { openLocalD1 } from './local-d1.ts';
import { seedPoints, seedRegistry } from './seed.ts';

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
      // Batches of at most ~20,000 points, a few segment statements each.
      const perBatch = Math.max(1, Math.floor(20_000 / (plan.keys.length * plan.steps)));
      let points = 0;
      // Steps in slices of 10,000 per key: a version's points are written as a run logs them, in many writes.
      for (let from = 0; from < plan.steps; from += 10_000) {
        const steps = Math.min(10_000, plan.steps - from);
        points += await seedPoints(db, plan.ns, versions, { keys: plan.keys, from, steps, perBatch });
        const mb = (stats.bytes / 1e6).toFixed(0);
        log(`seeded ${plan.ns}: ${points.toLocaleString('en')} points, ${Math.round((Date.now() - start) / 1000)} s (so far ${stats.batches} batches, ${mb} MB, ${Math.round(stats.ms / 1000)} s in D1)`);
      }
      out.push({ ns: plan.ns, points, ms: Date.now() - start });
    }
  } finally {
    await close();
  }
  return out;
}
