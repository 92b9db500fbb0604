import { z } from 'zod';

/** The events a webhook may subscribe to (DESIGN §4). */
export const WEBHOOK_EVENTS = [
  'model.created',
  'model.deleted',
  'version.created',
  'version.ready',
  'version.failed',
  'alias.moved',
  'alias.deleted',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Sent only by `POST …/webhooks/{id}/test`, to every webhook whatever its events. */
export const TEST_EVENT = 'webhook.test';

export const WEBHOOK_LIMITS = {
  /** Webhooks one namespace may have. */
  perNamespace: 20,
  /** Characters in a webhook URL. */
  urlLength: 2048,
  /** Attempts of one delivery before it is marked failed: the first and one per retry delay. */
  maxAttempts: 7,
  /** How long an attempt waits for the receiver's answer. */
  timeoutMs: 10_000,
  /** Bytes of the secret's key (before base64), when the server makes it. */
  secretBytes: 32,
  /**
   * Minutes past its time (written, or its retry due) after which the scheduled sweep queues a
   * delivery still pending or retrying again: its queue message was never sent, or was lost.
   */
  stallMinutes: 15,
  /** Days a finished (delivered or failed) delivery and its attempts are kept in the deliveries list. */
  retentionDays: 30,
} as const;

/**
 * Seconds to wait before each retry (DESIGN §4): the first within seconds, then growing.
 * `RETRY_DELAYS_S[n - 1]` follows the n-th failed attempt.
 */
export const RETRY_DELAYS_S = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600] as const;

/** A signing secret as Standard Webhooks writes it: `whsec_` and the base64 key (24–64 bytes). */
export const webhookSecretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, { message: 'must be "whsec_" followed by a base64 key' })
  .refine((s) => {
    const n = Math.floor(((s.length - 6) * 3) / 4) - (s.match(/=+$/)?.[0].length ?? 0);
    return n >= 24 && n <= 64;
  }, { message: 'the key must be 24 to 64 bytes' });

/** Body of `POST /namespaces/{ns}/webhooks`. */
export const createWebhookSchema = z.object({
  url: z
    .string()
    .max(WEBHOOK_LIMITS.urlLength)
    .regex(/^https?:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/i, { message: 'must be an http(s) URL without credentials' }),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length),
  secret: webhookSecretSchema.optional(),
});
export type CreateWebhook = z.infer<typeof createWebhookSchema>;

export interface Webhook {
  id: string;
  namespace: string;
  url: string;
  events: WebhookEvent[];
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

export interface WebhookAttempt {
  attempt: number;
  at: string;
  /** The receiver's status code; null when it never answered (timeout, refused, DNS). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookDelivery {
  /** The `webhook-id` header: the same on every attempt, so a receiver can drop repeats. */
  id: string;
  webhookId: string;
  event: string;
  status: DeliveryStatus;
  attempts: WebhookAttempt[];
  /** When the next attempt is due, while `retrying`. */
  nextAttemptAt: string | null;
  createdAt: string;
  payload: unknown;
}
