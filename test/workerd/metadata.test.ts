import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, expectError, freshModel, freshVersion, tokenFor } from './api.ts';

const NS = 'meta';
const newModel = () => freshModel(NS);
const newVersion = () => freshVersion(NS);

const put = (parent: string, key: string, value: unknown, token?: string) =>
  call('PUT', `${parent}/metadata/${encodeURIComponent(key)}`, { body: JSON.stringify(value), token });
const list = async (parent: string) => (await call('GET', `${parent}/metadata`)).body.metadata;
const idOf = async (parent: string) => (await call('GET', parent)).body.id as string;

describe('PUT …/metadata/{key}', () => {
  it('stores any JSON value and answers 200 with it, round-tripping nested objects, arrays and null', async () => {
    const m = await newModel();
    const values: Record<string, unknown> = {
      nested: { a: { b: [1, 'two', { c: null }] }, ok: true },
      list: [3, 1, 2],
      nothing: null,
      text: 'hello "quoted" ✓',
      number: -1.25e-7,
      yes: false,
    };
    for (const [key, value] of Object.entries(values)) {
      const r = await put(m, key, value);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ key, value });
    }
    expect(await list(m)).toEqual(values);
    // The model itself carries the same metadata.
    expect((await call('GET', m)).body.metadata).toEqual(values);
  });

  it('lets the later write win', async () => {
    const m = await newModel();
    await put(m, 'stage', 'draft');
    await put(m, 'stage', { name: 'final' });
    expect((await list(m)).stage).toEqual({ name: 'final' });
  });

  it('keeps a value written with a later clock and answers with it', async () => {
    const m = await newModel();
    const id = await idOf(m);
    // A synced client from the future wrote this key; a REST write stamped now loses to it.
    await env.DB.prepare('INSERT INTO metadata (namespace, parent_id, key, value, hlc, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .bind(NS, id, 'owner', '"future"', '999999999999999-000000-client', Date.now())
      .run();
    const r = await put(m, 'owner', 'now');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ key: 'owner', value: 'future' });
    expect((await list(m)).owner).toBe('future');
  });

  it('writes the value and a change-log row together', async () => {
    const m = await newModel();
    await put(m, 'k', [1]);
    const { results } = await env.DB.prepare("SELECT op, data FROM change_log WHERE entity = 'metadata' AND entity_id = ?")
      .bind(await idOf(m))
      .all<{ op: string; data: string }>();
    expect(results.map((r) => [r.op, JSON.parse(r.data)])).toEqual([['set', { key: 'k', value: [1] }]]);
  });

  it('returns 413 payload-too-large for a value over 64 KiB as JSON and stores nothing', async () => {
    const m = await newModel();
    const r = await put(m, 'big', 'x'.repeat(64 * 1024));
    expectError(r, 413, 'payload-too-large');
    expect(await list(m)).toEqual({});
    // Exactly at the limit (quotes included) is fine.
    expect((await put(m, 'fits', 'x'.repeat(64 * 1024 - 2))).status).toBe(200);
  });

  it('returns 400 for a key over 250 characters and invalid-json for a body that is not JSON', async () => {
    const m = await newModel();
    expectError(await put(m, 'k'.repeat(251), 1), 400, 'invalid-argument');
    expectError(await call('PUT', `${m}/metadata/k`, { body: '{"a":' }), 400, 'invalid-json');
    expectError(await call('PUT', `${m}/metadata/k`, { raw: '' }), 400, 'invalid-json');
    expect(await list(m)).toEqual({});
  });

  it('accepts keys holding "/" sent as is or percent-encoded', async () => {
    const m = await newModel();
    expect((await put(m, 'train/lr', 0.01)).body).toEqual({ key: 'train/lr', value: 0.01 });
    expect((await call('PUT', `${m}/metadata/train/epochs`, { body: 5 })).body).toEqual({ key: 'train/epochs', value: 5 });
    expect(await list(m)).toEqual({ 'train/lr': 0.01, 'train/epochs': 5 });
  });
});

describe('GET and DELETE …/metadata', () => {
  it('answers an empty map for a model without metadata', async () => {
    const m = await newModel();
    const r = await call('GET', `${m}/metadata`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ metadata: {} });
  });

  it('deletes a key with 204, logs the delete, and answers 204 again for a missing key', async () => {
    const m = await newModel();
    await put(m, 'a', 1);
    await put(m, 'b', 2);
    const r = await call('DELETE', `${m}/metadata/a`);
    expect(r.status).toBe(204);
    expect(await list(m)).toEqual({ b: 2 });
    expect((await call('DELETE', `${m}/metadata/a`)).status).toBe(204);
    const { results } = await env.DB.prepare("SELECT op, data FROM change_log WHERE entity = 'metadata' AND entity_id = ? AND op = 'delete'")
      .bind(await idOf(m))
      .all<{ op: string; data: string }>();
    expect(results.map((x) => JSON.parse(x.data))).toEqual([{ key: 'a' }]);
  });

  it('does not delete a value written with a later clock', async () => {
    const m = await newModel();
    await env.DB.prepare('INSERT INTO metadata (namespace, parent_id, key, value, hlc, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .bind(NS, await idOf(m), 'kept', '1', '999999999999999-000000-client', Date.now())
      .run();
    expect((await call('DELETE', `${m}/metadata/kept`)).status).toBe(204);
    expect(await list(m)).toEqual({ kept: 1 });
  });
});

describe('metadata on versions and access', () => {
  it('keeps a version’s metadata apart from its model’s', async () => {
    const { model, version } = await newVersion();
    expect((await put(version, 'epochs', 12)).status).toBe(200);
    expect((await put(model, 'team', 'growth')).status).toBe(200);
    expect(await list(version)).toEqual({ epochs: 12 });
    expect(await list(model)).toEqual({ team: 'growth' });
    expect((await call('GET', version)).body.metadata).toEqual({ epochs: 12 });
    expect((await call('DELETE', `${version}/metadata/epochs`)).status).toBe(204);
    expect(await list(version)).toEqual({});
  });

  it('returns 404 for a model or version that does not exist', async () => {
    const { model } = await newVersion();
    expectError(await put(`/namespaces/${NS}/models/nope`, 'k', 1), 404, 'model-not-found');
    expectError(await call('GET', `/namespaces/${NS}/models/nope/metadata`), 404, 'model-not-found');
    expectError(await put(`${model}/versions/42`, 'k', 1), 404, 'version-not-found');
    expectError(await call('DELETE', `${model}/versions/42/metadata/k`), 404, 'version-not-found');
  });

  it('lets a read token GET metadata but answers 403 permission-denied to PUT and DELETE', async () => {
    const { version } = await newVersion();
    await put(version, 'k', 'v');
    const reader = await tokenFor(NS, 'read');
    expect((await call('GET', `${version}/metadata`, { token: reader })).body).toEqual({ metadata: { k: 'v' } });
    expectError(await put(version, 'k', 'w', reader), 403, 'permission-denied');
    expectError(await call('DELETE', `${version}/metadata/k`, { token: reader }), 403, 'permission-denied');
    expect(await list(version)).toEqual({ k: 'v' });
  });
});
