import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { SnapshotPage } from '../../shared/snapshot.ts';
import { call, expectError, tokenFor } from './api.ts';
import { randomBytes, sha256Hex } from './blob-helpers.ts';
import { H } from './sync-client.ts';

const snapshot = (ns: string, pageToken?: string, token?: string) =>
  call<SnapshotPage>('GET', `/namespaces/${ns}/sync/snapshot${pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : ''}`, { headers: H, token });

/** Every page of a namespace's snapshot, and the pages' cursors. */
async function wholeSnapshot(ns: string) {
  const pages: SnapshotPage[] = [];
  let token: string | undefined;
  do {
    const r = await snapshot(ns, token);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Within production limits: the token's read, and at most one batch of eight.
    expect(r.queries).toBeLessThanOrEqual(10);
    pages.push(r.body);
    token = r.body.nextPageToken;
  } while (token);
  const all = (k: Exclude<keyof SnapshotPage, 'cursor' | 'nextPageToken'>) => pages.flatMap((p) => p[k] as unknown[]);
  return { pages, models: all('models'), versions: all('versions'), metadata: all('metadata'), aliases: all('aliases'), artifacts: all('artifacts'), checkpoints: all('checkpoints'), params: all('params'), metrics: all('metrics') } as {
    pages: SnapshotPage[];
  } & { [K in Exclude<keyof SnapshotPage, 'cursor' | 'nextPageToken'>]: SnapshotPage[K] };
}

