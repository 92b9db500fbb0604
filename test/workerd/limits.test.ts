// REST requests at the largest sizes shared/limits.ts allows, under production D1 limits (the
// Worker's D1 binding counts and enforces them: ./d1-limits.ts). Each passing here means the
// request stays within what production D1 takes, not only what local D1 does.
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { MAX_FILTER_PARAMS } from '../../worker/db/filter-sql.ts';
import { call, expectError } from './api.ts';

const NS = 'maxed';
const key = (i: number) => `${String(i).padStart(4, '0')}${'k'.repeat(LIMITS.keyLength - 4)}`;
const sha = (i: number) => i.toString(16).padStart(64, '0');
const bigMetadata = () => Object.fromEntries(Array.from({ length: LIMITS.metadataKeysPerRequest }, (_, i) => [key(i), { v: 'x'.repeat(500), i }]));

describe('REST at the largest sizes, within production D1 limits', () => {
  it('creates and patches a model with the most inline metadata keys', async () => {
    const r = await call('POST', `/namespaces/${NS}/models`, { body: { name: 'meta', description: 'd'.repeat(LIMITS.descriptionLength), metadata: bigMetadata() } });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body.metadata)).toHaveLength(LIMITS.metadataKeysPerRequest);
    expect(r.queries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
    expect((await call('PATCH', `/namespaces/${NS}/models/meta`, { body: { owner: 'o', metadata: bigMetadata() } })).status).toBe(200);
  });

  it('creates a version with the most metadata keys and unique tags', async () => {
    await call('POST', `/namespaces/${NS}/models`, { body: { name: 'tags' } });
    const uniqueTags = Array.from({ length: LIMITS.uniqueTagsPerVersion }, (_, i) => `tag${i}`);
    const r = await call('POST', `/namespaces/${NS}/models/tags/versions`, { body: { metadata: bigMetadata(), uniqueTags } });
    expect(r.status).toBe(201);
    expect(r.body.uniqueTags).toHaveLength(LIMITS.uniqueTagsPerVersion);
  });

  it('saves and lists a checkpoint of the most files, with the longest paths', async () => {
    await call('POST', `/namespaces/${NS}/models`, { body: { name: 'ckpt' } });
    await call('POST', `/namespaces/${NS}/models/ckpt/versions`, { body: {} });
    const files = Array.from({ length: LIMITS.filesPerCheckpoint }, (_, i) => ({ path: `${String(i).padStart(4, '0')}/${'p'.repeat(900)}.bin`, size: i, sha256: sha(i) }));
    const version = `/namespaces/${NS}/models/ckpt/versions/1`;
    const r = await call('PUT', `${version}/checkpoints/epoch_1`, { body: { files } });
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(201);
    expect((await call('GET', `${version}/checkpoints`)).body.items[0].files).toHaveLength(LIMITS.filesPerCheckpoint);
    expect((await call('GET', `${version}/artifacts`)).body.items).toHaveLength(LIMITS.filesPerCheckpoint);
  });

  it('logs the most metric points with the longest keys', async () => {
    await call('POST', `/namespaces/${NS}/models`, { body: { name: 'metrics' } });
    const metrics = Array.from({ length: LIMITS.metricsPerRequest }, (_, i) => ({ key: key(i % 7), value: i, step: i }));
    const r = await call('POST', `/namespaces/${NS}/models/metrics/metrics`, { body: { metrics } });
    expect(r.status).toBeLessThan(300);
    expect(Object.keys((await call('GET', `/namespaces/${NS}/models/metrics/metrics`)).body.metrics)).toHaveLength(7);
  });

  it('filters with the most parameters allowed, on every page, and refuses more with invalid-filter', async () => {
    for (let i = 0; i < 3; i++) await call('POST', `/namespaces/${NS}/models`, { body: { name: `f${i}`, metadata: { team: 'a' } } });
    // Each `tags.team = '…'` binds the value and the key: MAX_FILTER_PARAMS / 2 of them.
    const clause = (n: number) => Array.from({ length: n }, (_, i) => `tags.team = '${i ? `t${i}` : 'a'}'`).join(' OR ');
    const max = clause(MAX_FILTER_PARAMS / 2);
    expect(max.length).toBeLessThanOrEqual(LIMITS.filterLength);
    const first = await call('GET', `/namespaces/${NS}/models?${new URLSearchParams({ filter: max, pageSize: '1', orderBy: 'name DESC' })}`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    const next = await call('GET', `/namespaces/${NS}/models?${new URLSearchParams({ filter: max, pageSize: '1', orderBy: 'name DESC', pageToken: first.body.nextPageToken })}`);
    expect(next.status).toBe(200);
    expectError(await call('GET', `/namespaces/${NS}/models?${new URLSearchParams({ filter: clause(MAX_FILTER_PARAMS / 2 + 1) })}`), 400, 'invalid-filter');
    const versions = await call('GET', `/namespaces/${NS}/models/tags/versions?${new URLSearchParams({ filter: max.replaceAll('tags.team', 'tags.x'), pageSize: String(LIMITS.pageSizeMax) })}`);
    expect(versions.status).toBe(200);
  });

  it('lists the largest page of models, each with metadata and aliases', async () => {
    const r = await call('GET', `/namespaces/${NS}/models?pageSize=${LIMITS.pageSizeMax}`);
    expect(r.status).toBe(200);
    expect(r.queries).toBeLessThan(10);
  });
});
