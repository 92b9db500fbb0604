import { LIMITS } from '../../shared/limits.ts';
import { DAY_MS, type SweepCtx } from './budget.ts';

/**
 * Idle clients: a sync client neither pushed nor pulled for `LIMITS.changeLogRetentionDays` is
 * forgotten (its cursor, and its last applied seq). If it comes back, its pull answers
 * `snapshot-required` once the log has been compacted past it, and its push `sequence-gap`, from
 * which it re-seeds (DESIGN §6 "Changing server").
 */
export async function sweepIdleClients({ env, now, budget, limit }: SweepCtx): Promise<{ cursors: number; clients: number }> {
  const db = env.DB;
  if (!budget.take(2)) return { cursors: 0, clients: 0 };
  const cutoff = now - LIMITS.changeLogRetentionDays * DAY_MS;
  const [clients, cursors] = await db.batch([
    db
      .prepare(
        `DELETE FROM sync_clients WHERE rowid IN (SELECT c.rowid FROM sync_clients c WHERE c.updated_at < ?1 AND NOT EXISTS (
           SELECT 1 FROM sync_cursors s WHERE s.namespace = c.namespace AND s.client_id = c.client_id AND s.seen_at >= ?1) LIMIT ?2)`,
      )
      .bind(cutoff, limit),
    db
      .prepare(
        `DELETE FROM sync_cursors WHERE rowid IN (SELECT s.rowid FROM sync_cursors s WHERE s.seen_at < ?1 AND NOT EXISTS (
           SELECT 1 FROM sync_clients c WHERE c.namespace = s.namespace AND c.client_id = s.client_id AND c.updated_at >= ?1) LIMIT ?2)`,
      )
      .bind(cutoff, limit),
  ]);
  return { clients: clients?.meta.changes ?? 0, cursors: cursors?.meta.changes ?? 0 };
}

/**
 * Answered pushes: a push's stored answers are dropped by the client's next push (it
 * acknowledges them, see domain/sync/push.ts); those left are of clients that never pushed
 * again. A retry can only come from a client still known, so once the client is forgotten
 * (idle, above) its answers go too.
 */
export async function sweepAnsweredPushes({ env, budget, limit }: SweepCtx): Promise<{ answers: number }> {
  if (!budget.take(1)) return { answers: 0 };
  const { meta } = await env.DB
    .prepare(
      `DELETE FROM sync_results WHERE rowid IN (SELECT r.rowid FROM sync_results r WHERE NOT EXISTS (
         SELECT 1 FROM sync_clients c WHERE c.namespace = r.namespace AND c.client_id = r.client_id) LIMIT ?)`,
    )
    .bind(limit)
    .run();
  return { answers: meta.changes };
}
