import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { toDataset, type Dataset } from '../csv.ts';
import type { Backend, ModelFiles, PredictInput, PredictOutput } from '../protocol.ts';
import { supported, useTfjsBackend } from './backends.ts';
import type { LoadedModel, Module, TrainJob, Trained } from './module.ts';
import {
  checkSameData,
  fitScaling,
  featureMatrix,
  PREPROCESSING_JSON,
  preprocessingFile,
  readPreprocessing,
  scale,
  shuffled,
  tabularParams,
  type Preprocessing,
  type TabularParams,
} from './tabular-data.ts';
import { filesToArtifacts, saveModelFiles } from './tfjs-files.ts';

/** What tells a classifier from a regressor: the network's output and the target's encoding. */
export interface TabularHead {
  /** The target's part of the preprocessing, from the training rows; `invalid-dataset` when the target does not fit. */
  fitTarget(dataset: Dataset, rows: readonly number[]): Pick<Preprocessing, 'labels' | 'targetScaling'>;
  units(prep: Preprocessing): number;
  activation: 'softmax' | 'linear';
  loss: string;
  metrics: string[];
  /** The targets as the network should output them: a flat [rows, units] matrix. */
  encode(prep: Preprocessing, y: readonly (string | number)[]): Float32Array;
  /** One epoch's tfjs logs as Hangar reports them (names, units). */
  report(prep: Preprocessing, logs: Record<string, number>): Record<string, number>;
  /** Predictions from the network's flat [rows, units] output. */
  decode(prep: Preprocessing, output: Float32Array, rows: number): PredictOutput;
}

/** The tfjs backends the tabular modules run on, best first. */
const BACKENDS: readonly Backend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** A tabular module (`tabular-classifier`, `tabular-regressor`): a dense network over standardized numeric features. */
export function tabularModule(id: string, head: TabularHead): Module {
  return {
    id,
    framework: 'tfjs',
    backends: BACKENDS,
    train: (job) => train(id, head, job),
    async load(files, backends) {
      const backend = await useTfjsBackend(supported(backends, BACKENDS, id));
      const prep = await readPreprocessing(files, id);
      const model = await loadLayers(files);
      return loaded(model, prep, head, backend);
    },
  };
}

async function loadLayers(files: ModelFiles): Promise<tfl.LayersModel> {
  const { artifacts } = await filesToArtifacts(files);
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new HangarError(ErrorCode.InvalidModelFile, `The model's files do not load as a tfjs layers model: ${(err as Error).message}`);
  }
}

function build(prep: Preprocessing, head: TabularHead, p: TabularParams): tfl.LayersModel {
  const units = [...p.hidden, head.units(prep)];
  const model = tfl.sequential();
  units.forEach((n, i) => {
    const last = i === units.length - 1;
    model.add(
      tfl.layers.dense({
        units: n,
        activation: last ? head.activation : 'relu',
        ...(i === 0 && { inputShape: [prep.features.length] }),
        // Seeded, so the same data, parameters and seed train the same model.
        kernelInitializer: tfl.initializers.glorotUniform({ seed: p.seed + i }),
      }),
    );
  });
  model.compile({ optimizer: tf.train.adam(p.learningRate), loss: head.loss, metrics: head.metrics });
  return model;
}

