import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { call, expectError, tokenFor } from './api.ts';
import { putBlob, randomBytes, sha256Hex, uploadBlob } from './blob-helpers.ts';
import { newModelOp, statuses, syncClient } from './sync-client.ts';

const usage = (ns: string, token?: string) => call('GET', `/namespaces/${ns}/usage`, { token });
const setQuotas = (ns: string, body: unknown, token?: string) => call('PUT', `/namespaces/${ns}/usage`, { body, token });
const model = (ns: string, name: string) => call('POST', `/namespaces/${ns}/models`, { body: { name } });
const points = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ key: 'loss', value: i, step: from + i, id: uuidv7() }));
const log = (ns: string, m: string, metrics: unknown[]) => call('POST', `/namespaces/${ns}/models/${m}/metrics`, { body: { metrics } });
const changeCount = async (ns: string) => (await env.DB.prepare('SELECT COUNT(*) AS n FROM change_log WHERE namespace = ?').bind(ns).first<{ n: number }>())!.n;

describe('GET /namespaces/{ns}/usage', () => {
  it('answers what the namespace uses, counted as writes happen, and no quotas at first', async () => {
    const ns = 'use-count';
    expect((await usage(ns)).body).toEqual({ namespace: ns, usage: { blobBytes: 0, metricPoints: 0, models: 0 }, quotas: { blobBytes: null, metricPoints: null, models: null } });
    expect((await model(ns, 'a')).status).toBe(201);
    expect((await model(ns, 'b')).status).toBe(201);
    const batch = points(30);
    expect((await log(ns, 'a', batch)).status).toBe(201);
    // The same ids again (a retry) store nothing and count nothing.
    expect((await log(ns, 'a', batch)).status).toBe(201);
    const bytes = randomBytes(1000);
    await putBlob(ns, bytes);
    await putBlob(ns, bytes);
    await putBlob(ns, randomBytes(24));
    expect((await call('DELETE', `/namespaces/${ns}/models/b`)).status).toBe(204);
    const r = await usage(ns);
    expect(r.status).toBe(200);
    expect(r.body.usage).toEqual({ blobBytes: 1024, metricPoints: 30, models: 1 });
  });

  it('is for a token that can see the namespace: another namespace is 404, a read token reads', async () => {
    const read = await tokenFor('use-read', 'read');
    expect((await usage('use-read', read)).status).toBe(200);
    expectError(await usage('use-other', read), 404, 'namespace-not-found');
  });
});

describe('PUT /namespaces/{ns}/usage', () => {
  it('sets and removes quotas; a field left out keeps its quota', async () => {
    const ns = 'use-set';
    const r = await setQuotas(ns, { models: 5, metricPoints: 1000 });
    expect(r.status).toBe(200);
    expect(r.body.quotas).toEqual({ blobBytes: null, metricPoints: 1000, models: 5 });
    expect((await setQuotas(ns, { blobBytes: 10 })).body.quotas).toEqual({ blobBytes: 10, metricPoints: 1000, models: 5 });
    expect((await setQuotas(ns, { models: null })).body.quotas).toEqual({ blobBytes: 10, metricPoints: 1000, models: null });
    expect((await usage(ns)).body.quotas).toEqual({ blobBytes: 10, metricPoints: 1000, models: null });
  });

  it('needs an admin token; bad bodies are 400; a quota below use is refused and nothing changes', async () => {
    const ns = 'use-bad';
    const write = await tokenFor(ns, 'write');
    expectError(await setQuotas(ns, { models: 1 }, write), 403, 'permission-denied');
    const admin = await tokenFor(ns, 'admin');
    expect((await setQuotas(ns, { models: 10 }, admin)).status).toBe(200);
    expectError(await setQuotas(ns, { models: -1 }), 400, 'invalid-argument');
    expectError(await setQuotas(ns, { models: 1.5 }), 400, 'invalid-argument');
    expectError(await setQuotas(ns, { points: 3 }), 400, 'invalid-argument');
    expectError(await setQuotas(ns, ['lots']), 400, 'invalid-argument');
    expect((await model(ns, 'a')).status).toBe(201);
    expect((await model(ns, 'b')).status).toBe(201);
    expect((await log(ns, 'a', points(10))).status).toBe(201);
    const below = await setQuotas(ns, { models: 1 });
    expectError(below, 400, 'invalid-argument');
    expect(below.body.error.details).toEqual({ quota: 'models', limit: 1, used: 2 });
    expectError(await setQuotas(ns, { metricPoints: 9, models: 3 }), 400, 'invalid-argument');
    expect((await usage(ns)).body.quotas).toEqual({ blobBytes: null, metricPoints: null, models: 10 });
    // At exactly its use a quota is accepted: no more writes of that kind.
    expect((await setQuotas(ns, { models: 2 })).status).toBe(200);
    expectError(await model(ns, 'c'), 403, 'quota-exceeded');
  });
});

