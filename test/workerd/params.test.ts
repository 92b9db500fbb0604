import { describe, expect, it } from 'vitest';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { PullResponse } from '../../shared/sync.ts';
import { call, expectError, freshVersion, tokenFor } from './api.ts';
import { H, syncClient } from './sync-client.ts';

// Experiments, runs and params (DESIGN §1): a model's kind, a version's lineage, write-once params.

const NS = 'runs';

describe('kinds', () => {
  it('creates an experiment, lists it apart from registered models, and never changes its kind', async () => {
    const exp = await call('POST', `/namespaces/${NS}/models`, { body: { name: 'exp-a', kind: 'experiment' } });
    expect(exp.status).toBe(201);
    expect(exp.body.kind).toBe('experiment');
    const reg = await call('POST', `/namespaces/${NS}/models`, { body: { name: 'reg-a' } });
    expect(reg.body.kind).toBe('model');

    const names = async (filter?: string) =>
      (await call('GET', `/namespaces/${NS}/models${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`)).body.items.map((m: { name: string }) => m.name);
    expect(await names()).toContain('reg-a');
    expect(await names()).not.toContain('exp-a');
    expect(await names("kind = 'experiment'")).toEqual(['exp-a']);
    expect(await names("kind IN ('model', 'experiment') AND name LIKE '%-a'")).toEqual(['exp-a', 'reg-a']);

    expectError(await call('POST', `/namespaces/${NS}/models`, { body: { name: 'bad-kind', kind: 'run' } }), 400, 'invalid-argument');
    // PATCH has no kind: the field is refused as unknown or ignored, and the kind stays.
    await call('PATCH', `/namespaces/${NS}/models/exp-a`, { body: { kind: 'model', description: 'x' } });
    expect((await call('GET', `/namespaces/${NS}/models/exp-a`)).body.kind).toBe('experiment');
  });
});

describe('lineage', () => {
  it('records the version a registered version came from, and refuses one the namespace does not have', async () => {
    const run = await freshVersion(NS);
    const runRow = (await call('GET', run.version)).body;
    const target = await call('POST', `/namespaces/${NS}/models`, { body: { name: 'lineage-target' } });
    expect(target.status).toBe(201);
    const v = await call('POST', `/namespaces/${NS}/models/lineage-target/versions`, { body: { sourceVersionId: runRow.id } });
    expect(v.status).toBe(201);
    expect(v.body.sourceVersionId).toBe(runRow.id);
    expect(runRow.sourceVersionId).toBeNull();

    const other = await freshVersion('runs-other');
    const otherId = (await call('GET', other.version)).body.id;
    for (const id of [uuidv7(), otherId]) {
      const r = await call('POST', `/namespaces/${NS}/models/lineage-target/versions`, { body: { sourceVersionId: id } });
      expectError(r, 404, 'version-not-found');
    }
    expect((await call('GET', `/namespaces/${NS}/models/lineage-target/versions`)).body.items).toHaveLength(1);
  });
});

describe('params over REST', () => {
  it('sets a param once: the same value again is fine, another is 409 param-changed and changes nothing', async () => {
    const { version } = await freshVersion(NS);
    expect((await call('PUT', `${version}/params/lr`, { body: { value: '0.01' } })).body).toEqual({ key: 'lr', value: '0.01' });
    expect((await call('PUT', `${version}/params/lr`, { body: { value: '0.01' } })).status).toBe(200);
    const changed = await call('PUT', `${version}/params/lr`, { body: { value: '0.02' } });
    expectError(changed, 409, 'param-changed');
    expect(changed.body.error.details).toMatchObject({ key: 'lr', value: '0.01', given: '0.02' });
    expect((await call('PUT', `${version}/params/opt%2Fname`, { body: { value: 'adam' } })).status).toBe(200);
    expect((await call('GET', `${version}/params`)).body).toEqual({ params: { lr: '0.01', 'opt/name': 'adam' } });
  });

  it('refuses bad params with a code and stores nothing', async () => {
    const { model, version } = await freshVersion(NS);
    expectError(await call('PUT', `${version}/params/big`, { body: { value: 'é'.repeat(LIMITS.paramValueBytes / 2 + 1) } }), 413, 'payload-too-large');
    expect((await call('PUT', `${version}/params/fits`, { body: { value: 'é'.repeat(LIMITS.paramValueBytes / 2) } })).status).toBe(200);
    expectError(await call('PUT', `${version}/params/n`, { body: { value: 3 } }), 400, 'invalid-argument');
    expectError(await call('PUT', `${version}/params/${'k'.repeat(LIMITS.keyLength + 1)}`, { body: { value: '1' } }), 400, 'invalid-argument');
    expectError(await call('PUT', `${model}/versions/99/params/lr`, { body: { value: '1' } }), 404, 'version-not-found');
    // Params hang off versions only.
    expectError(await call('PUT', `${model}/params/lr`, { body: { value: '1' } }), 404, 'route-not-found');
    const read = await tokenFor(NS, 'read');
    expectError(await call('PUT', `${version}/params/lr`, { token: read, body: { value: '1' } }), 403, 'permission-denied');
    expect(Object.keys((await call('GET', `${version}/params`)).body.params)).toEqual(['fits']);
  });

  it('filters versions by params, numerically when both sides are numbers', async () => {
    const model = `/namespaces/${NS}/models/sweep`;
    expect((await call('POST', `/namespaces/${NS}/models`, { body: { name: 'sweep', kind: 'experiment' } })).status).toBe(201);
    for (const [lr, opt] of [['0.1', 'sgd'], ['0.001', 'adam'], ['1e-2', 'adam']]) {
      const v = await call('POST', `${model}/versions`, { body: {} });
      await call('PUT', `${model}/versions/${v.body.number}/params/lr`, { body: { value: lr } });
      await call('PUT', `${model}/versions/${v.body.number}/params/opt`, { body: { value: opt } });
    }
    const numbers = async (filter: string) =>
      (await call('GET', `${model}/versions?orderBy=number%20ASC&filter=${encodeURIComponent(filter)}`)).body.items.map((v: { number: number }) => v.number);
    expect(await numbers('params.lr < 0.05')).toEqual([2, 3]);
    expect(await numbers("params.opt = 'adam' AND params.lr >= 0.01")).toEqual([3]);
    expect(await numbers("params.lr = '0.1'")).toEqual([1]);
    expect(await numbers('params.opt < 1')).toEqual([]);
    expect(await numbers('params.missing IS NULL')).toEqual([1, 2, 3]);
  });
});

