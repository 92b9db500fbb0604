// The trash (DESIGN §3b): deleted models and versions stay restorable until purged; a restore
// reaches every device through the change log; purging frees every row of the purged thing.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { call, expectError, tokenFor } from './api.ts';
import { seedPoints, storedPointCount, usedPoints } from './metric-seed.ts';
import { syncClient } from './sync-client.ts';

const DAY = 24 * 60 * 60 * 1000;
const rows = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).all()).results;
const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<number>('n')) ?? 0;

async function modelWithVersions(ns: string, name: string, versions: number) {
  expect((await call('POST', `/namespaces/${ns}/models`, { body: { name, metadata: { team: 'a' } } })).status).toBe(201);
  for (let i = 1; i <= versions; i++) {
    expect((await call('POST', `/namespaces/${ns}/models/${name}/versions`, { body: { version: `v-label-${i}`, metadata: { lr: i } } })).status).toBe(201);
    const metrics = Array.from({ length: 5 }, (_, s) => ({ key: 'loss', value: s / 10, step: s }));
    expect((await call('POST', `/namespaces/${ns}/models/${name}/versions/${i}/metrics`, { body: { metrics } })).status).toBe(201);
  }
  return `/namespaces/${ns}/models/${name}`;
}

describe('trash', () => {
  it('lists deleted models and versions with who deleted them and when they expire, newest first, in pages', async () => {
    const writer = await tokenFor('tr1', 'write');
    const m = await modelWithVersions('tr1', 'alpha', 2);
    await modelWithVersions('tr1', 'beta', 1);
    expect((await call('DELETE', `${m}/versions/1`, { token: writer })).status).toBe(204);
    expect((await call('DELETE', '/namespaces/tr1/models/beta')).status).toBe(204);
    const r = await call('GET', '/namespaces/tr1/trash', { token: writer });
    expect(r.status).toBe(200);
    expect(r.body.items.map((e: any) => [e.kind, e.model, e.number, e.versions])).toEqual([
      ['model', 'beta', null, 1],
      ['version', 'alpha', 1, 0],
    ]);
    const [beta, v1] = r.body.items;
    expect(v1.deletedBy).toEqual({ tokenId: expect.any(String), tokenName: 'write of tr1' });
    expect(beta.deletedBy).toEqual({ tokenId: null, tokenName: 'admin (HANGAR_ADMIN_TOKEN)' });
    expect(Date.parse(v1.expiresAt) - Date.parse(v1.deletedAt)).toBe(LIMITS.trashDays * DAY);
    const page1 = await call('GET', '/namespaces/tr1/trash?pageSize=1');
    expect(page1.body.items).toHaveLength(1);
    const page2 = await call('GET', `/namespaces/tr1/trash?pageSize=1&pageToken=${page1.body.nextPageToken}`);
    expect(page2.body.items.map((e: any) => e.id)).toEqual([v1.id]);
    expect(page2.body.nextPageToken).toBeUndefined();
    expectError(await call('GET', '/namespaces/tr1/trash?pageToken=nonsense'), 400, 'invalid-page-token');
  });

  it('restores a model with the versions its delete took, and the aliases nobody set since', async () => {
    const m = await modelWithVersions('tr2', 'm', 3);
    expect((await call('PUT', `${m}/aliases/prod`, { body: { version: 2 } })).status).toBe(200);
    expect((await call('PUT', `${m}/aliases/old`, { body: { version: 1 } })).status).toBe(200);
    // Version 1 goes alone first (its alias `old` with it); then the model takes 2 and 3.
    expect((await call('DELETE', `${m}/versions/1`)).status).toBe(204);
    expect((await call('DELETE', m)).status).toBe(204);
    expectError(await call('GET', m), 404, 'model-not-found');
    const c = syncClient('tr2');
    const before = (await c.pull()).body.cursor;
    const r = await call('POST', `${m}/restore`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'm', metadata: { team: 'a' }, aliases: { prod: 2 } });
    const versions = await call('GET', `${m}/versions`);
    expect(versions.body.items.map((v: any) => v.number)).toEqual([3, 2]);
    expect((await call("GET", `${m}/versions/2/metrics`)).body.metrics).toMatchObject({ loss: { count: 5 } });
    // Version 1 is still in the trash, on its own.
    expect((await call('GET', '/namespaces/tr2/trash')).body.items.map((e: any) => [e.kind, e.number])).toEqual([['version', 1]]);
    // Its alias comes back with it, since nobody set `old` meanwhile.
    expect((await call('POST', `${m}/versions/1/restore`)).status).toBe(200);
    expect((await call('GET', m)).body.aliases).toEqual({ old: 1, prod: 2 });
    expect((await call('GET', '/namespaces/tr2/trash')).body.items).toEqual([]);
    // Every device learns it: model.restore, version.restore of each, the aliases set again.
    const log = (await c.pull(before)).body.changes.map((x) => `${x.entity}.${x.op}:${JSON.stringify(x.data)}`);
    const modelId = r.body.id;
    expect(log).toEqual([
      'model.restore:{"name":"m"}',
      `version.restore:{"modelId":"${modelId}","number":2}`,
      `version.restore:{"modelId":"${modelId}","number":3}`,
      expect.stringMatching(/^alias\.set:\{"alias":"prod",.*"version":2\}$/),
      `version.restore:{"modelId":"${modelId}","number":1}`,
      expect.stringMatching(/^alias\.set:\{"alias":"old",.*"version":1\}$/),
    ]);
    // The restore rows carry the token that made them.
    expect(await rows("SELECT DISTINCT token_name FROM change_log WHERE namespace = 'tr2' AND op = 'restore'")).toEqual([{ token_name: 'admin (HANGAR_ADMIN_TOKEN)' }]);
  });

  it('does not move an alias set elsewhere since the delete', async () => {
    const m = await modelWithVersions('tr3', 'm', 2);
    await call('PUT', `${m}/aliases/prod`, { body: { version: 1 } });
    await call('DELETE', `${m}/versions/1`);
    await call('PUT', `${m}/aliases/prod`, { body: { version: 2 } });
    expect((await call('POST', `${m}/versions/1/restore`)).status).toBe(200);
    expect((await call('GET', m)).body.aliases).toEqual({ prod: 2 });
    // Set and deleted again since: still a later decision, left alone.
    await call('PUT', `${m}/aliases/canary`, { body: { version: 1 } });
    await call('DELETE', `${m}/versions/1`);
    await call('PUT', `${m}/aliases/canary`, { body: { version: 2 } });
    await call('DELETE', `${m}/aliases/canary`);
    expect((await call('POST', `${m}/versions/1/restore`)).status).toBe(200);
    expect((await call('GET', m)).body.aliases).toEqual({ prod: 2 });
  });

  it('refuses bad restores with clear codes and changes nothing', async () => {
    const writer = await tokenFor('tr4', 'write');
    const reader = await tokenFor('tr4', 'read');
    const m = await modelWithVersions('tr4', 'm', 2);
    const snapshot = async () => [await rows("SELECT * FROM versions WHERE namespace = 'tr4' ORDER BY number"), await rows("SELECT * FROM trash WHERE namespace = 'tr4'"), await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'tr4'")];
    // Nothing deleted: not in the trash; a live model is not restored over.
    expectError(await call('POST', `${m}/versions/1/restore`, { token: writer }), 404, 'not-in-trash');
    expectError(await call('POST', `${m}/versions/99/restore`, { token: writer }), 404, 'not-in-trash');
    expectError(await call('POST', `${m}/versions/abc/restore`, { token: writer }), 404, 'not-in-trash');
    expectError(await call('POST', `${m}/restore`, { token: writer }), 409, 'model-exists');
    expectError(await call('POST', '/namespaces/tr4/models/never/restore', { token: writer }), 404, 'not-in-trash');
    // Reading tokens may list, not restore.
    await call('DELETE', `${m}/versions/1`);
    expectError(await call('POST', `${m}/versions/1/restore`, { token: reader }), 403, 'permission-denied');
    // A label taken since: 409, nothing restored.
    expect((await call('POST', `${m}/versions`, { body: { version: 'v-label-1' } })).status).toBe(201);
    let before = await snapshot();
    expectError(await call('POST', `${m}/versions/1/restore`, { token: writer }), 409, 'version-label-taken');
    expect(await snapshot()).toEqual(before);
    // A version of a deleted model: restore the model first.
    await call('DELETE', m);
    before = await snapshot();
    const alone = await call('POST', `${m}/versions/1/restore`, { token: writer });
    expectError(alone, 404, 'model-not-found');
    expect(alone.body.error.details.inTrash).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it('a model created again since its delete leaves the trash; restoring it is a conflict', async () => {
    const m = await modelWithVersions('tr5', 'm', 2);
    await call('DELETE', m);
    expect((await call('POST', '/namespaces/tr5/models', { body: { name: 'm' } })).status).toBe(201);
    expectError(await call('POST', `${m}/restore`), 409, 'model-exists');
    // The versions its delete took stay deleted, now entries of their own, restorable.
    const items = (await call('GET', '/namespaces/tr5/trash')).body.items;
    expect(items.map((e: any) => [e.kind, e.number]).sort()).toEqual([['version', 1], ['version', 2]]);
    expect((await call('POST', `${m}/versions/2/restore`)).status).toBe(200);
    expect((await call('GET', `${m}/versions`)).body.items.map((v: any) => v.number)).toEqual([2]);
  });

  it('purges one entry (admin only), freeing its rows; a purged thing is not in the trash', async () => {
    const writer = await tokenFor('tr6', 'write');
    const m = await modelWithVersions('tr6', 'm', 2);
    await call('PUT', `${m}/aliases/prod`, { body: { version: 1 } });
    await call('POST', `${m}/versions/1/artifacts`, { body: { path: 'model.bin', size: 3, sha256: 'a'.repeat(64) } });
    await call('DELETE', `${m}/versions/1`);
    const v1 = (await call('GET', '/namespaces/tr6/trash')).body.items[0].id;
    expectError(await call('DELETE', `/namespaces/tr6/trash/${v1}`, { token: writer }), 403, 'permission-denied');
    expectError(await call('DELETE', '/namespaces/tr6/trash', { token: writer }), 403, 'permission-denied');
    expectError(await call('DELETE', '/namespaces/tr6/trash/unknown-id'), 404, 'not-in-trash');
    expect(await storedPointCount(v1)).toBe(5);
    // A deleted version's points count until it is purged.
    expect(await usedPoints('tr6')).toBe(10);
    const r = await call('DELETE', `/namespaces/tr6/trash/${v1}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ purged: 1, done: true });
    for (const table of ['metric_series', 'metadata', 'artifacts']) expect(await count(`SELECT COUNT(*) AS n FROM ${table} WHERE parent_id = ?`, v1)).toBe(0);
    expect(await storedPointCount(v1)).toBe(0);
    expect((await call('GET', '/namespaces/tr6/usage')).body.usage.metricPoints).toBe(5);
    // A bare tombstone keeps the number, so the next version is 3, not 1 or 2 again.
    expect(await rows('SELECT number, version FROM versions WHERE id = ?', v1)).toEqual([{ number: 1, version: null }]);
    expect((await call('POST', `${m}/versions`, { body: {} })).body.number).toBe(3);
    expectError(await call('POST', `${m}/versions/1/restore`), 404, 'not-in-trash');
    expectError(await call('DELETE', `/namespaces/tr6/trash/${v1}`), 404, 'not-in-trash');
    // The purge is in the change log once, so devices drop the version too.
    expect(await rows("SELECT entity, entity_id, op FROM change_log WHERE namespace = 'tr6' AND op = 'purge'")).toEqual([{ entity: 'version', entity_id: v1, op: 'purge' }]);
    // Another namespace's entry is not this namespace's to purge.
    await call('DELETE', `${m}/versions/2`);
    const v2 = (await call('GET', '/namespaces/tr6/trash')).body.items[0].id;
    expectError(await call('DELETE', `/namespaces/other-ns/trash/${v2}`), 404, 'not-in-trash');
  });

  it('empties the trash: a purged model takes every row of its versions, history and aliases', async () => {
    const m = await modelWithVersions('tr7', 'm', 3);
    const id = (await call('GET', m)).body.id;
    await call('PUT', `${m}/aliases/prod`, { body: { version: 1 } });
    await call('PUT', `${m}/versions/2/checkpoints/best`, { body: { files: [{ path: 'w.bin', size: 3, sha256: 'b'.repeat(64) }] } });
    await call('DELETE', `${m}/versions/3`);
    await call('DELETE', m);
    await modelWithVersions('tr7', 'kept', 1);
    const r = await call('DELETE', '/namespaces/tr7/trash');
    expect(r.body).toEqual({ purged: 2, done: true });
    expect(await count('SELECT COUNT(*) AS n FROM models WHERE id = ?', id)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM versions WHERE model_id = ?', id)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM alias_history WHERE model_id = ?', id)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM artifacts WHERE model_id = ?', id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM trash WHERE namespace = 'tr7'")).toBe(0);
    for (const table of ['metric_series', 'metadata']) {
      expect(await count(`SELECT COUNT(*) AS n FROM ${table} WHERE namespace = 'tr7' AND parent_id NOT IN (SELECT id FROM models UNION ALL SELECT id FROM versions)`)).toBe(0);
    }
    expect(await count('SELECT COUNT(*) AS n FROM metric_segments WHERE series NOT IN (SELECT id FROM metric_series)')).toBe(0);
    // The 15 points of its versions are off the count; the other model's 5 stay.
    expect(await usedPoints('tr7')).toBe(5);
    expect(await count("SELECT COUNT(*) AS n FROM checkpoints WHERE namespace = 'tr7'")).toBe(0);
    // The other model is untouched; the name can be used afresh.
    expect((await call("GET", "/namespaces/tr7/models/kept/versions/1/metrics")).body.metrics.loss.count).toBe(5);
    expect((await call('POST', '/namespaces/tr7/models', { body: { name: 'm' } })).status).toBe(201);
    expect((await call('POST', `${m}/versions`, { body: {} })).body.number).toBe(1);
    expectError(await call('POST', `${m}/restore`), 409, 'model-exists');
  });

  it('purges a long history within the D1 limits, over as many requests and runs as it takes', async () => {
    const m = await modelWithVersions('tr8', 'big', 1);
    const vid = (await call('GET', `${m}/versions/1`)).body.id;
    // 5,000 points seeded directly, a segment each (logging them would take long, and write
    // few segments): a purge of 3 batches of segment rows.
    await seedPoints('tr8', vid, 'acc', 5000, 1);
    expect(await usedPoints('tr8')).toBe(5005);
    await call('DELETE', m);
    const r = await call('DELETE', '/namespaces/tr8/trash');
    expect(r.status).toBe(200);
    expect(r.queries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
    expect(await storedPointCount(vid)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM metric_series WHERE parent_id = ?', vid)).toBe(0);
    expect(await usedPoints('tr8')).toBe(0);
    expect((await call('GET', '/namespaces/tr8/trash')).body.items).toEqual([]);
  });
});

describe('trash through sync', () => {
  it('model.restore and version.restore apply once, answer applied when already alive, and are refused once purged', async () => {
    const m = await modelWithVersions('tr9', 'm', 2);
    const model = (await call('GET', m)).body;
    const v1 = (await call('GET', `${m}/versions/1`)).body.id;
    await call('DELETE', `${m}/versions/1`);
    await call('DELETE', m);
    const c = syncClient('tr9');
    // A version of a deleted model: a `deleted` conflict, nothing restored.
    let r = await c.push([{ name: 'version.restore', args: { id: v1 } }]);
    expect(r.body.results[0]).toMatchObject({ status: 'conflict', kind: 'deleted' });
    r = await c.push([{ name: 'model.restore', args: { id: model.id } }, { name: 'model.restore', args: { id: model.id } }]);
    expect(r.body.results.map((x) => x.status)).toEqual(['applied', 'applied']);
    expect((await call('GET', `${m}/versions`)).body.items.map((v: any) => v.number)).toEqual([2]);
    r = await c.push([{ name: 'version.restore', args: { id: v1 } }]);
    expect(r.body.results[0]!.status).toBe('applied');
    expect((await call('GET', `${m}/versions`)).body.items.map((v: any) => v.number)).toEqual([2, 1]);
    // Purged: refused with not-in-trash.
    await call('DELETE', m);
    expect((await call('DELETE', '/namespaces/tr9/trash')).body.done).toBe(true);
    const before = await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'tr9'");
    r = await c.push([{ name: 'model.restore', args: { id: model.id } }]);
    expect(r.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'not-in-trash' } });
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'tr9'")).toBe(before);
  });
});
