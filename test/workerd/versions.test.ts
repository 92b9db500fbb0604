import { describe, expect, it } from 'vitest';
import { call, expectError, tokenFor } from './api.ts';

const V = '/namespaces/team/models/churn/versions';

describe('versions', () => {
  it('numbers versions 1, 2, 3 per model in arrival order', async () => {
    await call('POST', '/namespaces/team/models', { body: { name: 'churn' } });
    const numbers = [];
    for (let i = 0; i < 3; i++) numbers.push((await call('POST', V, { body: {} })).body.number);
    expect(numbers).toEqual([1, 2, 3]);
    await call('POST', '/namespaces/team/models', { body: { name: 'other' } });
    expect((await call('POST', '/namespaces/team/models/other/versions', { body: {} })).body.number).toBe(1);
  });

  it('creates a version with label, metadata, framework and unique tags', async () => {
    const r = await call('POST', V, {
      body: { version: '2024-q3', name: 'first', description: 'd', framework: 'tfjs', metadata: { params: { epochs: 3 } }, uniqueTags: ['staging'] },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ version: '2024-q3', framework: 'tfjs', status: 'ready', uniqueTags: ['staging'], metadata: { params: { epochs: 3 } } });
    const alias = await call('GET', '/namespaces/team/models/churn/aliases/staging');
    expect(alias.body.version).toBe(r.body.number);
  });

  it('returns 409 version-label-taken when the label exists, and stores nothing', async () => {
    const before = (await call('GET', `${V}?pageSize=1000`)).body.items.length;
    expectError(await call('POST', V, { body: { version: '2024-q3' } }), 409, 'version-label-taken');
    expect((await call('GET', `${V}?pageSize=1000`)).body.items.length).toBe(before);
  });

  it('returns the same version when a create with a client id is retried', async () => {
    const id = crypto.randomUUID();
    const a = await call('POST', V, { body: { id } });
    const b = await call('POST', V, { body: { id } });
    expect(b.body.number).toBe(a.body.number);
    expect(b.body.id).toBe(id);
  });

  it('reads, updates and marks a version failed', async () => {
    const n = (await call('POST', V, { body: { name: 'x' } })).body.number;
    expect((await call('GET', `${V}/${n}`)).body.name).toBe('x');
    const u = await call('PATCH', `${V}/${n}`, { body: { name: 'y', description: null, status: 'failed' } });
    expect(u.body).toMatchObject({ name: 'y', description: null, status: 'failed' });
    expectError(await call('PATCH', `${V}/${n}`, { body: { status: 'pending' } }), 400, 'invalid-argument');
  });

  it('returns 404 version-not-found for a missing or malformed number', async () => {
    expectError(await call('GET', `${V}/999`), 404, 'version-not-found');
    expectError(await call('GET', `${V}/abc`), 404, 'version-not-found');
    expectError(await call('GET', '/namespaces/team/models/nope/versions/1'), 404, 'model-not-found');
  });

  it('deletes a version and drops the aliases that pointed at it, keeping the numbers', async () => {
    const n = (await call('POST', V, { body: { uniqueTags: ['doomed'] } })).body.number;
    expect((await call('DELETE', `${V}/${n}`)).status).toBe(204);
    expectError(await call('GET', `${V}/${n}`), 404, 'version-not-found');
    expectError(await call('GET', '/namespaces/team/models/churn/aliases/doomed'), 404, 'alias-not-found');
    expect((await call('POST', V, { body: {} })).body.number).toBe(n + 1);
  });

  it('lists newest first, filters by status and pages', async () => {
    const r = await call('GET', `${V}?${new URLSearchParams({ filter: "status = 'failed'" })}`);
    expect(r.body.items.every((v: { status: string }) => v.status === 'failed')).toBe(true);
    const all = await call('GET', `${V}?pageSize=2`);
    expect(all.body.items).toHaveLength(2);
    expect(all.body.items[0].number).toBeGreaterThan(all.body.items[1].number);
    expect(all.body.nextPageToken).toBeTypeOf('string');
  });

  it('lets a write token of the namespace create versions but not a read token', async () => {
    const writer = await tokenFor('team', 'write');
    expect((await call('POST', V, { token: writer, body: {} })).status).toBe(201);
    const reader = await tokenFor('team', 'read');
    expectError(await call('POST', V, { token: reader, body: {} }), 403, 'permission-denied');
  });
});
