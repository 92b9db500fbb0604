import { applyD1Migrations, createExecutionContext, createMessageBatch, env, getQueueResult, waitOnExecutionContext } from 'cloudflare:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { RETRY_DELAYS_S, WEBHOOK_LIMITS } from '../../shared/webhooks.ts';
import { DAY_MS } from '../../worker/scheduled/budget.ts';
import { runSweeps } from '../../worker/scheduled/index.ts';
import worker from '../../worker/worker.ts';
import { webhookUrlProblem } from '../../worker/webhooks/address.ts';
import { signWebhook } from '../../worker/webhooks/sign.ts';
import { ADMIN, call, expectError, tokenFor } from './api.ts';
import { limitedD1 } from './d1-limits.ts';

// Webhooks (DESIGN §4): registration by an admin, Standard Webhooks signatures checked with
// an independent implementation (the `standardwebhooks` package and the spec's test vector),
// delivery through the real local Queue, retries with backoff and the failed state.

/** What the receiver answers, per URL; every request it gets is kept. */
type Answer = (req: Request) => Promise<Response> | Response;
const answers = new Map<string, Answer>();
const received: { url: string; headers: Record<string, string>; body: string }[] = [];
const realFetch = globalThis.fetch;

function receiver() {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const answer = answers.get(req.url);
    if (!answer) return realFetch(input, init);
    received.push({ url: req.url, headers: Object.fromEntries(req.headers), body: await req.clone().text() });
    return answer(req);
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

async function register(ns: string, url: string, events: string[], extra: Record<string, unknown> = {}) {
  const r = await call('POST', `/namespaces/${ns}/webhooks`, { body: { url, events, ...extra } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; secret: string; url: string; events: string[] };
}

async function deliveries(ns: string, id: string) {
  const r = await call('GET', `/namespaces/${ns}/webhooks/${id}/deliveries`);
  expect(r.status).toBe(200);
  return r.body.items as { id: string; event: string; status: string; attempts: { attempt: number; statusCode: number | null; error: string | null }[]; payload: any }[];
}

describe('webhook signatures', () => {
  it('match the Standard Webhooks test vector', async () => {
    // From the Standard Webhooks specification's reference libraries.
    const signature = await signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verify with the standardwebhooks library, and fail for another body or secret', async () => {
    const secret = 'whsec_' + btoa('k'.repeat(32));
    const now = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': await signWebhook(secret, 'msg_1', now, '{"a":1}') };
    expect(new StandardWebhook(secret).verify('{"a":1}', headers)).toEqual({ a: 1 });
    expect(() => new StandardWebhook(secret).verify('{"a":2}', headers)).toThrow();
    expect(() => new StandardWebhook('whsec_' + btoa('j'.repeat(32))).verify('{"a":1}', headers)).toThrow();
  });
});

describe('webhook registration', () => {
  it('is for admins; shows the secret once; lists, reads and deletes', async () => {
    const writer = await tokenFor('whreg', 'write');
    expectError(await call('POST', '/namespaces/whreg/webhooks', { token: writer, body: { url: 'https://hooks.example.com/a', events: ['alias.moved'] } }), 403, 'permission-denied');
    expectError(await call('GET', '/namespaces/whreg/webhooks', { token: writer }), 403, 'permission-denied');
    const hook = await register('whreg', 'https://hooks.example.com/a', ['alias.moved', 'version.ready']);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const nsAdmin = await tokenFor('whreg', 'admin');
    const list = await call('GET', '/namespaces/whreg/webhooks', { token: nsAdmin });
    expect(list.body.items).toEqual([{ id: hook.id, namespace: 'whreg', url: 'https://hooks.example.com/a', events: ['alias.moved', 'version.ready'], createdAt: expect.any(String) }]);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    expect((await call('GET', `/namespaces/whreg/webhooks/${hook.id}`)).body.id).toBe(hook.id);
    const mine = await register('whreg', 'https://hooks.example.com/b', ['model.created'], { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    expect(mine.secret).toBe('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect((await call('DELETE', `/namespaces/whreg/webhooks/${mine.id}`)).status).toBe(204);
    expectError(await call('GET', `/namespaces/whreg/webhooks/${mine.id}`), 404, 'webhook-not-found');
    // Another namespace's admin sees nothing.
    const stranger = await tokenFor('whother', 'admin');
    expectError(await call('GET', `/namespaces/whreg/webhooks/${hook.id}`, { token: stranger }), 404, 'namespace-not-found');
    expectError(await call('GET', `/namespaces/whother/webhooks/${hook.id}`, { token: stranger }), 404, 'webhook-not-found');
  });

  it('refuses bad URLs, events and secrets, and changes nothing', async () => {
    const bad = [
      { url: 'ftp://hooks.example.com/a', events: ['alias.moved'] },
      { url: 'https://user:pw@hooks.example.com/a', events: ['alias.moved'] },
      { url: 'not a url', events: ['alias.moved'] },
      { url: 'https://hooks.example.com/a', events: [] },
      { url: 'https://hooks.example.com/a', events: ['alias.exploded'] },
      { url: 'https://hooks.example.com/a', events: ['alias.moved'], secret: 'plain' },
      { url: 'https://hooks.example.com/a', events: ['alias.moved'], secret: 'whsec_' + btoa('short') },
    ];
    for (const body of bad) expectError(await call('POST', '/namespaces/whbad/webhooks', { body }), 400, 'invalid-argument');
    expect((await call('GET', '/namespaces/whbad/webhooks')).body.items).toEqual([]);
  });

  it('refuses private and loopback addresses in production, allows them in local development', async () => {
    const refused = [
      'http://localhost:8787/hook',
      'http://api.localhost/hook',
      'http://127.0.0.1/hook',
      'http://2130706433/hook',
      'http://0x7f.0.0.1/hook',
      'http://10.1.2.3/hook',
      'http://172.20.0.1/hook',
      'http://192.168.1.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[fd00::1]/hook',
      'http://[fe80::1]/hook',
      'http://metadata.google.internal/hook',
      'http://printer.local/hook',
      'http://intranet/hook',
    ];
    for (const url of refused) expect(webhookUrlProblem(url, false), url).toMatch(/refused/);
    for (const url of ['https://hooks.example.com/a', 'http://93.184.216.34:8080/x', 'https://[2606:4700::1111]/x']) {
      expect(webhookUrlProblem(url, false), url).toBeNull();
    }
    for (const url of refused) expect(webhookUrlProblem(url, true), url).toBeNull();

    // Through the route, under production's setting.
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request('https://hangar.test/api/v1/namespaces/whprod/webhooks', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'http://127.0.0.1:9000/hook', events: ['alias.moved'] }),
      }),
      { ...env, WEBHOOK_PRIVATE_ADDRESSES: 'refuse' },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.details.reason).toMatch(/private and loopback/);
    // The tests run as local development: loopback is allowed.
    await register('whprod', 'http://127.0.0.1:9000/hook', ['alias.moved']);
  });
});

describe('webhook delivery through the queue', () => {
  beforeAll(async () => {
    await call('POST', '/namespaces/whq/models', { body: { name: 'churn' } });
    await call('POST', '/namespaces/whq/models/churn/versions', { body: {} });
    await call('POST', '/namespaces/whq/models/churn/versions', { body: {} });
  });

  it('delivers a signed alias.moved the library verifies, with who moved it', async () => {
    receiver();
    const url = 'https://deploy.example.com/hangar';
    answers.set(url, () => new Response('ok'));
    const hook = await register('whq', url, ['alias.moved', 'version.ready']);
    const mover = await tokenFor('whq', 'write', { name: 'release bot' });
    expect((await call('PUT', '/namespaces/whq/models/churn/aliases/production', { token: mover, body: { version: 2 } })).status).toBe(200);

    await vi.waitFor(() => expect(received.filter((r) => r.url === url)).toHaveLength(1), { timeout: 15_000, interval: 50 });
    const got = received.find((r) => r.url === url)!;
    const payload = new StandardWebhook(hook.secret).verify(got.body, got.headers) as any;
    expect(payload).toMatchObject({
      type: 'alias.moved',
      data: { namespace: 'whq', alias: 'production', model: { name: 'churn' }, version: { number: 2 }, token: { name: 'release bot' } },
    });
    expect(got.headers['webhook-id']).toMatch(/^msg_/);

    await vi.waitFor(async () => expect((await deliveries('whq', hook.id))[0]?.status).toBe('delivered'), { timeout: 5_000, interval: 50 });
    const [d] = await deliveries('whq', hook.id);
    expect(d).toMatchObject({ id: got.headers['webhook-id'], event: 'alias.moved', attempts: [{ attempt: 1, statusCode: 200, error: null }] });

    // A new version made ready at once is announced too; a model event it did not ask for is not.
    await call('POST', '/namespaces/whq/models', { body: { name: 'other' } });
    await call('POST', '/namespaces/whq/models/churn/versions', { body: {} });
    await vi.waitFor(() => expect(received.filter((r) => r.url === url)).toHaveLength(2), { timeout: 15_000, interval: 50 });
    const ready = new StandardWebhook(hook.secret).verify(received.filter((r) => r.url === url)[1]!.body, received.filter((r) => r.url === url)[1]!.headers) as any;
    expect(ready).toMatchObject({ type: 'version.ready', data: { model: { name: 'churn' }, version: { number: 3 } } });
    await call('DELETE', `/namespaces/whq/webhooks/${hook.id}`);
  });

  it('sends a test event on request', async () => {
    receiver();
    const url = 'https://deploy.example.com/test-me';
    answers.set(url, () => new Response(null, { status: 204 }));
    const hook = await register('whq', url, ['model.created']);
    const r = await call('POST', `/namespaces/whq/webhooks/${hook.id}/test`);
    expect(r.status).toBe(202);
    await vi.waitFor(() => expect(received.filter((x) => x.url === url)).toHaveLength(1), { timeout: 15_000, interval: 50 });
    const got = received.find((x) => x.url === url)!;
    expect(new StandardWebhook(hook.secret).verify(got.body, got.headers)).toMatchObject({ type: 'webhook.test', data: { webhookId: hook.id } });
    expect(got.headers['webhook-id']).toBe(r.body.deliveryId);
    await call('DELETE', `/namespaces/whq/webhooks/${hook.id}`);
  });

  it('retries a receiver that answered 500, with the same id, and then delivers', async () => {
    receiver();
    const url = 'https://flaky.example.com/hook';
    let calls = 0;
    answers.set(url, () => new Response('down', { status: ++calls === 1 ? 500 : 200 }));
    const hook = await register('whq', url, ['model.created']);
    await call('POST', '/namespaces/whq/models', { body: { name: 'flaky' } });
    await vi.waitFor(() => expect(received.filter((r) => r.url === url)).toHaveLength(2), { timeout: 30_000, interval: 100 });
    const [first, second] = received.filter((r) => r.url === url);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    await vi.waitFor(async () => expect((await deliveries('whq', hook.id))[0]?.status).toBe('delivered'), { timeout: 5_000, interval: 50 });
    const [d] = await deliveries('whq', hook.id);
    expect(d!.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    await call('DELETE', `/namespaces/whq/webhooks/${hook.id}`);
  });
});

describe('webhook consumer: backoff and the failed state', () => {
  /** A delivery written straight to D1 (not queued), for the consumer to be run on by hand. */
  async function delivery(ns: string, hookId: string, attempts: number) {
    const id = `msg_${crypto.randomUUID().replaceAll('-', '')}`;
    const now = Date.now();
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, webhook_id, namespace, event, payload, status, attempts, created_at, updated_at) VALUES (?, ?, ?, 'alias.moved', '{\"type\":\"alias.moved\"}', ?, ?, ?, ?)",
    )
      .bind(id, hookId, ns, attempts ? 'retrying' : 'pending', attempts, now, now)
      .run();
    return id;
  }

  async function consume(deliveryId: string) {
    const batch = createMessageBatch('hangar-webhooks', [{ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: { deliveryId } }]);
    // The delay each retry asks for (the queue's result lists retried messages without it).
    const retry = vi.spyOn(batch.messages[0]!, 'retry');
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<{ deliveryId: string }>, env);
    const result = await getQueueResult(batch, ctx);
    return { ...result, delays: retry.mock.calls.map(([opts]) => opts?.delaySeconds) };
  }

  const row = (id: string) => env.DB.prepare('SELECT status, attempts, last_status_code, next_attempt_at FROM webhook_deliveries WHERE id = ?').bind(id).first<any>();

  it('schedules each retry with the next delay, and marks the delivery failed after the last attempt', async () => {
    receiver();
    const url = 'https://broken.example.com/hook';
    answers.set(url, () => new Response('no', { status: 500 }));
    const hook = await register('whc', url, ['alias.moved']);
    for (let n = 0; n < WEBHOOK_LIMITS.maxAttempts - 1; n++) {
      const id = await delivery('whc', hook.id, n);
      const result = await consume(id);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toHaveLength(1);
      expect(result.delays).toEqual([RETRY_DELAYS_S[n]]);
      const r = await row(id);
      expect(r).toMatchObject({ status: 'retrying', attempts: n + 1, last_status_code: 500 });
      expect(r.next_attempt_at).toBeGreaterThanOrEqual(Date.now() + RETRY_DELAYS_S[n]! * 1000 - 5000);
    }
    const last = await delivery('whc', hook.id, WEBHOOK_LIMITS.maxAttempts - 1);
    const result = await consume(last);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await row(last)).toMatchObject({ status: 'failed', attempts: WEBHOOK_LIMITS.maxAttempts, last_status_code: 500 });
    // A failed delivery is never attempted again.
    const before = received.length;
    expect((await consume(last)).explicitAcks).toHaveLength(1);
    expect(received.length).toBe(before);
  });

  it('does not follow redirects, records timeouts, and fails a delivery whose webhook is gone', async () => {
    receiver();
    const loop = 'https://loop.example.com/hook';
    answers.set(loop, () => new Response(null, { status: 302, headers: { location: loop } }));
    const hook = await register('whc2', loop, ['alias.moved']);
    const redirected = await delivery('whc2', hook.id, 0);
    expect((await consume(redirected)).retryMessages).toHaveLength(1);
    expect(received.filter((r) => r.url === loop)).toHaveLength(1);
    const d1 = (await deliveries('whc2', hook.id)).find((d) => d.id === redirected)!;
    expect(d1.attempts[0]).toMatchObject({ statusCode: 302, error: expect.stringMatching(/redirect/) });

    const slow = 'https://slow.example.com/hook';
    answers.set(slow, (req) => new Promise<Response>((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason))));
    const slowHook = await register('whc2', slow, ['alias.moved']);
    const timedOut = await delivery('whc2', slowHook.id, 0);
    expect((await consume(timedOut)).retryMessages).toHaveLength(1);
    const d2 = (await deliveries('whc2', slowHook.id)).find((d) => d.id === timedOut)!;
    expect(d2.attempts[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/no answer within/) });

    const orphan = await delivery('whc2', 'wh_gone', 0);
    expect((await consume(orphan)).explicitAcks).toHaveLength(1);
    expect(await row(orphan)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('never holds up a write while a receiver hangs', async () => {
    receiver();
    const hang = 'https://hang.example.com/hook';
    answers.set(hang, () => new Promise<Response>(() => {}));
    await register('whc3', hang, ['model.created']);
    const r = await call('POST', '/namespaces/whc3/models', { body: { name: 'fast' } });
    expect(r.status).toBe(201);
  });
});

