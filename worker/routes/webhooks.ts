import { Hono } from 'hono';
import { z } from 'zod';
import { b64url, unb64url } from '../../shared/encoding.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { Page } from '../../shared/pages.ts';
import { TEST_EVENT, WEBHOOK_LIMITS, createWebhookSchema, type Webhook, type WebhookDelivery } from '../../shared/webhooks.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { readBody, readQuery } from '../http.ts';
import type { RouteDoc } from '../openapi.ts';
import { allowsPrivate, checkWebhookUrl } from '../webhooks/address.ts';
import { enqueue, testPayload } from '../webhooks/dispatch.ts';
import { newWebhookSecret } from '../webhooks/sign.ts';
import { getWebhook, listDeliveries, rowToWebhook, type WebhookRow } from '../webhooks/store.ts';

/** `/namespaces/{ns}/webhooks`: an admin's webhooks (DESIGN §4). */
export const webhooks = new Hono<AppEnv>();

// Every webhook route is an admin's: the list shows where the namespace's events go.
webhooks.use('*', async function adminOnly(c, next) {
  requireRole(c.get('caller'), 'admin');
  await next();
});

async function webhookOr404(db: D1Database, ns: string, id: string): Promise<WebhookRow> {
  const row = await getWebhook(db, ns, id);
  if (!row) throw new HangarError(ErrorCode.WebhookNotFound, `No webhook "${id}" in this namespace.`, { id });
  return row;
}

webhooks.post('/', async function createWebhookRoute(c) {
  const ns = c.req.param('ns')!;
  const input = await readBody(c, createWebhookSchema);
  checkWebhookUrl(input.url, allowsPrivate(c.env));
  const db = c.env.DB;
  const count = await db.prepare('SELECT COUNT(*) AS n FROM webhooks WHERE namespace = ?').bind(ns).first<number>('n');
  if ((count ?? 0) >= WEBHOOK_LIMITS.perNamespace) {
    throw new HangarError(ErrorCode.InvalidArgument, `A namespace has at most ${WEBHOOK_LIMITS.perNamespace} webhooks; delete one first.`, {
      limit: WEBHOOK_LIMITS.perNamespace,
    });
  }
  const id = `wh_${uuidv7().replaceAll('-', '')}`;
  const secret = input.secret ?? newWebhookSecret();
  const now = Date.now();
  await db.batch([
    // The namespace's first webhook starts at the end of the change log: it hears of what
    // happens from now on, not of the history.
    db
      .prepare(
        `INSERT INTO webhook_cursors (namespace, seq) VALUES (?1, COALESCE((SELECT MAX(seq) FROM change_log WHERE namespace = ?1), 0))
         ON CONFLICT (namespace) DO UPDATE SET seq = excluded.seq WHERE NOT EXISTS (SELECT 1 FROM webhooks WHERE namespace = ?1)`,
      )
      .bind(ns),
    db
      .prepare('INSERT INTO webhooks (id, namespace, url, events, secret, created_at, token_id) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .bind(id, ns, input.url, JSON.stringify([...new Set(input.events)]), secret, now, c.get('caller').tokenId),
  ]);
  const created: Webhook & { secret: string } = { ...rowToWebhook((await getWebhook(db, ns, id))!), secret };
  return c.json(created, 201);
});

webhooks.get('/', async function listWebhooksRoute(c) {
  const { results } = await c.env.DB.prepare('SELECT * FROM webhooks WHERE namespace = ? ORDER BY created_at, id')
    .bind(c.req.param('ns')!)
    .all<WebhookRow>();
  return c.json({ items: results.map(rowToWebhook) } satisfies Page<Webhook>);
});

webhooks.get('/:id', async function getWebhookRoute(c) {
  return c.json(rowToWebhook(await webhookOr404(c.env.DB, c.req.param('ns')!, c.req.param('id'))));
});

webhooks.delete('/:id', async function deleteWebhookRoute(c) {
  const db = c.env.DB;
  const row = await webhookOr404(db, c.req.param('ns')!, c.req.param('id'));
  // Its queued deliveries find nothing when they run, and are dropped.
  await db.batch([
    db.prepare('DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = ?)').bind(row.id),
    db.prepare('DELETE FROM webhook_deliveries WHERE webhook_id = ?').bind(row.id),
    db.prepare('DELETE FROM webhooks WHERE id = ?').bind(row.id),
  ]);
  return c.body(null, 204);
});

const deliveriesQuery = z.object({
  pageSize: z.coerce.number().int().min(1).max(LIMITS.pageSizeMax).optional(),
  pageToken: z.string().max(1024).optional(),
});

function decodeDeliveryToken(token: string): { at: number; id: string } {
  try {
    const t = JSON.parse(unb64url(token)) as { at?: unknown; id?: unknown };
    if (Number.isSafeInteger(t.at) && typeof t.id === 'string') return { at: t.at as number, id: t.id };
  } catch {
    // fall through
  }
  throw new HangarError(ErrorCode.InvalidPageToken, 'The page token is not valid for this listing; start again from the first page.');
}

webhooks.get('/:id/deliveries', async function listDeliveriesRoute(c) {
  const row = await webhookOr404(c.env.DB, c.req.param('ns')!, c.req.param('id'));
  const q = readQuery(c, deliveriesQuery);
  const size = q.pageSize ?? LIMITS.pageSizeDefault;
  const { rows, items } = await listDeliveries(c.env.DB, row.id, size, q.pageToken ? decodeDeliveryToken(q.pageToken) : null);
  const page: Page<WebhookDelivery> = { items };
  const last = rows[size - 1];
  if (rows.length > size && last) page.nextPageToken = b64url(JSON.stringify({ at: last.created_at, id: last.id }));
  return c.json(page);
});

webhooks.post('/:id/test', async function testWebhookRoute(c) {
  const ns = c.req.param('ns')!;
  const db = c.env.DB;
  const row = await webhookOr404(db, ns, c.req.param('id'));
  const id = `msg_${uuidv7().replaceAll('-', '')}`;
  const now = Date.now();
  await db
    .prepare(
      `INSERT INTO webhook_deliveries (id, webhook_id, namespace, event, payload, status, attempts, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    )
    .bind(id, row.id, ns, TEST_EVENT, testPayload(ns, row.id), now, now)
    .run();
  await enqueue(c.env, [id]);
  return c.json({ deliveryId: id }, 202);
});

const base = '/namespaces/{ns}/webhooks';
export const webhookDocs: RouteDoc[] = [
  { method: 'post', path: base, summary: 'Register a webhook (its signing secret is shown once)', body: createWebhookSchema, role: 'admin' },
  { method: 'get', path: base, summary: "The namespace's webhooks", role: 'admin' },
  { method: 'get', path: `${base}/{id}`, summary: 'One webhook', role: 'admin' },
  { method: 'delete', path: `${base}/{id}`, summary: 'Delete a webhook and its deliveries', role: 'admin' },
  { method: 'get', path: `${base}/{id}/deliveries`, summary: 'Deliveries, newest first, each with every attempt and its status code', query: deliveriesQuery, role: 'admin' },
  { method: 'post', path: `${base}/{id}/test`, summary: 'Send a test event', role: 'admin' },
];
