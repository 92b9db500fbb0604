// DESIGN §3's rows as the server applies them over sync: bounded clocks, creates that merge
// only the fields given, deletes that keep their clock, and the protocol version.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { LIMITS } from '../../shared/limits.ts';
import { MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../shared/sync.ts';
import { call, expectError } from './api.ts';
import { newModelOp, statuses, syncClient } from './sync-client.ts';

const at = (offsetMs: number, node = 'dev') => formatHlc(Date.now() + offsetMs, 0, node);
const kinds = (r: { body: { results: { status: string; kind?: string }[] } }) => r.body.results.map((x) => x.kind ?? x.status);

describe('bounded clocks (DESIGN §3)', () => {
  it('rejects a far-future clock alone with clock-skew, stores and adopts nothing of it, and the namespace keeps syncing', async () => {
    const c = syncClient('clk1');
    const m = await newModelOp('clk1', 'wedge');
    const before = Date.now();
    const r = await c.push([
      m,
      { name: 'model.update', args: { id: m.args.id, fields: { description: 'from the future' } }, hlc: '999999999999999-999999-x' },
      { name: 'metadata.set', args: { parentId: m.args.id, key: 'ok', value: 1 } },
    ]);
    expect(r.status).toBe(200);
    expect(statuses(r)).toEqual(['applied', 'rejected', 'applied']);
    expect(r.body.results[1]).toMatchObject({ error: { code: 'clock-skew', details: { maxClockDriftMs: LIMITS.maxClockDriftMs } } });
    expect(r.body).toMatchObject({ lastMutationSeq: 3, complete: true });
    expect(r.body.serverTime).toBeGreaterThanOrEqual(before);
    expect(r.body.serverTime).toBeLessThanOrEqual(Date.now());
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM change_log WHERE hlc LIKE '9999%'").first('n')).toBe(0);
    expect(await env.DB.prepare('SELECT clocks FROM models WHERE id = ?').bind(m.args.id).first('clocks')).not.toContain('9999');
    // A REST edit afterwards wins: the server never adopted the bad clock, and its own clock is sound.
    expect((await call('PATCH', '/namespaces/clk1/models/wedge', { body: { description: 'from REST' } })).status).toBe(200);
    expect((await call('GET', '/namespaces/clk1/models/wedge')).body.description).toBe('from REST');
    const rest = await env.DB.prepare("SELECT hlc FROM change_log WHERE namespace = 'clk1' AND entity = 'model' AND op = 'update'").first<string>('hlc');
    expect(rest!.slice(0, 15) < formatHlc(Date.now() + LIMITS.maxClockDriftMs, 0, 'x').slice(0, 15)).toBe(true);
    // Its node id is the isolate's own: `server-` and a random suffix.
    expect(rest).toMatch(/-server-[0-9a-f]{12}$/);
    // The retry answers the same; the next pushes go on.
    expect((await c.push([{ name: 'metadata.set', args: { parentId: m.args.id, key: 'next', value: 2 } }])).body.results[0]!.status).toBe('applied');
    const pulled = await c.pull();
    expect(pulled.body.serverTime).toBeGreaterThanOrEqual(before);
    expect((await call('GET', '/namespaces/clk1/models/wedge')).body.metadata).toEqual({ ok: 1, next: 2 });
  });

  it('takes clocks within the allowed drift and refuses one a day ahead', async () => {
    const c = syncClient('clk2');
    const m = await newModelOp('clk2', 'drift');
    const r = await c.push([
      { ...m, hlc: at(LIMITS.maxClockDriftMs - 60_000) },
      { name: 'model.update', args: { id: m.args.id, fields: { task: 'day' } }, hlc: at(24 * 3600_000) },
    ]);
    expect(statuses(r)).toEqual(['applied', 'rejected']);
    expect((await call('GET', '/namespaces/clk2/models/drift')).body.task).toBeNull();
  });
});

describe('creates merge only the fields given (DESIGN §3)', () => {
  it('never blanks the other device’s values, whichever create arrives first', async () => {
    for (const [ns, first] of [['mrg1', 'a'], ['mrg2', 'b']] as const) {
      const a = syncClient(ns);
      const b = syncClient(ns);
      const ca = { ...(await newModelOp(ns, 'same', { owner: 'ann', task: null })), hlc: at(10_000, 'a') };
      const cb = { ...(await newModelOp(ns, 'same', { task: 'tabular', owner: null, description: null })), hlc: at(20_000, 'b') };
      if (first === 'a') {
        await a.push([ca]);
        await b.push([cb]);
      } else {
        await b.push([cb]);
        await a.push([ca]);
      }
      expect((await call('GET', `/namespaces/${ns}/models/same`)).body).toMatchObject({ owner: 'ann', task: 'tabular', description: null });
      const created = (await a.pull()).body.changes.find((x) => x.entity === 'model' && x.op === 'create')!;
      // The kind is part of every create (set at create, never changed): `model` when not given.
      expect(created.data).toEqual(first === 'a' ? { name: 'same', kind: 'model', owner: 'ann' } : { name: 'same', kind: 'model', task: 'tabular' });
    }
  });
});

describe('model and version deletes keep their clock', () => {
  it('a create older than the delete does not bring the model back; a newer one revives it', async () => {
    const c = syncClient('del1');
    const m = await newModelOp('del1', 'gone', { owner: 'ann' });
    await c.push([{ ...m, hlc: at(-30_000) }, { name: 'model.delete', args: { id: m.args.id }, hlc: at(-10_000) }]);
    const stale = await syncClient('del1').push([{ ...m, hlc: at(-20_000, 'other') }]);
    expect(kinds(stale)).toEqual(['deleted']);
    expectError(await call('GET', '/namespaces/del1/models/gone'), 404, 'model-not-found');
    expect(kinds(await syncClient('del1').push([{ name: 'model.update', args: { id: m.args.id, fields: { task: 'x' } }, hlc: at(0, 'late') }]))).toEqual(['deleted']);
    const fresh = await syncClient('del1').push([{ name: 'model.create', args: { id: m.args.id, name: 'gone', task: 'new' }, hlc: at(0, 'new') }]);
    expect(kinds(fresh)).toEqual(['applied']);
    // Revived afresh: only the new create's fields, and a write older than the delete still loses.
    expect((await call('GET', '/namespaces/del1/models/gone')).body).toMatchObject({ owner: null, task: 'new' });
    await syncClient('del1').push([{ name: 'model.update', args: { id: m.args.id, fields: { owner: 'old' } }, hlc: at(-20_000, 'z') }]);
    expect((await call('GET', '/namespaces/del1/models/gone')).body.owner).toBeNull();
  });

  it('a write to a model stamped before its delete does not land on the model created again since', async () => {
    const c = syncClient('del4');
    const m = await newModelOp('del4', 'again');
    await c.push([{ ...m, hlc: at(-30_000) }, { name: 'model.delete', args: { id: m.args.id }, hlc: at(-10_000) }]);
    expect(kinds(await syncClient('del4').push([{ name: 'model.create', args: { id: m.args.id, name: 'again' }, hlc: at(0, 'new') }]))).toEqual(['applied']);
    // Another device's writes made before the delete, pushed late (in one run, and one at a time).
    const sha = 'b'.repeat(64);
    const late = [
      { name: 'metadata.set', args: { parentId: m.args.id, key: 'old', value: 1 }, hlc: at(-20_000, 'late') },
      { name: 'metrics.log', args: { parentId: m.args.id, points: [{ id: uuidv7(), key: 'loss', value: 1, step: 0, wallclock: 1 }] }, hlc: at(-20_000, 'late') },
      { name: 'artifact.register', args: { parentId: m.args.id, path: 'old.bin', size: 3, sha256: sha }, hlc: at(-20_000, 'late') },
    ];
    expect(kinds(await syncClient('del4').push(late))).toEqual(['deleted', 'deleted', 'deleted']);
    for (const one of late) expect(kinds(await syncClient('del4').push([one]))).toEqual(['deleted']);
    const model = '/namespaces/del4/models/again';
    expect((await call('GET', `${model}/metadata`)).body).toEqual({ metadata: {} });
    expect((await call('GET', `${model}/metrics`)).body).toEqual({ metrics: {} });
    expect((await call('GET', `${model}/artifacts`)).body.items).toEqual([]);
    // A write made after the revival lands.
    expect(kinds(await syncClient('del4').push([{ name: 'metadata.set', args: { parentId: m.args.id, key: 'new', value: 2 }, hlc: at(1_000, 'late') }]))).toEqual(['applied']);
  });

  it('a create stamped before a REST delete does not revive the model', async () => {
    await call('POST', '/namespaces/del2/models', { body: { name: 'rest' } });
    expect((await call('DELETE', '/namespaces/del2/models/rest')).status).toBe(204);
    const r = await syncClient('del2').push([{ ...(await newModelOp('del2', 'rest')), hlc: at(-60_000) }]);
    expect(kinds(r)).toEqual(['deleted']);
    expectError(await call('GET', '/namespaces/del2/models/rest'), 404, 'model-not-found');
  });

  it('records a version delete’s clock, and a create of that version afterwards is a deleted conflict', async () => {
    const c = syncClient('del3');
    const m = await newModelOp('del3', 'vs');
    const v = uuidv7();
    const del = at(-5_000);
    await c.push([m, { name: 'version.create', args: { id: v, modelId: m.args.id } }, { name: 'version.delete', args: { id: v }, hlc: del }]);
    expect(await env.DB.prepare("SELECT json_extract(clocks, '$.deleted') AS d FROM versions WHERE id = ?").bind(v).first('d')).toBe(del);
    const again = await syncClient('del3').push([{ name: 'version.create', args: { id: v, modelId: m.args.id }, hlc: at(-10_000, 'o') }]);
    expect(kinds(again)).toEqual(['deleted']);
    expect((await call('GET', '/namespaces/del3/models/vs/versions')).body.items).toEqual([]);
  });
  it('a revival sets every field at its clock: an update older than it loses, as on every device', async () => {
    const c = syncClient('del5');
    const m = await newModelOp('del5', 'again', { description: 'first' });
    await c.push([{ ...m, hlc: at(-40_000) }, { name: 'model.delete', args: { id: m.args.id }, hlc: at(-30_000) }]);
    await c.push([{ name: 'model.create', args: { id: m.args.id, name: 'again', task: 'new' }, hlc: at(-10_000) }]);
    // Later than the delete, older than the revival (another device, pushed late).
    const late = await syncClient('del5').push([{ name: 'model.update', args: { id: m.args.id, fields: { description: 'stale' } }, hlc: at(-20_000, 'o') }]);
    expect(kinds(late)).toEqual(['applied']);
    expect((await call('GET', '/namespaces/del5/models/again')).body).toMatchObject({ task: 'new', description: null });
  });

  it('records the clock of a version deleted over REST too', async () => {
    await call('POST', '/namespaces/del4/models', { body: { name: 'rv' } });
    const v = (await call('POST', '/namespaces/del4/models/rv/versions', { body: {} })).body;
    expect((await call('DELETE', '/namespaces/del4/models/rv/versions/1')).status).toBe(204);
    const clock = await env.DB.prepare("SELECT json_extract(clocks, '$.deleted') AS d FROM versions WHERE id = ?").bind(v.id).first<string>('d');
    expect(clock).toMatch(/^\d{15}-\d{6}-server-/);
  });
});

describe('protocol', () => {
  it('refuses a version-1 client with protocol-unsupported on push and pull', async () => {
    const c = syncClient('proto1');
    const v1 = { [PROTOCOL_HEADER]: '1' };
    const push = await call('POST', '/namespaces/proto1/sync/push', {
      headers: v1,
      body: { clientId: c.id, afterSeq: 0, mutations: [{ seq: 1, ...(await newModelOp('proto1', 'old')), hlc: at(0) }] },
    });
    expectError(push, 400, 'protocol-unsupported');
    expect(push.body.error.details).toMatchObject({ sent: '1', supported: { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION } });
    expectError(await call('GET', `/namespaces/proto1/sync/pull?clientId=${c.id}`, { headers: v1 }), 400, 'protocol-unsupported');
    expectError(await call('GET', '/namespaces/proto1/models/old'), 404, 'model-not-found');
  });

  it('still serves a version-2 client (protocol 3 added the restore mutations)', async () => {
    const c = syncClient('proto2');
    const v2 = { [PROTOCOL_HEADER]: '2' };
    const push = await call('POST', '/namespaces/proto2/sync/push', {
      headers: v2,
      body: { clientId: c.id, afterSeq: 0, mutations: [{ seq: 1, ...(await newModelOp('proto2', 'two')), hlc: at(0) }] },
    });
    expect(push.status).toBe(200);
    expect((await call('GET', `/namespaces/proto2/sync/pull?clientId=${c.id}`, { headers: v2 })).status).toBe(200);
  });
});
