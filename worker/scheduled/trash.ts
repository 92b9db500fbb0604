import { LIMITS } from '../../shared/limits.ts';
import { purgeMarked } from '../domain/purge.ts';
import { DAY_MS, type SweepCtx } from './budget.ts';

/** Trash expiry: entries deleted more than `LIMITS.trashDays` ago are marked for purging (at most `limit` a run). */
export async function expireTrash({ env, now, budget, limit }: SweepCtx): Promise<{ expired: number }> {
  if (!budget.take()) return { expired: 0 };
  const { meta } = await env.DB
    .prepare('UPDATE trash SET purging = 1 WHERE rowid IN (SELECT rowid FROM trash WHERE purging = 0 AND deleted_at < ? ORDER BY deleted_at LIMIT ?)')
    .bind(now - LIMITS.trashDays * DAY_MS, limit)
    .run();
  return { expired: meta.changes };
}

/** Purge: frees the rows of entries marked for purging (expired, or purged by an admin and not finished), within the step's budget. */
export async function purgeTrash({ env, budget }: SweepCtx): Promise<{ entries: number; rows: number; done: boolean }> {
  const queries = budget.remaining;
  const report = await purgeMarked(env.DB, { queries });
  // purgeMarked spends at most what it was given; the budget learns what is left only roughly, so take it all.
  budget.take(queries);
  return report;
}
