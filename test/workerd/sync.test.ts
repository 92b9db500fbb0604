import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { formatHlc } from '../../shared/hlc.ts';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, PULL_CLIENT_HEADER, PULL_CURSOR_HEADER, type MutationResult, type PullResponse, type PushResponse } from '../../shared/sync.ts';
import { call, expectError, tokenFor, type Reply } from './api.ts';

const H = { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) };
let tick = 0;
const hlc = (node = 'dev') => formatHlc(Date.now() + 1000, ++tick, node);

type Op = { name: string; args: unknown; hlc?: string };

/** A simulated client: numbers its mutations and remembers what the server has applied. */
function client(ns: string, token?: string) {
  const id = uuidv7();
  let seq = 0;
  let acked = 0;
  return {
    id,
    async push(ops: Op[], opts: { afterSeq?: number; seqs?: number[] } = {}): Promise<Reply<PushResponse>> {
      const mutations = ops.map((o, i) => ({ seq: opts.seqs?.[i] ?? ++seq, name: o.name, args: o.args, hlc: o.hlc ?? hlc() }));
      const r = await call<PushResponse>('POST', `/namespaces/${ns}/sync/push`, {
        token,
        headers: H,
        body: { clientId: id, afterSeq: opts.afterSeq ?? acked, mutations },
      });
      if (r.status === 200) acked = r.body.lastMutationSeq;
      return r;
    },
    pull: (cursor = 0, limit?: number) =>
      call<PullResponse>('GET', `/namespaces/${ns}/sync/pull?clientId=${id}&cursor=${cursor}${limit ? `&limit=${limit}` : ''}`, { token, headers: H }),
  };
}

const statuses = (r: Reply<PushResponse>) => r.body.results.map((x: MutationResult) => x.status);

async function newModel(ns: string, name: string) {
  return { name: 'model.create', args: { id: await modelId(ns, name), name, owner: null, task: 'tabular', description: null } };
}