describe('migration 0006: events and webhooks', () => {
  it('adds the token columns to a change log that has rows, leaving them unknown', async () => {
    const db = env.UPGRADE_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS.filter((m) => m.name < '0006'));
    await db
      .prepare("INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at) VALUES ('up', 'model', 'm', 'create', '{}', 'h', 1)")
      .run();
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    expect(await db.prepare('SELECT seq, token_id, token_name FROM change_log').all().then((r) => r.results)).toEqual([{ seq: 1, token_id: null, token_name: null }]);
    const tables = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'webhook%' ORDER BY name").all<{ name: string }>();
    expect(tables.results.map((t) => t.name)).toEqual(['webhook_attempts', 'webhook_cursors', 'webhook_deliveries', 'webhooks']);
    await expect(
      db.prepare("INSERT INTO webhook_deliveries (id, webhook_id, namespace, event, payload, status, created_at, updated_at) VALUES ('x', 'w', 'up', 'e', '{}', 'lost', 1, 1)").run(),
    ).rejects.toThrow(/CHECK/);
  });
});

describe('webhook sweep', () => {
  const MINUTE = 60_000;
  /** One scheduled sweep at `at`, under the production D1 limits. */
  async function sweep(at: number, limits: Record<string, number> = {}) {
    const usage = { queries: 0 };
    const report = await runSweeps({ ...env, DB: limitedD1(env.DB, usage) }, at, limits);
    expect(usage.queries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
    return report.webhooks!;
  }

  it('queues again a delivery whose queue message was never sent, once it is late, and it is delivered', async () => {
    receiver();
    const url = 'https://late.example.com/hook';
    answers.set(url, () => new Response('ok'));
    const hook = await register('whs', url, ['model.created']);
    const send = vi.spyOn(env.WEBHOOKS, 'sendBatch').mockRejectedValueOnce(new Error('queue unavailable'));
    const t0 = Date.now();
    expect((await call('POST', '/namespaces/whs/models', { body: { name: 'lost' } })).status).toBe(201);
    expect(send).toHaveBeenCalledTimes(1);
    const [d] = await deliveries('whs', hook.id);
    expect(d).toMatchObject({ event: 'model.created', status: 'pending', attempts: [] });
    // Not yet late: left alone.
    expect(await sweep(t0 + 5 * MINUTE)).toEqual({ requeued: 0, deleted: 0 });
    // Late: queued again (with any other test's delivery as late by then).
    expect((await sweep(t0 + (WEBHOOK_LIMITS.stallMinutes + 1) * MINUTE)).requeued).toBeGreaterThanOrEqual(1);
    await vi.waitFor(() => expect(received.filter((r) => r.url === url)).toHaveLength(1), { timeout: 15_000, interval: 50 });
    expect(received.find((r) => r.url === url)!.headers['webhook-id']).toBe(d!.id);
    await vi.waitFor(async () => expect((await deliveries('whs', hook.id))[0]).toMatchObject({ status: 'delivered', attempts: [{ attempt: 1, statusCode: 200 }] }), {
      timeout: 5_000,
      interval: 50,
    });
  });

  it('drops finished deliveries and their attempts after the retention period, a limited number a run; open ones stay', async () => {
    const now = Date.now();
    const old = now - (WEBHOOK_LIMITS.retentionDays + 1) * DAY_MS;
    const row = async (id: string, status: string, updatedAt: number, nextAttemptAt: number | null = null) => {
      await env.DB.prepare(
        "INSERT INTO webhook_deliveries (id, webhook_id, namespace, event, payload, status, attempts, next_attempt_at, created_at, updated_at) VALUES (?, 'wh_r', 'whr', 'alias.moved', '{}', ?, 1, ?, ?, ?)",
      )
        .bind(id, status, nextAttemptAt, updatedAt, updatedAt)
        .run();
      await env.DB.prepare("INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES (?, 1, ?, 200, NULL, 5)").bind(id, updatedAt).run();
    };
    await row('msg_old_delivered', 'delivered', old);
    await row('msg_old_failed', 'failed', old + 1);
    await row('msg_recent', 'delivered', now - DAY_MS);
    // Retrying, its next attempt not due for hours: an old write but not late.
    await row('msg_waiting', 'retrying', old, now + 5 * 60 * MINUTE);
    const ids = async () => (await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE namespace = 'whr' ORDER BY id").all<{ id: string }>()).results.map((r) => r.id);
    const attempts = async () => (await env.DB.prepare("SELECT delivery_id FROM webhook_attempts WHERE delivery_id LIKE 'msg_%' AND delivery_id IN ('msg_old_delivered', 'msg_old_failed', 'msg_recent', 'msg_waiting') ORDER BY delivery_id").all<{ delivery_id: string }>()).results.map((r) => r.delivery_id);

    expect(await sweep(now, { webhooks: 1 })).toEqual({ requeued: 0, deleted: 1 });
    expect(await ids()).toEqual(['msg_old_failed', 'msg_recent', 'msg_waiting']);
    expect(await sweep(now)).toEqual({ requeued: 0, deleted: 1 });
    expect(await ids()).toEqual(['msg_recent', 'msg_waiting']);
    expect(await attempts()).toEqual(['msg_recent', 'msg_waiting']);
    expect(await sweep(now)).toEqual({ requeued: 0, deleted: 0 });
  });
});