describe('quotas refuse a write past them, and nothing is half-written', () => {
  it('models: the create past the quota is refused with the figures; after a delete there is room again', async () => {
    const ns = 'quota-models';
    await setQuotas(ns, { models: 2 });
    expect((await model(ns, 'a')).status).toBe(201);
    expect((await model(ns, 'b')).status).toBe(201);
    const before = await changeCount(ns);
    const r = await model(ns, 'c');
    expectError(r, 403, 'quota-exceeded');
    expect(r.body.error.details).toEqual({ quota: 'models', limit: 2, used: 2, requested: 1 });
    expect((await call('GET', `/namespaces/${ns}/models/c`)).status).toBe(404);
    expect(await changeCount(ns)).toBe(before);
    expect((await call('DELETE', `/namespaces/${ns}/models/a`)).status).toBe(204);
    expect((await model(ns, 'c')).status).toBe(201);
    expect((await usage(ns)).body.usage.models).toBe(2);
  });

  it('metric points: a batch that would cross the quota writes none of its points', async () => {
    const ns = 'quota-points';
    await model(ns, 'a');
    await setQuotas(ns, { metricPoints: 100 });
    expect((await log(ns, 'a', points(90))).status).toBe(201);
    const before = await changeCount(ns);
    const r = await log(ns, 'a', points(11, 90));
    expectError(r, 403, 'quota-exceeded');
    expect(r.body.error.details).toEqual({ quota: 'metricPoints', limit: 100, used: 90, requested: 11 });
    expect((await call('GET', `/namespaces/${ns}/models/a/metrics`)).body.metrics.loss.count).toBe(90);
    expect(await changeCount(ns)).toBe(before);
    // Exactly to the quota fits.
    expect((await log(ns, 'a', points(10, 90))).status).toBe(201);
    expect((await usage(ns)).body.usage.metricPoints).toBe(100);
  });

  it('blob bytes: an upload past the quota is refused before its bytes are sent; bytes already held are free', async () => {
    const ns = 'quota-blobs';
    await setQuotas(ns, { blobBytes: 1500 });
    const held = randomBytes(1000);
    await putBlob(ns, held);
    const big = randomBytes(600);
    const sha = await sha256Hex(big);
    const start = await call('POST', `/namespaces/${ns}/blobs/uploads`, { body: { sha256: sha, size: 600 } });
    expectError(start, 403, 'quota-exceeded');
    expect(start.body.error.details).toEqual({ quota: 'blobBytes', limit: 1500, used: 1000, requested: 600 });
    expectError(await call('PUT', `/namespaces/${ns}/blobs/sha256/${sha}`, { raw: big }), 403, 'quota-exceeded');
    expectError(await call('GET', `/namespaces/${ns}/blobs/sha256/${sha}`), 404, 'blob-not-found');
    // The same bytes again take no more room.
    await putBlob(ns, held);
    await uploadBlob(ns, randomBytes(500));
    expect((await usage(ns)).body.usage.blobBytes).toBe(1500);
  });

  it('blob bytes: registering an artifact whose bytes would pass the quota is refused, REST and sync alike; held bytes pass', async () => {
    const ns = 'quota-register';
    await setQuotas(ns, { blobBytes: 100 });
    expect((await model(ns, 'a')).status).toBe(201);
    const held = randomBytes(60);
    await putBlob(ns, held);
    const art = (path: string, size: number, sha256: string) => call('POST', `/namespaces/${ns}/models/a/artifacts`, { body: { path, size, sha256 } });
    const big = await sha256Hex(randomBytes(50));
    const r = await art('big.bin', 50, big);
    expectError(r, 403, 'quota-exceeded');
    expect(r.body.error.details).toEqual({ quota: 'blobBytes', limit: 100, used: 60, requested: 50 });
    expect((await call('GET', `/namespaces/${ns}/models/a/artifacts`)).body.items).toEqual([]);
    // Bytes the namespace holds already take no more room; a tracked URL holds none.
    expect((await art('held.bin', 60, await sha256Hex(held))).status).toBe(201);
    expect((await call('POST', `/namespaces/${ns}/models/a/artifacts`, { body: { path: 'far.bin', url: 'https://example.com/far.bin', size: 10_000 } })).status).toBe(201);
    const client = syncClient(ns);
    const parentId = await modelId(ns, 'a');
    const pushed = await client.push([
      { name: 'artifact.register', args: { parentId, path: 'sync-big.bin', size: 41, sha256: await sha256Hex(randomBytes(41)) } },
      { name: 'artifact.register', args: { parentId, path: 'sync-small.bin', size: 40, sha256: await sha256Hex(randomBytes(40)) } },
    ]);
    expect(statuses(pushed)).toEqual(['rejected', 'applied']);
    expect((pushed.body.results[0] as { error: { details: unknown } }).error.details).toEqual({ quota: 'blobBytes', limit: 100, used: 60, requested: 41 });
  });

  it('blob bytes: a grant that the quota refuses at completion leaves no blob and no upload', async () => {
    const ns = 'quota-complete';
    const bytes = randomBytes(700);
    const sha = await sha256Hex(bytes);
    const start = await call('POST', `/namespaces/${ns}/blobs/uploads`, { body: { sha256: sha, size: 700 } });
    expect(start.status).toBe(201);
    const { uploadId } = start.body;
    expect((await call('PUT', `/namespaces/${ns}/blobs/uploads/${uploadId}/parts/1`, { raw: bytes })).status).toBe(200);
    // The quota is set while the parts come.
    await setQuotas(ns, { blobBytes: 500 });
    const done = await call('POST', `/namespaces/${ns}/blobs/uploads/${uploadId}/complete`);
    expectError(done, 403, 'quota-exceeded');
    expect(done.body.error.details).toEqual({ quota: 'blobBytes', limit: 500, used: 0, requested: 700 });
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM blobs WHERE sha256 = ?').bind(sha).first<{ n: number }>())!.n).toBe(0);
    expectError(await call('GET', `/namespaces/${ns}/blobs/uploads/${uploadId}`), 404, 'upload-not-found');
    expect((await env.BLOBS.list()).objects.filter((o) => o.key.includes(sha))).toEqual([]);
  });

  it('sync push applies the same quotas: the mutation past one is rejected with the figures, the others applied', async () => {
    const ns = 'quota-sync';
    await setQuotas(ns, { models: 2, metricPoints: 25 });
    const client = syncClient(ns);
    const a = await newModelOp(ns, 'a');
    const r = await client.push([
      a,
      await newModelOp(ns, 'b'),
      await newModelOp(ns, 'c'),
      { name: 'metrics.log', args: { parentId: a.args.id, points: points(20) } },
      { name: 'metrics.log', args: { parentId: a.args.id, points: points(10, 20) } },
      { name: 'metrics.log', args: { parentId: a.args.id, points: points(5, 30) } },
    ]);
    expect(r.status).toBe(200);
    expect(statuses(r)).toEqual(['applied', 'applied', 'rejected', 'applied', 'rejected', 'applied']);
    const rejected = r.body.results.filter((x) => x.status === 'rejected') as { error: { code: string; details: unknown } }[];
    expect(rejected.map((x) => [x.error.code, x.error.details])).toEqual([
      ['quota-exceeded', { quota: 'models', limit: 2, used: 2, requested: 1 }],
      ['quota-exceeded', { quota: 'metricPoints', limit: 25, used: 20, requested: 10 }],
    ]);
    expect((await usage(ns)).body.usage).toEqual({ blobBytes: 0, metricPoints: 25, models: 2 });
    expect((await call('GET', `/namespaces/${ns}/models/c`)).status).toBe(404);
    expect(await modelId(ns, 'c')).toBeTypeOf('string');
  });
});