describe('sync push', () => {
  it('applies mutations in order through the domain functions, once each', async () => {
    const c = client('sp1');
    const m = await newModel('sp1', 'churn');
    const v = uuidv7();
    const ops = [
      m,
      { name: 'version.create', args: { id: v, modelId: m.args.id, version: 'first', name: null, description: null, framework: null, status: 'ready' } },
      { name: 'metadata.set', args: { parentId: v, key: 'params', value: { lr: 0.1 } } },
      { name: 'metrics.log', args: { parentId: v, points: [{ id: uuidv7(), key: 'loss', value: 0.5, step: 1, wallclock: 1 }] } },
      { name: 'alias.set', args: { modelId: m.args.id, alias: 'production', versionId: v, expectedVersionId: null } },
    ];
    const r = await c.push(ops);
    expect(r.status).toBe(200);
    expect(statuses(r)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);
    expect(r.body.lastMutationSeq).toBe(5);
    const version = await call('GET', '/namespaces/sp1/models/churn/versions/1');
    expect(version.body).toMatchObject({ id: v, version: 'first', metadata: { params: { lr: 0.1 } }, uniqueTags: ['production'] });
    expect((await call('GET', '/namespaces/sp1/models/churn/versions/1/metrics')).body.metrics.loss).toMatchObject({ count: 1 });
  });

  it('answers a retried push as the first time and applies nothing twice', async () => {
    const c = client('sp2');
    const m = await newModel('sp2', 'retry');
    const point = { id: uuidv7(), key: 'acc', value: 0.9, step: 1, wallclock: 1 };
    const ops = [m, { name: 'metrics.log', args: { parentId: m.args.id, points: [point] } }];
    const first = await c.push(ops, { afterSeq: 0, seqs: [1, 2] });
    // The response was lost: the client sends the same batch again.
    const again = await c.push(ops, { afterSeq: 0, seqs: [1, 2] });
    expect({ ...again.body, serverTime: 0 }).toEqual({ ...first.body, serverTime: 0 });
    expect((await call('GET', '/namespaces/sp2/models/retry/metrics')).body.metrics.acc.count).toBe(1);
    const log = (await c.pull()).body.changes.filter((x) => x.entity === 'metrics');
    expect(log).toHaveLength(1);
  });

  it('replays a stored conflict answer, not "applied"', async () => {
    const a = client('sp3');
    const b = client('sp3');
    const m = await newModel('sp3', 'labels');
    const v1 = uuidv7();
    const v2 = uuidv7();
    const ver = (id: string) => ({ name: 'version.create', args: { id, modelId: m.args.id, version: 'gold', status: 'ready' } });
    await a.push([m, ver(v1)]);
    const first = await b.push([m, ver(v2)], { afterSeq: 0, seqs: [1, 2] });
    expect(first.body.results[1]).toMatchObject({ status: 'conflict', kind: 'version-label', server: { versionId: v1, number: 1 } });
    const retry = await b.push([m, ver(v2)], { afterSeq: 0, seqs: [1, 2] });
    expect(retry.body.results).toEqual(first.body.results);
    // The later version is kept, numbered, without the label.
    const kept = await call('GET', '/namespaces/sp3/models/labels/versions/2');
    expect(kept.body).toMatchObject({ id: v2, version: null });
  });

  it('drops stored answers once the client acknowledges them, and only for its own token', async () => {
    const a = client('sp3b');
    const b = client('sp3b');
    const m = await newModel('sp3b', 'acks');
    const ver = (id: string) => ({ name: 'version.create', args: { id, modelId: m.args.id, version: 'gold', status: 'ready' } });
    await a.push([m, ver(uuidv7())]);
    expect(statuses(await b.push([m, ver(uuidv7())]))).toEqual(['applied', 'conflict']);
    const stored = () => env.DB.prepare('SELECT seq FROM sync_results WHERE namespace = ? AND client_id = ?').bind('sp3b', b.id).all().then((r) => r.results.map((x) => x.seq));
    expect(await stored()).toEqual([2]);
    // Another token pushing as this client is refused and prunes nothing.
    const forged = await call('POST', '/namespaces/sp3b/sync/push', {
      token: await tokenFor('sp3b', 'write'),
      headers: H,
      body: { clientId: b.id, afterSeq: 2, mutations: [{ seq: 3, name: 'metadata.set', args: { parentId: m.args.id, key: 'k', value: 0 }, hlc: hlc() }] },
    });
    expectError(forged, 403, 'client-mismatch');
    expect(await stored()).toEqual([2]);
    // Nor does the client's own push that claims more than the server applied.
    expectError(await b.push([{ name: 'metadata.set', args: { parentId: m.args.id, key: 'k', value: 0 } }], { afterSeq: 9, seqs: [10] }), 409, 'sequence-gap');
    expect(await stored()).toEqual([2]);
    // The client's next push says it has the answers up to 2: their copies go.
    expect((await b.push([{ name: 'metadata.set', args: { parentId: m.args.id, key: 'k', value: 1 } }])).status).toBe(200);
    expect(await stored()).toEqual([]);
  });

  it('refuses a push that claims more than the server applied (a seq gap) and applies nothing', async () => {
    const c = client('sp4');
    const r = await c.push([await newModel('sp4', 'gap')], { afterSeq: 7, seqs: [8] });
    expectError(r, 409, 'sequence-gap');
    expect((r.body as unknown as { error: { details: unknown } }).error.details).toEqual({ afterSeq: 7, lastMutationSeq: 0 });
    expectError(await call('GET', '/namespaces/sp4/models/gap'), 404, 'model-not-found');
  });

  it('refuses seqs that do not increase', async () => {
    const c = client('sp5');
    const m = await newModel('sp5', 'order');
    expectError(await c.push([m, m], { afterSeq: 0, seqs: [2, 2] }), 400, 'invalid-argument');
    expectError(await c.push([m], { afterSeq: 3, seqs: [3] }), 400, 'invalid-argument');
  });

  it('keeps a client id to the token that first used it', async () => {
    const t1 = await tokenFor('sp6', 'write');
    const t2 = await tokenFor('sp6', 'write');
    const c = client('sp6', t1);
    expect((await c.push([await newModel('sp6', 'mine')])).status).toBe(200);
    const forged = await call('POST', '/namespaces/sp6/sync/push', {
      token: t2,
      headers: H,
      body: { clientId: c.id, afterSeq: 1, mutations: [{ seq: 2, name: 'model.delete', args: { id: await modelId('sp6', 'mine') }, hlc: hlc() }] },
    });
    expectError(forged, 403, 'client-mismatch');
    expect((await call('GET', '/namespaces/sp6/models/mine')).status).toBe(200);
  });

  it('never touches another namespace: ids from elsewhere are not found, tokens are scoped', async () => {
    const other = client('sp7-other');
    const m = await newModel('sp7-other', 'secret');
    await other.push([m]);
    const t = await tokenFor('sp7', 'write');
    const c = client('sp7', t);
    const r = await c.push([{ name: 'model.update', args: { id: m.args.id, fields: { description: 'mine now' } } }]);
    expect(r.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'model-not-found' } });
    expect((await call('GET', '/namespaces/sp7-other/models/secret')).body.description).toBeNull();
    const cross = await call('POST', '/namespaces/sp7-other/sync/push', {
      token: t,
      headers: H,
      body: { clientId: c.id, afterSeq: 0, mutations: [{ seq: 1, name: 'model.delete', args: { id: m.args.id }, hlc: hlc() }] },
    });
    expectError(cross, 404, 'namespace-not-found');
    // A model id that is not the id of its name in this namespace is refused.
    const wrong = await c.push([{ name: 'model.create', args: { id: m.args.id, name: 'secret' } }]);
    expect(wrong.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'invalid-argument' } });
  });

  it('rejects bad mutations one by one with a code, and goes on with the rest', async () => {
    const c = client('sp8');
    const m = await newModel('sp8', 'bad');
    const r = await c.push([
      m,
      { name: 'metadata.set', args: { parentId: m.args.id, key: '', value: 1 } },
      { name: 'metadata.set', args: { parentId: m.args.id, key: 'ok', value: 1 } },
    ]);
    expect(statuses(r)).toEqual(['applied', 'rejected', 'applied']);
    expect(r.body.results[1]).toMatchObject({ error: { code: 'invalid-argument' } });
    expect((await call('GET', '/namespaces/sp8/models/bad')).body.metadata).toEqual({ ok: 1 });
  });

  it('refuses malformed pushes whole: unknown names, bad clocks, truncated bodies, no protocol', async () => {
    const c = client('sp9');
    const body = (mutations: unknown) => ({ clientId: c.id, afterSeq: 0, mutations });
    const push = (b: unknown, headers: Record<string, string> = H) => call('POST', '/namespaces/sp9/sync/push', { headers, body: b });
    expectError(await push(body([{ seq: 1, name: 'model.explode', args: {}, hlc: hlc() }])), 400, 'invalid-argument');
    expectError(await push(body([{ seq: 1, name: 'model.delete', args: {}, hlc: 'yesterday' }])), 400, 'invalid-argument');
    expectError(await push({ ...body([]), clientId: 'me' }), 400, 'invalid-argument');
    expectError(await push('{"clientId": "'), 400, 'invalid-json');
    expectError(await push(body([{ seq: 1, name: 'model.delete', args: {}, hlc: hlc() }]), {}), 400, 'protocol-unsupported');
    const future = await push(body([{ seq: 1, name: 'model.delete', args: {}, hlc: hlc() }]), { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION + 1) });
    expectError(future, 400, 'protocol-unsupported');
    expect(future.body.error.details.supported.max).toBe(PROTOCOL_VERSION);
    expect((await c.pull()).body.lastMutationSeq).toBe(0);
  });

  it('needs a write token to push and a read token to pull', async () => {
    const read = await tokenFor('sp10', 'read');
    const c = client('sp10', read);
    expectError(await c.push([await newModel('sp10', 'x')]), 403, 'permission-denied');
    expect((await c.pull()).status).toBe(200);
  });
});

