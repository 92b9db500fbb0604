import { LIMITS } from '../../shared/limits.ts';
import { deleteBlobs, markBlobs } from './blobs.ts';
import { SweepBudget, type SweepCtx } from './budget.ts';
import { compactChangeLog } from './change-log.ts';
import { mergeSmallSegments } from './metric-segments.ts';
import { sweepAnsweredPushes, sweepIdleClients } from './clients.ts';
import { expireTrash, purgeTrash } from './trash.ts';
import { sweepUploads } from './uploads.ts';
import { sweepWebhookDeliveries } from './webhooks.ts';

/**
 * The scheduled handler's steps (DESIGN §3b), run in this order by every Cron Trigger (hourly,
 * wrangler.toml). Each is bounded (a share of one invocation's D1 queries, and at most `limit`
 * items a run) and idempotent: whatever a run leaves undone, the next goes on with, and running
 * one twice does nothing more. Trash expiry comes before the purge, and the purge before the
 * blob sweep, so what a purge frees starts its grace period in the same run.
 */
const STEPS: { name: string; queries: number; limit: number; run: (ctx: SweepCtx) => Promise<Record<string, number | boolean>> }[] = [
  { name: 'trash-expiry', queries: 5, limit: 500, run: expireTrash },
  { name: 'purge', queries: 350, limit: 0, run: purgeTrash },
  { name: 'blob-mark', queries: 10, limit: 1000, run: markBlobs },
  { name: 'blob-delete', queries: 10, limit: 200, run: deleteBlobs },
  { name: 'uploads', queries: 5, limit: 20, run: sweepUploads },
  { name: 'idle-clients', queries: 5, limit: 1000, run: sweepIdleClients },
  { name: 'answered-pushes', queries: 5, limit: 5000, run: sweepAnsweredPushes },
  { name: 'change-log', queries: 400, limit: 50, run: compactChangeLog },
  { name: 'metric-segments', queries: 120, limit: 20_000, run: mergeSmallSegments },
  { name: 'webhooks', queries: 5, limit: 500, run: sweepWebhookDeliveries },
];

/** Every step's queries together stay inside one invocation's limit, with room to spare. */
export const SWEEP_QUERIES = STEPS.reduce((n, s) => n + s.queries, 0);
if (SWEEP_QUERIES > LIMITS.d1QueriesPerInvocation - 50) throw new Error('the sweep steps ask for more D1 queries than one invocation has');

export type SweepStep = (typeof STEPS)[number]['name'];
export type SweepReport = Record<string, Record<string, number | boolean>>;

/**
 * Runs every step once at time `now`. `limits` lowers a step's item limit (tests interrupt a
 * sweep half-way with it). Each step's counts go to the log as one line, and a step that fails
 * is logged and does not stop the others.
 */
export async function runSweeps(env: SweepCtx['env'], now: number, limits: Partial<Record<string, number>> = {}): Promise<SweepReport> {
  const report: SweepReport = {};
  for (const step of STEPS) {
    try {
      const counts = await step.run({ env, now, budget: new SweepBudget(step.queries), limit: limits[step.name] ?? step.limit });
      report[step.name] = counts;
      console.log(`sweep ${step.name} ${JSON.stringify(counts)}`);
    } catch (err) {
      report[step.name] = { failed: true };
      console.error(`sweep ${step.name} failed`, err);
    }
  }
  return report;
}

/** The Worker's `scheduled` handler: one sweep at the trigger's scheduled time. */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  await runSweeps(env, controller.scheduledTime);
}
