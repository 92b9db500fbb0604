import 'fake-indexeddb/auto';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HybridClock } from '../../shared/hlc.ts';
import { modelId, sha256Hex, uuidv7 } from '../../shared/ids.ts';
import { exportModel, importModel } from './archive.ts';
import { readEntryBytes, readZipDirectory, writeZip } from './archive-zip.ts';
import { trackArtifacts, uploadArtifacts } from './artifacts.ts';
import { readBlob, setBlobChunkBytes } from './blob-store.ts';
import { saveCheckpoint } from './checkpoints.ts';
import type { ClientContext, ParentRef } from './context.ts';
import { HangarDb, type VersionRecord } from './db.ts';
import { MetricQueue } from './metrics-queue.ts';
import { Writer } from './writer.ts';
import { allPoints, insertPoints, metricTables } from './metric-store.ts';
import { codeOf, markSynced } from './test-helpers.ts';

let n = 0;
function context(name = `archive-${n++}`, node = 'a'): ClientContext {
  const db = new HangarDb(name);
  const writer = new Writer(db, new HybridClock(node));
  return { db, writer, metrics: new MetricQueue(writer) };
}

async function addModel(ctx: ClientContext): Promise<ParentRef> {
  const id = await modelId('team', 'churn');
  const hlc = ctx.writer.clock.now();
  const now = Date.now();
  const clocks = { owner: hlc, task: hlc, description: hlc };
  await ctx.db.models.add({ id, namespace: 'team', name: 'churn', owner: 'ana', task: 'tabular', description: null, clocks, createdAt: now, updatedAt: now, deletedAt: null });
  return { kind: 'model', id, namespace: 'team', modelId: id };
}

async function addVersion(ctx: ClientContext, model: ParentRef, number: number, fields: Partial<VersionRecord> = {}): Promise<ParentRef> {
  const id = uuidv7();
  const hlc = ctx.writer.clock.now();
  const now = Date.now();
  await ctx.db.versions.add({
    ...{ id, modelId: model.id, namespace: 'team', number, numberConfirmed: false, version: null, name: `v${number}`, description: null, framework: 'tfjs' },
    ...{ status: 'ready', clocks: { version: hlc, name: hlc, description: hlc, framework: hlc }, createdAt: now, updatedAt: now, deletedAt: null },
    ...fields,
  });
  return { kind: 'version', id, namespace: 'team', modelId: model.id };
}

const text = (s: string) => new TextEncoder().encode(s);
const binary = (length: number) => Uint8Array.from({ length }, (_, i) => (i * 131 + 7) % 256);
/** An artifact that is itself a zip: its bytes hold the signatures a streaming unzip looks for. */
const innerZip = zipSync({ 'a.txt': text('hello'), 'b.bin': binary(300) }, { level: 0 });

/** A model with two versions, metadata, 2,500 metric points, an alias, artifacts and checkpoints. */
async function seed(ctx: ClientContext) {
  const model = await addModel(ctx);
  const v1 = await addVersion(ctx, model, 1, { version: 'first' });
  const v2 = await addVersion(ctx, model, 2);
  const { db } = ctx;
  await db.metadata.bulkPut([
    { parentId: model.id, key: 'team', namespace: 'team', value: { lead: 'ana' }, hlc: ctx.writer.clock.now() },
    { parentId: v1.id, key: 'params', namespace: 'team', value: [1, 2, 3], hlc: ctx.writer.clock.now() },
  ]);
  await db.transaction('rw', metricTables(db), async () => {
    await insertPoints(db, v1.id, Array.from({ length: 2500 }, (_, step) => ({ id: uuidv7(), key: 'loss', value: 1 / (step + 1), step, wallclock: 1_700_000_000_000 + step })));
    await insertPoints(db, model.id, [{ id: uuidv7(), key: 'best', value: 0.9, step: 0, wallclock: 1_700_000_000_000 }]);
  });
  await db.aliases.put({ modelId: model.id, alias: 'production', versionId: v1.id, updatedAt: 1 });
  await db.aliasHistory.add({ id: uuidv7(), modelId: model.id, alias: 'production', versionId: v1.id, previousVersionId: null, at: 1 });
  await uploadArtifacts(ctx, model, [
    { file: new Blob([innerZip]), path: 'bundle.zip' },
    { file: new Blob([binary(100)]), path: 'w.bin' },
  ]);
  await uploadArtifacts(ctx, v1, [{ file: new Blob([binary(100)]), path: 'same-as-w.bin' }]);
  await trackArtifacts(ctx, v2, [{ path: 'data.csv', url: 'https://example.com/data.csv' }]);
  await saveCheckpoint(ctx, v1, 'epoch_1', { 'model.json': new Blob([text('{"e":1}')]), 'weights.bin': new Blob([binary(40)]) });
  await saveCheckpoint(ctx, v1, 'epoch_2', { 'model.json': new Blob([text('{"e":2}')]) }, { setAsDefault: false });
  return { model, v1, v2 };
}

