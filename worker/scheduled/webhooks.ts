import { WEBHOOK_LIMITS } from '../../shared/webhooks.ts';
import { enqueue } from '../webhooks/dispatch.ts';
import { DAY_MS, type SweepCtx } from './budget.ts';

const STALL_MS = WEBHOOK_LIMITS.stallMinutes * 60 * 1000;

/**
 * Webhook deliveries. One still pending or retrying `WEBHOOK_LIMITS.stallMinutes` past its time
 * lost its queue message (the send after the write failed, or the queue dropped it): it is
 * queued again, and its `updated_at` moved so the next run waits another stall period for it. A
 * receiver may then see one event twice, with the same `webhook-id` (Standard Webhooks' at-least-
 * once delivery). One finished more than `WEBHOOK_LIMITS.retentionDays` ago goes with its
 * attempts, in one batch.
 */
export async function sweepWebhookDeliveries({ env, now, budget, limit }: SweepCtx): Promise<{ requeued: number; deleted: number }> {
  const db = env.DB;
  if (!budget.take(3)) return { requeued: 0, deleted: 0 };
  const finished = `SELECT id FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND updated_at < ?1 ORDER BY updated_at, id LIMIT ?2`;
  const cutoff = now - WEBHOOK_LIMITS.retentionDays * DAY_MS;
  const [stalled, , deleted] = await db.batch<{ id: string }>([
    db
      .prepare(
        `UPDATE webhook_deliveries SET updated_at = ?1 WHERE id IN (
           SELECT id FROM webhook_deliveries WHERE status IN ('pending', 'retrying') AND MAX(updated_at, COALESCE(next_attempt_at, 0)) < ?2
           ORDER BY updated_at LIMIT ?3) RETURNING id`,
      )
      .bind(now, now - STALL_MS, limit),
    db.prepare(`DELETE FROM webhook_attempts WHERE delivery_id IN (${finished})`).bind(cutoff, limit),
    db.prepare(`DELETE FROM webhook_deliveries WHERE id IN (${finished})`).bind(cutoff, limit),
  ]);
  const ids = stalled!.results.map((r) => r.id);
  await enqueue(env, ids);
  return { requeued: ids.length, deleted: deleted!.meta.changes };
}