describe('sync conflicts (DESIGN §3)', () => {
  it('alias: a move whose expected version no longer holds is a conflict with the server value', async () => {
    const a = client('sc1');
    const b = client('sc1');
    const m = await newModel('sc1', 'alias');
    const [v1, v2] = [uuidv7(), uuidv7()];
    await a.push([m, ...[v1, v2].map((id) => ({ name: 'version.create', args: { id, modelId: m.args.id } }))]);
    const move = (c: typeof a, versionId: string) => c.push([{ name: 'alias.set', args: { modelId: m.args.id, alias: 'prod', versionId, expectedVersionId: null } }]);
    expect(statuses(await move(a, v1))).toEqual(['applied']);
    const lost = await move(b, v2);
    expect(lost.body.results[0]).toMatchObject({ status: 'conflict', kind: 'alias', server: { versionId: v1, version: 1 } });
    expect((await call('GET', '/namespaces/sc1/models/alias/aliases/prod')).body.versionId).toBe(v1);
  });

  it('fields: last writer wins per field by clock, whatever the arrival order', async () => {
    const a = client('sc2');
    const b = client('sc2');
    const m = await newModel('sc2', 'lww');
    await a.push([m]);
    const later = formatHlc(Date.now() + 60_000, 0, 'b');
    const earlier = formatHlc(Date.now() + 30_000, 0, 'a');
    await b.push([{ name: 'model.update', args: { id: m.args.id, fields: { description: 'from b' } }, hlc: later }]);
    await a.push([{ name: 'model.update', args: { id: m.args.id, fields: { description: 'from a', owner: 'ann' } }, hlc: earlier }]);
    expect((await call('GET', '/namespaces/sc2/models/lww')).body).toMatchObject({ description: 'from b', owner: 'ann' });
  });

  it('deletes win over concurrent updates, which come back as conflicts', async () => {
    const a = client('sc3');
    const b = client('sc3');
    const m = await newModel('sc3', 'gone');
    await a.push([m]);
    await a.push([{ name: 'model.delete', args: { id: m.args.id } }]);
    const r = await b.push([
      { name: 'model.update', args: { id: m.args.id, fields: { task: 'late' } } },
      { name: 'metadata.set', args: { parentId: m.args.id, key: 'k', value: 1 } },
    ]);
    expect(r.body.results.map((x) => (x.status === 'conflict' ? x.kind : x.status))).toEqual(['deleted', 'deleted']);
    expectError(await call('GET', '/namespaces/sc3/models/gone'), 404, 'model-not-found');
  });

  it('artifacts: same path and digest is the same artifact; another digest is a conflict', async () => {
    const a = client('sc4');
    const m = await newModel('sc4', 'files');
    const art = (sha: string) => ({ name: 'artifact.register', args: { parentId: m.args.id, path: 'model.json', size: 3, sha256: sha.repeat(64), mimeType: 'application/json' } });
    const r = await a.push([m, art('a'), art('a'), art('b')]);
    expect(r.body.results.map((x) => (x.status === 'conflict' ? x.kind : x.status))).toEqual(['applied', 'applied', 'applied', 'artifact']);
  });

  it('two devices creating the same model make one model', async () => {
    const a = client('sc5');
    const b = client('sc5');
    const m = await newModel('sc5', 'same');
    await a.push([m]);
    expect(statuses(await b.push([{ ...m, args: { ...m.args, description: 'from b' } }]))).toEqual(['applied']);
    const list = await call('GET', '/namespaces/sc5/models');
    expect(list.body.items.map((x: { name: string }) => x.name)).toEqual(['same']);
  });
});

