import { describe, expect, it } from 'vitest';
import { call, expectError, tokenFor } from './api.ts';
import { fetchLimited } from './d1-limits.ts';

describe('tokens and auth', () => {
  it('returns 401 unauthenticated with no token, a malformed header or an unknown token', async () => {
    expectError(await call('GET', '/namespaces', { token: null }), 401, 'unauthenticated');
    expectError(await call('GET', '/namespaces', { token: null, headers: { authorization: 'Basic abc' } }), 401, 'unauthenticated');
    expectError(await call('GET', '/namespaces', { token: 'hgr_nope' }), 401, 'unauthenticated');
  });

  it('creates a token shown once, stored only as a digest, and lists it without the secret', async () => {
    const r = await call('POST', '/tokens', { body: { namespace: 'team', role: 'write', name: 'ci' } });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^hgr_[A-Za-z0-9_-]{43}$/);
    const list = await call('GET', '/tokens?namespace=team');
    expect(list.body.items.find((t: { id: string }) => t.id === r.body.id)).toMatchObject({ name: 'ci', role: 'write' });
    expect(JSON.stringify(list.body)).not.toContain(r.body.token);
    const { env } = await import('cloudflare:test');
    const stored = await env.DB.prepare('SELECT * FROM tokens WHERE id = ?').bind(r.body.id).first();
    expect(JSON.stringify(stored)).not.toContain(r.body.token);
  });

  it('revokes a token so it stops working', async () => {
    const r = await call('POST', '/tokens', { body: { namespace: 'team', role: 'read', name: 'temp' } });
    expect((await call('GET', '/namespaces', { token: r.body.token })).status).toBe(200);
    expect((await call('DELETE', `/tokens/${r.body.id}`)).status).toBe(204);
    expectError(await call('GET', '/namespaces', { token: r.body.token }), 401, 'unauthenticated');
    expectError(await call('DELETE', `/tokens/${r.body.id}`), 404, 'token-not-found');
  });

  it('returns 401 token-expired once a token expires, and refuses an expiry in the past', async () => {
    const r = await call('POST', '/tokens', { body: { namespace: 'team', role: 'read', name: 'soon', expiresAt: Date.now() + 1500 } });
    expect((await call('GET', '/namespaces', { token: r.body.token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expectError(await call('GET', '/namespaces', { token: r.body.token }), 401, 'token-expired');
    expectError(await call('POST', '/tokens', { body: { namespace: 'team', role: 'read', name: 'x', expiresAt: '2001-01-01T00:00:00Z' } }), 400, 'invalid-argument');
  });

  it('lets a namespace admin manage only its own namespace tokens', async () => {
    const admin = await tokenFor('alpha', 'admin');
    expect((await call('POST', '/tokens', { token: admin, body: { namespace: 'alpha', role: 'read', name: 'r' } })).status).toBe(201);
    expectError(await call('POST', '/tokens', { token: admin, body: { namespace: 'beta', role: 'read', name: 'r' } }), 403, 'permission-denied');
    expectError(await call('POST', '/tokens', { token: admin, body: { namespace: '*', role: 'read', name: 'r' } }), 403, 'permission-denied');
    const writer = await tokenFor('alpha', 'write');
    expectError(await call('POST', '/tokens', { token: writer, body: { namespace: 'alpha', role: 'read', name: 'r' } }), 403, 'permission-denied');
    expectError(await call('GET', '/tokens', { token: writer }), 403, 'permission-denied');
  });

  it('lists only the namespaces a token can see', async () => {
    const t = await tokenFor('gamma', 'read');
    expect((await call('GET', '/namespaces', { token: t })).body.items).toEqual([{ name: 'gamma' }]);
    const all = (await call('GET', '/namespaces')).body.items.map((n: { name: string }) => n.name);
    expect(all).toEqual(expect.arrayContaining(['alpha', 'gamma', 'team']));
  });

  it('returns 400 for a bad token request', async () => {
    expectError(await call('POST', '/tokens', { body: { namespace: 'Bad_NS', role: 'read', name: 'x' } }), 400, 'invalid-argument');
    expectError(await call('POST', '/tokens', { body: { namespace: 'team', role: 'root', name: 'x' } }), 400, 'invalid-argument');
    expectError(await call('POST', '/tokens', { body: { namespace: 'team', role: 'read', name: 'x', origins: ['https://a.com/path'] } }), 400, 'invalid-argument');
  });
});

describe('CORS per token', () => {
  const origin = 'https://app.example.com';

  it('answers a preflight for any origin, granting nothing by itself', async () => {
    const { res } = await fetchLimited(
      new Request('https://hangar.test/api/v1/namespaces', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      }),
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('allows a token from the origins it names and refuses it from others', async () => {
    const token = await tokenFor('widget', 'read', { origins: [origin] });
    const ok = await call('GET', '/namespaces', { token, headers: { origin } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
    const refused = await call('GET', '/namespaces', { token, headers: { origin: 'https://evil.example' } });
    expectError(refused, 403, 'origin-not-allowed');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows a token without an origin list from any origin', async () => {
    const token = await tokenFor('widget', 'read');
    const r = await call('GET', '/namespaces', { token, headers: { origin: 'https://anywhere.example' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('https://anywhere.example');
  });
});
