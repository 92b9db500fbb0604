// Prediction in real Chromium: the predictor Web Worker (web/jobs/predict.worker.ts) driven
// through Comlink from the page, as job management drives it: backends and their fallbacks,
// imported tfjs and ONNX models, errors, memory, concurrent models, transferred inputs. Most tests
// use the cpu backend: WebGL runs on a software renderer headless, and is slow there. Training: ml-train.test.ts.
import { describe, expect } from 'vitest';
import { expectNoPageErrors, test } from './browser.ts';
import { hangarError, ML_PAGE, TINY_ONNX } from './fixtures/ml/ml-test.ts';

describe('prediction in the ML workers', () => {
  test('fall back from WebGPU to cpu, and predict alike on cpu, wasm (from our own origin, network cut off) and webgl', async ({ browser }) => {
    // Nothing but the test server answers: the wasm binaries must come from our origin.
    const fetched: string[] = [];
    await browser.context.route(
      (url) => url.origin !== browser.baseUrl,
      (route) => route.abort(),
    );
    browser.context.on('request', (request) => void (request.url().endsWith('.wasm') && fetched.push(request.url())));
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows, features } = await ml.iris();
      const { result } = await ml.train({
        module: 'tabular-classifier',
        data: { rows },
        target: 'species',
        params: { epochs: 3 },
        backends: ['webgpu', 'cpu'],
        checkpointEvery: 0,
      });
      const input = { rows: features };
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
        skipped: result.skipped,
        loadedOn: [cpu.backend, wasm.backend, webgl.backend],
        ranOn: [a.backend, b.backend, c.backend],
        gap: ml.gap(a.probabilities!, b.probabilities!),
        gapGl: ml.gap(a.probabilities!, c.probabilities!),
      };
    });
    // Headless Chromium has no WebGPU adapter.
    expect(run.trainedOn).toBe('cpu');
    expect(run.skipped).toEqual([{ backend: 'webgpu', error: 'no WebGPU adapter' }]);
    expect(run.loadedOn).toEqual(['cpu', 'wasm', 'webgl']);
    expect(run.ranOn).toEqual(['cpu', 'wasm', 'webgl']);
    expect(run.gap).toBeLessThan(1e-4);
    expect(run.gapGl).toBeLessThan(1e-4);
    expect(fetched.some((url) => url.startsWith(`${browser.baseUrl}/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm`))).toBe(true);
    expectNoPageErrors(page);
  });

  test('fall back from wasm to cpu when its binary cannot load, saying why', async ({ browser }) => {
    // The binaries (tfjs-backend-wasm.wasm, -simd, -threaded-simd) fail to fetch; the `?url`
    // modules that name them (…/tfjs-backend-wasm.wasm?url) still load: the glob matches whole URLs.
    const aborted: string[] = [];
    await browser.context.route('**/tfjs-backend-wasm*.wasm', (route) => {
      aborted.push(new URL(route.request().url()).pathname);
      return route.abort();
    });
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows, features } = await ml.iris();
      const { result } = await ml.train({
        module: 'tabular-classifier',
        data: { rows },
        target: 'species',
        params: { epochs: 2 },
        backends: ['wasm', 'cpu'],
        checkpointEvery: 0,
      });
      const predictor = ml.predictor();
      const loaded = await predictor.load('m', 'tabular-classifier', result.files, ['wasm', 'cpu']);
      const out = await predictor.predict('m', { rows: features });
      // wasm alone: nothing to fall back on. The worker remembers why wasm failed.
      const wasmOnly = await ml.failure(predictor.load('w', 'tabular-classifier', result.files, ['wasm']));
      return { trained: [result.backend, result.skipped], loaded: [loaded.backend, loaded.skipped], ranOn: out.backend, wasmOnly };
    });
    const wasmFailed = { backend: 'wasm', error: expect.stringMatching(/^it failed to initialize: .*Failed to fetch/) };
    expect(aborted.length).toBeGreaterThan(0);
    expect(aborted.every((path) => path.startsWith('/node_modules/@tensorflow/tfjs-backend-wasm/dist/'))).toBe(true);
    expect(run.trained).toEqual(['cpu', [wasmFailed]]);
    expect(run.loaded).toEqual(['cpu', [wasmFailed]]);
    expect(run.ranOn).toBe('cpu');
    expect(run.wasmOnly).toEqual(hangarError('backend-unavailable', /No backend could start here: wasm \(it failed to initialize: .*Failed to fetch/));
    expect((run.wasmOnly!.details as { tried: unknown }).tried).toEqual([wasmFailed]);
    // tfjs logs the failure as warnings: no errors.
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
      const formula = ml.tinyFormula(x, 4);

      const predictor = ml.predictor();
      const layers = await predictor.load('layers', 'tfjs-import', layersFiles, ['cpu']);
      const graph = await predictor.load('graph', 'tfjs-import', ml.graphModelFiles(), ['cpu']);
      const fromLayers = await predictor.predict('layers', { tensors: { [layers.inputs![0]!.name]: { data: new Float32Array(x), shape: [4, 3] } } });
      const fromGraph = await predictor.predict('graph', { tensors: { x: { data: new Float32Array(x), shape: [4, 3] } } });
      if (!('tensors' in fromLayers) || !('tensors' in fromGraph)) throw new Error('no tensors');
      const [layersOut] = Object.values(fromLayers.tensors);
      return {
        layers: { backend: layers.backend, inputs: layers.inputs, outputs: layers.outputs?.map((o) => o.name) },
        graph: { backend: graph.backend, inputs: graph.inputs, outputs: graph.outputs?.map((o) => o.name) },
        ranOn: [fromLayers.backend, fromGraph.backend],
        layersShape: layersOut!.shape,
        layersFloat: layersOut!.data instanceof Float32Array,
        layersGap: Math.max(...Array.from(layersOut!.data, (v, i) => Math.abs(v - direct[i]!))),
        graphShape: fromGraph.tensors.y?.shape,
        graphGap: Math.max(...Array.from(fromGraph.tensors.y!.data, (v, i) => Math.abs(v - formula[i]!))),
      };
    });
    expect(run.layers.backend).toBe('cpu');
    expect(run.layers.inputs).toEqual([{ name: expect.any(String), dtype: 'float32', shape: [null, 3] }]);
    expect(run.ranOn).toEqual(['cpu', 'cpu']);
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
        const predictor = ml.predictor();
        const loaded = await predictor.load('tiny', 'onnx-import', { 'model.onnx': await ml.blob(TINY_ONNX) }, ['webgpu', 'wasm']);
        const x = [1, 2, 3, 0, 0, 0, -1.5, 0.5, 4, 10, -10, 0.1, 7, 7, 7];
        const out = await predictor.predict('tiny', { tensors: { x: { data: new Float32Array(x), shape: [5, 3] } } });
        if (!('tensors' in out)) throw new Error('no tensors');
        const formula = ml.tinyFormula(x, 5);
        const y = out.tensors.y!;
        return {
          loaded,
          ranOn: out.backend,
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
      skipped: [{ backend: 'webgpu', error: 'no WebGPU adapter' }],
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    });
    expect(run.ranOn).toBe('wasm');
    expect(run.names).toEqual(['y']);
    expect(run.shape).toEqual([5, 2]);
    expect(run.float).toBe(true);
    expect(run.first).toEqual([0.25, -7]);
    expect(run.gap).toBeLessThan(1e-5);
    expectNoPageErrors(page);
  });

  test('keep tfjs memory flat across repeated predictions, and free it all on unload (a checkpoint’s optimizer too)', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows, features } = await ml.iris();
      const { result, checkpoints } = await ml.train({
        module: 'tabular-classifier',
        data: { rows },
        target: 'species',
        params: { epochs: 2, hidden: [8] },
        backends: ['cpu'],
        checkpointEvery: 2,
      });
      const predictor = ml.predictor();
      const tensors = async () => (await predictor.memory())?.numTensors;
      const noModel = await predictor.memory();
      await predictor.load('tabular', 'tabular-classifier', result.files, ['cpu']);
      await predictor.load('graph', 'tfjs-import', ml.graphModelFiles(), ['cpu']);
      const x = { tensors: { x: { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] } } };
      // A prediction that fails inside tfjs (a [2, 4] input to a [?, 3] matmul) leaves nothing behind either.
      const wrongShape = { tensors: { x: { data: new Float32Array(8), shape: [2, 4] } } };
      const round = async () => {
        await predictor.predict('tabular', { rows: features });
        await predictor.predict('graph', x);
        return (await ml.failure(predictor.predict('graph', wrongShape)))?.code;
      };
      const failed = await round();
      const loaded = await tensors();
      for (let i = 0; i < 20; i++) await round();
      const afterPredicting = await tensors();
      // A checkpoint holds the optimizer's state (Adam's moments): not needed to predict.
      await predictor.load('checkpoint', 'tabular-classifier', checkpoints[0]!.files, ['cpu']);
      const withCheckpoint = await tensors();
      await predictor.predict('checkpoint', { rows: features });
      await predictor.unload('checkpoint');
      const checkpointUnloaded = await tensors();
      await predictor.unload('tabular');
      await predictor.unload('graph');
      return { noModel, failed, loaded, afterPredicting, withCheckpoint, checkpointUnloaded, unloaded: await predictor.memory() };
    });
    expect(run.noModel).toBeNull();
    expect(run.failed).toBe('invalid-argument');
    // The tabular model's 4 weights and the graph model's 2.
    expect(run.loaded).toBe(6);
    expect(run.afterPredicting).toBe(run.loaded);
    expect(run.withCheckpoint).toBe(run.loaded! + 4);
    expect(run.checkpointUnloaded).toBe(run.loaded);
    expect(run.unloaded).toMatchObject({ numTensors: 0, backends: { cpu: 0 } });
    expectNoPageErrors(page);
  });

  test('run models loaded on different backends side by side in one worker, each on its own backend', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const { rows, features } = await ml.iris();
      const { result } = await ml.train({
        module: 'tabular-classifier',
        data: { rows },
        target: 'species',
        params: { epochs: 3, hidden: [8] },
        backends: ['cpu'],
        checkpointEvery: 0,
      });
      const input = { rows: features };
      const predictor = ml.predictor();
      await predictor.load('a', 'tabular-classifier', result.files, ['cpu']);
      // b loads on wasm (the backend starts, then its files are read) while a predicts without a
      // break, in three streams; then both predict at once. Were they not taking turns, a
      // prediction of a's while wasm starts would fail (tfjs has no backend to run on meanwhile),
      // and b's weights could be made on cpu.
      const loadingB = predictor.load('b', 'tabular-classifier', result.files, ['wasm']);
      let loading = true;
      void loadingB.finally(() => (loading = false)).catch(() => undefined);
      const stream = async () => {
        const outs = [];
        do outs.push(await predictor.predict('a', input));
        while (loading);
        return outs;
      };
      const alone = (await Promise.all([stream(), stream(), stream()])).flat();
      const b = await loadingB;
      const mixed = await Promise.all(Array.from({ length: 40 }, (_, i) => predictor.predict(i % 2 === 0 ? 'a' : 'b', input)));
      const probabilities = mixed.map((out) => ('probabilities' in out ? out.probabilities! : []));
      return {
        b: b.backend,
        alone: [...new Set(alone.map((out) => out.backend))],
        mixed: mixed.map((out) => out.backend),
        gap: Math.max(...probabilities.map((p) => ml.gap(p, probabilities[0]!))),
        // Where each model's weights are: 4 each, on its own backend (predictions leave nothing).
        memory: (await predictor.memory())?.backends,
      };
    });
    expect(run.b).toBe('wasm');
    expect(run.alone).toEqual(['cpu']);
    expect(run.mixed).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'cpu' : 'wasm')));
    expect(run.gap).toBeLessThan(1e-4);
    expect(run.memory).toEqual({ cpu: 4, wasm: 4 });
    expectNoPageErrors(page);
  });

  test('transfer tensor inputs to the worker as copies, leaving the caller’s arrays whole', async ({ browser }) => {
    const page = await browser.newPage(ML_PAGE);
    const run = await page.evaluate(async () => {
      const { ml } = window;
      const posted = ml.watchWorkerMessages();
      // As job management starts the predictor worker and calls it.
      const worker = ml.spawnPredictWorker();
      try {
        await worker.api.load('graph', 'tfjs-import', ml.graphModelFiles(), ['cpu']);
        // 12 values in the middle of a 64 KiB buffer.
        const big = new Float32Array(16 * 1024);
        const x = big.subarray(4, 16);
        x.set([0.5, -1, 2, 3, 0, -0.25, -2, 1.5, 0.75, 0, 0, 0]);
        const first = await worker.api.predict('graph', { tensors: { x: { data: x, shape: [4, 3] } } });
        // The same input again: the caller's array is still theirs.
        const second = await worker.api.predict('graph', { tensors: { x: { data: x, shape: [4, 3] } } });
        if (!('tensors' in first) || !('tensors' in second)) throw new Error('no tensors');
        const formula = ml.tinyFormula(Array.from(x), 4);
        return {
          predictCalls: posted.filter((m) => m.method === 'predict'),
          callerArray: { length: x.length, bufferBytes: big.buffer.byteLength, values: Array.from(x.slice(0, 3)) },
          gaps: [first, second].map((out) => ('tensors' in out ? Math.max(...Array.from(out.tensors.y!.data, (v, i) => Math.abs(v - formula[i]!))) : Infinity)),
        };
      } finally {
        worker.terminate();
      }
    });
    // Each call transferred one buffer of exactly the tensor's 12 floats.
    expect(run.predictCalls).toEqual([
      { method: 'predict', transferred: [48] },
      { method: 'predict', transferred: [48] },
    ]);
    expect(run.callerArray).toEqual({ length: 12, bufferBytes: 64 * 1024, values: [0.5, -1, 2] });
    expect(run.gaps.every((gap) => gap < 1e-5)).toBe(true);
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
          duplicateColumns: await train('a,b,a,species\n1,2,3,x\n3,4,5,y\n'),
          constantTarget: await train('a,b,species\n1,2,x\n3,4,x\n'),
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
          trainsAfterwards: (
            await trainer.train(
              { module: 'tabular-regressor', data: { rows: [{ a: 1, y: 2 }, { a: 2, y: 4 }, { a: 3, y: 6 }] }, target: 'y', params: { epochs: 1, validationSplit: 0 }, backends: ['cpu'], checkpointEvery: 0 },
              onProgress,
              onCheckpoint,
            )
          ).backend,
        };
        trainer.worker.terminate();
        return result;
      },
      { TINY_ONNX },
    );
    expect(failures.missingTarget).toEqual(hangarError('invalid-dataset', /no target column "species".*a, b/));
    expect(failures.duplicateColumns).toEqual(hangarError('invalid-dataset', /"a" appears twice in the header \(columns 1 and 3\)/));
    expect(failures.constantTarget).toEqual(hangarError('invalid-dataset', /"species" has one value \("x"\) in every row/));
    expect(failures.empty).toMatchObject({ name: 'HangarError', code: 'invalid-dataset', message: expect.stringMatching(/empty/) });
    expect(failures.unknownTrainer).toEqual(hangarError('unknown-module', /no-such-module.*tabular-classifier, tabular-regressor, tfjs-import, onnx-import/));
    expect(failures.unknownPredictor).toEqual(hangarError('unknown-module', /no-such-module/));
    expect(failures.notOnnx).toEqual(hangarError('invalid-model-file', /ONNX Runtime cannot load this model/));
    expect(failures.missingShard).toEqual(hangarError('invalid-model-file', /missing: group1-shard1of1\.bin/));
    expect(failures.noBackend).toEqual(hangarError('backend-unavailable', /onnx-import.*webgpu, wasm/));
    expect(failures.afterwards).toBe('wasm');
    expect(failures.trainsAfterwards).toBe('cpu');
    expectNoPageErrors(page);
  });
});
