import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HangarError } from '../../shared/errors.ts';
import { sha256Hex, uuidv7 } from '../../shared/ids.ts';
import { listArtifacts, readArtifact, trackArtifacts, uploadArtifacts } from './artifacts.ts';
import { setBlobChunkBytes } from './blob-store.ts';
import type { ClientContext } from './context.ts';
import { errorOf, seededContext } from './test-helpers.ts';

let n = 0;
const setup = () => seededContext(`artifacts-${n++}`);

const text = (s: string) => new TextEncoder().encode(s);
const bytesOf = async (b: Blob) => new Uint8Array(await b.arrayBuffer());
const counts = async ({ db }: ClientContext) => ({
  artifacts: await db.artifacts.count(),
  blobs: await db.blobs.count(),
  chunks: await db.blobChunks.count(),
  outbox: await db.outbox.count(),
});


let previous = 0;
beforeAll(() => {
  previous = setBlobChunkBytes(8);
});
afterAll(() => {
  setBlobChunkBytes(previous);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('uploadArtifacts', () => {
  it('stores a File under its name and a Blob under its path, with one artifact.register each', async () => {
    const { ctx, version } = await setup();
    const weights = text('0123456789abcdefghij');
    const out = await uploadArtifacts(ctx, version, [
      new File([text('{"a":1}')], 'model.json'),
      { file: new Blob([weights]), path: 'weights/group1.bin' },
      { file: new Blob([text('hi')]), path: 'notes', mimeType: 'text/plain', fileType: 'TEXT' },
    ]);
    expect(out.map((a) => [a.path, a.mimeType, a.fileType, a.size, a.stored])).toEqual([
      ['model.json', 'application/json', 'MODEL', 7, true],
      ['weights/group1.bin', 'application/octet-stream', 'UNDEFINED', 20, true],
      ['notes', 'text/plain', 'TEXT', 2, true],
    ]);
    expect(out[1]!.sha256).toBe(await sha256Hex(weights));
    expect(out[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const rows = await ctx.db.artifacts.toArray();
    const mutations = await ctx.db.outbox.toArray();
    expect(mutations.map((m) => [m.name, m.namespace])).toEqual(Array(3).fill(['artifact.register', 'team']));
    const weightsRow = rows.find((r) => r.path === 'weights/group1.bin')!;
    expect(mutations[1]!.args).toEqual({
      parentId: version.id,
      id: weightsRow.id,
      path: 'weights/group1.bin',
      size: 20,
      sha256: out[1]!.sha256,
      mimeType: 'application/octet-stream',
      fileType: 'UNDEFINED',
    });
    expect(await ctx.db.blobChunks.count()).toBe(1 + 3 + 1);
  });

  it('reports progress per file', async () => {
    const { ctx, model } = await setup();
    const seen: string[] = [];
    await uploadArtifacts(ctx, model, [{ file: new Blob([text('x'.repeat(20))]), path: 'a.bin' }], {
      onProgress: (p) => seen.push(`${p.path}:${p.loaded}/${p.total}`),
    });
    expect(seen).toEqual(['a.bin:8/20', 'a.bin:16/20', 'a.bin:20/20']);
  });

  it('refuses the whole call, storing nothing, when one file is invalid', async () => {
    const { ctx, model } = await setup();
    const good = { file: new Blob([text('ok')]), path: 'ok.txt' };
    const cases: Parameters<typeof uploadArtifacts>[2][] = [
      [good, new Blob([text('no path')])],
      [good, { file: new Blob([text('x')]), path: '../escape' }],
      [good, { file: new Blob([text('x')]), path: 'a//b' }],
      [good, { file: new Blob([text('x')]), path: 'x.bin', mimeType: 'not a mime' }],
      [good, { file: new Blob([text('x')]), path: 'x.bin', fileType: 'WEIGHTS' as 'MODEL' }],
      [good, { file: new Blob([text('x')]), path: 'checkpoints/epoch_1/w.bin' }],
      [good, { ...good }],
    ];
    for (const files of cases) {
      const err = await errorOf(uploadArtifacts(ctx, model, files));
      expect(err.code).toBe('invalid-argument');
      expect(err.details?.issues).toEqual([expect.objectContaining({ path: expect.stringMatching(/^files\.1/) })]);
    }
    expect(await counts(ctx)).toEqual({ artifacts: 0, blobs: 0, chunks: 0, outbox: 0 });
  });

  it('returns the existing artifact for the same path and bytes, with no new row or mutation', async () => {
    const { ctx, model } = await setup();
    const [first] = await uploadArtifacts(ctx, model, [{ file: new Blob([text('same bytes')]), path: 'a.bin' }]);
    const before = await counts(ctx);
    const [again] = await uploadArtifacts(ctx, model, [{ file: new Blob([text('same bytes')]), path: 'a.bin' }]);
    expect(again).toEqual(first);
    expect(await counts(ctx)).toEqual(before);
  });

  it('fails with artifact-conflict for other bytes at a path, rolling back the whole call', async () => {
    const { ctx, model } = await setup();
    const [existing] = await uploadArtifacts(ctx, model, [{ file: new Blob([text('original')]), path: 'a.bin' }]);
    const before = await counts(ctx);
    const err = await errorOf(
      uploadArtifacts(ctx, model, [
        { file: new Blob([text('a new file')]), path: 'b.bin' },
        { file: new Blob([text('changed!')]), path: 'a.bin' },
      ]),
    );
    expect(err.code).toBe('artifact-conflict');
    expect(err.details).toMatchObject({ path: 'a.bin', existing });
    expect(await counts(ctx)).toEqual(before);
    expect(await bytesOf(await readArtifact(ctx, model.id, 'a.bin'))).toEqual(text('original'));
  });

  it('keeps the bytes of a conflicting upload that another artifact holds', async () => {
    const { ctx, model, version } = await setup();
    await uploadArtifacts(ctx, version, [{ file: new Blob([text('shared bytes')]), path: 'other.bin' }]);
    await uploadArtifacts(ctx, model, [{ file: new Blob([text('first')]), path: 'a.bin' }]);
    const before = await counts(ctx);
    expect((await errorOf(uploadArtifacts(ctx, model, [{ file: new Blob([text('shared bytes')]), path: 'a.bin' }]))).code).toBe('artifact-conflict');
    expect(await counts(ctx)).toEqual(before);
    expect(await bytesOf(await readArtifact(ctx, version.id, 'other.bin'))).toEqual(text('shared bytes'));
  });

  it('stores bytes once when two artifacts hold the same content', async () => {
    const { ctx, model, version } = await setup();
    await uploadArtifacts(ctx, model, [{ file: new Blob([text('identical content')]), path: 'a.bin' }]);
    await uploadArtifacts(ctx, version, [{ file: new Blob([text('identical content')]), path: 'b.bin' }]);
    expect(await ctx.db.artifacts.count()).toBe(2);
    expect(await ctx.db.blobs.count()).toBe(1);
    expect(await ctx.db.blobChunks.count()).toBe(3);
  });
});

describe('trackArtifacts', () => {
  it('records artifacts by URL, with the URL in the mutation, and refuses one without a URL', async () => {
    const { ctx, model } = await setup();
    const [a] = await trackArtifacts(ctx, model, [{ path: 'data/train.csv', url: 'https://example.com/train.csv', size: 10 }]);
    expect(a).toMatchObject({ path: 'data/train.csv', url: 'https://example.com/train.csv', mimeType: 'text/csv', fileType: 'TEXT', size: 10, sha256: null, stored: false });
    const [m] = await ctx.db.outbox.toArray();
    expect(m!.args).toMatchObject({ parentId: model.id, path: 'data/train.csv', url: 'https://example.com/train.csv', size: 10, sha256: null });
    expect(await trackArtifacts(ctx, model, [{ path: 'data/train.csv', url: 'https://example.com/train.csv', size: 10 }])).toEqual([a]);
    expect(await ctx.db.outbox.count()).toBe(1);
    const missing = await errorOf(trackArtifacts(ctx, model, [{ path: 'x.csv' } as { path: string; url: string }]));
    expect(missing).toMatchObject({ code: 'invalid-argument', details: { issues: [{ path: 'items.0.url', message: expect.any(String) }] } });
    expect((await errorOf(trackArtifacts(ctx, model, [{ path: 'y.csv', url: 'ftp://example.com/y' }]))).code).toBe('invalid-argument');
    expect((await errorOf(trackArtifacts(ctx, model, [{ path: 'data/train.csv', url: 'https://example.com/v2.csv' }]))).code).toBe('artifact-conflict');
  });
});

describe('listArtifacts and readArtifact', () => {
  it('lists by path with whether the bytes are on this device', async () => {
    const { ctx, model } = await setup();
    await uploadArtifacts(ctx, model, [{ file: new Blob([text('b')]), path: 'b.txt' }]);
    await trackArtifacts(ctx, model, [{ path: 'a.txt', url: 'https://example.com/a.txt' }]);
    await ctx.db.artifacts.add({ ...(await ctx.db.artifacts.toArray())[0]!, id: uuidv7(), path: 'c.bin', sha256: 'a'.repeat(64) });
    expect((await listArtifacts(ctx, model.id)).map((a) => [a.path, a.stored])).toEqual([
      ['a.txt', false],
      ['b.txt', true],
      ['c.bin', false],
    ]);
  });

  it('reads stored bytes as a Blob typed with the MIME type, and says why when it cannot', async () => {
    const { ctx, model } = await setup();
    await uploadArtifacts(ctx, model, [{ file: new Blob([text('{"w":[1,2,3]}')]), path: 'model.json' }]);
    const blob = await readArtifact(ctx, model.id, 'model.json');
    expect(blob.type).toBe('application/json');
    expect(await blob.text()).toBe('{"w":[1,2,3]}');
    expect((await errorOf(readArtifact(ctx, model.id, 'nope.json'))).code).toBe('artifact-not-found');
    expect((await errorOf(readArtifact(ctx, model.id, '/abs'))).code).toBe('invalid-argument');
    const row = (await ctx.db.artifacts.toArray())[0]!;
    await ctx.db.artifacts.add({ ...row, id: uuidv7(), path: 'synced.bin', sha256: 'b'.repeat(64) });
    const missing = await readArtifact(ctx, model.id, 'synced.bin').catch((e: HangarError) => e);
    expect(missing).toMatchObject({ code: 'blob-not-found', message: expect.stringContaining('not on this device yet') });
  });

  it('fetches a tracked artifact from its URL', async () => {
    const { ctx, model } = await setup();
    await trackArtifacts(ctx, model, [{ path: 'a.txt', url: 'https://example.com/a.txt' }]);
    const fetchMock = vi.fn(async () => new Response('remote text', { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const blob = await readArtifact(ctx, model.id, 'a.txt');
    expect(fetchMock).toHaveBeenCalledWith('https://example.com/a.txt');
    expect([blob.type, await blob.text()]).toEqual(['text/plain', 'remote text']);
    vi.stubGlobal('fetch', async () => new Response('gone', { status: 404 }));
    expect(await errorOf(readArtifact(ctx, model.id, 'a.txt'))).toMatchObject({ code: 'blob-not-found', details: { status: 404 } });
  });

  it('checks a tracked artifact against its declared SHA-256: other bytes are digest-mismatch, nothing kept', async () => {
    const { ctx, model } = await setup();
    const right = text('the declared bytes');
    await trackArtifacts(ctx, model, [{ path: 'd.bin', url: 'https://example.com/d.bin', sha256: await sha256Hex(right), size: right.length }]);
    vi.stubGlobal('fetch', async () => new Response(text('other bytes, same size')));
    const before = await counts(ctx);
    expect(await errorOf(readArtifact(ctx, model.id, 'd.bin'))).toMatchObject({ code: 'digest-mismatch', details: { path: 'd.bin' } });
    expect(await counts(ctx)).toEqual(before);
    vi.stubGlobal('fetch', async () => new Response(right));
    expect(await bytesOf(await readArtifact(ctx, model.id, 'd.bin'))).toEqual(right);
  });
});
