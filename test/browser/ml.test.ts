// The ML runtime in real Chromium: the trainer and predictor Web Workers (web/jobs/*.worker.ts)
// driven through Comlink from the page, as job management drives them. Most tests use the cpu
// backend: WebGL runs on a software renderer headless, and is slow there.
import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';

const ML_PAGE = '/test/browser/fixtures/ml/ml.html';
const IRIS = '/test/browser/fixtures/ml/iris.csv';
const TINY_ONNX = '/test/browser/fixtures/ml/tiny.onnx';

describe('the ML workers', () => {
  test('train the Iris classifier to ≥ 90% held-out accuracy, with progress every epoch and checkpoints at the interval', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(
      async ({ IRIS }) => {
        const { ml } = window;
        const rows = ml.rowsOf(await ml.text(IRIS));
        // Our own held-out rows, every fifth: the trainer never sees them.
        const heldOut = rows.filter((_, i) => i % 5 === 0);
        const csv = ml.csv(ml.toCsv(rows.filter((_, i) => i % 5 !== 0)));
        const { result, progress, checkpoints } = await ml.train({
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
          backends: [result.backend, loaded.backend],
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
        };
      },
      { IRIS },
    );

    expect(run.heldOut).toBe(30);
    expect(run.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(run.probabilitiesSumToOne).toBe(true);
    expect(run.backends).toEqual(['cpu', 'cpu']);
    expect(run.files).toEqual(['model.json', 'preprocessing.json', 'weights.bin']);
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
    // Every tenth epoch, after that epoch's progress and before the next (the worker awaits it).
    expect(run.checkpoints).toEqual(
      [10, 20, 30, 40, 50].map((epoch) => ({ epoch, after: epoch, files: ['model.json', 'preprocessing.json', 'weights.bin'] })),
    );
    expectNoPageErrors(page);
  });

  test('resume from a checkpoint at the next epoch and end where an uninterrupted run ends', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(
      async ({ IRIS }) => {
        const { ml } = window;
        const rows = ml.rowsOf(await ml.text(IRIS));
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
        const input = { rows: rows.map(({ species: _, ...features }) => features) };
        const a = await predictor.predict('whole', input);
        const b = await predictor.predict('resumed', input);
        if (!('probabilities' in a) || !('probabilities' in b)) throw new Error('no probabilities');
        const gap = Math.max(...a.probabilities!.flatMap((p, i) => p.map((v, j) => Math.abs(v - b.probabilities![i]![j]!))));
        return {
          wholeEpochs: whole.progress.map((p) => p.epoch),
          wholeCheckpoints: whole.checkpoints.map((c) => c.epoch),
          resumedEpochs: resumed.progress.map((p) => p.epoch),
          resumedCheckpoints: resumed.checkpoints.map((c) => c.epoch),
          lastLoss: [whole.progress.at(-1)!.metrics.loss, resumed.progress.at(-1)!.metrics.loss],
          gap,
        };
      },
      { IRIS },
    );
    expect(run.wholeEpochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(run.wholeCheckpoints).toEqual([4, 8]);
    expect(run.resumedEpochs).toEqual([5, 6, 7, 8, 9, 10]);
    expect(run.resumedCheckpoints).toEqual([8]);
    // Weights, optimizer state and the seeded shuffle all carry over: the same model comes out.
    expect(run.lastLoss[1]).toBeCloseTo(run.lastLoss[0]!, 5);
    expect(run.gap).toBeLessThan(1e-5);
    expectNoPageErrors(page);
  });

  test('predict after loading the saved files exactly as the trained model in memory', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(
      async ({ IRIS }) => {
        const { ml } = window;
        const rows = ml.rowsOf(await ml.text(IRIS));
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
        const input = { rows: rows.map(({ species: _, ...features }) => features) };
        const inMemory = await trained.model.predict(input);
        trained.model.dispose();
        const predictor = ml.predictor();
        await predictor.load('saved', 'tabular-classifier', trained.files, ['cpu']);
        const fromFiles = await predictor.predict('saved', input);
        if (!('predictions' in inMemory) || !('predictions' in fromFiles)) throw new Error('no predictions');
        return {
          samePredictions: JSON.stringify(inMemory.predictions) === JSON.stringify(fromFiles.predictions),
          gap: Math.max(...inMemory.probabilities!.flatMap((p, i) => p.map((v, j) => Math.abs(v - fromFiles.probabilities![i]![j]!)))),
          rows: fromFiles.predictions.length,
        };
      },
      { IRIS },
    );
    expect(run.rows).toBe(150);
    expect(run.samePredictions).toBe(true);
    expect(run.gap).toBeLessThan(1e-6);
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

  test('fall back from WebGPU to cpu, and predict alike on cpu, wasm (from our own origin, network cut off) and webgl', async ({ browser }) => {
    // Nothing but the test server answers: the wasm binaries must come from our origin.
    const fetched: string[] = [];
    await browser.context.route(
      (url) => url.origin !== browser.baseUrl,
      (route) => route.abort(),
    );
    browser.context.on('request', (request) => void (request.url().endsWith('.wasm') && fetched.push(request.url())));
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(
      async ({ IRIS }) => {
        const { ml } = window;
        const rows = ml.rowsOf(await ml.text(IRIS));
        const { result } = await ml.train({
          module: 'tabular-classifier',
          data: { rows },
          target: 'species',
          params: { epochs: 3 },
          backends: ['webgpu', 'cpu'],
          checkpointEvery: 0,
        });
        const input = { rows: rows.map(({ species: _, ...features }) => features) };
        const onCpu = ml.predictor();
        const onWasm = ml.predictor();
        const onWebgl = ml.predictor();
        const cpu = await onCpu.load('m', 'tabular-classifier', result.files, ['cpu']);
        const wasm = await onWasm.load('m', 'tabular-classifier', result.files, ['wasm']);
        // WebGL too: on Chromium's software renderer here, slow, but one small prediction is enough.
        const webgl = await onWebgl.load('m', 'tabular-classifier', result.files, ['webgl']);
        const a = await onCpu.predict('m', input);
        const b = await onWasm.predict('m', input);
        const c = await onWebgl.predict('m', input);
        if (!('probabilities' in a) || !('probabilities' in b) || !('probabilities' in c)) throw new Error('no probabilities');
        return {
          trainedOn: result.backend,
          loadedOn: [cpu.backend, wasm.backend, webgl.backend],
          gap: Math.max(...a.probabilities!.flatMap((p, i) => p.map((v, j) => Math.abs(v - b.probabilities![i]![j]!)))),
          gapGl: Math.max(...a.probabilities!.flatMap((p, i) => p.map((v, j) => Math.abs(v - c.probabilities![i]![j]!)))),
        };
      },
      { IRIS },
    );
    expect(run.trainedOn).toBe('cpu');
    expect(run.loadedOn).toEqual(['cpu', 'wasm', 'webgl']);
    expect(run.gap).toBeLessThan(1e-4);
    expect(run.gapGl).toBeLessThan(1e-4);
    expect(fetched.some((url) => url.startsWith(`${browser.baseUrl}/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm`))).toBe(true);
    expectNoPageErrors(page);
  });

  test('run imported tfjs layers and graph models as computing them directly does', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { tf, tfl } = await ml.tf();
      // A layers model built here, saved as tfjs-converter lays it out: model.json + a shard in a folder.
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 4, activation: 'relu', inputShape: [3], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
          tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      let layersFiles: Record<string, Blob> = {};
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          const json = { ...artifacts, weightData: undefined, weightSpecs: undefined, weightsManifest: [{ paths: ['./group1-shard1of1.bin'], weights: artifacts.weightSpecs }] };
          layersFiles = {
            'web_model/model.json': new Blob([JSON.stringify(json)]),
            'web_model/group1-shard1of1.bin': new Blob([artifacts.weightData as ArrayBuffer]),
          };
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const x = [0.5, -1, 2, 3, 0, -0.25, -2, 1.5, 0.75, 0, 0, 0];
      const direct = Array.from(await (model.predict(tf.tensor2d(x, [4, 3])) as import('@tensorflow/tfjs-core').Tensor).data());

      // A graph model written by hand: y = MatMul(x, W) + b, the weights of tiny.onnx.
      const { W, B } = ml.TINY_ONNX;
      const graphJson = {
        format: 'graph-model',
        generatedBy: 'hand',
        convertedBy: 'hangar tests',
        modelTopology: {
          node: [
            { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '3' }] } } } },
            { name: 'W', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '3' }, { size: '2' }] } } } } },
            { name: 'b', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '2' }] } } } } },
            { name: 'xw', op: 'MatMul', input: ['x', 'W'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
            { name: 'y', op: 'AddV2', input: ['xw', 'b'], attr: { T: { type: 'DT_FLOAT' } } },
          ],
          versions: { producer: 1 },
        },
        weightsManifest: [
          {
            paths: ['group1-shard1of1.bin'],
            weights: [
              { name: 'W', shape: [3, 2], dtype: 'float32' },
              { name: 'b', shape: [2], dtype: 'float32' },
            ],
          },
        ],
      };
      const graphFiles = {
        'model.json': new Blob([JSON.stringify(graphJson)]),
        'group1-shard1of1.bin': new Blob([new Float32Array([...W.flat(), ...B])]),
      };
      const formula = [0, 1, 2, 3].flatMap((r) => [0, 1].map((j) => B[j]! + [0, 1, 2].reduce((s, k) => s + x[r * 3 + k]! * W[k]![j]!, 0)));

      const predictor = ml.predictor();
      const layers = await predictor.load('layers', 'tfjs-import', layersFiles, ['cpu']);
      const graph = await predictor.load('graph', 'tfjs-import', graphFiles, ['cpu']);
      const fromLayers = await predictor.predict('layers', { tensors: { [layers.inputs![0]!.name]: { data: new Float32Array(x), shape: [4, 3] } } });
      const fromGraph = await predictor.predict('graph', { tensors: { x: { data: new Float32Array(x), shape: [4, 3] } } });
      if (!('tensors' in fromLayers) || !('tensors' in fromGraph)) throw new Error('no tensors');
      const [layersOut] = Object.values(fromLayers.tensors);
      return {
        layers: { backend: layers.backend, inputs: layers.inputs, outputs: layers.outputs?.map((o) => o.name) },
        graph: { backend: graph.backend, inputs: graph.inputs, outputs: graph.outputs?.map((o) => o.name) },
        layersShape: layersOut!.shape,
        layersFloat: layersOut!.data instanceof Float32Array,
        layersGap: Math.max(...Array.from(layersOut!.data, (v, i) => Math.abs(v - direct[i]!))),
        graphShape: fromGraph.tensors.y?.shape,
        graphGap: Math.max(...Array.from(fromGraph.tensors.y!.data, (v, i) => Math.abs(v - formula[i]!))),
      };
    });
    expect(run.layers.backend).toBe('cpu');
    expect(run.layers.inputs).toEqual([{ name: expect.any(String), dtype: 'float32', shape: [null, 3] }]);
    expect(run.layersShape).toEqual([4, 2]);
    expect(run.layersFloat).toBe(true);
    expect(run.layersGap).toBeLessThan(1e-6);
    expect(run.graph).toEqual({ backend: 'cpu', inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }], outputs: ['y'] });
    expect(run.graphShape).toEqual([4, 2]);
    expect(run.graphGap).toBeLessThan(1e-5);
    expectNoPageErrors(page);
  });

  test('run an imported ONNX model on wasm (no WebGPU here) as its formula says', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(
      async ({ TINY_ONNX }) => {
        const { ml } = window;
        const { W, B } = ml.TINY_ONNX;
        const predictor = ml.predictor();
        const loaded = await predictor.load('tiny', 'onnx-import', { 'model.onnx': await ml.blob(TINY_ONNX) }, ['webgpu', 'wasm']);
        const x = [1, 2, 3, 0, 0, 0, -1.5, 0.5, 4, 10, -10, 0.1, 7, 7, 7];
        const out = await predictor.predict('tiny', { tensors: { x: { data: new Float32Array(x), shape: [5, 3] } } });
        if (!('tensors' in out)) throw new Error('no tensors');
        const formula = [0, 1, 2, 3, 4].flatMap((r) => [0, 1].map((j) => B[j]! + [0, 1, 2].reduce((s, k) => s + x[r * 3 + k]! * W[k]![j]!, 0)));
        const y = out.tensors.y!;
        return {
          loaded,
          names: Object.keys(out.tensors),
          shape: y.shape,
          float: y.data instanceof Float32Array,
          gap: Math.max(...Array.from(y.data, (v, i) => Math.abs(v - formula[i]!))),
          first: Array.from(y.data.slice(0, 2)),
        };
      },
      { TINY_ONNX },
    );
    expect(run.loaded).toEqual({
      backend: 'wasm',
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    });
    expect(run.names).toEqual(['y']);
    expect(run.shape).toEqual([5, 2]);
    expect(run.float).toBe(true);
    expect(run.first).toEqual([0.25, -7]);
    expect(run.gap).toBeLessThan(1e-5);
    expectNoPageErrors(page);
  });

  test('refuse bad input with a HangarError whose code crosses the worker boundary', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const failures = await page.evaluate(
      async ({ TINY_ONNX }) => {
        const { ml } = window;
        const trainer = ml.trainer();
        const onProgress = ml.proxy(() => undefined);
        const onCheckpoint = ml.proxy(async () => undefined);
        const train = (csv: string, extra: { module?: string } = {}) =>
          ml.failure(
            trainer.train(
              { module: 'tabular-classifier', data: { csv: ml.csv(csv) }, target: 'species', params: { epochs: 1 }, backends: ['cpu'], checkpointEvery: 0, ...extra },
              onProgress,
              onCheckpoint,
            ),
          );
        const predictor = ml.predictor();
        const result = {
          missingTarget: await train('a,b\n1,2\n3,4\n'),
          nonNumeric: await train('a,b,species\n1,2,x\n3,tall,y\n'),
          empty: await train(''),
          unknownTrainer: await train('a,species\n1,x\n', { module: 'no-such-module' }),
          unknownPredictor: await ml.failure(predictor.load('k', 'no-such-module', {}, ['cpu'])),
          notOnnx: await ml.failure(predictor.load('k', 'onnx-import', { 'model.onnx': new Blob(['this is not an ONNX model']) }, ['webgpu', 'wasm'])),
          missingShard: await ml.failure(
            predictor.load(
              'k',
              'tfjs-import',
              {
                'model.json': new Blob([
                  JSON.stringify({
                    format: 'layers-model',
                    modelTopology: { class_name: 'Sequential', config: { layers: [] } },
                    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }],
                  }),
                ]),
              },
              ['cpu'],
            ),
          ),
          noBackend: await ml.failure(predictor.load('k', 'onnx-import', { 'model.onnx': await ml.blob(TINY_ONNX) }, ['cpu'])),
          // The worker lives on: a good model loads after the bad ones.
          afterwards: (await predictor.load('k', 'onnx-import', { 'model.onnx': await ml.blob(TINY_ONNX) }, ['wasm'])).backend,
          // And the trainer still trains.
          trainsAfterwards: (await trainer.train(
            { module: 'tabular-regressor', data: { rows: [{ a: 1, y: 2 }, { a: 2, y: 4 }, { a: 3, y: 6 }] }, target: 'y', params: { epochs: 1, validationSplit: 0 }, backends: ['cpu'], checkpointEvery: 0 },
            onProgress,
            onCheckpoint,
          )).backend,
        };
        trainer.worker.terminate();
        return result;
      },
      { TINY_ONNX },
    );
    const hangar = (code: string, message: RegExp) => ({ name: 'HangarError', code, message: expect.stringMatching(message), details: expect.anything() });
    expect(failures.missingTarget).toEqual(hangar('invalid-dataset', /no target column "species".*a, b/));
    expect(failures.nonNumeric).toEqual(hangar('invalid-dataset', /"b" is "tall", not a number on line 3/));
    expect(failures.empty).toMatchObject({ name: 'HangarError', code: 'invalid-dataset', message: expect.stringMatching(/empty/) });
    expect(failures.unknownTrainer).toEqual(hangar('unknown-module', /no-such-module.*tabular-classifier, tabular-regressor, tfjs-import, onnx-import/));
    expect(failures.unknownPredictor).toEqual(hangar('unknown-module', /no-such-module/));
    expect(failures.notOnnx).toEqual(hangar('invalid-model-file', /ONNX Runtime cannot load this model/));
    expect(failures.missingShard).toEqual(hangar('invalid-model-file', /missing: group1-shard1of1\.bin/));
    expect(failures.noBackend).toEqual(hangar('backend-unavailable', /onnx-import.*webgpu, wasm/));
    expect(failures.afterwards).toBe('wasm');
    expect(failures.trainsAfterwards).toBe('cpu');
    expectNoPageErrors(page);
  });
});
