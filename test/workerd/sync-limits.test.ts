// Pushes at the largest sizes the protocol allows, under production D1 limits (the Worker's
// D1 binding counts and enforces them: ./d1-limits.ts). A push stops before the query budget
// and answers `complete: false`; the client sends the rest.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { call } from './api.ts';
import { mixedOps, newModelOp, syncClient, type Op } from './sync-client.ts';

const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<number>('n')) ?? 0;

describe('pushes within production D1 limits', () => {
  it(`applies 500 × metrics.log of ${LIMITS.metricsPerRequest} points, in as many pushes as the body limit takes`, async () => {
    const c = syncClient('lim1');
    const m = await newModelOp('lim1', 'run');
    await c.pushAll([m]);
    const t0 = Date.now();
    const ops: Op[] = Array.from({ length: LIMITS.mutationsPerPush }, (_, i) => ({
      name: 'metrics.log',
      args: {
        parentId: m.args.id,
        points: Array.from({ length: LIMITS.metricsPerRequest }, (_, j) => ({ id: uuidv7(t0), key: 'loss', value: j / 1000, step: i * 1000 + j, wallclock: t0 })),
      },
    }));
    const stats = await c.pushAll(ops);
    expect(stats.results.every((r) => r.status === 'applied')).toBe(true);
    expect(stats.results).toHaveLength(LIMITS.mutationsPerPush);
    expect(await count('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?', m.args.id)).toBe(LIMITS.mutationsPerPush * LIMITS.metricsPerRequest);
    expect(await count("SELECT SUM(data ->> '$.count') AS n FROM change_log WHERE namespace = 'lim1' AND entity = 'metrics'")).toBe(LIMITS.mutationsPerPush * LIMITS.metricsPerRequest);
    expect((await call('GET', '/namespaces/lim1/models/run/metrics')).body.metrics.loss.count).toBe(LIMITS.mutationsPerPush * LIMITS.metricsPerRequest);
  });

  it('applies 500 × artifact.register within the query budget', async () => {
    const c = syncClient('lim2');
    const m = await newModelOp('lim2', 'files');
    const v = uuidv7();
    await c.pushAll([m, { name: 'version.create', args: { id: v, modelId: m.args.id } }]);
    const ops: Op[] = Array.from({ length: LIMITS.mutationsPerPush }, (_, i) => ({
      name: 'artifact.register',
      args:
        i % 2
          ? { parentId: v, path: `shards/${i}.bin`, size: i + 1, sha256: i.toString(16).padStart(64, '0') }
          : { parentId: v, path: `tracked/${i}.txt`, url: `https://example.com/${i}.txt` },
    }));
    const stats = await c.pushAll(ops);
    expect(stats.maxQueries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
    expect(stats.results.map((r) => r.status)).toEqual(Array(LIMITS.mutationsPerPush).fill('applied'));
    expect(await count('SELECT COUNT(*) AS n FROM artifacts WHERE parent_id = ?', v)).toBe(LIMITS.mutationsPerPush);
    const listed = await call('GET', '/namespaces/lim2/models/files/versions/1/artifacts');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(LIMITS.mutationsPerPush);
  });

  it('applies 500 mutations of every kind, all data present at the end', async () => {
    const c = syncClient('lim3');
    const ops = await mixedOps('lim3', 500);
    const stats = await c.pushAll(ops);
    expect(stats.results.filter((r) => r.status !== 'applied')).toEqual([]);
    expect(stats.results.map((r) => r.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    // Everything the ops made is there, once.
    const models = await call('GET', '/namespaces/lim3/models?pageSize=1000');
    expect(models.body.items).toHaveLength(50);
    expect(await count("SELECT COUNT(*) AS n FROM versions WHERE namespace = 'lim3' AND deleted_at IS NULL")).toBe(50);
    expect(await count("SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.namespace = 'lim3'")).toBe(50 * 2 * 10);
    expect(await count("SELECT COUNT(*) AS n FROM metadata WHERE namespace = 'lim3' AND NOT deleted")).toBe(50);
    expect(await count("SELECT COUNT(*) AS n FROM metadata WHERE namespace = 'lim3' AND deleted")).toBe(50);
    // A model.json and a checkpoint file per version.
    expect(await count("SELECT COUNT(*) AS n FROM artifacts WHERE namespace = 'lim3'")).toBe(100);
    expect(await count("SELECT COUNT(*) AS n FROM aliases WHERE namespace = 'lim3'")).toBe(50);
    expect(await count("SELECT COUNT(*) AS n FROM checkpoints WHERE namespace = 'lim3' AND handle <> 'default'")).toBe(50);
    const one = await call('GET', '/namespaces/lim3/models/m7/versions/1');
    expect(one.body).toMatchObject({ description: 'v of 7', metadata: { params: { lr: 7 } }, uniqueTags: ['prod'] });
  });
});

describe('the query budget of a push', () => {
  it('stops before the budget with complete: false and answers for the prefix it applied', async () => {
    const c = syncClient('lim4');
    const m = await newModelOp('lim4', 'budget');
    await c.pushAll([m]);
    const v = uuidv7();
    await c.pushAll([{ name: 'version.create', args: { id: v, modelId: m.args.id } }]);
    // A metadata set costs two statements of its own (its change row depends on whether its
    // clock wins), and a version update is applied alone: 500 of them cannot fit in one invocation.
    const mutations = c.stamp(
      Array.from({ length: 500 }, (_, i) =>
        i % 2 ? { name: 'metadata.set', args: { parentId: v, key: `k${i}`, value: i } } : { name: 'version.update', args: { id: v, fields: { description: `d${i}` } } },
      ),
    );
    const r = await c.send(2, mutations);
    expect(r.status).toBe(200);
    expect(r.body.complete).toBe(false);
    const n = r.body.results.length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(500);
    expect(r.body.lastMutationSeq).toBe(mutations[n - 1]!.seq);
    expect(r.queries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
    expect(await count('SELECT COUNT(*) AS n FROM metadata WHERE parent_id = ?', v)).toBe(Math.floor(n / 2));
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'lim4' AND entity = 'version' AND op = 'update'")).toBe(Math.ceil(n / 2));
    // The client sends the rest from where the server stopped.
    const rest = await c.send(r.body.lastMutationSeq, mutations.slice(n));
    expect(rest.body.results[0]!.seq).toBe(mutations[n]!.seq);
  });

  it('logs 100 metric mutations in one batch of a few queries', async () => {
    const c = syncClient('lim5');
    const m = await newModelOp('lim5', 'cheap');
    await c.pushAll([m]);
    const ops: Op[] = Array.from({ length: 100 }, (_, i) => ({ name: 'metrics.log', args: { parentId: m.args.id, points: [{ id: uuidv7(), key: 'k', value: i, step: i }] } }));
    const stats = await c.pushAll(ops);
    expect(stats.pushes).toBe(1);
    // Auth, the client row, the parent (model then version lookups), one read of the point ids
    // already stored in the points' ranges, and one batch of five statements: the 100 logs'
    // points share one segment, one summary, one change-log row and one move of the namespace's
    // point count.
    expect(stats.queries).toBeLessThanOrEqual(12);
    expect((await call('GET', '/namespaces/lim5/usage')).body.usage.metricPoints).toBe(100);
    expect(await count('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?', m.args.id)).toBe(100);
    const log = (await c.pull()).body.changes.filter((x) => x.entity === 'metrics');
    expect(log.flatMap((x) => (x.data.points as { value: number }[]).map((p) => p.value))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
