import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../shared/ids.ts';
import { uploadArtifacts } from './artifacts.ts';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from './checkpoints.ts';
import { codeOf, seededContext } from './test-helpers.ts';

let n = 0;
const setup = () => seededContext(`checkpoints-${n++}`);

const blob = (s: string) => new Blob([new TextEncoder().encode(s)]);


describe('checkpoints', () => {
  it('saves files under checkpoints/<handle>/ as CHECKPOINT artifacts, moves default, and loads them back', async () => {
    const { ctx, version } = await setup();
    const saved = await saveCheckpoint(ctx, version, 'epoch_1', { 'model.json': blob('{"e":1}'), 'weights.bin': blob('1111') });
    expect(saved.handle).toBe('epoch_1');
    expect(saved.files.map((f) => [f.file, f.path, f.fileType, f.stored])).toEqual([
      ['model.json', 'checkpoints/epoch_1/model.json', 'CHECKPOINT', true],
      ['weights.bin', 'checkpoints/epoch_1/weights.bin', 'CHECKPOINT', true],
    ]);
    const [m] = await ctx.db.outbox.toArray();
    expect(m).toMatchObject({
      name: 'checkpoint.save',
      namespace: 'team',
      args: {
        versionId: version.id,
        handle: 'epoch_1',
        setAsDefault: true,
        files: [
          { path: 'model.json', size: 7, sha256: await sha256Hex('{"e":1}'), mimeType: 'application/json' },
          { path: 'weights.bin', size: 4, sha256: await sha256Hex('1111'), mimeType: 'application/octet-stream' },
        ],
      },
    });
    const loaded = await loadCheckpoint(ctx, version.id);
    expect(loaded.handle).toBe('default');
    expect(loaded.target).toBe('epoch_1');
    expect(await Promise.all(loaded.files.map(async (f) => [f.path, await f.blob.text(), f.blob.type]))).toEqual([
      ['model.json', '{"e":1}', 'application/json'],
      ['weights.bin', '1111', 'application/octet-stream'],
    ]);
    expect((await loadCheckpoint(ctx, version.id, 'epoch_1')).target).toBeUndefined();
  });

  it('moves default to the last checkpoint saved unless setAsDefault is false', async () => {
    const { ctx, version } = await setup();
    await saveCheckpoint(ctx, version, 'epoch_1', [{ file: blob('a'), path: 'w.bin' }]);
    await saveCheckpoint(ctx, version, 'epoch_2', [{ file: blob('b'), path: 'w.bin' }]);
    await saveCheckpoint(ctx, version, 'try', [{ file: blob('c'), path: 'w.bin' }], { setAsDefault: false });
    const list = await listCheckpoints(ctx, version.id);
    expect(list.default).toBe('epoch_2');
    expect(list.items.map((i) => i.handle).sort()).toEqual(['epoch_1', 'epoch_2', 'try']);
    expect(await (await loadCheckpoint(ctx, version.id)).files[0]!.blob.text()).toBe('b');
    expect((await ctx.db.outbox.toArray()).map((m) => (m.args as { setAsDefault: boolean }).setAsDefault)).toEqual([true, true, false]);
  });

  it('is immutable: the same files again change nothing, other files fail with checkpoint-exists', async () => {
    const { ctx, version } = await setup();
    const first = await saveCheckpoint(ctx, version, 'v1', { 'w.bin': blob('same') });
    const chunks = await ctx.db.blobChunks.count();
    expect(await saveCheckpoint(ctx, version, 'v1', { 'w.bin': blob('same') })).toEqual(first);
    expect(await codeOf(saveCheckpoint(ctx, version, 'v1', { 'w.bin': blob('other') }))).toBe('checkpoint-exists');
    expect(await codeOf(saveCheckpoint(ctx, version, 'v1', { 'w.bin': blob('same'), 'x.bin': blob('x') }))).toBe('checkpoint-exists');
    expect(await ctx.db.outbox.count()).toBe(1);
    expect(await ctx.db.blobChunks.count()).toBe(chunks);
    expect(await ctx.db.artifacts.count()).toBe(1);
  });

  it('refuses bad handles, `default`, empty or invalid file lists, and model parents', async () => {
    const { ctx, version, model } = await setup();
    expect(await codeOf(saveCheckpoint(ctx, version, 'default', { 'w.bin': blob('a') }))).toBe('invalid-argument');
    expect(await codeOf(saveCheckpoint(ctx, version, 'bad handle', { 'w.bin': blob('a') }))).toBe('invalid-argument');
    expect(await codeOf(saveCheckpoint(ctx, version, 'ok', {}))).toBe('invalid-argument');
    expect(await codeOf(saveCheckpoint(ctx, version, 'ok', { '../w.bin': blob('a') }))).toBe('invalid-argument');
    expect(await codeOf(saveCheckpoint(ctx, model, 'ok', { 'w.bin': blob('a') }))).toBe('invalid-argument');
    expect(await ctx.db.blobChunks.count()).toBe(0);
    expect(await codeOf(loadCheckpoint(ctx, version.id))).toBe('checkpoint-not-found');
    expect(await codeOf(loadCheckpoint(ctx, version.id, 'nope'))).toBe('checkpoint-not-found');
    expect(await listCheckpoints(ctx, version.id)).toEqual({ items: [], default: null });
  });

  it('keeps checkpoint paths away from plain uploads, and plain artifacts away from checkpoints', async () => {
    const { ctx, version } = await setup();
    expect(await codeOf(uploadArtifacts(ctx, version, [{ file: blob('x'), path: 'checkpoints/v1/w.bin' }]))).toBe('invalid-argument');
    await saveCheckpoint(ctx, version, 'v1', { 'w.bin': blob('x') });
    expect((await ctx.db.artifacts.toArray()).map((a) => a.path)).toEqual(['checkpoints/v1/w.bin']);
  });
});
