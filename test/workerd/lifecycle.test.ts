import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, type PullResponse, type PushResponse } from '../../shared/sync.ts';
import { call, expectError } from './api.ts';
import { putBlob, randomBytes, sha256Hex, statusOf, uploadBlob } from './blob-helpers.ts';

// DESIGN §3a: a version's served status follows what its creator declared and its bytes.

const NS = 'life';
const versions = (model: string) => `/namespaces/${NS}/models/${model}/versions`;

async function fakeBlob(size = 64) {
  const bytes = randomBytes(size);
  return { bytes, sha256: await sha256Hex(bytes), size };
}

/** A new model with one version created with `body`; answers the version's number. */
async function modelWithVersion(model: string, body: Record<string, unknown> = {}): Promise<number> {
  expect((await call('POST', `/namespaces/${NS}/models`, { body: { name: model } })).status).toBe(201);
  const v = await call('POST', versions(model), { body });
  expect(v.status, JSON.stringify(v.body)).toBe(201);
  return v.body.number as number;
}

async function addArtifact(model: string, n: number, blob: { sha256: string; size: number }, path = 'model/weights.bin') {
  const r = await call('POST', `${versions(model)}/${n}/artifacts`, { body: { path, sha256: blob.sha256, size: blob.size } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

/** The `version.status` changes logged for a version, oldest first. */
async function statusChanges(versionId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT data FROM change_log WHERE entity = 'version' AND op = 'status' AND entity_id = ? ORDER BY seq")
    .bind(versionId)
    .all<{ data: string }>();
  return results.map((r) => JSON.parse(r.data).status as string);
}

const idOf = async (model: string, n: number) => (await call('GET', `${versions(model)}/${n}`)).body.id as string;

describe('version lifecycle over REST', () => {
  it('keeps a version created pending pending after its bytes arrive, and serves it ready once its creator says so', async () => {
    const n = await modelWithVersion('p1', { status: 'pending' });
    const id = await idOf('p1', n);
    expect(await statusOf(NS, 'p1', n)).toBe('pending');
    const blob = await fakeBlob();
    await addArtifact('p1', n, blob);
    await putBlob(NS, blob.bytes);
    expect(await statusOf(NS, 'p1', n)).toBe('pending');
    expect(await statusChanges(id)).toEqual([]);
    const r = await call('PATCH', `${versions('p1')}/${n}`, { body: { status: 'ready' } });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ready');
    expect(await statusChanges(id)).toEqual(['ready']);
  });

  it('keeps a version marked ready before its bytes pending until the last blob completes', async () => {
    const n = await modelWithVersion('p2', { status: 'pending' });
    const id = await idOf('p2', n);
    const [a, b] = [await fakeBlob(100), await fakeBlob(200)];
    await addArtifact('p2', n, a, 'a.bin');
    await addArtifact('p2', n, b, 'b.bin');
    expect((await call('PATCH', `${versions('p2')}/${n}`, { body: { status: 'ready' } })).body.status).toBe('pending');
    await uploadBlob(NS, a.bytes);
    expect(await statusOf(NS, 'p2', n)).toBe('pending');
    await uploadBlob(NS, b.bytes);
    expect(await statusOf(NS, 'p2', n)).toBe('ready');
    expect(await statusChanges(id)).toEqual(['ready']);
  });

  it('marks a version created without a status ready at creation; it waits only for its bytes', async () => {
    const n = await modelWithVersion('p3');
    const id = await idOf('p3', n);
    expect(await statusOf(NS, 'p3', n)).toBe('ready');
    const blob = await fakeBlob();
    await addArtifact('p3', n, blob);
    expect(await statusOf(NS, 'p3', n)).toBe('pending');
    await putBlob(NS, blob.bytes);
    expect(await statusOf(NS, 'p3', n)).toBe('ready');
    expect(await statusChanges(id)).toEqual(['pending', 'ready']);
  });

  it('logs nothing when marking ready a version that is ready already', async () => {
    const n = await modelWithVersion('p4', { status: 'pending' });
    const id = await idOf('p4', n);
    await call('PATCH', `${versions('p4')}/${n}`, { body: { status: 'ready' } });
    await call('PATCH', `${versions('p4')}/${n}`, { body: { status: 'ready', name: 'again' } });
    expect(await statusChanges(id)).toEqual(['ready']);
    expect(await statusOf(NS, 'p4', n)).toBe('ready');
  });

  it('keeps a failed version failed: bytes arriving change nothing and marking it ready is refused', async () => {
    const n = await modelWithVersion('f1', { status: 'pending' });
    const id = await idOf('f1', n);
    const blob = await fakeBlob();
    await addArtifact('f1', n, blob);
    expect((await call('PATCH', `${versions('f1')}/${n}`, { body: { status: 'failed' } })).body.status).toBe('failed');
    await putBlob(NS, blob.bytes);
    expect(await statusOf(NS, 'f1', n)).toBe('failed');
    const refused = await call('PATCH', `${versions('f1')}/${n}`, { body: { status: 'ready', name: 'not kept' } });
    expectError(refused, 400, 'invalid-argument');
    const after = await call('GET', `${versions('f1')}/${n}`);
    expect(after.body).toMatchObject({ status: 'failed', name: null });
    expect(await statusChanges(id)).toEqual(['failed']);
  });

  it('lets a ready version be marked failed', async () => {
    const n = await modelWithVersion('f2');
    expect((await call('PATCH', `${versions('f2')}/${n}`, { body: { status: 'failed' } })).body.status).toBe('failed');
    expect(await statusChanges(await idOf('f2', n))).toEqual(['failed']);
  });

  it('serves a version created failed as failed', async () => {
    const n = await modelWithVersion('f3', { status: 'failed' });
    expect(await statusOf(NS, 'f3', n)).toBe('failed');
  });

  it('resolves the latest ready version past a newer pending one (filter status = ready)', async () => {
    await modelWithVersion('latest');
    expect((await call('POST', versions('latest'), { body: { status: 'pending' } })).status).toBe(201);
    const latestReady = async () =>
      (await call('GET', `${versions('latest')}?filter=${encodeURIComponent("status = 'ready'")}&orderBy=number%20DESC&pageSize=1`)).body.items.map(
        (v: { number: number }) => v.number,
      );
    expect(await latestReady()).toEqual([1]);
    await call('PATCH', `${versions('latest')}/2`, { body: { status: 'ready' } });
    expect(await latestReady()).toEqual([2]);
  });
});

const H = { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) };
let tick = 0;
const hlc = () => formatHlc(Date.now(), ++tick, 'trainer');

describe('version lifecycle over sync', () => {
  it('keeps a version pushed pending pending while its checkpoints arrive; pulls show each status change', async () => {
    const ns = 'life-sync';
    const clientId = uuidv7();
    let seq = 0;
    const push = async (name: string, args: unknown) => {
      const r = await call<PushResponse>('POST', `/namespaces/${ns}/sync/push`, {
        headers: H,
        body: { clientId, afterSeq: seq, mutations: [{ seq: ++seq, name, args, hlc: hlc() }] },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.results.map((x) => x.status)).toEqual(['applied']);
    };
    let cursor = 0;
    /** The `version` changes pulled since the last call: `op:status`. */
    const pulled = async () => {
      const r = await call<PullResponse>('GET', `/namespaces/${ns}/sync/pull?clientId=${clientId}&cursor=${cursor}`, { headers: H });
      cursor = r.body.cursor;
      return r.body.changes.filter((c) => c.entity === 'version').map((c) => `${c.op}:${String(c.data.status)}`);
    };
    const mid = await modelId(ns, 'trained');
    const vid = uuidv7();
    await push('model.create', { id: mid, name: 'trained', owner: null, task: null, description: null });
    await push('version.create', { id: vid, modelId: mid, version: null, name: null, description: null, framework: 'tfjs', status: 'pending' });
    expect(await pulled()).toEqual(['create:pending']);

    const epoch1 = await fakeBlob(128);
    await push('checkpoint.save', { versionId: vid, handle: 'epoch_1', files: [{ path: 'model.json', size: epoch1.size, sha256: epoch1.sha256 }] });
    await putBlob(ns, epoch1.bytes);
    expect(await statusOf(ns, 'trained', 1)).toBe('pending');
    expect(await pulled()).toEqual([]);

    const final = await fakeBlob(256);
    await push('artifact.register', { parentId: vid, path: 'model/model.json', sha256: final.sha256, size: final.size });
    await push('version.update', { id: vid, fields: {}, status: 'ready' });
    // Marked ready, but the final file's bytes are still on their way.
    expect(await statusOf(ns, 'trained', 1)).toBe('pending');
    expect(await pulled()).toEqual(['update:undefined']);
    await uploadBlob(ns, final.bytes);
    expect(await statusOf(ns, 'trained', 1)).toBe('ready');
    expect(await pulled()).toEqual(['status:ready']);

    await push('version.update', { id: vid, fields: {}, status: 'failed' });
    expect(await pulled()).toEqual(['update:undefined', 'status:failed']);
    expect(await statusOf(ns, 'trained', 1)).toBe('failed');
  });

  it('rejects marking ready a version failed elsewhere, and the version stays failed', async () => {
    const ns = 'life-sync2';
    const clientId = uuidv7();
    const mid = await modelId(ns, 'm');
    const vid = uuidv7();
    const mutations = [
      { seq: 1, name: 'model.create', args: { id: mid, name: 'm', owner: null, task: null, description: null }, hlc: hlc() },
      { seq: 2, name: 'version.create', args: { id: vid, modelId: mid, version: null, name: null, description: null, framework: null, status: 'pending' }, hlc: hlc() },
    ];
    expect((await call('POST', `/namespaces/${ns}/sync/push`, { headers: H, body: { clientId, afterSeq: 0, mutations } })).status).toBe(200);
    await call('PATCH', `/namespaces/${ns}/models/m/versions/1`, { body: { status: 'failed' } });
    const late = { seq: 3, name: 'version.update', args: { id: vid, fields: {}, status: 'ready' }, hlc: hlc() };
    const r = await call<PushResponse>('POST', `/namespaces/${ns}/sync/push`, { headers: H, body: { clientId, afterSeq: 2, mutations: [late] } });
    expect(r.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'invalid-argument' } });
    expect(await statusOf(ns, 'm', 1)).toBe('failed');
  });
});