async function train(id: string, head: TabularHead, job: TrainJob): Promise<Trained> {
  // Bad parameters or data fail before any backend starts.
  const p = tabularParams(job.params);
  const dataset = toDataset(job.table, job.target, p.features);
  const n = dataset.x.length;

  // One seeded shuffle decides the held-out rows; the rest train, in a new seeded order each epoch.
  const order = shuffled(
    Array.from({ length: n }, (_, i) => i),
    p.seed,
  );
  const held = Math.floor(n * p.validationSplit);
  if (n - held < 1) throw new HangarError(ErrorCode.InvalidDataset, `${n} rows leave none to train on after the validation split.`);
  const trainRows = order.slice(0, n - held);
  const valRows = order.slice(n - held);

  const backend = await useTfjsBackend(supported(job.backends, BACKENDS, id));
  let start = 0;
  let prep: Preprocessing;
  let model: tfl.LayersModel;
  if (job.resume) {
    start = job.resume.epoch;
    if (!Number.isInteger(start) || start < 0 || start > p.epochs) {
      throw new HangarError(ErrorCode.InvalidArgument, `Cannot resume at epoch ${start} of ${p.epochs}.`, { epoch: start, epochs: p.epochs });
    }
    prep = await readPreprocessing(job.resume.files, id);
    checkSameData(prep, dataset);
    // The checkpoint holds the optimizer's state too (Adam's moments), so training goes on as if never stopped.
    model = await loadLayers(job.resume.files);
  } else {
    prep = {
      format: 1,
      module: id,
      features: dataset.features,
      target: dataset.target,
      scaling: fitScaling(dataset.x, trainRows, dataset.features.length),
      ...head.fitTarget(dataset, trainRows),
    };
    model = build(prep, head, p);
  }

  const width = prep.features.length;
  const units = head.units(prep);
  const x = tf.tensor2d(scale(prep, dataset.x), [n, width]);
  const y = tf.tensor2d(head.encode(prep, dataset.y), [n, units]);
  const pick = (t: tf.Tensor, rows: number[]) => tf.gather(t, tf.tensor1d(rows, 'int32'));
  const validation = held > 0 ? tf.tidy(() => [pick(x, valRows), pick(y, valRows)] as [tf.Tensor, tf.Tensor]) : undefined;
  const save = async (includeOptimizer: boolean): Promise<ModelFiles> => ({
    ...(await saveModelFiles(model, { includeOptimizer })),
    [PREPROCESSING_JSON]: preprocessingFile(prep),
  });

  let metrics: Record<string, number> = {};
  try {
    for (let epoch = start; epoch < p.epochs; epoch++) {
      // One epoch per fit, over the training rows in this epoch's seeded order: tfjs's own shuffle is unseeded.
      const [xs, ys] = tf.tidy(() => {
        const rows = shuffled(trainRows, p.seed + 7919 * (epoch + 1));
        return [pick(x, rows), pick(y, rows)];
      });
      try {
        const history = await model.fit(xs, ys, {
          epochs: epoch + 1,
          initialEpoch: epoch,
          batchSize: p.batchSize,
          shuffle: false,
          verbose: 0,
          ...(validation && { validationData: validation }),
        });
        const logs = Object.fromEntries(Object.entries(history.history).map(([k, v]) => [k, Number(v[v.length - 1])]));
        metrics = head.report(prep, logs);
      } finally {
        tf.dispose([xs, ys]);
      }
      job.onProgress({ epoch: epoch + 1, epochs: p.epochs, metrics });
      if (job.checkpointEvery > 0 && (epoch + 1) % job.checkpointEvery === 0) await job.onCheckpoint(epoch + 1, await save(true));
    }
    const files = await save(false);
    return { files, metrics, backend, params: { ...p }, model: loaded(model, prep, head, backend) };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    tf.dispose([x, y, ...(validation ?? [])]);
  }
}

/** A tabular model in memory: predicts from rows named like the training columns. */
function loaded(model: tfl.LayersModel, prep: Preprocessing, head: TabularHead, backend: Backend): LoadedModel {
  return {
    backend,
    async predict(input: PredictInput): Promise<PredictOutput> {
      if (!('rows' in input)) {
        throw new HangarError(ErrorCode.InvalidArgument, `A ${prep.module} model predicts from rows of ${prep.features.join(', ')}, not tensors.`);
      }
      const values = featureMatrix(prep, input.rows);
      if (values.length === 0) return head.decode(prep, new Float32Array(0), 0);
      // The worker may have switched backends for another model since: use this model's again.
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      const output = tf.tidy(() => model.predict(tf.tensor2d(scale(prep, values), [values.length, prep.features.length])) as tf.Tensor);
      try {
        return head.decode(prep, (await output.data()) as Float32Array, values.length);
      } finally {
        output.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
