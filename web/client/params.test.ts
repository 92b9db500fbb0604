import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import type { Change } from '../../shared/sync.ts';
import { openRegistry, type Hangar } from './index.ts';
import { applyChanges, applyTables, pendingOf } from './sync/apply.ts';
import { fakeServer } from './sync/fake-server.ts';
import { codeOf, errorOf } from './test-helpers.ts';

let open: Hangar[] = [];
let n = 0;
async function registry(fetcher?: typeof fetch): Promise<Hangar> {
  const h = await openRegistry({ name: `params-${Date.now()}-${n++}`, persist: false, ...(fetcher ? { fetch: fetcher } : {}) });
  open.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

const pull = (h: Hangar, changes: Change[]) => h.db.transaction('rw', applyTables(h.db), () => applyChanges(h.db, 'team', changes, pendingOf([])));
const hlc = formatHlc(Date.now(), 0, 'server');

describe('params', () => {
  it('are set once: the same value again is fine, another value is param-changed and nothing of the call is written', async () => {
    const h = await registry();
    const run = await (await h.newExperiment({ namespace: 'team', name: 'churn' })).newVersion({ status: 'pending' });
    await run.logParams({ lr: 0.01, optimizer: 'adam', shuffle: true });
    await run.logParam('lr', '0.01');
    expect(await run.params()).toEqual({ lr: '0.01', optimizer: 'adam', shuffle: 'true' });
    const err = await errorOf(run.logParams({ epochs: 10, lr: 0.1 }));
    expect(err.code).toBe('param-changed');
    expect(err.details).toMatchObject({ key: 'lr', value: '0.01', given: '0.1' });
    // Nothing of the refused call: not the new key either, and no mutation.
    expect(await run.params()).toEqual({ lr: '0.01', optimizer: 'adam', shuffle: 'true' });
    const sets = (await h.db.outbox.toArray()).filter((m) => m.name === 'param.set').map((m) => m.args);
    expect(sets).toEqual([
      { parentId: run.id, key: 'lr', value: '0.01' },
      { parentId: run.id, key: 'optimizer', value: 'adam' },
      { parentId: run.id, key: 'shuffle', value: 'true' },
    ]);
  });

  it('refuses bad keys and values, and params on a model', async () => {
    const h = await registry();
    const m = await h.newModel({ namespace: 'team', name: 'churn' });
    const v = await m.newVersion();
    expect(await codeOf(v.logParam('', 'x'))).toBe('invalid-argument');
    expect(await codeOf(v.logParam('k', 'x'.repeat(6001)))).toBe('payload-too-large');
    expect(await codeOf(v.logParam('k', 'a\0b'))).toBe('invalid-argument');
    expect(await codeOf(v.logParams(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]))))).toBe('invalid-argument');
    await v.logParam('k', 'é'.repeat(3000));
    expect((await v.params()).k).toHaveLength(3000);
    await v.delete();
    expect(await codeOf(v.logParam('other', '1'))).toBe('version-not-found');
  });

  it('are pulled from the change log; a pulled value holds over a different one set here', async () => {
    const h = await registry();
    const v = await (await h.newExperiment({ namespace: 'team', name: 'churn' })).newVersion();
    await v.logParam('optimizer', 'sgd');
    await pull(h, [
      { seq: 1, entity: 'param', entityId: v.id, op: 'set', data: { key: 'lr', value: '0.001' }, hlc },
      { seq: 2, entity: 'param', entityId: v.id, op: 'set', data: { key: 'optimizer', value: 'adam' }, hlc },
    ]);
    expect(await v.params()).toEqual({ lr: '0.001', optimizer: 'adam' });
  });

  it('are filterable as params.x, numerically against numbers, by the shared evaluator', async () => {
    const h = await registry();
    const e = await h.newExperiment({ namespace: 'team', name: 'churn' });
    const a = await e.newVersion({ name: 'a' });
    const b = await e.newVersion({ name: 'b' });
    const c = await e.newVersion({ name: 'c', status: 'pending' });
    await a.logParams({ lr: '0.01', optimizer: 'adam' });
    await b.logParams({ lr: '0.1', optimizer: 'sgd' });
    await c.logParams({ lr: 'auto' });
    await a.logMetrics({ loss: 0.2 });
    await b.logMetrics({ loss: 0.5 });
    await h.flush();
    const names = async (filter: string) => (await e.versions({ filter })).map((v) => v.name);
    // '0.01' < 0.05 numerically ('0.1' > '0.05' as text would say otherwise for 'auto').
    expect(await names('params.lr < 0.05')).toEqual(['a']);
    expect(await names('params.lr > 0.05')).toEqual(['b']);
    expect(await names("params.lr = 'auto'")).toEqual(['c']);
    expect(await names("params.optimizer LIKE 'a%' OR metrics.loss > 0.4")).toEqual(['a', 'b']);
    expect(await names("status = 'ready' AND params.optimizer IS NULL")).toEqual([]);
    expect(await names("status = 'pending'")).toEqual(['c']);
    expect(await codeOf(e.versions({ filter: 'params.' }))).toBe('invalid-filter');
  });
});

