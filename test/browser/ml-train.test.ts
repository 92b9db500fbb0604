// Training in real Chromium: the trainer Web Worker (web/jobs/train.worker.ts) driven through
// Comlink from the page, as job management drives it, and the tabular modules called in the page
// itself. Most tests use the cpu backend: WebGL runs on a software renderer headless, and is slow
// there. Prediction, imports and backends: ml-predict.test.ts.
import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { IRIS, ML_PAGE, TABULAR_FILES, trainingEvents } from './fixtures/ml/ml-test.ts';

describe('training in the ML workers', () => {
  test('train the Iris classifier to ≥ 90% held-out accuracy, with progress every epoch and checkpoints at the interval', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(
      async ({ IRIS }) => {
        const { ml } = window;
        const rows = ml.rowsOf(await ml.text(IRIS));
        // Our own held-out rows, every fifth: the trainer never sees them.
        const heldOut = rows.filter((_, i) => i % 5 === 0);
        const csv = ml.csv(ml.toCsv(rows.filter((_, i) => i % 5 !== 0)));
        const { result, progress, checkpoints, events } = await ml.train({
          module: 'tabular-classifier',
          data: { csv },
          target: 'species',
          params: {},
          backends: ['cpu'],
          checkpointEvery: 10,
        });
        const predictor = ml.predictor();
        const loaded = await predictor.load('iris', 'tabular-classifier', result.files, ['cpu']);
        const out = await predictor.predict('iris', { rows: heldOut.map(({ species: _, ...features }) => features) });
        if (!('predictions' in out)) throw new Error('no predictions');
        const hits = out.predictions.filter((label, i) => label === heldOut[i]!.species).length;
        const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', await csv.arrayBuffer())), (b) =>
          b.toString(16).padStart(2, '0'),
        ).join('');
        return {
          accuracy: hits / heldOut.length,
          heldOut: heldOut.length,
          probabilitiesSumToOne: out.probabilities!.every((p) => p.length === 3 && Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4),
          backends: [result.backend, loaded.backend, out.backend],
          skipped: [result.skipped, loaded.skipped],
          files: Object.keys(result.files).sort(),
          preprocessing: JSON.parse(await result.files['preprocessing.json']!.text()),
          metrics: result.metrics,
          params: result.params,
          digestMatches: result.datasetSha256 === digest,
          progress: progress.map((p) => ({
            epoch: p.epoch,
            epochs: p.epochs,
            keys: Object.keys(p.metrics).sort(),
            numbers: Object.values(p.metrics).every(Number.isFinite),
          })),
          checkpoints: checkpoints.map((c) => ({ epoch: c.epoch, after: c.at, files: Object.keys(c.files).sort() })),
          events,
        };
      },
      { IRIS },
    );

    expect(run.heldOut).toBe(30);
    expect(run.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(run.probabilitiesSumToOne).toBe(true);
    expect(run.backends).toEqual(['cpu', 'cpu', 'cpu']);
    expect(run.skipped).toEqual([undefined, undefined]);
    expect(run.files).toEqual(TABULAR_FILES);
    expect(run.preprocessing).toMatchObject({
      module: 'tabular-classifier',
      features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
      target: 'species',
      labels: ['setosa', 'versicolor', 'virginica'],
      scaling: { method: 'standardize' },
    });
    expect(run.params).toEqual({ hidden: [16], epochs: 50, learningRate: 0.01, batchSize: 32, validationSplit: 0.2, seed: 42 });
    expect(run.digestMatches).toBe(true);
    expect(Object.keys(run.metrics).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    // Every epoch, in order, with the four metrics.
    expect(run.progress.map((p) => p.epoch)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(run.progress.every((p) => p.epochs === 50 && p.keys.join() === 'accuracy,loss,val_accuracy,val_loss' && p.numbers)).toBe(true);
    // Every tenth epoch, once that epoch's progress (and every earlier one) has reached the page.
    expect(run.checkpoints).toEqual([10, 20, 30, 40, 50].map((epoch) => ({ epoch, after: epoch, files: TABULAR_FILES })));
    // Strictly in order: epoch N's progress, then its checkpoint; all of it before the result.
    expect(run.events).toEqual(trainingEvents(1, 50, 10));
    expectNoPageErrors(page);
  });

  test("deliver every epoch's progress before its checkpoint and before the result, even when the page handles progress slowly", async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows } = await ml.iris();
      const request = {
        module: 'tabular-classifier',
        data: { rows },
        target: 'species',
        params: { epochs: 12, hidden: [8] },
        backends: ['cpu' as const],
        checkpointEvery: 4,
      };
      // The page takes 20 ms over each progress report: far longer than an epoch here, so a
      // checkpoint or the result sent without waiting for progress would arrive first.
      const slow = await ml.train(request, { progressDelayMs: 20 });
      return { events: slow.events, checkpoints: slow.checkpoints.map((c) => [c.epoch, c.at]) };
    });
    expect(run.checkpoints).toEqual([
      [4, 4],
      [8, 8],
      [12, 12],
    ]);
    expect(run.events).toEqual(trainingEvents(1, 12, 4));
    expectNoPageErrors(page);
  });

  test('resume from a checkpoint at the next epoch and end where an uninterrupted run ends', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows, features } = await ml.iris();
      const request = {
        module: 'tabular-classifier',
        data: { rows },
        target: 'species',
        params: { epochs: 10, hidden: [8] },
        backends: ['cpu' as const],
        checkpointEvery: 4,
      };
      const whole = await ml.train(request);
      const at4 = whole.checkpoints.find((c) => c.epoch === 4)!;
      const resumed = await ml.train({ ...request, resume: { epoch: 4, files: at4.files } });

      const predictor = ml.predictor();
      await predictor.load('whole', 'tabular-classifier', whole.result.files, ['cpu']);
      await predictor.load('resumed', 'tabular-classifier', resumed.result.files, ['cpu']);
      const a = await predictor.predict('whole', { rows: features });
      const b = await predictor.predict('resumed', { rows: features });
      if (!('probabilities' in a) || !('probabilities' in b)) throw new Error('no probabilities');
      return {
        wholeEvents: whole.events,
        resumedEvents: resumed.events,
        lastLoss: [whole.progress.at(-1)!.metrics.loss, resumed.progress.at(-1)!.metrics.loss],
        gap: ml.gap(a.probabilities!, b.probabilities!),
      };
    });
    expect(run.wholeEvents).toEqual(trainingEvents(1, 10, 4));
    // Epochs 5 to 10, and the checkpoint at 8 only.
    expect(run.resumedEvents).toEqual(trainingEvents(5, 10, 4));
    // Weights, optimizer state and the seeded shuffle all carry over: the same model comes out.
    expect(run.lastLoss[1]).toBeCloseTo(run.lastLoss[0]!, 5);
    expect(run.gap).toBeLessThan(1e-5);
    expectNoPageErrors(page);
  });

  test('predict after loading the saved files exactly as the trained model in memory', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows, features } = await ml.iris();
      const [{ loadTrainableModule }, { tableFromRows }] = await Promise.all([ml.modules(), ml.csvModule()]);
      // Trained here in the page, so the in-memory model is at hand.
      const module = await loadTrainableModule('tabular-classifier');
      const trained = await module.train({
        table: tableFromRows(rows),
        target: 'species',
        params: { epochs: 15 },
        backends: ['cpu'],
        checkpointEvery: 0,
        onProgress: () => undefined,
        onCheckpoint: async () => undefined,
      });
      const inMemory = await trained.model.predict({ rows: features });
      trained.model.dispose();
      const predictor = ml.predictor();
      await predictor.load('saved', 'tabular-classifier', trained.files, ['cpu']);
      const fromFiles = await predictor.predict('saved', { rows: features });
      if (!('predictions' in inMemory) || !('predictions' in fromFiles)) throw new Error('no predictions');
      return {
        samePredictions: JSON.stringify(inMemory.predictions) === JSON.stringify(fromFiles.predictions),
        gap: ml.gap(inMemory.probabilities!, fromFiles.probabilities!),
        rows: fromFiles.predictions.length,
      };
    });
    expect(run.rows).toBe(150);
    expect(run.samePredictions).toBe(true);
    expect(run.gap).toBeLessThan(1e-6);
    expectNoPageErrors(page);
  });

  test('free every tensor training makes (the optimizer too), when it ends, when it resumes and when it fails', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows, features } = await ml.iris();
      await ml.tf();
      const [{ loadTrainableModule }, { tableFromRows }] = await Promise.all([ml.modules(), ml.csvModule()]);
      const module = await loadTrainableModule('tabular-classifier');
      const checkpoints: Record<string, Blob>[] = [];
      const job = (extra: Partial<Parameters<NonNullable<typeof module.train>>[0]> = {}) => ({
        table: tableFromRows(rows),
        target: 'species',
        params: { epochs: 4, hidden: [8] },
        backends: ['cpu' as const],
        // Checkpoints save the optimizer's state too.
        checkpointEvery: 2,
        onProgress: () => undefined,
        onCheckpoint: async (_epoch: number, files: Record<string, Blob>) => void checkpoints.push(files),
        ...extra,
      });
      const before = await ml.tensorsInPage();
      const trained = await module.train(job());
      // Only the model's weights are left: 2 dense layers, a kernel and a bias each.
      const whileLoaded = (await ml.tensorsInPage()) - before;
      await trained.model.predict({ rows: features });
      trained.model.dispose();
      const afterTraining = await ml.tensorsInPage();

      const resumed = await module.train(job({ resume: { epoch: 2, files: checkpoints[0]! } }));
      const whileResumedLoaded = (await ml.tensorsInPage()) - before;
      resumed.model.dispose();
      const afterResuming = await ml.tensorsInPage();

      const failure = await ml.failure(
        module.train(
          job({
            onCheckpoint: async () => {
              throw new Error('the disk is full');
            },
          }),
        ),
      );
      const afterFailing = await ml.tensorsInPage();
      return { before, whileLoaded, afterTraining, whileResumedLoaded, afterResuming, failure: failure?.message, afterFailing };
    });
    expect(run.whileLoaded).toBe(4);
    expect(run.whileResumedLoaded).toBe(4);
    expect(run.failure).toBe('the disk is full');
    expect([run.afterTraining, run.afterResuming, run.afterFailing]).toEqual([run.before, run.before, run.before]);
    expectNoPageErrors(page);
  });

  test('train the regressor to learn a linear function (R² > 0.9 on held-out rows)', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      // A seeded generator: the same data every run.
      let s = 12345;
      const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const rows = Array.from({ length: 300 }, () => {
        const [a, b, c] = [random() * 10, random() * 4 - 2, random() * 100];
        return { a, b, c, y: 3 * a - 2 * b + 0.05 * c + 7 + (random() - 0.5) * 0.2 };
      });
      const heldOut = rows.slice(240);
      const { result, progress } = await ml.train({
        module: 'tabular-regressor',
        data: { rows: rows.slice(0, 240) },
        target: 'y',
        params: {},
        backends: ['cpu'],
        checkpointEvery: 0,
      });
      const predictor = ml.predictor();
      await predictor.load('linear', 'tabular-regressor', result.files, ['cpu']);
      const out = await predictor.predict('linear', { rows: heldOut.map(({ y: _, ...x }) => x) });
      if (!('predictions' in out)) throw new Error('no predictions');
      const ys = heldOut.map((r) => r.y);
      const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
      const residual = ys.reduce((sum, y, i) => sum + (y - (out.predictions[i] as number)) ** 2, 0);
      const total = ys.reduce((sum, y) => sum + (y - mean) ** 2, 0);
      return {
        r2: 1 - residual / total,
        numbers: out.predictions.every((p) => typeof p === 'number'),
        metrics: Object.keys(result.metrics).sort(),
        epochs: progress.length,
        preprocessing: JSON.parse(await result.files['preprocessing.json']!.text()),
      };
    });
    expect(run.r2).toBeGreaterThan(0.9);
    expect(run.numbers).toBe(true);
    expect(run.metrics).toEqual(['loss', 'val_loss']);
    expect(run.epochs).toBe(50);
    expect(run.preprocessing).toMatchObject({ module: 'tabular-regressor', features: ['a', 'b', 'c'], target: 'y' });
    expect(run.preprocessing.targetScaling).toEqual({ mean: expect.any(Number), std: expect.any(Number) });
    expectNoPageErrors(page);
  });
});
