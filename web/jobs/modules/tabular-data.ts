import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { toNumber, type Dataset } from '../csv.ts';
import type { ModelFiles } from '../protocol.ts';
import { readJsonFile } from './tfjs-files.ts';

// What the tabular modules keep beside the network: which columns go in, how they are scaled,
// what comes out. Saved as preprocessing.json with the model, so a loaded model predicts from
// rows exactly as the trained one did.

/** The file of a tabular model that holds its `Preprocessing`, beside `model.json` and `weights.bin`. */
export const PREPROCESSING_JSON = 'preprocessing.json';

/** How rows become the network's input and its output becomes predictions: `preprocessing.json`. */
export interface Preprocessing {
  /** Bumped when the layout changes. */
  format: 1;
  /** The module that wrote it, e.g. `tabular-classifier`. */
  module: string;
  /** The feature columns, in the order the network takes them. */
  features: string[];
  /** The column the model predicts. */
  target: string;
  /** Each feature becomes (value − mean) / std before it reaches the network. */
  scaling: { method: 'standardize'; mean: number[]; std: number[] };
  /** Classifiers: the label of each output unit. */
  labels?: (string | number)[];
  /** Regressors: the network predicts (target − mean) / std. */
  targetScaling?: { mean: number; std: number };
}

/** The parameters of a tabular module, defaults filled in. */
export interface TabularParams {
  /** Units of each hidden dense layer (ReLU); `[]` for none. */
  hidden: number[];
  /** Passes over the training rows. */
  epochs: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Rows per gradient step. */
  batchSize: number;
  /** Share of rows held out (after a seeded shuffle) to report `val_*` metrics. */
  validationSplit: number;
  /** Seeds the shuffle, the split and the initial weights: the same data and seed train the same model. */
  seed: number;
  /** The feature columns; default: every column but the target. */
  features?: string[];
}

/** The parameters a tabular module uses where a job gives none. */
export const TABULAR_DEFAULTS: TabularParams = { hidden: [16], epochs: 50, learningRate: 0.01, batchSize: 32, validationSplit: 0.2, seed: 42 };

const invalidParam = (name: string, rule: string, value: unknown) =>
  new HangarError(ErrorCode.InvalidArgument, `The parameter ${name} must be ${rule}; it is ${JSON.stringify(value)}.`, { param: name, value });

const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

/** The parameters as used: defaults for those not given, `invalid-argument` for a bad value. */
export function tabularParams(given: Record<string, unknown>): TabularParams {
  const p = { ...TABULAR_DEFAULTS, ...given } as Record<string, unknown>;
  if (!Array.isArray(p.hidden) || !p.hidden.every(positiveInt)) throw invalidParam('hidden', 'a list of positive integers', p.hidden);
  if (!positiveInt(p.epochs)) throw invalidParam('epochs', 'a positive integer', p.epochs);
  if (!positiveInt(p.batchSize)) throw invalidParam('batchSize', 'a positive integer', p.batchSize);
  if (typeof p.learningRate !== 'number' || !(p.learningRate > 0)) throw invalidParam('learningRate', 'a number above 0', p.learningRate);
  const split = p.validationSplit;
  if (typeof split !== 'number' || !(split >= 0 && split < 1)) throw invalidParam('validationSplit', 'a number from 0 up to (not including) 1', split);
  if (!Number.isInteger(p.seed)) throw invalidParam('seed', 'an integer', p.seed);
  if (p.features !== undefined && !(Array.isArray(p.features) && p.features.every((f) => typeof f === 'string'))) {
    throw invalidParam('features', 'a list of column names', p.features);
  }
  const { hidden, epochs, learningRate, batchSize, validationSplit, seed, features } = p as unknown as TabularParams;
  return { hidden: [...hidden], epochs, learningRate, batchSize, validationSplit, seed, ...(features && { features: [...features] }) };
}

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `items` in a seeded random order (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Mean and standard deviation of each feature over the training rows (std 1 for a constant column). */
export function fitScaling(x: number[][], rows: readonly number[], width: number): Preprocessing['scaling'] {
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (const r of rows) for (let j = 0; j < width; j++) mean[j]! += x[r]![j]! / rows.length;
  for (const r of rows) for (let j = 0; j < width; j++) std[j]! += (x[r]![j]! - mean[j]!) ** 2 / rows.length;
  return { method: 'standardize', mean, std: std.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

/** Rows of feature values, standardized, flat in row order (a [rows, features] matrix). */
export function scale(prep: Preprocessing, x: readonly number[][]): Float32Array {
  const width = prep.features.length;
  const out = new Float32Array(x.length * width);
  x.forEach((row, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = (row[j]! - prep.scaling.mean[j]!) / prep.scaling.std[j]!;
  });
  return out;
}

/** The feature values of rows given for prediction; a missing or non-numeric feature is `invalid-argument`. */
export function featureMatrix(prep: Preprocessing, rows: readonly Record<string, unknown>[]): number[][] {
  if (!Array.isArray(rows)) throw new HangarError(ErrorCode.InvalidArgument, 'rows must be a list of objects.');
  return rows.map((row, i) =>
    prep.features.map((column) => {
      const n = toNumber(row?.[column]);
      if (n === undefined) {
        throw new HangarError(
          ErrorCode.InvalidArgument,
          `Row ${i + 1} has ${row?.[column] == null || row[column] === '' ? 'no value' : `${JSON.stringify(row[column])}, not a number,`} for the feature "${column}"; the model needs ${prep.features.join(', ')}.`,
          { row: i, column, features: prep.features },
        );
      }
      return n;
    }),
  );
}

/** Checks a checkpoint was made from data of the same shape as the data now given. */
export function checkSameData(prep: Preprocessing, dataset: Dataset): void {
  if (prep.target !== dataset.target || prep.features.join('\0') !== dataset.features.join('\0')) {
    throw new HangarError(
      ErrorCode.InvalidArgument,
      `The checkpoint was trained to predict "${prep.target}" from ${prep.features.join(', ')}; this data has "${dataset.target}" from ${dataset.features.join(', ')}.`,
      { checkpoint: { target: prep.target, features: prep.features }, data: { target: dataset.target, features: dataset.features } },
    );
  }
}

/** preprocessing.json of a tabular model, checked to belong to `module`. */
export async function readPreprocessing(files: ModelFiles, module: string): Promise<Preprocessing> {
  const prep = await readJsonFile<Preprocessing>(files, PREPROCESSING_JSON);
  const ok =
    prep?.format === 1 &&
    Array.isArray(prep.features) &&
    typeof prep.target === 'string' &&
    Array.isArray(prep.scaling?.mean) &&
    Array.isArray(prep.scaling?.std) &&
    prep.scaling.mean.length === prep.features.length &&
    prep.scaling.std.length === prep.features.length;
  if (!ok) throw new HangarError(ErrorCode.InvalidModelFile, `${PREPROCESSING_JSON} is not one a tabular module wrote.`);
  if (prep.module !== module) {
    throw new HangarError(ErrorCode.InvalidModelFile, `These files are a ${prep.module} model, not a ${module} one.`, { module: prep.module });
  }
  return prep;
}

/** `preprocessing.json` as a file, to save with the model. */
export const preprocessingFile = (prep: Preprocessing) => new Blob([JSON.stringify(prep, null, 2)], { type: 'application/json' });
