import { describe, expect, it } from 'vitest';
import { formatHlc, parseHlc } from '../../shared/hlc.ts';
import { modelId, uuidv7 } from '../../shared/ids.ts';
import { ALIAS_CASES, ARTIFACT_CASES, CLOCK_CASES, DELETE_CASES, FIELD_CASES, METADATA_CASES, t } from '../../shared/rules.cases.ts';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, type MutationResult, type PushResponse } from '../../shared/sync.ts';
import { call } from './api.ts';

// The conflict rules table of shared/rules.cases.ts, run through the Worker's own paths (its
// SQL), as shared/rules.test.ts runs it through the reducers the browser uses.

const NS = 'rules';
let models = 0;

type Op = { name: string; args: unknown; hlc: string };

/** Pushes mutations as one fresh client; answers each mutation's result. */
async function push(ops: Op[]): Promise<MutationResult[]> {
  const r = await call<PushResponse>('POST', `/namespaces/${NS}/sync/push`, {
    headers: { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) },
    body: { clientId: uuidv7(), afterSeq: 0, mutations: ops.map((o, i) => ({ seq: i + 1, ...o })) },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.results;
}

/** A new model created at clock `t(0)`; answers its name, id and path. */
async function newModel() {
  const name = `r${++models}`;
  const id = await modelId(NS, name);
  return { name, id, path: `/namespaces/${NS}/models/${name}`, create: { name: 'model.create', args: { id, name }, hlc: t(0) } };
}

describe('the conflict rules table, on the server', () => {
  it.each(FIELD_CASES)('fields: $name', async ({ held, write, after }) => {
    const m = await newModel();
    const byClock = new Map<string, Record<string, string | null>>();
    for (const [f, hlc] of Object.entries(held.clocks)) byClock.set(hlc, { ...byClock.get(hlc), [f]: held.values[f]! });
    const setup = [...byClock].map(([hlc, fields]) => ({ name: 'model.update', args: { id: m.id, fields }, hlc }));
    const fields = Object.fromEntries(Object.entries(write.fields).filter(([, v]) => v !== undefined));
    await push([m.create, ...setup, { name: 'model.update', args: { id: m.id, fields }, hlc: write.hlc }]);
    const got = (await call('GET', m.path)).body;
    expect(Object.fromEntries(Object.keys(after).map((f) => [f, got[f]]))).toEqual(after);
  });

  it.each(METADATA_CASES)('metadata: $name', async ({ held, incoming, after }) => {
    const m = await newModel();
    const op = (e: { value: unknown; hlc: string; deleted: boolean }): Op =>
      e.deleted ? { name: 'metadata.delete', args: { parentId: m.id, key: 'k' }, hlc: e.hlc } : { name: 'metadata.set', args: { parentId: m.id, key: 'k', value: e.value }, hlc: e.hlc };
    await push([m.create, ...(held ? [op(held)] : []), op(incoming)]);
    const { metadata } = (await call('GET', `${m.path}/metadata`)).body;
    expect('k' in metadata ? { value: metadata.k } : 'deleted').toEqual(after === 'absent' ? 'deleted' : after);
  });

  it.each(DELETE_CASES)('deletes: $name', async ({ deletedAt, write, verdict }) => {
    const m = await newModel();
    const setup = deletedAt ? [{ name: 'model.delete', args: { id: m.id }, hlc: deletedAt }] : [];
    const args = write.op === 'update' ? { id: m.id, fields: { description: 'x' } } : write.op === 'create' ? { id: m.id, name: m.name, description: 'x' } : { id: m.id };
    await push([m.create, ...setup, { name: `model.${write.op}`, args, hlc: write.hlc }]);
    const got = await call('GET', m.path);
    if (verdict === 'deleted') expect(got.status).toBe(404);
    else expect({ status: got.status, description: got.body.description }).toEqual({ status: 200, description: 'x' });
  });

  it.each(ALIAS_CASES)('aliases: $name', async ({ current, move, verdict }) => {
    const m = await newModel();
    const ids = { v1: uuidv7(), v2: uuidv7(), v3: uuidv7() };
    const versions = Object.values(ids).map((id) => ({ name: 'version.create', args: { id, modelId: m.id }, hlc: t(1) }));
    const id = (v: string | null) => (v === null ? null : ids[v as keyof typeof ids]);
    const setup = current ? [{ name: 'alias.set', args: { modelId: m.id, alias: 'prod', versionId: id(current), expectedVersionId: null }, hlc: t(2) }] : [];
    const moveOp = move.versionId
      ? { name: 'alias.set', args: { modelId: m.id, alias: 'prod', versionId: id(move.versionId), expectedVersionId: id(move.expectedVersionId) }, hlc: t(3) }
      : { name: 'alias.delete', args: { modelId: m.id, alias: 'prod', expectedVersionId: id(move.expectedVersionId) }, hlc: t(3) };
    const results = await push([m.create, ...versions, ...setup, moveOp]);
    const last = results.at(-1)!;
    expect(last.status).toBe(verdict === 'conflict' ? 'conflict' : 'applied');
    const points = await call('GET', `${m.path}/aliases/prod`);
    const expected = verdict === 'apply' ? id(move.versionId) : id(current);
    expect(points.status === 200 ? points.body.versionId : null).toBe(expected);
  });

  it.each(ARTIFACT_CASES)('artifacts: $name', async ({ held, incoming, verdict }) => {
    const m = await newModel();
    const body = (a: { sha256: string | null; url?: string | null }) => ({ parentId: m.id, path: 'a.bin', ...(a.url ? { url: a.url } : { size: 3 }), ...(a.sha256 ? { sha256: a.sha256 } : {}) });
    const ops = [m.create, ...(held ? [{ name: 'artifact.register', args: body(held), hlc: t(1) }] : []), { name: 'artifact.register', args: body(incoming), hlc: t(2) }];
    const last = (await push(ops)).at(-1)!;
    expect(last.status).toBe(verdict === 'conflict' ? 'conflict' : 'applied');
  });

  it.each(CLOCK_CASES)('clocks: $name', async ({ hlc, nowMs, verdict }) => {
    const m = await newModel();
    // The case's clock, moved to the same distance from the server's time now (the largest
    // clock the format holds stays as it is).
    const p = parseHlc(hlc);
    const largest = p?.ms === 10 ** 15 - 1;
    const shifted = p && !largest ? formatHlc(p.ms + Date.now() - nowMs, p.counter, p.node) : hlc;
    const ops = [m.create, { name: 'metadata.set', args: { parentId: m.id, key: 'k', value: 1 }, hlc: shifted }];
    const r = await call<PushResponse>('POST', `/namespaces/${NS}/sync/push`, {
      headers: { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) },
      body: { clientId: uuidv7(), afterSeq: 0, mutations: ops.map((o, i) => ({ seq: i + 1, ...o })) },
    });
    if (verdict === 'invalid') return expect(r.status).toBe(400);
    const last = r.body.results.at(-1)!;
    if (verdict === 'ok') expect(last.status).toBe('applied');
    else expect(last.status === 'rejected' && last.error.code).toBe('clock-skew');
  });
});
