import { describe, expect } from 'vitest';
import { expectNoPageErrors, overrideQuota, test } from './browser.ts';

// The client library in real Chromium: real IndexedDB, the hashing Web Worker, two tabs.
describe('the registry in the browser', () => {
  test('keeps models, versions, metrics and artifact bytes across a reload', async ({ browser }) => {
    const page = await browser.newPage();
    const written = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'reload' });
      const model = await hangar.newModel({ namespace: 'team', name: 'churn', task: 'tabular' });
      const v = await model.newVersion({ version: 'q3', uniqueTags: ['production'] });
      for (let step = 0; step < 100; step++) void v.logMetrics({ loss: 1 / (step + 1) }, { step });
      await hangar.flush();
      await v.updateMetadata('params', { epochs: 100 });
      const bytes = window.randomBytes(1 << 20);
      const [artifact] = await v.uploadArtifacts([{ file: new Blob([bytes]), path: 'model/weights.bin' }]);
      const digest = await window.sha256Hex(bytes);
      return { sha256: artifact?.sha256, digest };
    });
    expect(written.sha256).toBe(written.digest);
    await browser.reload(page);
    const read = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'reload' });
      const v = await hangar.find('team/churn@production');
      const blob = await v.readArtifact('model/weights.bin');
      const digest = await window.sha256Hex(blob);
      return { number: v.number, label: v.version, loss: (await v.metrics()).loss?.count, params: (await v.metadata()).params, digest, size: blob.size };
    });
    expect(read).toEqual({ number: 1, label: 'q3', loss: 100, params: { epochs: 100 }, digest: written.digest, size: 1 << 20 });
    expectNoPageErrors(page);
  });

  test('shows one tab the writes of another through live queries', async ({ browser }) => {
    const watcher = await browser.newPage();
    await watcher.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'tabs' });
      (window as unknown as { seen: string[][] }).seen = [];
      hangar.live(() => hangar.models()).subscribe((models) => {
        (window as unknown as { seen: string[][] }).seen.push(models.map((m) => m.name));
      });
    });
    const writer = await browser.newPage();
    await writer.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'tabs' });
      await hangar.newModel({ namespace: 'team', name: 'from-the-other-tab' });
    });
    await watcher.waitForFunction(() => (window as unknown as { seen: string[][] }).seen.some((names) => names.includes('from-the-other-tab')));
    expectNoPageErrors(watcher);
    expectNoPageErrors(writer);
  });

  test('follows, in a live query given as a plain function, what it reads after its first await', async ({ browser }) => {
    const page = await browser.newPage();
    const seen = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'live-plain' });
      const run = await (await hangar.newModel({ namespace: 'team', name: 'churn' })).newVersion();
      await run.logMetrics({ loss: 0.5 }, { step: 1 });
      await hangar.flush();
      // Reads behind two awaits of its own, as an app's helper does: the model, its versions, then their metrics.
      const finalLosses = async () => {
        const model = await hangar.model('team', 'churn');
        const versions = await model.versions();
        return Promise.all(versions.map(async (v) => (await v.metrics()).loss?.last));
      };
      const values: (number | undefined)[][] = [];
      const sub = hangar.live(() => finalLosses()).subscribe((v) => values.push(v));
      const until = async (ok: () => boolean) => {
        for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      };
      await until(() => values.length === 1);
      await run.logMetrics({ loss: 0.25 }, { step: 2 });
      await hangar.flush();
      await until(() => values.at(-1)?.[0] === 0.25);
      sub.unsubscribe();
      return values;
    });
    expect(seen[0]).toEqual([0.5]);
    expect(seen.at(-1)).toEqual([0.25]);
    expectNoPageErrors(page);
  });

  test('leaves nothing behind when a write fails half-way', async ({ browser }) => {
    const page = await browser.newPage();
    const result = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'abort' });
      const model = await hangar.newModel({ namespace: 'team', name: 'churn' });
      const v = await model.newVersion({ version: 'q3' });
      const count = async () => ({
        versions: await hangar.db.versions.count(),
        artifacts: await hangar.db.artifacts.count(),
        blobs: await hangar.db.blobs.count(),
        chunks: await hangar.db.blobChunks.count(),
        outbox: await hangar.db.outbox.count(),
      });
      const before = await count();
      const codes: string[] = [];
      // A taken label; a batch whose second file has a forbidden path; bytes at a path that holds other bytes.
      await model.newVersion({ version: 'q3', metadata: { a: 1 } }).catch((e) => codes.push(e.code));
      await v.uploadArtifacts([{ file: new Blob(['ok']), path: 'ok.txt' }, { file: new Blob(['x']), path: '../escape' }]).catch((e) => codes.push(e.code));
      await v.uploadArtifacts([{ file: new Blob(['one']), path: 'same.txt' }]);
      const middle = await count();
      await v.uploadArtifacts([{ file: new Blob(['two']), path: 'same.txt' }]).catch((e) => codes.push(e.code));
      return { before, middle, after: await count(), codes };
    });
    expect(result.codes).toEqual(['version-label-taken', 'invalid-argument', 'artifact-conflict']);
    expect(result.after).toEqual(result.middle);
    expect(result.middle).toEqual({ ...result.before, artifacts: 1, blobs: 1, chunks: 1, outbox: result.before.outbox + 1 });
    expectNoPageErrors(page);
  });

  test('reports a full quota as quota-exceeded and keeps what was stored', async ({ browser }) => {
    const page = await browser.newPage();
    await overrideQuota(page, 4 << 20);
    const upload = (bytes: number, path: string) =>
      page.evaluate(
        async ({ bytes, path }) => {
          const hangar = await window.openRegistry({ name: 'quota' });
          const model = await hangar.model('team', 'churn').catch(() => hangar.newModel({ namespace: 'team', name: 'churn' }));
          const v = await model.version(1).catch(() => model.newVersion());
          try {
            await v.uploadArtifacts([{ file: new Blob([window.randomBytes(bytes)]), path }]);
            return { code: 'stored', message: '' };
          } catch (e) {
            const err = e as { code: string; message: string };
            return { code: err.code, message: err.message };
          } finally {
            await hangar.close();
          }
        },
        { bytes, path },
      );
    expect(await upload(1 << 20, 'small.bin')).toEqual({ code: 'stored', message: '' });
    const failure = await upload(8 << 20, 'big.bin');
    expect(failure.code).toBe('quota-exceeded');
    expect(failure.message).toMatch(/storage for this site is full, so the file was not saved/);
    await overrideQuota(page);
    const after = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'quota' });
      const v = await hangar.find('team/churn/1');
      return { paths: (await v.artifacts()).map((a) => a.path), small: (await v.readArtifact('small.bin')).size, chunks: await hangar.db.blobChunks.count() };
    });
    // Nothing of the file that did not fit is left; everything stored before it is intact.
    expect(after).toEqual({ paths: ['small.bin'], small: 1 << 20, chunks: 1 });
    expectNoPageErrors(page);
  });

  test('exports, wipes and imports a model back with identical rows and checksums', async ({ browser }) => {
    const page = await browser.newPage();
    const result = await page.evaluate(async () => {
      const snapshot = async (hangar: Awaited<ReturnType<typeof window.openRegistry>>) => {
        const model = await hangar.model('team', 'churn');
        const versions = await model.versions();
        return {
          model: { id: model.id, task: model.task, metadata: await model.metadata() },
          aliases: await model.aliases(),
          versions: await Promise.all(
            versions.map(async (v) => ({
              id: v.id,
              number: v.number,
              metrics: await v.metrics(),
              artifacts: (await v.artifacts()).map(({ path, sha256, size, fileType }) => ({ path, sha256, size, fileType })),
              checkpoint: (await v.loadCheckpoint().catch(() => undefined))?.files.map((f) => [f.path, f.sha256]),
            })),
          ),
        };
      };
      let hangar = await window.openRegistry({ name: 'roundtrip' });
      const model = await hangar.newModel({ namespace: 'team', name: 'churn', task: 'tabular', metadata: { team: 'growth' } });
      for (let i = 0; i < 2; i++) {
        const v = await model.newVersion();
        await v.logMetrics({ loss: 0.5 - i / 10, accuracy: 0.8 + i / 10 }, { step: i });
        await v.uploadArtifacts([{ file: new Blob([window.randomBytes(300_000)]), path: `weights-${i}.bin` }]);
        await v.saveCheckpoint(`epoch_${i}`, { 'state.json': new Blob([JSON.stringify({ i })]) });
      }
      await model.setAlias('production', 2);
      const before = await snapshot(hangar);
      const archive = await hangar.exportModel('team', 'churn');
      await hangar.close();
      await window.Dexie.delete('roundtrip');
      hangar = await window.openRegistry({ name: 'roundtrip' });
      const empty = (await hangar.models()).length;
      await hangar.importModel(archive);
      const after = await snapshot(hangar);
      const outbox = await hangar.db.outbox.count();
      await hangar.importModel(archive);
      return { before, after, empty, size: archive.size, again: (await hangar.db.outbox.count()) - outbox };
    });
    expect(result.empty).toBe(0);
    expect(result.after).toEqual(result.before);
    expect(result.again).toBe(0);
    expect(result.before.versions[1]?.artifacts[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expectNoPageErrors(page);
  });

  test('hashes a large file in the hashing worker to the same digest the browser computes', async ({ browser }) => {
    const page = await browser.newPage();
    const result = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'hash' });
      const v = await (await hangar.newModel({ namespace: 'team', name: 'big' })).newVersion();
      const file = new File([window.randomBytes(12 << 20)], 'weights.bin');
      const progress: number[] = [];
      const [artifact] = await v.uploadArtifacts([file], { onProgress: (p) => progress.push(p.loaded) });
      const digest = await window.sha256Hex(file);
      return { sha256: artifact?.sha256, digest, path: artifact?.path, last: progress.at(-1), steps: progress.length };
    });
    expect(result.sha256).toBe(result.digest);
    expect(result.path).toBe('weights.bin');
    expect(result.last).toBe(12 << 20);
    expect(result.steps).toBeGreaterThan(1);
    expectNoPageErrors(page);
  });
});
