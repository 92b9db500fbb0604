import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { ADMIN, call, expectError } from './api.ts';
import { fetchLimited } from './d1-limits.ts';

const M = '/namespaces/bad/models/m';
const deep = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

// Input that once reached the database or the runtime's own limits and answered 500.
describe('bad input never answers 5xx', () => {
  it('returns 400 invalid-filter for a LIKE pattern longer than the database takes', async () => {
    await call('POST', '/namespaces/bad/models', { body: { name: 'm' } });
    const long = `name LIKE '${'a'.repeat(LIMITS.likePatternBytes)}%'`;
    expectError(await call('GET', `/namespaces/bad/models?${new URLSearchParams({ filter: long })}`), 400, 'invalid-filter');
    // GLOB escapes count: 20 stars become 60 bytes.
    const escaped = `name LIKE '${'*'.repeat(20)}'`;
    expectError(await call('GET', `/namespaces/bad/models?${new URLSearchParams({ filter: escaped })}`), 400, 'invalid-filter');
    const fits = `name LIKE '${'a'.repeat(LIMITS.likePatternBytes - 1)}%'`;
    expect((await call('GET', `/namespaces/bad/models?${new URLSearchParams({ filter: fits })}`)).status).toBe(200);
  });

  it('returns 400 for metadata nested deeper than the limit, inline or by key, and stores nothing', async () => {
    expectError(await call('PUT', `${M}/metadata/k`, { body: deep(1001) }), 400, 'invalid-argument');
    expectError(await call('POST', '/namespaces/bad/models', { body: { name: 'deep', metadata: { k: deep(20_000) } } }), 400, 'invalid-argument');
    expectError(await call('PATCH', M, { body: { metadata: { k: deep(LIMITS.metadataDepth + 1) } } }), 400, 'invalid-argument');
    expect((await call('PUT', `${M}/metadata/k`, { body: deep(LIMITS.metadataDepth) })).status).toBe(200);
    expect((await call('GET', `/namespaces/bad/models?${new URLSearchParams({ filter: 'tags.k = 1' })}`)).status).toBe(200);
  });

  it('returns 413 for a metadata value or a batch over its limit', async () => {
    expectError(await call('PUT', `${M}/metadata/big`, { body: JSON.stringify('x'.repeat(LIMITS.metadataValueBytes)) }), 413, 'payload-too-large');
    const tags = Array.from({ length: LIMITS.uniqueTagsPerVersion + 1 }, (_, i) => `t${i}`);
    expectError(await call('POST', `${M}/versions`, { body: { uniqueTags: tags } }), 413, 'payload-too-large');
  });

  it('returns 400 for a token expiry past the largest date', async () => {
    expectError(await call('POST', '/tokens', { body: { namespace: 'bad', role: 'read', name: 'x', expiresAt: 9e15 } }), 400, 'invalid-argument');
  });

  it('returns 413 for a chunked JSON body past the limit', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > LIMITS.jsonBodyBytes + chunk.byteLength) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    // Straight to the Worker's fetch: through SELF, answering before the body is read reads as a lost connection.
    const req = new Request('https://hangar.test/api/v1/namespaces/bad/models', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body,
    });
    const { res } = await fetchLimited(req);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload-too-large');
  });

  it('answers 404 for version numbers written any other way than plain digits', async () => {
    await call('POST', `${M}/versions`, { body: {} });
    expect((await call('GET', `${M}/versions/1`)).status).toBe(200);
    for (const n of ['1e0', '0x1', '%201', '01', '1.0']) expectError(await call('GET', `${M}/versions/${n}`), 404, 'version-not-found');
  });
});

describe('deleting a model', () => {
  it('leaves nothing of the old model behind when the name is used again', async () => {
    await call('POST', '/namespaces/bad/models', { body: { name: 'phoenix', metadata: { secret: 'old' } } });
    await call('POST', '/namespaces/bad/models/phoenix/metrics', { body: { metrics: [{ key: 'acc', value: 1 }] } });
    await call('PUT', '/namespaces/bad/models/phoenix/aliases/prod', { body: { version: (await call('POST', '/namespaces/bad/models/phoenix/versions', { body: {} })).body.number } });
    expect((await call('DELETE', '/namespaces/bad/models/phoenix')).status).toBe(204);
    const again = await call('POST', '/namespaces/bad/models', { body: { name: 'phoenix' } });
    expect(again.body).toMatchObject({ metadata: {}, aliases: {} });
    expect((await call('GET', '/namespaces/bad/models/phoenix/metrics')).body.metrics).toEqual({});
    expect((await call('GET', '/namespaces/bad/models/phoenix/versions')).body.items).toEqual([]);
    const history = await call('GET', '/namespaces/bad/models/phoenix/aliases/prod/history');
    expect(history.body.items.map((e: { version: number | null }) => e.version)).toEqual([1, null]);
  });
});
