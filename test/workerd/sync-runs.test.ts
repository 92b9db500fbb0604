// Runs (worker/domain/sync/runs.ts): consecutive mutations of a push commit in one D1 batch with
// one seq record, each still answered on its own, within production D1 limits (./d1-limits.ts
// counts every query of the Worker's invocation).
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { MutationResult } from '../../shared/sync.ts';
import { call } from './api.ts';
import { mixedOps, newModelOp, statuses, syncClient, type Op } from './sync-client.ts';

const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<number>('n')) ?? 0;
const kinds = (results: MutationResult[]) => results.map((x) => (x.status === 'rejected' ? x.error.code : x.status === 'conflict' ? `conflict:${x.kind}` : x.status));

describe('runs of mutations in one batch', () => {
  it('pushes 500 mixed mutations in at most 1,000 D1 queries', async () => {
    const c = syncClient('run0');
    const stats = await c.pushAll(await mixedOps('run0', 500));
    expect(stats.results.filter((r) => r.status !== 'applied')).toEqual([]);
    // Counted by the production-limits wrapper around the Worker's D1 binding, every push together.
    expect(stats.queries).toBeLessThanOrEqual(1000);
    expect(stats.maxQueries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
  });

  it('rejects a bad mutation in the middle of a run alone, applies the others in the same batch, and answers a retry the same', async () => {
    const ns = 'run1';
    const c = syncClient(ns);
    const m = await newModelOp(ns, 'mid');
    const gone = uuidv7();
    await c.pushAll([m, { name: 'version.create', args: { id: gone, modelId: m.args.id } }, { name: 'version.delete', args: { id: gone } }]);
    const v = uuidv7();
    const ops: Op[] = [
      { name: 'version.create', args: { id: v, modelId: m.args.id, status: 'pending' } },
      { name: 'metadata.set', args: { parentId: v, key: 'lr', value: 0.1 } },
      { name: 'metadata.set', args: { parentId: v, key: '', value: 1 } },
      { name: 'metrics.log', args: { parentId: v, points: [{ id: uuidv7(), key: 'loss', value: 1, step: 1 }] } },
      { name: 'metrics.log', args: { parentId: uuidv7(), points: [{ id: uuidv7(), key: 'loss', value: 2, step: 2 }] } },
      { name: 'model.update', args: { id: m.args.id, fields: { description: 'kept' } }, hlc: formatHlc(Date.now() + 3600_000, 0, 'dev') },
      { name: 'metadata.set', args: { parentId: gone, key: 'late', value: 1 } },
      { name: 'artifact.register', args: { parentId: v, path: 'w.bin', size: 3, sha256: 'b'.repeat(64) } },
      { name: 'model.update', args: { id: m.args.id, fields: { description: 'after' } } },
      { name: 'metrics.log', args: { parentId: v, points: [{ id: uuidv7(), key: 'loss', value: 3, step: 3 }] } },
    ];
    const mutations = c.stamp(ops);
    const r = await c.send(3, mutations);
    expect(r.status).toBe(200);
    expect(kinds(r.body.results)).toEqual([
      'applied',
      'applied',
      'invalid-argument',
      'applied',
      'model-not-found',
      'clock-skew',
      'conflict:deleted',
      'applied',
      'applied',
      'applied',
    ]);
    expect(r.body).toMatchObject({ complete: true, lastMutationSeq: mutations.at(-1)!.seq });
    // One batch for the ten: auth, the client row, a few prefetching reads, the batch.
    expect(r.queries).toBeLessThanOrEqual(30);
    const version = (await call('GET', `/namespaces/${ns}/models/mid/versions/2`)).body;
    expect(version).toMatchObject({ id: v, status: 'pending', metadata: { lr: 0.1 } });
    expect((await call('GET', `/namespaces/${ns}/models/mid`)).body.description).toBe('after');
    expect(await count('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?', v)).toBe(2);
    expect(await count('SELECT COUNT(*) AS n FROM artifacts WHERE parent_id = ?', v)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM metadata WHERE parent_id = ? AND key = 'late'", gone)).toBe(0);
    // The change log follows the mutations' order; the run's metric points of one parent share
    // a segment and one change row, written after the run's other rows.
    const pulled = (await c.pull()).body.changes.filter((x) => x.entityId === v || x.entityId === m.args.id || (x.entity === 'artifact' && x.data.parentId === v));
    const log = pulled.map((x) => `${x.entity}.${x.op}`);
    expect(log.slice(-5)).toEqual(['version.create', 'metadata.set', 'artifact.create', 'model.update', 'metrics.log']);
    expect((pulled.at(-1)!.data.points as { value: number }[]).map((p) => p.value)).toEqual([1, 3]);
    // A retry (the answer was lost) gets the same answers, and applies nothing again.
    const again = await c.send(3, mutations);
    expect(again.body.results).toEqual(r.body.results);
    expect(await count('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?', v)).toBe(2);
  });

  it('applies a run refused by a constraint one mutation at a time, each answering its own race', async () => {
    // A version id of another namespace: the run reads nothing of it (ids are per namespace), and
    // the insert meets the primary key.
    const other = syncClient('run2a');
    const om = await newModelOp('run2a', 'theirs');
    const taken = uuidv7();
    await other.pushAll([om, { name: 'version.create', args: { id: taken, modelId: om.args.id } }]);
    const c = syncClient('run2b');
    const m = await newModelOp('run2b', 'ours');
    const r = await c.push([
      m,
      { name: 'metadata.set', args: { parentId: m.args.id, key: 'a', value: 1 } },
      { name: 'version.create', args: { id: taken, modelId: m.args.id } },
      { name: 'metrics.log', args: { parentId: m.args.id, points: [{ id: uuidv7(), key: 'acc', value: 1, step: 1 }] } },
    ]);
    expect(r.status).toBe(200);
    expect(kinds(r.body.results)).toEqual(['applied', 'applied', 'invalid-argument', 'applied']);
    expect(r.body.complete).toBe(true);
    expect(await count("SELECT COUNT(*) AS n FROM versions WHERE namespace = 'run2b'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM versions WHERE id = ? AND namespace = 'run2a'", taken)).toBe(1);
    expect(await count('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?', m.args.id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = 'run2b'")).toBe(3);
  });

  it('moves one alias twice in one push in order, and answers a stale move as a conflict', async () => {
    const ns = 'run3';
    const c = syncClient(ns);
    const m = await newModelOp(ns, 'tags');
    const [v1, v2] = [uuidv7(), uuidv7()];
    const r = await c.push([
      m,
      { name: 'version.create', args: { id: v1, modelId: m.args.id } },
      { name: 'version.create', args: { id: v2, modelId: m.args.id } },
      { name: 'alias.set', args: { modelId: m.args.id, alias: 'prod', versionId: v1, expectedVersionId: null } },
      { name: 'alias.set', args: { modelId: m.args.id, alias: 'prod', versionId: v2, expectedVersionId: v1 } },
      { name: 'alias.set', args: { modelId: m.args.id, alias: 'prod', versionId: v1, expectedVersionId: null } },
    ]);
    expect(kinds(r.body.results)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied', 'conflict:alias']);
    expect(r.body.results[5]).toMatchObject({ server: { versionId: v2, version: 2 } });
    expect((await call('GET', `/namespaces/${ns}/models/tags/aliases/prod`)).body).toMatchObject({ version: 2, versionId: v2 });
    const moves = (await c.pull()).body.changes.filter((x) => x.entity === 'alias').map((x) => x.data);
    expect(moves).toEqual([
      { alias: 'prod', versionId: v1, version: 1 },
      { alias: 'prod', versionId: v2, version: 2 },
    ]);
  });

  it('moves an alias once when two clients move it from unset at once, the other answered with a conflict', async () => {
    const ns = 'run6';
    const a = syncClient(ns);
    const b = syncClient(ns);
    const m = await newModelOp(ns, 'race');
    const [v1, v2] = [uuidv7(), uuidv7()];
    await a.pushAll([m, { name: 'version.create', args: { id: v1, modelId: m.args.id } }, { name: 'version.create', args: { id: v2, modelId: m.args.id } }]);
    const move = (v: string): Op[] => [
      { name: 'metadata.set', args: { parentId: v, key: 'picked', value: true } },
      { name: 'alias.set', args: { modelId: m.args.id, alias: 'prod', versionId: v, expectedVersionId: null } },
      { name: 'metrics.log', args: { parentId: v, points: [{ id: uuidv7(), key: 'acc', value: 1, step: 1 }] } },
    ];
    const [ra, rb] = await Promise.all([a.push(move(v1)), b.push(move(v2))]);
    const answers = [kinds(ra.body.results), kinds(rb.body.results)];
    // Whichever commits second finds the alias set: by its read, or by its batch's own result.
    expect(answers.map((x) => x[1]).sort()).toEqual(['applied', 'conflict:alias']);
    for (const x of answers) expect([x[0], x[2]]).toEqual(['applied', 'applied']);
    const winner = answers[0]![1] === 'applied' ? v1 : v2;
    expect((await call('GET', `/namespaces/${ns}/models/race/aliases/prod`)).body.versionId).toBe(winner);
    expect(await count("SELECT COUNT(*) AS n FROM alias_history WHERE model_id = ? AND alias = 'prod'", m.args.id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = ? AND entity = 'alias'", ns)).toBe(1);
    // The loser's answer says where the alias points.
    const loser = answers[0]![1] === 'applied' ? rb : ra;
    expect(loser.body.results[1]).toMatchObject({ status: 'conflict', kind: 'alias', server: { versionId: winner } });
  });

  it('settles the status of each version once per batch, as its artifacts leave it', async () => {
    const ns = 'run4';
    const c = syncClient(ns);
    const m = await newModelOp(ns, 'st');
    const [a, b] = [uuidv7(), uuidv7()];
    const r = await c.push([
      m,
      { name: 'version.create', args: { id: a, modelId: m.args.id } },
      { name: 'version.create', args: { id: b, modelId: m.args.id } },
      { name: 'artifact.register', args: { parentId: a, path: 'one.bin', size: 1, sha256: '1'.repeat(64) } },
      { name: 'artifact.register', args: { parentId: b, path: 'page.html', url: 'https://example.com/page.html' } },
      { name: 'checkpoint.save', args: { versionId: a, handle: 'e1', files: [{ path: 'w.bin', size: 2, sha256: '2'.repeat(64) }] } },
    ]);
    expect(statuses(r)).toEqual(Array(6).fill('applied'));
    // a waits for its bytes; b tracks a URL only, so it stays ready.
    expect((await call('GET', `/namespaces/${ns}/models/st/versions/1`)).body.status).toBe('pending');
    expect((await call('GET', `/namespaces/${ns}/models/st/versions/2`)).body.status).toBe('ready');
    const status = (await c.pull()).body.changes.filter((x) => x.op === 'status');
    expect(status.map((x) => [x.entityId, x.data])).toEqual([[a, { status: 'pending' }]]);
  });
});

describe('overlapping pushes of runs', () => {
  it('apply each of 200 mixed mutations once, whichever push commits first', async () => {
    const ns = 'run5';
    const c = syncClient(ns);
    const mutations = c.stamp(await mixedOps(ns, 200));
    const [a, b] = await Promise.all([c.send(0, mutations), c.send(0, mutations)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const bySeq = new Map<number, MutationResult>();
    for (const r of [a, b]) {
      expect(r.body.results.map((x) => x.seq)).toEqual(mutations.slice(0, r.body.results.length).map((x) => x.seq));
      for (const x of r.body.results) {
        if (bySeq.has(x.seq)) expect(x).toEqual(bySeq.get(x.seq));
        bySeq.set(x.seq, x);
      }
    }
    const last = Math.max(a.body.lastMutationSeq, b.body.lastMutationSeq);
    const rest = mutations.filter((x) => x.seq > last);
    if (rest.length) expect((await c.send(last, rest)).body.complete).toBe(true);
    const n = (sql: string) => count(sql, ns);
    expect(await n('SELECT COUNT(*) AS n FROM models WHERE namespace = ?')).toBe(20);
    expect(await n('SELECT COUNT(*) AS n FROM versions WHERE namespace = ?')).toBe(20);
    expect(await n('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.namespace = ?')).toBe(400);
    expect(await n('SELECT COUNT(*) AS n FROM artifacts WHERE namespace = ?')).toBe(40);
    expect(await n("SELECT COUNT(*) AS n FROM checkpoints WHERE namespace = ? AND handle <> 'default'")).toBe(20);
    expect(await n('SELECT COUNT(*) AS n FROM aliases WHERE namespace = ?')).toBe(20);
    const log = async (entity: string, op: string) => count('SELECT COUNT(*) AS n FROM change_log WHERE namespace = ? AND entity = ? AND op = ?', ns, entity, op);
    expect([await log('model', 'create'), await log('model', 'update'), await log('version', 'create'), await log('metadata', 'set'), await log('metadata', 'delete')]).toEqual([20, 20, 20, 20, 20]);
    expect([await log('artifact', 'create'), await log('checkpoint', 'save'), await log('checkpoint', 'default'), await log('alias', 'set')]).toEqual([40, 20, 20, 20]);
    // Metric logs of a run share segments and a change row per parent: the rows name 400 points.
    expect(await n("SELECT SUM(data ->> '$.count') AS n FROM change_log WHERE namespace = ? AND entity = 'metrics'")).toBe(400);
    expect(await n('SELECT COUNT(*) AS n FROM alias_history WHERE model_id IN (SELECT id FROM models WHERE namespace = ?)')).toBe(20);
    expect((await c.pull()).body.lastMutationSeq).toBe(mutations.at(-1)!.seq);
  });
});
