import { describe, expect, it } from 'vitest';
import { call, expectError, tokenFor } from './api.ts';

describe('models', () => {
  it('creates a model and reads it back with its metadata', async () => {
    const r = await call('POST', '/namespaces/team/models', {
      body: { name: 'churn', owner: 'ana', task: 'tabular', description: 'Who leaves', metadata: { team: 'growth' } },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'churn', namespace: 'team', owner: 'ana', task: 'tabular', metadata: { team: 'growth' }, aliases: {} });
    const g = await call('GET', '/namespaces/team/models/churn');
    expect(g.status).toBe(200);
    expect(g.body.id).toBe(r.body.id);
  });

  it('returns 409 model-exists for a second model of the same name', async () => {
    await call('POST', '/namespaces/dup/models', { body: { name: 'm' } });
    expectError(await call('POST', '/namespaces/dup/models', { body: { name: 'm' } }), 409, 'model-exists');
  });

  it('returns 400 invalid-argument for a bad name and stores nothing', async () => {
    const r = await call('POST', '/namespaces/bad/models', { body: { name: '../etc' } });
    expectError(r, 400, 'invalid-argument');
    expect(r.body.error.details.issues[0].path).toBe('name');
    expect((await call('GET', '/namespaces/bad/models')).body.items).toEqual([]);
  });

  it('ignores unknown fields and never stores them', async () => {
    const r = await call('POST', '/namespaces/team/models', { body: { name: 'extra', sneaky: 1 } });
    expect(r.status).toBe(201);
    expect(r.body).not.toHaveProperty('sneaky');
  });

  it('returns 400 invalid-json for a body that is not JSON', async () => {
    expectError(await call('POST', '/namespaces/team/models', { body: '{"name":' }), 400, 'invalid-json');
  });

  it('returns 413 payload-too-large past the JSON body limit', async () => {
    const big = { name: 'big', description: 'x'.repeat(1024 * 1024 + 1) };
    expectError(await call('POST', '/namespaces/team/models', { body: big }), 413, 'payload-too-large');
  });

  it('updates fields, keeps the others, and clears with null', async () => {
    await call('POST', '/namespaces/upd/models', { body: { name: 'm', owner: 'ana', task: 'tabular' } });
    const r = await call('PATCH', '/namespaces/upd/models/m', { body: { owner: 'bo', task: null, metadata: { k: [1, 2] } } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ owner: 'bo', task: null, metadata: { k: [1, 2] } });
  });

  it('deletes a model, answers 404 after, and lets the name be used again', async () => {
    await call('POST', '/namespaces/del/models', { body: { name: 'gone', owner: 'ana' } });
    expect((await call('DELETE', '/namespaces/del/models/gone')).status).toBe(204);
    expectError(await call('GET', '/namespaces/del/models/gone'), 404, 'model-not-found');
    const again = await call('POST', '/namespaces/del/models', { body: { name: 'gone' } });
    expect(again.status).toBe(201);
    expect(again.body.owner).toBeNull();
  });

  it('lists with a filter, an order and pages that cover every model once', async () => {
    for (const [i, task] of ['tabular', 'vision', 'tabular', 'tabular', 'text'].entries()) {
      await call('POST', '/namespaces/list/models', { body: { name: `m${i}`, task, metadata: { rank: i } } });
    }
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ filter: "task = 'tabular'", orderBy: 'name DESC', pageSize: '2', ...(token ? { pageToken: token } : {}) });
      const r = await call('GET', `/namespaces/list/models?${q}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.items.map((m: { name: string }) => m.name));
      token = r.body.nextPageToken;
    } while (token);
    expect(seen).toEqual(['m3', 'm2', 'm0']);
    const byTag = await call('GET', `/namespaces/list/models?${new URLSearchParams({ filter: 'tags.rank >= 3' })}`);
    expect(byTag.body.items.map((m: { name: string }) => m.name)).toEqual(['m3', 'm4']);
  });

  it('returns 400 invalid-filter and invalid-page-token for bad listing input', async () => {
    expectError(await call('GET', `/namespaces/list/models?${new URLSearchParams({ filter: "name = 'x" })}`), 400, 'invalid-filter');
    expectError(await call('GET', `/namespaces/list/models?${new URLSearchParams({ filter: 'secret = 1' })}`), 400, 'invalid-filter');
    expectError(await call('GET', '/namespaces/list/models?pageToken=garbage'), 400, 'invalid-page-token');
    expectError(await call('GET', '/namespaces/list/models?orderBy=password'), 400, 'invalid-argument');
  });

  it('returns 404 for a namespace the token may not see, and 403 for a write with a read token', async () => {
    await call('POST', '/namespaces/secret/models', { body: { name: 'hidden' } });
    const other = await tokenFor('other', 'admin');
    expectError(await call('GET', '/namespaces/secret/models/hidden', { token: other }), 404, 'namespace-not-found');
    const reader = await tokenFor('secret', 'read');
    expect((await call('GET', '/namespaces/secret/models/hidden', { token: reader })).status).toBe(200);
    expectError(await call('POST', '/namespaces/secret/models', { token: reader, body: { name: 'x' } }), 403, 'permission-denied');
  });
});
