import { RETRY_DELAYS_S, WEBHOOK_LIMITS } from '../../shared/webhooks.ts';
import { allowsPrivate, webhookUrlProblem } from './address.ts';
import type { DeliveryMessage } from './dispatch.ts';
import { webhookHeaders } from './sign.ts';
import type { DeliveryRow, WebhookRow } from './store.ts';

/** What one attempt came to. */
interface Outcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  ok: boolean;
  /** A refusal that no retry can change (the webhook is gone, its URL is not allowed). */
  final: boolean;
}

/** Sends one signed attempt. Never throws: a timeout, a refused connection or a redirect is an outcome. */
async function attempt(env: Env, hook: WebhookRow, delivery: DeliveryRow): Promise<Outcome> {
  const problem = webhookUrlProblem(hook.url, allowsPrivate(env));
  if (problem) return { statusCode: null, error: `URL refused: ${problem}`, durationMs: 0, ok: false, final: true };
  const started = Date.now();
  try {
    const headers = await webhookHeaders(hook.secret, delivery.id, Math.floor(started / 1000), delivery.payload);
    const res = await fetch(hook.url, {
      method: 'POST',
      headers,
      body: delivery.payload,
      // A redirect is not followed (it could lead anywhere, and forever): it counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_LIMITS.timeoutMs),
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    const error = ok ? null : res.status >= 300 && res.status < 400 ? `redirect to ${res.headers.get('location') ?? '(none)'} not followed` : `HTTP ${res.status}`;
    return { statusCode: res.status, error, durationMs: Date.now() - started, ok, final: false };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const error = timedOut ? `no answer within ${WEBHOOK_LIMITS.timeoutMs / 1000} s` : `could not connect: ${err instanceof Error ? err.message : String(err)}`;
    return { statusCode: null, error: error.slice(0, 500), durationMs: Date.now() - started, ok: false, final: false };
  }
}

/**
 * The queue consumer: attempts each delivery once, records the attempt, and either marks the
 * delivery delivered, schedules its retry (the delays of DESIGN §4) or, after its last
 * attempt, marks it failed — the dead-letter state the deliveries list shows.
 */
export async function deliverWebhooks(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => deliverOne(message, env)));
}

async function deliverOne(message: Message<DeliveryMessage>, env: Env): Promise<void> {
  const db = env.DB;
  const id = message.body?.deliveryId;
  if (typeof id !== 'string') return message.ack();
  const [d, h] = await db.batch<DeliveryRow & WebhookRow>([
    db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').bind(id),
    db.prepare('SELECT w.* FROM webhooks w JOIN webhook_deliveries d ON d.webhook_id = w.id WHERE d.id = ?').bind(id),
  ]);
  const delivery = d!.results[0] as DeliveryRow | undefined;
  const hook = h!.results[0] as WebhookRow | undefined;
  if (!delivery || delivery.status === 'delivered' || delivery.status === 'failed') return message.ack();

  const outcome: Outcome = hook
    ? await attempt(env, hook, delivery)
    : { statusCode: null, error: 'the webhook was deleted', durationMs: 0, ok: false, final: true };
  const n = delivery.attempts + 1;
  const last = outcome.final || n >= WEBHOOK_LIMITS.maxAttempts;
  const delay = RETRY_DELAYS_S[n - 1] ?? RETRY_DELAYS_S[RETRY_DELAYS_S.length - 1]!;
  const now = Date.now();
  const status = outcome.ok ? 'delivered' : last ? 'failed' : 'retrying';
  await db.batch([
    db
      .prepare('INSERT OR REPLACE INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .bind(id, n, now, outcome.statusCode, outcome.error, outcome.durationMs),
    db
      .prepare('UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status_code = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?')
      .bind(status, n, outcome.statusCode, status === 'retrying' ? now + delay * 1000 : null, now, id),
  ]);
  if (status === 'retrying') message.retry({ delaySeconds: delay });
  else message.ack();
}
