import { beforeAll, describe, expect, it } from 'vitest';
import { call, expectError } from './api.ts';

const M = '/namespaces/team/models/churn';

describe('aliases', () => {
  beforeAll(async () => {
    await call('POST', '/namespaces/team/models', { body: { name: 'churn' } });
    for (let i = 0; i < 3; i++) await call('POST', `${M}/versions`, { body: {} });
  });

  it('sets, reads, moves and lists an alias', async () => {
    const set = await call('PUT', `${M}/aliases/production`, { body: { version: 1 } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ alias: 'production', version: 1 });
    await call('PUT', `${M}/aliases/production`, { body: { version: 2 } });
    expect((await call('GET', `${M}/aliases/production`)).body.version).toBe(2);
    expect((await call('GET', `${M}/versions/2`)).body.uniqueTags).toEqual(['production']);
    expect((await call('GET', M)).body.aliases).toEqual({ production: 2 });
    expect((await call('GET', `${M}/aliases`)).body.items.map((a: { alias: string }) => a.alias)).toEqual(['production']);
  });

  it('moves with expected when it still holds, and answers 412 when it does not', async () => {
    expect((await call('PUT', `${M}/aliases/production`, { body: { version: 3, expected: 2 } })).status).toBe(200);
    const stale = await call('PUT', `${M}/aliases/production`, { body: { version: 1, expected: 2 } });
    expectError(stale, 412, 'alias-precondition-failed');
    expect(stale.body.error.details.current).toBe(3);
    expect((await call('GET', `${M}/aliases/production`)).body.version).toBe(3);
  });

  it('creates with expected null only when the alias is unset', async () => {
    expect((await call('PUT', `${M}/aliases/champion`, { body: { version: 1, expected: null } })).status).toBe(200);
    expectError(await call('PUT', `${M}/aliases/champion`, { body: { version: 2, expected: null } }), 412, 'alias-precondition-failed');
  });

  it('keeps every move in the history, deletes included', async () => {
    expect((await call('DELETE', `${M}/aliases/production`)).status).toBe(204);
    const h = await call('GET', `${M}/aliases/production/history`);
    expect(h.body.items.map((e: { version: number | null; previousVersion: number | null }) => [e.previousVersion, e.version])).toEqual([
      [null, 1],
      [1, 2],
      [2, 3],
      [3, null],
    ]);
    expectError(await call('GET', `${M}/aliases/production`), 404, 'alias-not-found');
    expectError(await call('DELETE', `${M}/aliases/production`), 404, 'alias-not-found');
  });

  it('refuses alias names that look like versions or break the rule', async () => {
    for (const bad of ['v3', 'V12', '1st', 'has space', 'a'.repeat(64)]) {
      expectError(await call('PUT', `${M}/aliases/${encodeURIComponent(bad)}`, { body: { version: 1 } }), 400, 'invalid-argument');
    }
  });

  it('returns 404 version-not-found for a target that does not exist', async () => {
    expectError(await call('PUT', `${M}/aliases/x`, { body: { version: 99 } }), 404, 'version-not-found');
  });
});