describe('GET /namespaces/{ns}/sync/snapshot', () => {
  it("carries experiments' kind, a registered version's lineage and runs' params", async () => {
    const M = '/namespaces/snap-runs/models';
    expect((await call('POST', M, { body: { name: 'churn-exp', kind: 'experiment' } })).status).toBe(201);
    const run = await call<{ id: string }>('POST', `${M}/churn-exp/versions`, { body: {} });
    expect((await call('PUT', `${M}/churn-exp/versions/1/params/lr`, { body: { value: '0.01' } })).status).toBe(200);
    expect((await call('POST', M, { body: { name: 'churn' } })).status).toBe(201);
    expect((await call('POST', `${M}/churn/versions`, { body: { sourceVersionId: run.body.id } })).status).toBe(201);

    const snap = await wholeSnapshot('snap-runs');
    expect(snap.models.map((m) => [m.name, m.kind]).sort()).toEqual([
      ['churn', 'model'],
      ['churn-exp', 'experiment'],
    ]);
    expect(snap.versions.map((v) => v.sourceVersionId).sort()).toEqual([null, run.body.id].sort());
    expect(snap.params).toEqual([{ parentId: run.body.id, key: 'lr', value: '0.01', hlc: expect.any(String) }]);
  });

  it("answers the namespace's current state without metric history, consistent with a change-log cursor", async () => {
    const ns = 'snap';
    const M = `/namespaces/${ns}/models`;
    expect((await call('POST', M, { body: { name: 'churn', task: 'tabular', metadata: { team: 'growth' } } })).status).toBe(201);
    expect((await call('POST', M, { body: { name: 'gone' } })).status).toBe(201);
    expect((await call('POST', `${M}/churn/versions`, { body: { name: 'first' } })).status).toBe(201);
    expect((await call('POST', `${M}/churn/versions`, { body: {} })).status).toBe(201);
    expect((await call('PUT', `${M}/churn/aliases/production`, { body: { version: 2 } })).status).toBe(200);
    expect((await call('PUT', `${M}/churn/versions/1/metadata/lr`, { body: 0.1 })).status).toBe(200);
    expect((await call('DELETE', `${M}/churn/versions/1/metadata/lr`)).status).toBe(204);
    const bytes = randomBytes(10);
    expect((await call('POST', `${M}/churn/versions/2/artifacts`, { body: { path: 'model.bin', size: 10, sha256: await sha256Hex(bytes) } })).status).toBe(201);
    expect((await call('PUT', `${M}/churn/versions/2/checkpoints/epoch_1`, { body: { files: [{ path: 'w.bin', size: 10, sha256: await sha256Hex(bytes) }] } })).status).toBe(201);
    const points = Array.from({ length: 500 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), step: i, wallclock: 1000 + i }));
    expect((await call('POST', `${M}/churn/versions/2/metrics`, { body: { metrics: [...points, { key: 'acc', value: 0.5, step: 3 }] } })).status).toBe(201);
    expect((await call('POST', `${M}/gone/metrics`, { body: { metrics: [{ key: 'loss', value: 1 }] } })).status).toBe(201);
    expect((await call('DELETE', `${M}/gone`)).status).toBe(204);

    const snap = await wholeSnapshot(ns);
    const pull = await call('GET', `/namespaces/${ns}/sync/pull?clientId=${uuidv7()}&cursor=0`, { headers: H });
    expect(snap.pages[0]!.cursor).toBe(pull.body.cursor);
    // Tombstones too: a device that fell behind learns the delete.
    expect(snap.models.map((m) => [m.name, m.task, m.deletedAt === null]).sort()).toEqual([
      ['churn', 'tabular', true],
      ['gone', null, false],
    ]);
    const churn = snap.models.find((m) => m.name === 'churn')!;
    expect(Object.keys(churn.clocks).sort()).toEqual(['task']);
    expect(snap.versions.map((v) => [v.modelId, v.number, v.name, v.status])).toEqual([
      [churn.id, 1, 'first', 'ready'],
      [churn.id, 2, null, 'pending'],
    ]);
    const [v1, v2] = snap.versions;
    expect(snap.metadata.map((m) => [m.parentId, m.key, m.value, m.deleted])).toEqual(
      [
        [churn.id, 'team', 'growth', false],
        [v1!.id, 'lr', null, true],
      ].sort((a, b) => (`${a[0]}\0${a[1]}` < `${b[0]}\0${b[1]}` ? -1 : 1)),
    );
    expect(snap.aliases).toEqual([{ modelId: churn.id, alias: 'production', versionId: v2!.id }]);
    expect(snap.artifacts.map((a) => [a.parentId, a.path, a.size])).toEqual([
      [v2!.id, 'checkpoints/epoch_1/w.bin', 10],
      [v2!.id, 'model.bin', 10],
    ]);
    expect(snap.checkpoints).toEqual([
      { versionId: v2!.id, handle: 'default', target: 'epoch_1' },
      { versionId: v2!.id, handle: 'epoch_1', target: null },
    ]);
    // Summaries of live parents only; no point travels.
    expect(snap.metrics.map(({ lastId, ...m }) => (expect(lastId).toMatch(/^[0-9a-f-]{36}$/), m))).toEqual([
      { parentId: v2!.id, key: 'acc', count: 1, min: 0.5, max: 0.5, last: 0.5, lastStep: 3, lastWallclock: expect.any(Number) },
      { parentId: v2!.id, key: 'loss', count: 500, min: 1 / 500, max: 1, last: 1 / 500, lastStep: 499, lastWallclock: 1499 },
    ]);
    // The summaries' page is consistent with its own cursor.
    const metricsPage = snap.pages.find((p) => p.metrics.length)!;
    expect(metricsPage.cursor).toBe(pull.body.cursor);
    // Far smaller than the history it stands for.
    expect(JSON.stringify(snap.pages).length).toBeLessThan(JSON.stringify(pull.body).length / 5);
  });

  it('pages a large namespace: every row once, in pages of at most the limit', async () => {
    const ns = 'snap-pages';
    const M = `/namespaces/${ns}/models`;
    expect((await call('POST', M, { body: { name: 'm' } })).status).toBe(201);
    const keys = 2 * LIMITS.snapshotPageRows + 10;
    for (let from = 0; from < keys; from += 1000) {
      const metrics = Array.from({ length: Math.min(1000, keys - from) }, (_, i) => ({ key: `k${String(from + i).padStart(5, '0')}`, value: from + i }));
      expect((await call('POST', `${M}/m/metrics`, { body: { metrics } })).status).toBe(201);
    }
    const snap = await wholeSnapshot(ns);
    expect(snap.pages.length).toBe(4);
    for (const p of snap.pages) expect(p.metrics.length).toBeLessThanOrEqual(LIMITS.snapshotPageRows);
    expect(snap.metrics.map((m) => m.key)).toEqual(Array.from({ length: keys }, (_, i) => `k${String(i).padStart(5, '0')}`));
    expect(snap.metrics.every((m) => m.count === 1 && m.last === Number(m.key.slice(1)))).toBe(true);
  });

  it('refuses what it cannot answer: a namespace the token cannot see is 404, a bad page token 400, no protocol header 400', async () => {
    const read = await tokenFor('snap-read', 'read');
    expect((await snapshot('snap-read', undefined, read)).status).toBe(200);
    expectError(await snapshot('snap-other', undefined, read), 404, 'namespace-not-found');
    expectError(await snapshot('snap-read', 'garbage', read), 400, 'invalid-page-token');
    expectError(await snapshot('snap-read', btoa(JSON.stringify({ s: 99, k: [] })), read), 400, 'invalid-page-token');
    expectError(await call('GET', '/namespaces/snap-read/sync/snapshot', { token: read }), 400, 'protocol-unsupported');
  });

  it('an empty namespace answers empty pages and a cursor', async () => {
    const r = await snapshot('snap-empty');
    expect(r.status).toBe(200);
    expect(r.body.models).toEqual([]);
    expect(r.body.nextPageToken).toBeDefined();
    const metrics = await snapshot('snap-empty', r.body.nextPageToken);
    expect(metrics.body).toMatchObject({ metrics: [] });
    expect(metrics.body.nextPageToken).toBeUndefined();
  });
});
