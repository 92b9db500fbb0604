import { WEBHOOK_LIMITS } from '../../shared/webhooks.ts';

const encoder = new TextEncoder();

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

/** A new signing secret as Standard Webhooks writes it: `whsec_` and a random base64 key. */
export function newWebhookSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(WEBHOOK_LIMITS.secretBytes)))}`;
}

/**
 * The `webhook-signature` header of the Standard Webhooks spec: `v1,` and the base64
 * HMAC-SHA256, keyed by the secret's base64-decoded key, of `{id}.{timestamp}.{body}`.
 */
export async function signWebhook(secret: string, id: string, timestampS: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', fromBase64(secret.replace(/^whsec_/, '')), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`${id}.${timestampS}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three headers of one signed attempt. */
export async function webhookHeaders(secret: string, id: string, timestampS: number, body: string): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Hangar-Webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': await signWebhook(secret, id, timestampS, body),
  };
}
