import type { DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery, WebhookEvent } from '../../shared/webhooks.ts';
import { iso } from '../http.ts';

export interface WebhookRow {
  id: string;
  namespace: string;
  url: string;
  events: string;
  secret: string;
  created_at: number;
  token_id: string | null;
}

export interface DeliveryRow {
  id: string;
  webhook_id: string;
  namespace: string;
  event: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export const rowToWebhook = (r: WebhookRow): Webhook => ({
  id: r.id,
  namespace: r.namespace,
  url: r.url,
  events: JSON.parse(r.events) as WebhookEvent[],
  createdAt: iso(r.created_at),
});

export const rowToAttempt = (r: AttemptRow): WebhookAttempt => ({
  attempt: r.attempt,
  at: iso(r.at),
  statusCode: r.status_code,
  error: r.error,
  durationMs: r.duration_ms,
});

export const rowToDelivery = (r: DeliveryRow, attempts: WebhookAttempt[]): WebhookDelivery => ({
  id: r.id,
  webhookId: r.webhook_id,
  event: r.event,
  status: r.status,
  attempts,
  nextAttemptAt: r.status === 'retrying' && r.next_attempt_at !== null ? iso(r.next_attempt_at) : null,
  createdAt: iso(r.created_at),
  payload: JSON.parse(r.payload) as unknown,
});

export async function getWebhook(db: D1Database, namespace: string, id: string): Promise<WebhookRow | undefined> {
  return (await db.prepare('SELECT * FROM webhooks WHERE namespace = ? AND id = ?').bind(namespace, id).first<WebhookRow>()) ?? undefined;
}

/** A page of a webhook's deliveries, newest first, each with its attempts. */
export async function listDeliveries(db: D1Database, webhookId: string, size: number, before: { at: number; id: string } | null) {
  const cond = before ? 'AND (created_at < ? OR (created_at = ? AND id < ?))' : '';
  const params = before ? [webhookId, before.at, before.at, before.id] : [webhookId];
  const [deliveries, attempts] = await db.batch<DeliveryRow & AttemptRow>([
    db.prepare(`SELECT * FROM webhook_deliveries WHERE webhook_id = ? ${cond} ORDER BY created_at DESC, id DESC LIMIT ${size + 1}`).bind(...params),
    db
      .prepare(
        `SELECT a.* FROM webhook_attempts a WHERE a.delivery_id IN
           (SELECT id FROM webhook_deliveries WHERE webhook_id = ? ${cond} ORDER BY created_at DESC, id DESC LIMIT ${size + 1})
         ORDER BY a.delivery_id, a.attempt`,
      )
      .bind(...params),
  ]);
  const byDelivery = new Map<string, WebhookAttempt[]>();
  for (const a of attempts!.results as AttemptRow[]) {
    const list = byDelivery.get(a.delivery_id) ?? [];
    list.push(rowToAttempt(a));
    byDelivery.set(a.delivery_id, list);
  }
  const rows = deliveries!.results as DeliveryRow[];
  return { rows, items: rows.slice(0, size).map((r) => rowToDelivery(r, byDelivery.get(r.id) ?? [])) };
}
