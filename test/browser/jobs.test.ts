import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';

// Job management in real Chromium: the LOCAL trainer and predictor with the real module Web
// Workers (web/jobs/*.worker.ts), job records in real IndexedDB across a reload, and the
// hangar:// tfjs routers with a model built in the page.
const JOBS_PAGE = '/test/browser/fixtures/jobs.html';

/** Dedicated workers of the page running a given entry (Playwright sees them through CDP). */
const workersOf = (page: Page, entry: string) => page.workers().filter((w) => w.url().includes(entry));

describe('jobs in the browser', () => {
  test('trains Iris through the local trainer: a ready version with live per-epoch metrics, checkpoints, model files and lineage', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'train' });
      const job = hangar.trainer('local').train('tabular-classifier', {
        data: await window.jobsKit.iris(),
        target: 'species',
        params: { epochs: 12, hidden: [16] },
        saveAs: { namespace: 'team', model: 'iris' },
        checkpointEvery: 4,
        backends: ['wasm', 'cpu'],
      });
      const epochs: number[] = [];
      let liveLoss = 0;
      job.onProgress((p) => {
        epochs.push(p.epoch);
        // What the UI would see while training runs: the version's metrics so far.
        if (p.epoch === 6) void hangar.find('team/iris/1').then(async (v) => (liveLoss = (await v.metricHistory('loss')).length));
      });
      const version = await job.result();
      const info = await job.info();
      const again = await (await hangar.job(job.id)).info();
      return {
        id: job.id,
        epochs,
        liveLoss,
        info,
        againStatus: again.status,
        version: { status: version.status, framework: version.framework, number: version.number },
        lossSteps: (await version.metricHistory('loss')).map((p) => p.step),
        accuracy: (await version.metrics()).accuracy?.count,
        checkpoints: await version.checkpoints(),
        modelFiles: (await version.artifacts()).filter((a) => a.path.startsWith('model/')).map((a) => [a.path, a.fileType]),
        metadata: await version.metadata(),
        csvSha256: await window.sha256Hex(await window.jobsKit.iris()),
      };
    });
    expect(out.id).toMatch(/^local:/);
    expect(out.epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(out.liveLoss).toBeGreaterThanOrEqual(1);
    expect(out.info).toMatchObject({ status: 'completed', type: 'train', module: 'tabular-classifier', lastCheckpoint: { epoch: 12 }, error: null });
    expect(['wasm', 'cpu']).toContain(out.info.backend);
    expect(out.againStatus).toBe('completed');
    expect(out.version).toEqual({ status: 'ready', framework: 'tfjs', number: 1 });
    expect(out.lossSteps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(out.accuracy).toBe(12);
    expect(out.checkpoints.items.map((c) => c.handle)).toEqual(['epoch_4', 'epoch_8', 'epoch_12']);
    expect(out.checkpoints.default).toBe('epoch_12');
    expect(out.modelFiles.length).toBeGreaterThanOrEqual(2);
    expect(out.modelFiles).toContainEqual(['model/model.json', 'MODEL']);
    expect(out.metadata.module).toBe('tabular-classifier');
    expect(out.metadata.lineage).toMatchObject({ module: 'tabular-classifier', datasetSha256: out.csvSha256, job: out.id, backend: out.info.backend });
    expect((out.metadata.lineage as { params: { epochs: number; hidden: number[] } }).params).toMatchObject({ epochs: 12, hidden: [16] });
    expect(workersOf(page, 'train.worker')).toEqual([]);
    expectNoPageErrors(page);
  });

  test('tries backends in priority order and records the one used', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const info = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'backends' });
      const job = hangar.trainer('local').train('tabular-regressor', {
        data: await window.jobsKit.iris(),
        target: 'petal_width',
        params: { epochs: 2, features: ['sepal_length', 'sepal_width', 'petal_length'] },
        saveAs: { namespace: 'team', model: 'width' },
        checkpointEvery: 0,
      });
      return { info: await job.wait(), lineage: (await (await job.result()).metadata()).lineage };
    });
    expect(info.info.status).toBe('completed');
    // No GPU in this Chromium: webgpu cannot start, so a later backend of the default list runs it.
    expect(['webgl', 'wasm', 'cpu']).toContain(info.info.backend);
    expect((info.lineage as { backend: string }).backend).toBe(info.info.backend);
    expectNoPageErrors(page);
  });

  test('cancels a training job mid-run: canceled, its worker terminated, its version failed', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'cancel' });
      const job = hangar.trainer('local').train('tabular-classifier', {
        data: await window.jobsKit.iris(),
        target: 'species',
        params: { epochs: 5000 },
        saveAs: { namespace: 'team', model: 'iris' },
        backends: ['cpu'],
      });
      (window as unknown as { jobId: string }).jobId = job.id;
      await new Promise<void>((resolve) => job.onProgress((p) => p.epoch >= 2 && resolve()));
    });
    expect(workersOf(page, 'train.worker')).toHaveLength(1);
    const closed = new Promise<void>((resolve) => workersOf(page, 'train.worker')[0]!.on('close', () => resolve()));
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'cancel' });
      const id = (window as unknown as { jobId: string }).jobId;
      const job = await hangar.job(id);
      const started = Date.now();
      await job.cancel();
      const info = await job.info();
      return {
        info,
        took: Date.now() - started,
        version: (await hangar.find('team/iris/1')).status,
        result: await window.jobsKit.failure(() => job.result()),
      };
    });
    await closed;
    expect(workersOf(page, 'train.worker')).toEqual([]);
    expect(out.info.status).toBe('canceled');
    expect(out.info.progress!.epoch).toBeLessThan(5000);
    expect(out.version).toBe('failed');
    expect(out.result?.code).toBe('job-stopped');
    expectNoPageErrors(page);
  });

  test('another tab sees a running job as running (not interrupted), follows it and can cancel it', async ({ browser }) => {
    const runner = await browser.newPage(JOBS_PAGE);
    const id = await runner.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'tabs' });
      const job = hangar.trainer('local').train('tabular-classifier', {
        data: await window.jobsKit.iris(),
        target: 'species',
        params: { epochs: 5000 },
        saveAs: { namespace: 'team', model: 'iris' },
        backends: ['cpu'],
      });
      await new Promise<void>((resolve) => job.onProgress((p) => p.epoch >= 2 && resolve()));
      return job.id;
    });
    const closed = new Promise<void>((resolve) => workersOf(runner, 'train.worker')[0]!.on('close', () => resolve()));
    const other = await browser.newPage(JOBS_PAGE);
    const out = await other.evaluate(async (id) => {
      // Opening the registry in a second tab must not take the first tab's job for an orphan.
      const hangar = await window.openRegistry({ name: 'tabs' });
      const job = await hangar.job(id);
      const status = (await job.info()).status;
      const heard = await new Promise<number>((resolve) => {
        const stop = job.onProgress((p) => (stop(), resolve(p.epoch)));
      });
      const waited = job.wait();
      await job.cancel();
      return { status, heard, final: (await waited).status, version: (await hangar.find('team/iris/1')).status };
    }, id);
    await closed;
    expect(out.status).toBe('running');
    expect(out.heard).toBeGreaterThan(2);
    expect(out.final).toBe('canceled');
    expect(out.version).toBe('failed');
    expect(await runner.evaluate(async (id) => (await (await window.openRegistry({ name: 'tabs' })).job(id)).info().then((i) => i.status), id)).toBe('canceled');
    expectNoPageErrors(runner);
    expectNoPageErrors(other);
  });

  test('a job whose page closed is interrupted on the next open, and resumes from its last checkpoint', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const id = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'reload' });
      const job = hangar.trainer('local').train('tabular-classifier', {
        data: await window.jobsKit.iris(),
        target: 'species',
        params: { epochs: 300 },
        saveAs: { namespace: 'team', model: 'iris' },
        checkpointEvery: 5,
        backends: ['cpu'],
      });
      await new Promise<void>((resolve) => {
        const poll = async () => ((await job.info()).lastCheckpoint?.epoch ?? 0) >= 10 ? resolve() : setTimeout(poll, 20);
        void poll();
      });
      return job.id;
    });
    await browser.reload(page);
    const out = await page.evaluate(async (id) => {
      const hangar = await window.openRegistry({ name: 'reload' });
      const job = await hangar.trainer('local').get(id);
      const before = await job.info();
      // The page may have closed after saving a checkpoint but before its record said so:
      // resuming starts from the version's latest checkpoint, which may be later than the record's.
      const saved = (await (await hangar.find('team/iris/1')).checkpoints()).items.map((c) => Number(/^epoch_(\d+)$/.exec(c.handle)?.[1] ?? 0));
      const latest = Math.max(...saved);
      const firstEpochs: number[] = [];
      job.onProgress((p) => firstEpochs.length < 3 && firstEpochs.push(p.epoch));
      await job.resume();
      const version = await job.result();
      const steps = (await version.metricHistory('loss')).map((p) => p.step);
      return {
        before,
        latest,
        firstEpochs,
        after: await job.info(),
        version: version.status,
        steps: { count: steps.length, unique: new Set(steps).size, first: steps[0], last: steps[steps.length - 1] },
        checkpoints: (await version.checkpoints()).items.map((c) => c.handle),
        files: (await version.artifacts()).filter((a) => a.path.startsWith('model/')).length,
      };
    }, id);
    expect(out.before.status).toBe('interrupted');
    const from = out.latest;
    expect(from).toBeGreaterThanOrEqual(out.before.lastCheckpoint!.epoch);
    expect(out.before.lastCheckpoint!.epoch).toBeGreaterThanOrEqual(10);
    expect(from).toBeLessThan(300);
    // The resumed run starts after the checkpoint, not at epoch 1.
    expect(out.firstEpochs[0]).toBe(from + 1);
    expect(out.after).toMatchObject({ status: 'completed', lastCheckpoint: { epoch: 300 } });
    expect(out.version).toBe('ready');
    expect(out.steps).toEqual({ count: 300, unique: 300, first: 1, last: 300 });
    expect(out.checkpoints).toContain(`epoch_${from}`);
    expect(out.checkpoints).toContain('epoch_300');
    expect(out.files).toBeGreaterThanOrEqual(2);
    expectNoPageErrors(page);
  });

  test('predicts with the local predictor exactly as the same files loaded directly', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'predict' });
      const version = await hangar
        .trainer('local')
        .train('tabular-classifier', { data: await window.jobsKit.iris(), target: 'species', params: { epochs: 8 }, saveAs: { namespace: 'team', model: 'iris' }, backends: ['cpu'] })
        .result();
      await (await hangar.model('team', 'iris')).setAlias('production', version);
      const rows = window.jobsKit.rowsOf(await (await window.jobsKit.iris()).text()).filter((_, i) => i % 10 === 0);
      for (const row of rows) delete row.species;
      const viaJob = await hangar.predictor('local').predict('team/iris@production', rows).result();
      const again = hangar.predictor('local').predict('team/iris@production', rows);
      const cached = await again.result();
      const files: Record<string, Blob> = {};
      for (const a of (await version.artifacts()).filter((a) => a.path.startsWith('model/'))) files[a.path.slice('model/'.length)] = await version.readArtifact(a.path);
      const info = await again.info();
      // The same backend, so the same arithmetic.
      const direct = await window.jobsKit.predictDirect('tabular-classifier', files, { rows }, [info.backend!]);
      return { viaJob, cached, direct, info, versionId: version.id, rows: rows.length };
    });
    expect(out.viaJob).toEqual(out.direct);
    expect(out.cached).toEqual(out.direct);
    expect((out.viaJob as { predictions: string[] }).predictions).toHaveLength(out.rows);
    expect(out.info).toMatchObject({ type: 'predict', status: 'completed', module: 'tabular-classifier', versionId: out.versionId });
    expectNoPageErrors(page);
  });

  test('saves a tfjs model to hangar:// and loads it back, offline, with the same outputs', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    await page.evaluate(async () => {
      await window.jobsKit.tf();
    });
    // Everything from here on runs on the registry alone.
    await browser.context.setOffline(true);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'routers' });
      const { tf, tfl } = await window.jobsKit.tf();
      window.hangar!.registerHangarRouters(tf.io, hangar);
      const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
      const x = tf.tensor2d([
        [0.1, 0.2, 0.3],
        [1, -1, 0.5],
      ]);
      const before = Array.from(await (model.predict(x) as typeof x).data());
      const saved = await model.save('hangar://team/tiny@production');
      const version = await hangar.find('team/tiny@production');
      const loaded = await tfl.loadLayersModel('hangar://team/tiny@production');
      const after = Array.from(await (loaded.predict(x) as typeof x).data());
      return {
        before,
        after,
        bytes: saved.modelArtifactsInfo.weightDataBytes,
        version: { number: version.number, framework: version.framework, module: (await version.metadata()).module },
        files: (await version.artifacts()).map((a) => [a.path, a.fileType]),
        badSave: await window.jobsKit.failure(() => model.save('hangar://team/tiny/7')),
      };
    });
    await browser.context.setOffline(false);
    expect(out.after).toEqual(out.before);
    expect(out.bytes).toBe((3 * 4 + 4 + 4 * 2 + 2) * 4);
    expect(out.version).toEqual({ number: 1, framework: 'tfjs', module: 'tfjs-import' });
    expect(out.files).toEqual([
      ['model/model.json', 'MODEL'],
      ['model/weights.bin', 'MODEL'],
    ]);
    expect(out.badSave?.code).toBe('invalid-argument');
    expectNoPageErrors(page);
  });

  test('bad input: an unknown module errors the job with its code, an unknown trainer type or a bad reference fails the call', async ({ browser }) => {
    const page = await browser.newPage(JOBS_PAGE);
    const out = await page.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'bad-input' });
      const job = hangar.trainer('local').train('no-such-module', { data: [{ a: 1, b: 'x' }], target: 'b', saveAs: { namespace: 'team', model: 'bad' } });
      const info = await job.wait();
      const predictMissing = hangar.predictor('local').predict('team/ghost@production', [{ a: 1 }]);
      return {
        info,
        result: await window.jobsKit.failure(() => job.result()),
        version: (await (await hangar.model('team', 'bad')).versions()).map((v) => v.status),
        unknownTrainer: await window.jobsKit.failure(() => hangar.trainer('nope')),
        badRef: await window.jobsKit.failure(() => hangar.predictor('local').predict('not a ref', [])),
        missing: { failure: await window.jobsKit.failure(() => predictMissing.result()), status: (await predictMissing.info()).status },
      };
    });
    expect(out.info.status).toBe('errored');
    expect(out.info.error).toMatchObject({ code: 'unknown-module' });
    expect(out.result).toMatchObject({ name: 'HangarError', code: 'unknown-module' });
    expect(out.version).toEqual(['failed']);
    expect(out.unknownTrainer).toMatchObject({ code: 'invalid-argument' });
    expect(out.unknownTrainer?.message).toContain('"local"');
    expect(out.badRef).toMatchObject({ code: 'invalid-argument' });
    expect(out.missing).toEqual({ failure: expect.objectContaining({ code: 'model-not-found' }), status: 'errored' });
    expect(workersOf(page, 'train.worker')).toEqual([]);
    expectNoPageErrors(page);
  });
});
