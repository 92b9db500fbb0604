import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { Table } from '../csv.ts';
import { profileTable, targetKind, type Profile } from '../profile.ts';
import { DEFAULT_BACKENDS, type Backend, type ModelFiles, type PredictInput, type ImputedCell, type PredictOutput, type SkippedBackend } from '../protocol.ts';
import { supported, switchTfjsBackend, tfjsTask, useTfjsBackend } from './backends.ts';
import type { LoadedModel, Module, TrainJob, Trained } from './module.ts';
import {
  checkSameData,
  encodeRows,
  encodeTable,
  encodeTableV1,
  featureMatrix,
  fitPreprocessing,
  inputWidth,
  PREPROCESSING_JSON,
  preprocessingFile,
  readPreprocessing,
  scale,
  scaleInPlace,
  shuffled,
  splitRows,
  tabularParams,
  type Preprocessing,
  type PreprocessingV2,
  type TabularParams,
} from './tabular-data.ts';

/** The target of the rows training uses, and its name: what a head fits and encodes. */
export interface Dataset {
  target: string;
  y: (string | number)[];
}
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
        ...(i === 0 && { inputShape: [inputWidth(prep)] }),
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
  const profile = profileTable(job.table, job.target, id, p.features);
  const n = profile.rows.length;

  // One seeded shuffle decides the held-out rows (per class, for a classifier); the rest train, in a new seeded order each epoch.
  const split = splitRows(n, p.validationSplit, p.seed, targetKind(id) === 'class' ? profile.y : undefined);
  if (split.train.length < 1) throw new HangarError(ErrorCode.InvalidDataset, `${n} rows leave none to train on after the validation split.`);

  const usable = supported(job.backends, BACKENDS, id);
  return tfjsTask(() => trainOn(usable, id, head, job, { p, profile, trainRows: split.train, valRows: split.held }));
}

/** The network's inputs for the rows training uses, standardized: a flat [rows, inputs] matrix. */
function inputsOf(prep: Preprocessing, table: Table, profile: Profile): Float32Array {
  if (prep.format === 1) return encodeTableV1(prep, table, profile.rows);
  return encodeTable(prep, table, profile, profile.rows, prep.scaling);
}

/** Training proper, its data split: on the first of `backends` that starts, inside a `tfjsTask`. */
async function trainOn(
  backends: Backend[],
  id: string,
  head: TabularHead,
  job: TrainJob,
  { p, profile, trainRows, valRows }: { p: TabularParams; profile: Profile; trainRows: number[]; valRows: number[] },
): Promise<Trained> {
  const { backend, skipped } = await useTfjsBackend(backends);
  const n = profile.rows.length;
  const dataset: Dataset = { target: job.target, y: profile.y };
  let start = 0;
  let prep: Preprocessing;
  let model: tfl.LayersModel;
  let encoded: Float32Array;
  if (job.resume) {
    start = job.resume.epoch;
    if (!Number.isInteger(start) || start < 0 || start > p.epochs) {
      throw new HangarError(ErrorCode.InvalidArgument, `Cannot resume at epoch ${start} of ${p.epochs}.`, { epoch: start, epochs: p.epochs });
    }
    prep = await readPreprocessing(job.resume.files, id);
    checkSameData(prep, { target: job.target, features: profile.report.features });
    encoded = inputsOf(prep, job.table, profile);
    // The checkpoint holds the optimizer's state too (Adam's moments), so training goes on as if never stopped.
    model = await loadLayers(job.resume.files, { optimizer: true });
  } else {
    const v2: PreprocessingV2 = {
      format: 2,
      module: id,
      features: profile.report.features,
      target: job.target,
      ...fitPreprocessing(job.table, profile, trainRows),
      decimalComma: job.table.decimalComma,
      ...head.fitTarget(dataset, trainRows),
    };
    prep = v2;
    // Encoded and standardized in one pass.
    encoded = encodeTable(v2, job.table, profile, profile.rows, v2.scaling);
    model = build(prep, head, p);
  }
  // tfjs frees an optimizer with its model only when it made it from a name; ours is an instance
  // (from `build`, or from the checkpoint's training config), so it is freed here, whatever happens.
  const optimizer = model.optimizer;

  const held = valRows.length;
  const width = inputWidth(prep);
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
    x = tf.tensor2d(encoded, [n, width]);
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
      report: profile.report,
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
      if (!Array.isArray(input.rows)) throw new HangarError(ErrorCode.InvalidArgument, 'rows must be a list of objects.');
      const count = input.rows.length;
      let scaled: Float32Array;
      let imputed: ImputedCell[] = [];
      if (prep.format === 1) scaled = scale(prep, featureMatrix(prep, input.rows));
      else {
        const encoded = encodeRows(prep, input.rows);
        scaled = scaleInPlace(prep.scaling, encoded.x, prep.inputs.length);
        imputed = encoded.imputed;
      }
      const notes = imputed.length > 0 ? { imputed } : {};
      if (count === 0) return { ...head.decode(prep, new Float32Array(0), 0), backend };
      return tfjsTask(async () => {
        // Another model in this worker may have switched backends since: use this model's again.
        await switchTfjsBackend(backend);
        const used = tf.getBackend() as Backend;
        const output = tf.tidy(() => model.predict(tf.tensor2d(scaled, [count, inputWidth(prep)])) as tf.Tensor);
        try {
          return { ...head.decode(prep, (await output.data()) as Float32Array, count), ...notes, backend: used };
        } finally {
          output.dispose();
        }
      });
    },
    dispose: () => model.dispose(),
  };
}
