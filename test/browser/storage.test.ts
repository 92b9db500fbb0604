import { describe, expect } from 'vitest';
import { referenceBuckets } from '../../shared/downsample.cases.ts';
import { expectNoPageErrors, test } from './browser.ts';

const MiB = 1024 * 1024;

// Deleting gives the space back (DESIGN §3b): the blobs and chunks of a deleted model go as
// soon as the delete commits, and the browser's own count of the site's storage drops.
describe('storage given back', () => {
  test('deleting a model with a large artifact drops navigator.storage.estimate() by about its size', async ({ browser }) => {
    const page = await browser.newPage();
    const size = 48 * MiB;
    const result = await page.evaluate(async (size) => {
      const usage = async () => (await navigator.storage.estimate()).usage ?? 0;
      const hangar = await window.openRegistry({ name: 'estimate', persist: false });
      const keep = await (await hangar.newModel({ namespace: 'team', name: 'keep' })).newVersion();
      await keep.uploadArtifacts([{ file: new Blob([window.randomBytes(1 << 20)]), path: 'small.bin' }]);
      const model = await hangar.newModel({ namespace: 'team', name: 'big' });
      const v = await model.newVersion();
      await v.uploadArtifacts([{ file: new Blob([window.randomBytes(size)]), path: 'weights.bin' }]);
      const before = await usage();
      await model.delete();
      const counts = { blobs: await hangar.db.blobs.count(), chunks: await hangar.db.blobChunks.count() };
      // Chromium deletes the blob files once the transaction commits and updates its count
      // right after: wait for that (the test's own timeout bounds the wait).
      let after = await usage();
      while (before - after < size * 0.99) {
        await new Promise((r) => setTimeout(r, 50));
        after = await usage();
      }
      const kept = (await keep.readArtifact('small.bin')).size;
      return { before, after, counts, kept };
    }, size);
    expect(result.counts).toEqual({ blobs: 1, chunks: 1 });
    expect(result.kept).toBe(1 << 20);
    expect(result.before - result.after).toBeGreaterThanOrEqual(size * 0.99);
    expectNoPageErrors(page);
  });

  test('a tab closed while it logs points leaves every segment with its summary: what is stored is whole', async ({ browser }) => {
    const page = await browser.newPage();
    await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'killed', persist: false });
      const v = await (await hangar.newModel({ namespace: 'team', name: 'm' })).newVersion();
      await v.logMetrics({ loss: -1 }, { step: 0 });
      // Points logged as fast as the page can, never awaited: the tab closes in the middle.
      let step = 1;
      const more = () => {
        for (let i = 0; i < 5000; i++, step++) void v.logMetrics({ loss: step, acc: -step }, { step });
        setTimeout(more, 0);
      };
      more();
      // Until some batches are stored; the tab closes while later ones are still being written.
      while (((await v.metrics()).loss?.count ?? 0) < 20_000) await new Promise((r) => setTimeout(r, 20));
    });
    await page.close({ runBeforeUnload: false });
    const again = await browser.newPage();
    const seen = await again.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'killed', persist: false });
      const v = await hangar.find('team/m/1');
      const summary = await v.metrics();
      const loss = await v.metricHistory('loss');
      const acc = await v.metricHistory('acc');
      return { summary, loss: loss.map((p) => p.step), acc: acc.map((p) => p.step), accValues: acc.map((p) => p.value) };
    });
    // Whole batches or nothing: each key's points are a run of steps with no gap, and its summary counts exactly them.
    expect(seen.loss.length).toBeGreaterThan(1);
    expect(seen.loss).toEqual(Array.from({ length: seen.loss.length }, (_, i) => i));
    expect(seen.acc).toEqual(seen.loss.slice(1));
    expect(seen.summary.loss).toEqual({ count: seen.loss.length, min: -1, max: seen.loss.length - 1, last: seen.loss.length - 1, lastStep: seen.loss.length - 1 });
    expect(seen.summary.acc).toMatchObject({ count: seen.acc.length, min: -seen.acc.length, max: -1 });
    expectNoPageErrors(again);
  });

  test('opens a registry of the previous schema (version 3, a row per point) with every point carried into segments', async ({ browser }) => {
    const page = await browser.newPage();
    const seen = await page.evaluate(async () => {
      const V1 = {
        models: 'id, &[namespace+name], namespace, task, updatedAt',
        versions: 'id, [modelId+number], [modelId+version], modelId',
        metadata: '[parentId+key], parentId',
        metrics: 'id, [parentId+key+step]',
        aliases: '[modelId+alias], versionId',
        aliasHistory: 'id, [modelId+alias]',
        artifacts: 'id, &[parentId+path], parentId, sha256',
        blobs: 'sha256, chunksId',
        blobChunks: '[chunksId+index]',
        checkpoints: '[versionId+handle], versionId',
        outbox: '++seq',
        state: 'key',
      };
      const old = new window.Dexie('upgrade');
      old.version(1).stores(V1);
      old.version(2).stores({ jobs: 'id, status, submitted' });
      old.version(3).stores({ conflicts: 'id, resolved', uploads: '[namespace+sha256]', outbox: '++seq, namespace' });
      await old.open();
      const now = Date.now();
      await old.table('models').add({ id: 'm1', namespace: 'team', name: 'churn', owner: null, task: null, description: null, clocks: {}, createdAt: now, updatedAt: now, deletedAt: null });
      await old.table('versions').add({ ...{ id: 'v1', modelId: 'm1', namespace: 'team', number: 1, numberConfirmed: false, version: null, name: null, description: null, framework: null }, ...{ status: 'ready', clocks: {}, createdAt: now, updatedAt: now, deletedAt: null } });
      const rows = Array.from({ length: 3000 }, (_, i) => ({ id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`, parentId: 'v1', key: i % 3 ? 'loss' : 'acc', value: Math.sin(i), step: 2999 - i, wallclock: now + i }));
      await old.table('metrics').bulkAdd(rows);
      old.close();
      const hangar = await window.openRegistry({ name: 'upgrade', persist: false });
      const v = await hangar.find('team/churn/1');
      const history = await v.metricHistory('loss');
      const bucketed = await v.metricHistory('loss', { maxPoints: 40 });
      const expected = rows.filter((r) => r.key === 'loss').sort((a, b) => a.step - b.step);
      return {
        verno: hangar.db.verno,
        same: JSON.stringify(history) === JSON.stringify(expected.map(({ step, value, wallclock }) => ({ step, value, wallclock }))),
        summary: await v.metrics(),
        count: expected.length,
        lossMin: Math.min(...expected.map((r) => r.value)),
        cells: await hangar.db.metricCells.count(),
        bucketed,
        expected,
      };
    });
    expect(seen.verno).toBe(8);
    expect(seen.same).toBe(true);
    // Version 7 made the cells of each series; the buckets they answer are the points' own.
    expect(seen.cells).toBeGreaterThan(0);
    expect(seen.bucketed).toEqual(referenceBuckets(seen.expected, seen.expected[0]!.step, seen.expected.at(-1)!.step, 40));
    expect(seen.summary.loss).toMatchObject({ count: seen.count, min: seen.lossMin, lastStep: 2998 });
    expect(seen.summary.acc?.count).toBe(1000);
    expectNoPageErrors(page);
  });
});