describe('the metric points count follows the points stored', () => {
  it('counts each point once however often it is sent: REST and sync push, retried and re-seeded', async () => {
    const ns = 'count-once';
    const a = await newModelOp(ns, 'a');
    const first = syncClient(ns);
    expect(statuses(await first.push([a]))).toEqual(['applied']);
    const batch = points(40);
    expect(statuses(await first.push([{ name: 'metrics.log', args: { parentId: a.args.id, points: batch.slice(0, 25) } }]))).toEqual(['applied']);
    // Another device sends them all again (a re-seed), with 15 new ones: only those count.
    const second = syncClient(ns);
    expect(statuses(await second.push([{ name: 'metrics.log', args: { parentId: a.args.id, points: batch } }]))).toEqual(['applied']);
    expect((await log(ns, 'a', batch)).status).toBe(201);
    expect((await usage(ns)).body.usage.metricPoints).toBe(40);
    expect((await call('GET', `/namespaces/${ns}/models/a/metrics`)).body.metrics.loss.count).toBe(40);
    // At the quota, sending stored points again is no write: it is not refused.
    await setQuotas(ns, { metricPoints: 40 });
    expect((await log(ns, 'a', batch)).status).toBe(201);
    expectError(await log(ns, 'a', points(1, 40)), 403, 'quota-exceeded');
  });

  it('a model created again after its delete starts afresh: its old points leave the count; a purge frees a deleted version\'s', async () => {
    const ns = 'count-free';
    expect((await model(ns, 'a')).status).toBe(201);
    expect((await log(ns, 'a', points(30))).status).toBe(201);
    expect((await call('POST', `/namespaces/${ns}/models/a/versions`, { body: {} })).status).toBe(201);
    expect((await call('POST', `/namespaces/${ns}/models/a/versions/1/metrics`, { body: { metrics: points(12) } })).status).toBe(201);
    expect((await call('DELETE', `/namespaces/${ns}/models/a`)).status).toBe(204);
    // Deleted, its points still take room until purged.
    expect((await usage(ns)).body.usage.metricPoints).toBe(42);
    expect((await model(ns, 'a')).status).toBe(201);
    expect((await usage(ns)).body.usage.metricPoints).toBe(12);
    // The version its delete took stays in the trash; purging it frees the rest.
    const entry = (await call('GET', `/namespaces/${ns}/trash`)).body.items[0];
    expect(entry).toMatchObject({ kind: 'version', number: 1 });
    expect((await call('DELETE', `/namespaces/${ns}/trash/${entry.id}`)).body).toEqual({ purged: 1, done: true });
    expect((await usage(ns)).body.usage.metricPoints).toBe(0);
  });
});
