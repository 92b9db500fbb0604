import type { Hangar, Job, VersionHandle } from '../../web/client/index.ts';
import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { JOBS_PAGE, workersOf } from './fixtures/jobs-tests.ts';

// Training jobs in real Chromium: the LOCAL trainer with the real module Web Worker
// (web/jobs/train.worker.ts), cancel, two tabs on one job, and job records in real IndexedDB
// across a reload. Predictions, imported models and bad input: jobs-models.test.ts.

/** A job kept on `window` between two `page.evaluate`s, with the epochs it was heard at. */
interface Running {
  hangar: Hangar;
  job: Job<VersionHandle>;
  epochs: number[];
}

describe('training jobs in the browser', () => {
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

  test('cancels a training job mid-run from the page running it: canceled, its worker terminated, no progress after, its version failed', async ({ browser }) => {
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
      const running: Running = { hangar, job, epochs: [] };
      (window as unknown as { running: Running }).running = running;
      await new Promise<void>((resolve) => job.onProgress((p) => (running.epochs.push(p.epoch), p.epoch >= 2 && resolve())));
    });
    expect(workersOf(page, 'train.worker')).toHaveLength(1);
    const closed = new Promise<void>((resolve) => workersOf(page, 'train.worker')[0]!.on('close', () => resolve()));
    const out = await page.evaluate(async () => {
      const { hangar, job, epochs } = (window as unknown as { running: Running }).running;
      await job.cancel();
      return {
        heard: epochs.length,
        info: await job.info(),
        version: (await hangar.find('team/iris/1')).status,
        result: await window.jobsKit.failure(() => job.result()),
      };
    });
    // Canceled where it runs, the worker is terminated (not left to finish its 5000 epochs).
    await closed;
    expect(workersOf(page, 'train.worker')).toEqual([]);
    expect(out.info.status).toBe('canceled');
    expect(out.info.progress!.epoch).toBeLessThan(5000);
    expect(out.version).toBe('failed');
    expect(out.result?.code).toBe('job-stopped');
    // With the worker gone, nothing came after the cancel: no progress heard, none recorded.
    const after = await page.evaluate(async () => {
      const { job, epochs } = (window as unknown as { running: Running }).running;
      return { heard: epochs.length, info: await job.info() };
    });
    expect(after.heard).toBe(out.heard);
    expect(after.info).toEqual(out.info);
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
});