const sorted = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();
/** Every row the archive carries, in a comparable form; blobs without their local chunk ids. */
async function snapshot({ db }: ClientContext) {
  return {
    models: sorted(await db.models.toArray()),
    versions: sorted(await db.versions.toArray()),
    metadata: sorted(await db.metadata.toArray()),
    metrics: sorted(await allPoints(db)),
    aliases: sorted(await db.aliases.toArray()),
    aliasHistory: sorted(await db.aliasHistory.toArray()),
    artifacts: sorted(await db.artifacts.toArray()),
    checkpoints: sorted(await db.checkpoints.toArray()),
    blobs: sorted((await db.blobs.toArray()).map(({ sha256, size, chunkCount }) => ({ sha256, size, chunkCount }))),
  };
}

async function digestsOfStoredBytes({ db }: ClientContext): Promise<string[]> {
  const out: string[] = [];
  for (const { sha256 } of await db.blobs.toArray()) out.push(await sha256Hex(new Uint8Array(await (await readBlob(db, sha256))!.arrayBuffer())));
  return out.sort();
}


let previous = 0;
beforeAll(() => {
  previous = setBlobChunkBytes(64);
});
afterAll(() => {
  setBlobChunkBytes(previous);
});

describe('exportModel and importModel', () => {
  it('round-trips a model: export, wipe, import gives identical rows and identical SHA-256s', async () => {
    const name = `archive-${n++}`;
    const source = context(name);
    await seed(source);
    const before = await snapshot(source);
    const digests = await digestsOfStoredBytes(source);
    const archive = await exportModel(source, 'team', 'churn');
    expect(archive.type).toBe('application/zip');
    expect((await readZipDirectory(archive)).map((e) => e.name).sort()).toEqual(['manifest.json', ...digests.map((d) => `blobs/${d}`)].sort());

    await source.db.delete();
    const wiped = context(name, 'b');
    expect(await importModel(wiped, archive)).toEqual({ namespace: 'team', name: 'churn' });
    expect(await snapshot(wiped)).toEqual(before);
    expect(await digestsOfStoredBytes(wiped)).toEqual(digests);
    expect(digests).toContain(await sha256Hex(innerZip));
  });

  it('reports progress from zero to the whole, never going back, on export and on import', async () => {
    const source = context();
    await seed(source);
    const exported: { loaded: number; total: number }[] = [];
    const archive = await exportModel(source, 'team', 'churn', { onProgress: (p) => exported.push(p) });
    const imported: { loaded: number; total: number }[] = [];
    await importModel(context(), archive, { onProgress: (p) => imported.push(p) });
    for (const reports of [exported, imported]) {
      const { total } = reports[0]!;
      expect(total).toBeGreaterThan(0);
      expect(reports.every((p) => p.total === total)).toBe(true);
      expect(reports.map((p) => p.loaded)).toEqual([...reports.map((p) => p.loaded)].sort((a, b) => a - b));
      expect(reports.at(-1)!.loaded).toBe(total);
    }
    // The export's whole is every entry's bytes: the stored blobs with the manifest.
    const entries = await readZipDirectory(archive);
    expect(exported[0]!.total).toBe(entries.reduce((n, e) => n + e.size, 0));
    expect(imported[0]!.total).toBe(entries.filter((e) => e.name.startsWith('blobs/')).reduce((n, e) => n + e.compressedSize, 0));
    expect(imported.length).toBeGreaterThan(2);
  });

  it('emits the mutations a local write would for rows new to this registry', async () => {
    const source = context();
    const { v1 } = await seed(source);
    const archive = await exportModel(source, 'team', 'churn');
    const target = context();
    await markSynced(target.db);
    await importModel(target, archive);
    const mutations = await target.db.outbox.toArray();
    const count = (name: string) => mutations.filter((m) => m.name === name).length;
    expect({
      model: count('model.create'),
      version: count('version.create'),
      metadata: count('metadata.set'),
      metrics: count('metrics.log'),
      alias: count('alias.set'),
      artifact: count('artifact.register'),
      checkpoint: count('checkpoint.save'),
    }).toEqual({ model: 1, version: 2, metadata: 2, metrics: 4, alias: 1, artifact: 4, checkpoint: 2 });
    expect(mutations.map((m) => m.name).indexOf('model.create')).toBe(0);
    const pointsPerLog = mutations.filter((m) => m.name === 'metrics.log').map((m) => (m.args as { points: unknown[] }).points.length);
    expect(pointsPerLog.sort((a, b) => a - b)).toEqual([1, 500, 1000, 1000]);
    const saves = mutations.filter((m) => m.name === 'checkpoint.save').map((m) => m.args as { handle: string; setAsDefault: boolean; versionId: string });
    expect(saves.map((s) => [s.versionId, s.handle, s.setAsDefault])).toEqual([
      [v1.id, 'epoch_1', true],
      [v1.id, 'epoch_2', false],
    ]);
    const registered = mutations.filter((m) => m.name === 'artifact.register').map((m) => (m.args as { path: string }).path);
    expect(registered.sort()).toEqual(['bundle.zip', 'data.csv', 'same-as-w.bin', 'w.bin']);
  });

  it('carries what a version\'s creator declared: ready stays ready for the server though the exporter lacked its bytes', async () => {
    const source = context();
    const model = await addModel(source);
    // v1: declared ready, its artifact's bytes never reached the exporting device (pending there).
    const missing = await sha256Hex(binary(7));
    const v1 = await addVersion(source, model, 1, { status: 'pending', declaredStatus: 'ready' });
    await source.db.artifacts.add({ id: uuidv7(), namespace: 'team', modelId: model.id, parentId: v1.id, path: 'w.bin', mimeType: 'application/octet-stream', fileType: 'MODEL', size: 7, sha256: missing, url: null, createdAt: 1 });
    // v2: declared pending (a run still training); v3: declared ready with its bytes along.
    const v2 = await addVersion(source, model, 2, { status: 'pending', declaredStatus: 'pending' });
    const v3 = await addVersion(source, model, 3, { declaredStatus: 'ready' });
    await uploadArtifacts(source, v3, [{ file: new Blob([binary(50)]), path: 'x.bin' }]);
    const archive = await exportModel(source, 'team', 'churn');

    const target = context();
    await markSynced(target.db);
    await importModel(target, archive);
    const rows = Object.fromEntries((await target.db.versions.toArray()).map((v) => [v.id, [v.declaredStatus, v.status]]));
    expect(rows).toEqual({ [v1.id]: ['ready', 'pending'], [v2.id]: ['pending', 'pending'], [v3.id]: ['ready', 'ready'] });
    const creates = (await target.db.outbox.toArray()).filter((m) => m.name === 'version.create').map((m) => m.args as { id: string; status: string });
    expect(Object.fromEntries(creates.map((c) => [c.id, c.status]))).toEqual({ [v1.id]: 'ready', [v2.id]: 'pending', [v3.id]: 'ready' });
  });

  it('is a no-op the second time: no row, chunk or mutation changes', async () => {
    const source = context();
    await seed(source);
    const archive = await exportModel(source, 'team', 'churn');
    const target = context();
    await importModel(target, archive);
    const once = { rows: await snapshot(target), chunks: await target.db.blobChunks.count(), outbox: await target.db.outbox.count() };
    await importModel(target, archive);
    expect({ rows: await snapshot(target), chunks: await target.db.blobChunks.count(), outbox: await target.db.outbox.count() }).toEqual(once);
    // Into the registry it came from, too.
    const outbox = await source.db.outbox.count();
    await importModel(source, archive);
    expect(await source.db.outbox.count()).toBe(outbox);
  });

  it('refuses an archive whose blob does not hash to its name, importing nothing', async () => {
    const source = context();
    await seed(source);
    const archive = await exportModel(source, 'team', 'churn');
    const entries = await readZipDirectory(archive);
    const manifest = await readEntryBytes(archive, entries.find((e) => e.name === 'manifest.json')!);
    const wSha = await sha256Hex(binary(100));
    const tampered = binary(100);
    tampered[50] = (tampered[50] ?? 0) ^ 1;
    const forged = await writeZip([
      { name: 'manifest.json', bytes: manifest },
      { name: `blobs/${await sha256Hex(innerZip)}`, blob: new Blob([innerZip]) },
      { name: `blobs/${wSha}`, blob: new Blob([tampered]) },
    ]);
    const target = context();
    expect(await codeOf(importModel(target, forged))).toBe('digest-mismatch');
    expect(await target.db.models.count()).toBe(0);
    expect(await target.db.blobs.count()).toBe(0);
    expect(await target.db.blobChunks.count()).toBe(0);
    expect(await target.db.outbox.count()).toBe(0);
  });

  it('refuses what is not an archive of this format', async () => {
    const target = context();
    expect(await codeOf(importModel(target, new Blob([text('not a zip at all')])))).toBe('invalid-argument');
    const other = await writeZip([{ name: 'manifest.json', bytes: text('{"format":"something-else"}') }]);
    expect(await codeOf(importModel(target, other))).toBe('invalid-argument');
    const noManifest = await writeZip([{ name: 'readme.txt', bytes: text('hi') }]);
    expect(await codeOf(importModel(target, noManifest))).toBe('invalid-argument');
  });

  it('fails with artifact-conflict, importing nothing, when a path holds other bytes here', async () => {
    const source = context();
    await seed(source);
    const archive = await exportModel(source, 'team', 'churn');
    const target = context();
    const model = await addModel(target);
    await uploadArtifacts(target, model, [{ file: new Blob([text('different')]), path: 'w.bin' }]);
    const before = { rows: await snapshot(target), chunks: await target.db.blobChunks.count(), outbox: await target.db.outbox.count() };
    expect(await codeOf(importModel(target, archive))).toBe('artifact-conflict');
    expect({ rows: await snapshot(target), chunks: await target.db.blobChunks.count(), outbox: await target.db.outbox.count() }).toEqual(before);
  });

  it('merges into a registry holding the same model: numbers and labels taken here stay, newer metadata wins', async () => {
    const source = context(undefined, 'a');
    const { model, v1 } = await seed(source);
    const archive = await exportModel(source, 'team', 'churn');
    const target = context(undefined, 'b');
    await addModel(target);
    const mine = await addVersion(target, model, 1, { version: 'first' });
    // `team` here is older than the archive's, so the archive's wins; `mine` is not in the archive, so it stays.
    await target.db.metadata.put({ parentId: model.id, key: 'team', namespace: 'team', value: 'old', hlc: '000000000000001-000000-b' });
    await target.db.metadata.put({ parentId: model.id, key: 'mine', namespace: 'team', value: 'kept', hlc: target.writer.clock.now() });
    await importModel(target, archive);
    const versions = await target.db.versions.orderBy('[modelId+number]').toArray();
    expect(versions.map((v) => [v.id === mine.id ? 'mine' : v.id === v1.id ? 'v1' : 'v2', v.number, v.numberConfirmed, v.version])).toEqual([
      ['mine', 1, false, 'first'],
      ['v1', 2, false, null],
      ['v2', 3, false, null],
    ]);
    const metadata = Object.fromEntries((await target.db.metadata.where('parentId').equals(model.id).toArray()).map((r) => [r.key, r.value]));
    expect(metadata).toEqual({ team: { lead: 'ana' }, mine: 'kept' });
  });

  it('exports live rows only and answers model-not-found for an unknown model', async () => {
    const source = context();
    const { model } = await seed(source);
    const gone = await addVersion(source, model, 3, { deletedAt: Date.now() });
    await source.db.metadata.put({ parentId: gone.id, key: 'x', namespace: 'team', value: 1, hlc: source.writer.clock.now() });
    // One archive: a second export has another timestamp, so its entries sit elsewhere.
    const archive = await exportModel(source, 'team', 'churn');
    const entries = await readZipDirectory(archive);
    expect(entries.length).toBeGreaterThan(1);
    const manifest = JSON.parse(new TextDecoder().decode(await readEntryBytes(archive, entries[0]!))) as {
      versions: { id: string }[];
      metadata: { parentId: string }[];
    };
    expect(manifest.versions.map((v) => v.id)).not.toContain(gone.id);
    expect(manifest.metadata.map((m) => m.parentId)).not.toContain(gone.id);
    expect(await codeOf(exportModel(source, 'team', 'nope'))).toBe('model-not-found');
  });
});