describe('kinds and lineage', () => {
  it('lists registered models by default, experiments apart, both when the filter names kind', async () => {
    const h = await registry();
    await h.newModel({ namespace: 'team', name: 'churn' });
    const e = await h.newExperiment({ namespace: 'team', name: 'churn-exp' });
    expect(e.kind).toBe('experiment');
    expect((await h.models()).map((m) => [m.name, m.kind])).toEqual([['churn', 'model']]);
    expect((await h.experiments()).map((m) => m.name)).toEqual(['churn-exp']);
    expect((await h.models({ filter: "kind = 'experiment'" })).map((m) => m.name)).toEqual(['churn-exp']);
    expect((await h.models({ filter: "kind IN ('model', 'experiment')" })).map((m) => m.name)).toEqual(['churn', 'churn-exp']);
    expect((await h.models({ kind: 'all' })).map((m) => m.name)).toEqual(['churn', 'churn-exp']);
    const creates = (await h.db.outbox.toArray()).filter((m) => m.name === 'model.create').map((m) => m.args);
    expect(creates).toEqual([
      { id: expect.any(String), name: 'churn' },
      { id: expect.any(String), name: 'churn-exp', kind: 'experiment' },
    ]);
  });

  it('keeps a version lineage to its run, both ways, and sends it on create', async () => {
    const h = await registry();
    const run = await (await h.newExperiment({ namespace: 'team', name: 'exp' })).newVersion();
    const model = await h.newModel({ namespace: 'team', name: 'churn' });
    const v = await model.newVersion({ sourceVersionId: run.id });
    expect(v.sourceVersionId).toBe(run.id);
    expect((await v.source())?.id).toBe(run.id);
    expect((await run.registered()).map((x) => [x.model, x.number])).toEqual([['churn', 1]]);
    const create = (await h.db.outbox.toArray()).find((m) => m.name === 'version.create' && (m.args as { id: string }).id === v.id);
    expect(create?.args).toMatchObject({ sourceVersionId: run.id });
    expect(await codeOf(model.newVersion({ sourceVersionId: '0190a3f0-0000-7000-8000-000000000000' }))).toBe('version-not-found');
  });

  it('takes kind and lineage from pulled creates', async () => {
    const h = await registry();
    const exp = '0190a3f0-0000-7000-8000-0000000000e1';
    const reg = '0190a3f0-0000-7000-8000-0000000000e2';
    const run = '0190a3f0-0000-7000-8000-0000000000a1';
    const ver = '0190a3f0-0000-7000-8000-0000000000a2';
    await pull(h, [
      { seq: 1, entity: 'model', entityId: exp, op: 'create', data: { name: 'exp', kind: 'experiment' }, hlc },
      { seq: 2, entity: 'model', entityId: reg, op: 'create', data: { name: 'churn', kind: 'model' }, hlc },
      { seq: 3, entity: 'version', entityId: run, op: 'create', data: { modelId: exp, number: 1, status: 'ready' }, hlc },
      { seq: 4, entity: 'version', entityId: ver, op: 'create', data: { modelId: reg, number: 1, status: 'ready', sourceVersionId: run }, hlc },
    ]);
    expect((await h.experiments()).map((m) => m.name)).toEqual(['exp']);
    expect((await h.models()).map((m) => m.name)).toEqual(['churn']);
    const v = await h.find('team/churn/1');
    expect(v.sourceVersionId).toBe(run);
    expect((await v.source())?.model).toBe('exp');
    // A model made here under a name the server holds as an experiment takes the server's kind.
    const mine = await h.newModel({ namespace: 'team', name: 'both' });
    await pull(h, [{ seq: 5, entity: 'model', entityId: mine.id, op: 'create', data: { name: 'both', kind: 'experiment' }, hlc }]);
    expect((await h.experiments()).map((m) => m.name)).toEqual(['both', 'exp']);
  });
});

describe('a param the server refuses', () => {
  it('param-changed: shows as a rejected conflict, and the server value replaces the one set here', async () => {
    const server = fakeServer({
      push: () => (m) =>
        m.name === 'param.set'
          ? { seq: m.seq, status: 'rejected', error: { code: 'param-changed', message: 'Param "lr" is already "0.5"', details: { key: 'lr', value: '0.5', given: '0.01' } } }
          : undefined,
    });
    const h = await registry(server.fetcher);
    await h.sync({ url: 'http://hangar.test', token: 't', namespaces: ['team'], intervalMs: 3_600_000 });
    const v = await (await h.newExperiment({ namespace: 'team', name: 'exp' })).newVersion();
    await v.logParam('lr', '0.01');
    await h.syncNow();
    expect(await v.params()).toEqual({ lr: '0.5' });
    const conflicts = await h.conflicts();
    expect(conflicts.map((c) => [c.kind, c.mine.name, (c.theirs as { code: string }).code])).toEqual([['rejected', 'param.set', 'param-changed']]);
  });
});
