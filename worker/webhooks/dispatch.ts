import { eventType } from '../../shared/events.ts';
import { TEST_EVENT, WEBHOOK_EVENTS, type WebhookEvent } from '../../shared/webhooks.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { iso } from '../http.ts';
import type { EventRow } from '../db/change-log.ts';
import type { WebhookRow } from './store.ts';

/** A queue message: the delivery to attempt. Everything else is read from D1 when it runs. */
export interface DeliveryMessage {
  deliveryId: string;
}

/** Change-log rows read per round, and rounds per dispatch (the rest waits for the next write). */
const ROWS_PER_ROUND = 50;
const MAX_ROUNDS = 10;

interface LogRow extends EventRow {
  version_id: string | null;
  version_number: number | null;
}

interface Payload {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

const isWebhookEvent = (t: string): t is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(t);

/** The Standard Webhooks payloads (`{type, timestamp, data}`) a change-log row gives rise to. */
function payloadsOf(namespace: string, r: LogRow): Payload[] {
  const data = JSON.parse(r.data) as Record<string, unknown>;
  const types = [eventType(r.entity, r.op, data)];
  // A version made ready (nothing to upload) never gets a status change: it is ready at once.
  if (r.entity === 'version' && r.op === 'create' && data.status === 'ready') types.push('version.ready');
  const model = r.model_id ? { id: r.model_id, name: r.model_name ?? (data.name as string | undefined) ?? null } : null;
  const version = r.version_id ? { id: r.version_id, number: r.version_number } : null;
  const body: Record<string, unknown> = {
    namespace,
    seq: r.seq,
    token: r.token_name === null ? null : { id: r.token_id, name: r.token_name },
    model,
    ...(r.entity === 'version' || r.entity === 'alias' ? { version } : {}),
    ...(r.entity === 'alias' ? { alias: data.alias } : {}),
    ...(r.entity === 'version' && r.op === 'status' ? { status: data.status } : {}),
  };
  return types.filter(isWebhookEvent).map((type) => ({ type, timestamp: iso(r.at), data: body }));
}

/**
 * Turns the namespace's new change-log rows into webhook deliveries and queues them. Runs after
 * a write's batch has committed (in `waitUntil`), so it never blocks or fails a write. A
 * cursor per namespace, advanced by compare-and-set in the same batch as the deliveries,
 * makes each change's events delivered once even when two writes dispatch at the same time.
 */
export async function dispatchWebhookEvents(env: Env, namespace: string): Promise<void> {
  const db = env.DB;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const [hooks, cursor] = await db.batch<WebhookRow & { seq: number }>([
      db.prepare('SELECT * FROM webhooks WHERE namespace = ?').bind(namespace),
      db.prepare('SELECT seq FROM webhook_cursors WHERE namespace = ?').bind(namespace),
    ]);
    const webhooks = hooks!.results as WebhookRow[];
    const from = (cursor!.results[0] as { seq: number } | undefined)?.seq;
    if (!webhooks.length || from === undefined) return;
    const [rows, last] = await db.batch<LogRow & { seq: number | null }>([
      db
        .prepare(
          `SELECT c.seq, c.entity, c.entity_id, c.op, c.data, c.at, c.token_id, c.token_name,
                  m.id AS model_id, m.name AS model_name, v.id AS version_id, v.number AS version_number
           FROM change_log c
           LEFT JOIN versions v ON v.id = CASE c.entity WHEN 'version' THEN c.entity_id WHEN 'alias' THEN c.data ->> '$.versionId' END
           LEFT JOIN models m ON m.id = CASE c.entity WHEN 'version' THEN v.model_id ELSE c.entity_id END
           WHERE c.namespace = ? AND c.seq > ? AND c.entity IN ('model', 'version', 'alias')
           ORDER BY c.seq LIMIT ${ROWS_PER_ROUND}`,
        )
        .bind(namespace, from),
      db.prepare('SELECT MAX(seq) AS seq FROM change_log WHERE namespace = ?').bind(namespace),
    ]);
    const logRows = rows!.results as LogRow[];
    const full = logRows.length === ROWS_PER_ROUND;
    // A full round stops at its last row; otherwise every row up to the end was looked at.
    const to = full ? logRows[logRows.length - 1]!.seq : ((last!.results[0] as { seq: number | null }).seq ?? from);
    if (to <= from) return;
    const now = Date.now();
    const deliveries = logRows.flatMap((r) =>
      payloadsOf(namespace, r).flatMap((p) =>
        webhooks
          .filter((w) => (JSON.parse(w.events) as string[]).includes(p.type))
          .map((w) => ({ id: `msg_${uuidv7().replaceAll('-', '')}`, webhookId: w.id, event: p.type, payload: JSON.stringify(p) })),
      ),
    );
    const [moved] = await db.batch([
      db.prepare('UPDATE webhook_cursors SET seq = ? WHERE namespace = ? AND seq = ?').bind(to, namespace, from),
      db
        .prepare(
          `INSERT INTO webhook_deliveries (id, webhook_id, namespace, event, payload, status, attempts, created_at, updated_at)
           SELECT d.value ->> '$.id', d.value ->> '$.webhookId', ?, d.value ->> '$.event', d.value ->> '$.payload', 'pending', 0, ?, ?
           FROM json_each(?) d WHERE changes() > 0`,
        )
        .bind(namespace, now, now, JSON.stringify(deliveries)),
    ]);
    // Another dispatch moved the cursor first: it delivers these events.
    if (!moved!.meta.changes) return;
    // Should this send fail, the deliveries stay pending and the scheduled sweep queues them again.
    await enqueue(env, deliveries.map((d) => d.id));
    if (!full) return;
  }
}

/** Queues deliveries, at most 100 messages per send (the Queues limit). */
export async function enqueue(env: Pick<Env, 'WEBHOOKS'>, deliveryIds: string[]): Promise<void> {
  for (let i = 0; i < deliveryIds.length; i += 100) {
    await env.WEBHOOKS.sendBatch(deliveryIds.slice(i, i + 100).map((deliveryId) => ({ body: { deliveryId } satisfies DeliveryMessage })));
  }
}

/** The payload of a test event for one webhook. */
export const testPayload = (namespace: string, webhookId: string) =>
  JSON.stringify({ type: TEST_EVENT, timestamp: iso(Date.now()), data: { namespace, webhookId } } satisfies Payload);
