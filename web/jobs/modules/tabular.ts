import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { toDataset, type Dataset } from '../csv.ts';
import { DEFAULT_BACKENDS, type Backend, type ModelFiles, type PredictInput, type PredictOutput, type SkippedBackend } from '../protocol.ts';
import { supported, switchTfjsBackend, tfjsTask, useTfjsBackend } from './backends.ts';
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

/** The tfjs backends the tabular modules run on, best first: all of them (a copy: the default is the page's to change). */
const BACKENDS: readonly Backend[] = Object.freeze([...DEFAULT_BACKENDS.tfjs]);

/** A tabular module (`tabular-classifier`, `tabular-regressor`): a dense network over standardized numeric features. */
export function tabularModule(id: string, head: TabularHead): Module {
  return {
    id,
    framework: 'tfjs',
    backends: BACKENDS,
    train: (job) => train(id, head, job),
    async load(files, backends) {
      const usable = supported(backends, BACKENDS, id);
      return tfjsTask(async () => {
        const { backend, skipped } = await useTfjsBackend(usable);
        const prep = await readPreprocessing(files, id);
        // To predict with: a checkpoint's optimizer state (Adam's moments) is left out.
        const model = await loadLayers(files, { optimizer: false });
        return loaded(model, prep, head, backend, skipped);
      });
    },
  };
}

/** A layers model from its files; `optimizer: true` restores the optimizer a checkpoint holds, to train on. */
async function loadLayers(files: ModelFiles, { optimizer }: { optimizer: boolean }): Promise<tfl.LayersModel> {
  const { artifacts } = await filesToArtifacts(files);
  try {
    // Without its training config tfjs makes no optimizer, and frees the optimizer weights it read.
    return await tfl.loadLayersModel(tf.io.fromMemory(optimizer ? artifacts : { ...artifacts, trainingConfig: undefined }));
  } catch (err) {
    throw new HangarError(ErrorCode.InvalidModelFile, `The model's files do not load as a tfjs layers model: ${(err as Error).message}`);
  }
}

/** A new network for the data, compiled with its own Adam optimizer (which the caller frees: `model.dispose()` does not). */
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

  const usable = supported(job.backends, BACKENDS, id);
  return tfjsTask(() => trainOn(usable, id, head, job, { p, dataset, trainRows, valRows }));
}

/** Training proper, its data split: on the first of `backends` that starts, inside a `tfjsTask`. */
async function trainOn(
  backends: Backend[],
  id: string,
  head: TabularHead,
  job: TrainJob,
  { p, dataset, trainRows, valRows }: { p: TabularParams; dataset: Dataset; trainRows: number[]; valRows: number[] },
): Promise<Trained> {
  const { backend, skipped } = await useTfjsBackend(backends);
  const n = dataset.x.length;
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
    model = await loadLayers(job.resume.files, { optimizer: true });
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
  // tfjs frees an optimizer with its model only when it made it from a name; ours is an instance
  // (from `build`, or from the checkpoint's training config), so it is freed here, whatever happens.
  const optimizer = model.optimizer;

  const held = valRows.length;
  const width = prep.features.length;
  const units = head.units(prep);
  let x: tf.Tensor | undefined;
  let y: tf.Tensor | undefined;
  let validation: [tf.Tensor, tf.Tensor] | undefined;
  const pick = (t: tf.Tensor, rows: number[]) => tf.gather(t, tf.tensor1d(rows, 'int32'));
  const save = async (includeOptimizer: boolean): Promise<ModelFiles> => ({
    ...(await saveModelFiles(model, { includeOptimizer })),
    [PREPROCESSING_JSON]: preprocessingFile(prep),
  });

  let metrics: Record<string, number> = {};
  try {
    // Encoding a resumed run's labels may fail (a label the checkpoint does not know): inside the try, so the model goes.
    const target = head.encode(prep, dataset.y);
    x = tf.tensor2d(scale(prep, dataset.x), [n, width]);
    y = tf.tensor2d(target, [n, units]);
    const [xAll, yAll] = [x, y];
    validation = held > 0 ? tf.tidy(() => [pick(xAll, valRows), pick(yAll, valRows)] as [tf.Tensor, tf.Tensor]) : undefined;
    for (let epoch = start; epoch < p.epochs; epoch++) {
      // One epoch per fit, over the training rows in this epoch's seeded order: tfjs's own shuffle is unseeded.
      const [xs, ys] = tf.tidy(() => {
        const rows = shuffled(trainRows, p.seed + 7919 * (epoch + 1));
        return [pick(xAll, rows), pick(yAll, rows)];
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
    return {
      files,
      metrics,
      backend,
      ...(skipped.length > 0 && { skipped }),
      params: { ...p },
      model: loaded(model, prep, head, backend, skipped),
    };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    optimizer?.dispose();
    tf.dispose([...(x ? [x] : []), ...(y ? [y] : []), ...(validation ?? [])]);
  }
}

/** A tabular model in memory: predicts from rows named like the training columns. */
function loaded(model: tfl.LayersModel, prep: Preprocessing, head: TabularHead, backend: Backend, skipped: SkippedBackend[]): LoadedModel {
  return {
    backend,
    ...(skipped.length > 0 && { skipped }),
    async predict(input: PredictInput): Promise<PredictOutput> {
      if (!('rows' in input)) {
        throw new HangarError(ErrorCode.InvalidArgument, `A ${prep.module} model predicts from rows of ${prep.features.join(', ')}, not tensors.`);
      }
      const values = featureMatrix(prep, input.rows);
      if (values.length === 0) return { ...head.decode(prep, new Float32Array(0), 0), backend };
      const scaled = scale(prep, values);
      return tfjsTask(async () => {
        // Another model in this worker may have switched backends since: use this model's again.
        await switchTfjsBackend(backend);
        const used = tf.getBackend() as Backend;
        const output = tf.tidy(() => model.predict(tf.tensor2d(scaled, [values.length, prep.features.length])) as tf.Tensor);
        try {
          return { ...head.decode(prep, (await output.data()) as Float32Array, values.length), backend: used };
        } finally {
          output.dispose();
        }
      });
    },
    dispose: () => model.dispose(),
  };
}