describe('sync pull', () => {
  it('pages the change log after a cursor, with the client last seq', async () => {
    const c = client('pl1');
    const m = await newModel('pl1', 'paged');
    await c.push([m, ...Array.from({ length: 5 }, (_, i) => ({ name: 'metadata.set', args: { parentId: m.args.id, key: `k${i}`, value: i } }))]);
    const seen: string[] = [];
    let cursor = 0;
    let pages = 0;
    for (;;) {
      const r = await c.pull(cursor, 2);
      expect(r.status).toBe(200);
      expect(r.body.lastMutationSeq).toBe(6);
      seen.push(...r.body.changes.map((x) => `${x.entity}.${x.op}`));
      cursor = r.body.cursor;
      pages++;
      if (!r.body.more) break;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['model.create', ...Array(5).fill('metadata.set')]);
    // Nothing new: an empty page with the same cursor.
    const empty = await c.pull(cursor);
    expect(empty.body).toMatchObject({ changes: [], cursor, more: false });
  });

  it('shows a namespace only its own changes', async () => {
    const c = client('pl2');
    await client('pl2-other').push([await newModel('pl2-other', 'hidden')]);
    expect((await c.pull()).body.changes).toEqual([]);
  });

  it('refuses a cursor from the future and bad queries', async () => {
    const c = client('pl3');
    expectError(await c.pull(Number.MAX_SAFE_INTEGER), 400, 'cursor-ahead');
    expectError(await call('GET', '/namespaces/pl3/sync/pull?clientId=x', { headers: H }), 400, 'invalid-argument');
    expectError(await call('GET', `/namespaces/pl3/sync/pull?clientId=${c.id}&limit=100000`, { headers: H }), 400, 'invalid-argument');
  });

  it('takes clientId and cursor as headers, so a pull keeps one URL; the query wins when it has a clientId', async () => {
    const c = client('pl5');
    await c.push([await newModel('pl5', 'first'), await newModel('pl5', 'second')]);
    const byHeaders = (clientId: string, cursor?: number) =>
      call('GET', '/namespaces/pl5/sync/pull', { headers: { ...H, [PULL_CLIENT_HEADER]: clientId, ...(cursor !== undefined ? { [PULL_CURSOR_HEADER]: String(cursor) } : {}) } });
    const all = await byHeaders(c.id);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ more: false, lastMutationSeq: 2 });
    expect(all.body.changes.map((x: { data: { name: string } }) => x.data.name)).toEqual(['first', 'second']);
    const after = await byHeaders(c.id, all.body.changes[0].seq);
    expect(after.body.changes.map((x: { data: { name: string } }) => x.data.name)).toEqual(['second']);
    // The query as before, headers or not.
    const query = await call('GET', `/namespaces/pl5/sync/pull?clientId=${c.id}&cursor=${all.body.cursor}`, { headers: { ...H, [PULL_CURSOR_HEADER]: '0' } });
    expect(query.body).toMatchObject({ changes: [], cursor: all.body.cursor });
    // Bad headers are refused as a bad query is.
    expectError(await byHeaders('x'), 400, 'invalid-argument');
    expectError(await byHeaders(c.id, -1), 400, 'invalid-argument');
    expectError(await byHeaders(c.id, Number.MAX_SAFE_INTEGER), 400, 'cursor-ahead');
  });

  it('carries server-made numbers and REST writes made by others (CI over HTTP)', async () => {
    const c = client('pl4');
    await call('POST', '/namespaces/pl4/models', { body: { name: 'from-ci' } });
    await call('POST', '/namespaces/pl4/models/from-ci/versions', { body: { version: 'nightly' } });
    const changes = (await c.pull()).body.changes;
    expect(changes.map((x) => `${x.entity}.${x.op}`)).toEqual(['model.create', 'version.create']);
    expect(changes[1]!.data).toMatchObject({ number: 1, version: 'nightly' });
  });
});
