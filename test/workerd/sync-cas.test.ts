// Per-client compare-and-set on the last seq (DESIGN §6): two pushes of one client carrying the
// same seqs at once (a tab handover, a retry that overtakes its original) apply each mutation
// once, because each mutation's writes and its seq record commit in one batch that aborts
// whole when the other push took the seq first.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../shared/ids.ts';
import type { MutationResult } from '../../shared/sync.ts';
import { call } from './api.ts';
import { newModelOp, syncClient, type Op } from './sync-client.ts';

const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<number>('n')) ?? 0;

describe('overlapping pushes of one client', () => {
  it('apply each mutation once and answer consistently', async () => {
    const ns = 'cas1';
    const c = syncClient(ns);
    const m = await newModelOp(ns, 'tabs');
    await c.pushAll([m]);
    const ops: Op[] = [];
    const versions: string[] = [];
    for (let i = 0; i < 20; i++) {
      const v = uuidv7();
      versions.push(v);
      ops.push(
        { name: 'version.create', args: { id: v, modelId: m.args.id } },
        { name: 'metadata.set', args: { parentId: m.args.id, key: `k${i}`, value: i } },
        { name: 'metrics.log', args: { parentId: m.args.id, points: [{ id: uuidv7(), key: 'acc', value: i, step: i }] } },
        { name: 'model.update', args: { id: m.args.id, fields: { description: `d${i}` } } },
      );
    }
    // The same outbox entries (same seqs, same clocks), sent by two tabs at once.
    const mutations = c.stamp(ops);
    const [a, b] = await Promise.all([c.send(1, mutations), c.send(1, mutations)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    // Whatever each answered, it answered for a prefix, in order, and the same way for a seq both answered.
    const bySeq = new Map<number, MutationResult>();
    for (const r of [a, b]) {
      expect(r.body.results.map((x) => x.seq)).toEqual(mutations.slice(0, r.body.results.length).map((x) => x.seq));
      expect(r.body.complete).toBe(r.body.results.length === mutations.length);
      for (const x of r.body.results) {
        if (bySeq.has(x.seq)) expect(x).toEqual(bySeq.get(x.seq));
        bySeq.set(x.seq, x);
      }
    }
    expect([...bySeq.values()].every((x) => x.status === 'applied')).toBe(true);
    // The client sends whatever neither answered; then every mutation is applied exactly once.
    const last = Math.max(a.body.lastMutationSeq, b.body.lastMutationSeq);
    const rest = mutations.filter((x) => x.seq > last);
    if (rest.length) expect((await c.send(last, rest)).body.complete).toBe(true);
    expect(await count('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?', m.args.id)).toBe(20);
    const numbers = (await call('GET', `/namespaces/${ns}/models/tabs/versions?pageSize=100&orderBy=number ASC`)).body.items.map((v: { id: string; number: number }) => [v.id, v.number]);
    expect(numbers).toEqual(versions.map((id, i) => [id, i + 1]));
    const changes = async (entity: string) => count('SELECT COUNT(*) AS n FROM change_log WHERE namespace = ? AND entity = ?', ns, entity);
    expect(await changes('version')).toBe(20);
    expect(await changes('metadata')).toBe(20);
    // The 20 logs' points, named by change rows (a run's logs of one parent share one).
    expect(await count("SELECT SUM(data ->> '$.count') AS n FROM change_log WHERE namespace = ? AND entity = 'metrics'", ns)).toBe(20);
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = ? AND entity = 'model' AND op = 'update'", ns)).toBe(20);
    expect((await c.pull()).body.lastMutationSeq).toBe(mutations.at(-1)!.seq);
  });

  it('records a rejected mutation once too, so both pushes give it the same answer', async () => {
    const ns = 'cas2';
    const c = syncClient(ns);
    const m = await newModelOp(ns, 'bad');
    await c.pushAll([m]);
    const mutations = c.stamp(
      Array.from({ length: 10 }, (_, i) => ({ name: 'metadata.set', args: { parentId: m.args.id, key: i % 2 ? '' : `k${i}`, value: i } })),
    );
    const [a, b] = await Promise.all([c.send(1, mutations), c.send(1, mutations)]);
    const answers = (r: typeof a) => new Map(r.body.results.map((x) => [x.seq, x.status]));
    const [x, y] = [answers(a), answers(b)];
    for (const [seq, status] of x) if (y.has(seq)) expect(y.get(seq)).toBe(status);
    expect(await count("SELECT COUNT(*) AS n FROM change_log WHERE namespace = ? AND entity = 'metadata'", ns)).toBe(5);
  });
});