describe('params, kinds and lineage over sync', () => {
  it('applies param.set once, refuses a changed value, and logs param rows with the token', async () => {
    const ns = 'runs-sync';
    const token = await tokenFor(ns, 'write', { name: 'trainer' });
    const client = syncClient(ns, token);
    const expId = await modelId(ns, 'exp');
    const regId = await modelId(ns, 'reg');
    const run = uuidv7();
    const registered = uuidv7();
    const r = await client.push([
      { name: 'model.create', args: { id: expId, name: 'exp', kind: 'experiment' } },
      { name: 'version.create', args: { id: run, modelId: expId, status: 'pending' } },
      { name: 'param.set', args: { parentId: run, key: 'lr', value: '0.01' } },
      { name: 'param.set', args: { parentId: run, key: 'lr', value: '0.01' } },
      { name: 'param.set', args: { parentId: run, key: 'lr', value: '0.5' } },
      { name: 'param.set', args: { parentId: expId, key: 'lr', value: '1' } },
      { name: 'param.set', args: { parentId: run, key: 'big', value: 'x'.repeat(LIMITS.paramValueBytes + 1) } },
      { name: 'model.create', args: { id: regId, name: 'reg' } },
      { name: 'version.create', args: { id: registered, modelId: regId, sourceVersionId: run } },
      { name: 'version.create', args: { id: uuidv7(), modelId: regId, sourceVersionId: uuidv7() } },
    ]);
    expect(r.status).toBe(200);
    const statuses = r.body.results.map((x) => (x.status === 'rejected' ? x.error.code : x.status));
    expect(statuses).toEqual(['applied', 'applied', 'applied', 'applied', 'param-changed', 'invalid-argument', 'payload-too-large', 'applied', 'applied', 'version-not-found']);

    expect((await call('GET', `/namespaces/${ns}/models/exp`)).body.kind).toBe('experiment');
    expect((await call('GET', `/namespaces/${ns}/models/exp/versions/1/params`)).body.params).toEqual({ lr: '0.01' });
    expect((await call('GET', `/namespaces/${ns}/models/reg/versions/1`)).body.sourceVersionId).toBe(run);

    const pull = await call<PullResponse>('GET', `/namespaces/${ns}/sync/pull?clientId=${client.id}`, { token, headers: H });
    const params = pull.body.changes.filter((c) => c.entity === 'param');
    expect(params.map((c) => [c.entityId, c.op, c.data])).toEqual([[run, 'set', { key: 'lr', value: '0.01' }]]);
    expect(pull.body.changes.find((c) => c.entity === 'model' && c.entityId === expId)?.data).toMatchObject({ kind: 'experiment' });
    expect(pull.body.changes.find((c) => c.entity === 'version' && c.entityId === registered)?.data).toMatchObject({ sourceVersionId: run });
    const events = await call('GET', `/namespaces/${ns}/events?entity=param`);
    expect(events.body.items.map((e: { type: string; token: { name: string } }) => [e.type, e.token.name])).toEqual([['param.set', 'trainer']]);
  });

  it('applies 600 param.set mutations within production limits, pushing again from where the server stopped', async () => {
    const ns = 'runs-many';
    const client = syncClient(ns);
    const exp = await modelId(ns, 'sweep');
    const run = uuidv7();
    await client.pushAll([
      { name: 'model.create', args: { id: exp, name: 'sweep', kind: 'experiment' } },
      { name: 'version.create', args: { id: run, modelId: exp } },
    ]);
    const ops = Array.from({ length: 600 }, (_, i) => ({ name: 'param.set', args: { parentId: run, key: `p${i}`, value: String(i) } }));
    const stats = await client.pushAll(ops);
    expect(stats.results.every((r) => r.status === 'applied')).toBe(true);
    expect(stats.maxQueries).toBeLessThanOrEqual(LIMITS.d1QueriesPerInvocation);
    const params = (await call('GET', `/namespaces/${ns}/models/sweep/versions/1/params`)).body.params;
    expect(Object.keys(params)).toHaveLength(600);
    expect(params.p599).toBe('599');
  });
});
