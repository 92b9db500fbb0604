import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import worker from '../../worker/worker.ts';
import { call, tokenFor } from './api.ts';

// DESIGN §4 rate limits: Cloudflare's Rate Limiting binding per token, per address without
// one; over it, 429 rate-limited with Retry-After. The Worker's limiters are lifted in the
// test config; here a limiter of 3 requests a minute takes their place.

async function send(path: string, opts: { token?: string; ip: string; origin?: string; limiter: 'TOKEN_RATE_LIMIT' | 'ADDRESS_RATE_LIMIT' }) {
  const headers: Record<string, string> = { 'cf-connecting-ip': opts.ip };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.origin) headers.origin = opts.origin;
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://hangar.test/api/v1${path}`, { headers }), { ...env, [opts.limiter]: env.TIGHT_RATE_LIMIT }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any, headers: res.headers };
}

describe('rate limits', () => {
  it('answers 429 rate-limited with Retry-After once a token is over its limit, per token', async () => {
    const a = await tokenFor('rl', 'read', { name: 'runaway' });
    const b = await tokenFor('rl', 'read', { name: 'polite' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send('/namespaces/rl/models', { token: a, ip: '203.0.113.1', limiter: 'TOKEN_RATE_LIMIT' })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const over = await send('/namespaces/rl/models', { token: a, ip: '203.0.113.2', limiter: 'TOKEN_RATE_LIMIT' });
    expect(over.status).toBe(429);
    expect(over.retryAfter).toBe(String(LIMITS.rateLimitRetryAfterS));
    expect(over.body.error).toMatchObject({ code: 'rate-limited', details: { retryAfter: LIMITS.rateLimitRetryAfterS } });
    expect(over.headers.get('x-hangar-error')).toBe('rate-limited');
    // Another token from the same address is counted on its own.
    expect((await send('/namespaces/rl/models', { token: b, ip: '203.0.113.1', limiter: 'TOKEN_RATE_LIMIT' })).status).toBe(200);
  });

  it('counts requests without a valid token by address, and lets a browser read Retry-After', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await send('/namespaces/rl/models', { token: 'hgr_guess', ip: '198.51.100.7', limiter: 'ADDRESS_RATE_LIMIT' }));
    expect(results.map((r) => r.status)).toEqual([401, 401, 401, 429]);
    expect(results[3]!.retryAfter).toBe(String(LIMITS.rateLimitRetryAfterS));
    // The public routes too.
    for (let i = 0; i < 3; i++) await send('/health', { ip: '198.51.100.8', limiter: 'ADDRESS_RATE_LIMIT' });
    const health = await send('/health', { ip: '198.51.100.8', limiter: 'ADDRESS_RATE_LIMIT', origin: 'https://app.example.com' });
    expect(health.status).toBe(429);
    expect(health.headers.get('access-control-expose-headers')).toContain('Retry-After');
    // Another address is not affected.
    expect((await send('/health', { ip: '198.51.100.9', limiter: 'ADDRESS_RATE_LIMIT' })).status).toBe(200);
  });

  it('is lifted in the rest of the suite (the wrangler.toml limits apply under npm start and in production)', async () => {
    for (let i = 0; i < 10; i++) expect((await call('GET', '/namespaces/rl/models')).status).toBe(200);
  });
});
