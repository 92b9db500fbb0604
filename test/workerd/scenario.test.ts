import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { call } from './api.ts';
import { fetchBytes, randomBytes, sha256Hex } from './blob-helpers.ts';

// The story a small team lives through with curl alone, from the first token to a ready,
// aliased version with metrics, metadata, artifacts and checkpoints.
describe('a team registers, trains and promotes a model over plain HTTP', () => {
  it('walks the whole story', async () => {
    // The admin creates a write token for CI in namespace "team".
    const ci = (await call('POST', '/tokens', { body: { namespace: 'team', role: 'write', name: 'ci' } })).body.token as string;
    const as = { token: ci };
    const M = '/namespaces/team/models/churn';

    expect((await call('POST', '/namespaces/team/models', { ...as, body: { name: 'churn', task: 'tabular', metadata: { team: 'growth' } } })).status).toBe(201);
    const v1 = await call('POST', `${M}/versions`, { ...as, body: { version: '2024-q3', framework: 'tfjs' } });
    expect(v1.body).toMatchObject({ number: 1, status: 'ready' });

    // Training logs metrics per epoch, in batches.
    const points = Array.from({ length: 50 }, (_, step) => [
      { key: 'loss', value: 1 / (step + 1), step },
      { key: 'accuracy', value: 0.5 + step / 100, step },
    ]).flat();
    expect((await call('POST', `${M}/versions/1/metrics`, { ...as, body: { metrics: points } })).status).toBe(201);
    const summary = (await call('GET', `${M}/versions/1/metrics`, as)).body.metrics;
    expect(summary.accuracy).toMatchObject({ last: 0.99, count: 50 });
    const history = (await call('GET', `${M}/versions/1/metrics/loss?maxPoints=10`, as)).body.points;
    expect(history.length).toBeLessThanOrEqual(10);
    expect((await call('PUT', `${M}/versions/1/metadata/params`, { ...as, body: { epochs: 50, hidden: [16] } })).status).toBe(200);

    // The model file is registered, so the version waits for its bytes.
    const weights = randomBytes(LIMITS.uploadPartBytes * 2 + 1234);
    const sha = await sha256Hex(weights);
    const art = await call('POST', `${M}/versions/1/artifacts`, { ...as, body: { path: 'model/weights.bin', size: weights.byteLength, sha256: sha, fileType: 'MODEL' } });
    expect(art.status).toBe(201);
    expect((await call('GET', `${M}/versions/1`, as)).body.status).toBe('pending');
    await call('POST', `${M}/versions/1/artifacts`, { ...as, body: { path: 'card.html', url: 'https://example.com/card.html' } });

    // Its bytes go up in resumable parts.
    const start = await call('POST', '/namespaces/team/blobs/uploads', { ...as, body: { sha256: sha, size: weights.byteLength } });
    const { uploadId, partSize, partCount } = start.body;
    expect(partCount).toBe(3);
    for (let n = 1; n <= partCount; n++) {
      const r = await call('PUT', `/namespaces/team/blobs/uploads/${uploadId}/parts/${n}`, { ...as, raw: weights.slice((n - 1) * partSize, n * partSize) });
      expect(r.status).toBe(200);
    }
    expect((await call('POST', `/namespaces/team/blobs/uploads/${uploadId}/complete`, as)).status).toBe(201);
    expect((await call('GET', `${M}/versions/1`, as)).body.status).toBe('ready');

    // A checkpoint by handle moves `default`.
    const small = new TextEncoder().encode('{"epoch":3}');
    const smallSha = await sha256Hex(small);
    expect((await call('PUT', `/namespaces/team/blobs/sha256/${smallSha}`, { ...as, raw: small })).status).toBe(201);
    const cp = await call('PUT', `${M}/versions/1/checkpoints/epoch_3`, { ...as, body: { files: [{ path: 'state.json', size: small.byteLength, sha256: smallSha }] } });
    expect(cp.status).toBe(201);
    expect((await call('GET', `${M}/versions/1/checkpoints/default`, as)).body).toMatchObject({ handle: 'default', target: 'epoch_3' });

    // Promotion: production → v1; a second version, then a compare-and-set move.
    expect((await call('PUT', `${M}/aliases/production`, { ...as, body: { version: 1 } })).status).toBe(200);
    expect((await call('POST', `${M}/versions`, { ...as, body: {} })).body.number).toBe(2);
    expect((await call('PUT', `${M}/aliases/production`, { ...as, body: { version: 2, expected: 1 } })).status).toBe(200);
    expect((await call('GET', `${M}/aliases/production/history`, as)).body.items).toHaveLength(2);

    // A teammate with a read token finds it, and downloads part of the weights.
    const reader = (await call('POST', '/tokens', { body: { namespace: 'team', role: 'read', name: 'ana' } })).body.token as string;
    const found = await call('GET', `/namespaces/team/models?${new URLSearchParams({ filter: "task = 'tabular' AND tags.team = 'growth'" })}`, { token: reader });
    expect(found.body.items.map((m: { name: string; aliases: Record<string, number> }) => [m.name, m.aliases])).toEqual([['churn', { production: 2 }]]);
    const range = await fetchBytes('GET', `${M}/versions/1/artifacts/model/weights.bin`, { token: reader, headers: { range: 'bytes=100-199' } });
    expect(range.status).toBe(206);
    expect(range.bytes).toEqual(weights.slice(100, 200));
  });
});
