import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import type { Change } from '../../shared/sync.ts';
import { openRegistry, type Hangar } from './index.ts';
import { foldPoint } from './metric-summaries.ts';
import { applyChanges, applyTables, pendingOf } from './sync/apply.ts';
import { fakeServer } from './sync/fake-server.ts';

let open: Hangar[] = [];
let n = 0;
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const summary = { parentId: 'p', key: 'loss', count: 3, min: 0.1, max: 0.9, last: 0.1, lastStep: 5, lastWallclock: 100, lastId: 'm', asOf: 10 };

describe('metric summaries kept from a snapshot', () => {
  it('a folded point moves last only when it comes after it by (step, wallclock, id)', () => {
    const s = { ...summary };
    foldPoint(s, { id: 'z', key: 'loss', value: 5, step: 4, wallclock: 999 });
    expect(s).toMatchObject({ count: 4, max: 5, last: 0.1, lastStep: 5 });
    foldPoint(s, { id: 'a', key: 'loss', value: 0.05, step: 5, wallclock: 100 });
    expect(s).toMatchObject({ count: 5, min: 0.05, last: 0.1, lastId: 'm' });
    foldPoint(s, { id: 'n', key: 'loss', value: 0.2, step: 5, wallclock: 100 });
    expect(s).toMatchObject({ count: 6, last: 0.2, lastId: 'n' });
  });

  it('metrics() answers from the summary; pulled points after its cursor add to it, those at or before it do not, local ones do', async () => {
    const h = await openRegistry({ name: `summaries-${n++}`, persist: false });
    open.push(h);
    const m = await h.newModel({ namespace: 'team', name: 'm' });
    const db = h.db;
    await db.metricSummaries.put({ ...summary, parentId: m.id });
    expect((await m.metrics()).loss).toEqual({ count: 3, min: 0.1, max: 0.9, last: 0.1, lastStep: 5 });
    const pulled = (seq: number, id: string, step: number, value: number): Change => ({
      seq,
      entity: 'metrics',
      entityId: m.id,
      op: 'log',
      data: { points: [{ id, key: 'loss', value, step, wallclock: 200 }] },
      hlc: 'x',
    });
    await db.transaction('rw', [...applyTables(db), db.outbox], async () => {
      // Seq 9: the summary counts it already; seq 11: it does not; seq 12 again: already here.
      await applyChanges(db, 'team', [pulled(9, 'p9', 6, 0.5), pulled(11, 'p11', 7, 0.3), pulled(12, 'p11', 7, 0.3)], pendingOf([]));
    });
    expect((await m.metrics()).loss).toEqual({ count: 4, min: 0.1, max: 0.9, last: 0.3, lastStep: 7 });
    await m.logMetrics({ loss: 0.01 }, { step: 8 });
    await h.flush();
    expect((await m.metrics()).loss).toEqual({ count: 5, min: 0.01, max: 0.9, last: 0.01, lastStep: 8 });
    // Without a server, the history is what is here.
    expect((await m.metricHistory('loss')).map((p) => p.step)).toEqual([6, 7, 8]);
  });
});

describe('bootstrap against a server from before snapshots', () => {
  it('replays the change log from the start when the snapshot route is not there', async () => {
    const server = fakeServer({
      pull: () => ({
        changes: [{ seq: 1, entity: 'model', entityId: '01a24f00-0000-7000-8000-000000000001', op: 'create', data: { name: 'old', task: 't' }, hlc: formatHlc(Date.now(), 0, 'srv') }],
        cursor: 1,
      }),
    });
    const asked: string[] = [];
    const fetcher: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      asked.push(url.pathname);
      if (url.pathname.endsWith('/sync/snapshot')) {
        return new Response(JSON.stringify({ error: { code: 'route-not-found', message: 'No route.' } }), { status: 404, headers: { 'content-type': 'application/json' } });
      }
      return server.fetcher(input, init);
    };
    const h = await openRegistry({ name: `old-server-${n++}`, persist: false, fetch: fetcher });
    open.push(h);
    await h.sync({ url: 'http://hangar.test', token: 't', namespaces: ['team'], intervalMs: 3_600_000, live: false });
    await h.syncNow();
    expect(asked.some((p) => p.endsWith('/sync/snapshot'))).toBe(true);
    expect((await h.model('team', 'old')).task).toBe('t');
  });
});
