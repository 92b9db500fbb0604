/**
 * What crosses between the page (job management, `web/client/jobs/`) and the Web Workers that
 * train and predict (`web/jobs/*.worker.ts`). Large payloads travel as Blobs (handles, not
 * bytes) or transferred ArrayBuffers; errors keep their Hangar code (`web/client/comlink-errors.ts`).
 */

/** Backends a module may run on, in the order an initializer tries them. */
export type Backend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** A model's files: path → bytes. `model.json` + weight shards for tfjs, `model.onnx` for ONNX. */
export type ModelFiles = Record<string, Blob>;

/** Training data: a CSV file (parsed in the worker, first row = header) or rows already parsed. */
export type TrainingData = { csv: Blob } | { rows: Record<string, string | number>[] };

export interface TrainRequest {
  /** A module type id: `tabular-classifier`, `tabular-regressor`. */
  module: string;
  data: TrainingData;
  /** The column to predict. */
  target: string;
  /** Module parameters, e.g. `{ epochs: 50, hidden: [16], learningRate: 0.01, validationSplit: 0.2 }`. */
  params: Record<string, unknown>;
  /** Backends to try, in order; the first that initializes is used. */
  backends: Backend[];
  /** Save a checkpoint every this many epochs (0: never). */
  checkpointEvery: number;
  /** Resume from a checkpoint saved by an earlier run of the same job. */
  resume?: { epoch: number; files: ModelFiles };
}

/** One finished epoch. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  /** `loss`, `accuracy`, `val_loss`, … of this epoch. */
  metrics: Record<string, number>;
}

export interface TrainResult {
  files: ModelFiles;
  /** Final metrics (held-out where a validation split was used). */
  metrics: Record<string, number>;
  /** The backend training ran on. */
  backend: Backend;
  /** SHA-256 of the training data as given (the CSV's bytes, or the rows as JSON). */
  datasetSha256: string;
  /** The parameters as used, defaults filled in. */
  params: Record<string, unknown>;
}

/** The trainer worker's API (`web/jobs/train.worker.ts`), called through Comlink. */
export interface TrainerWorkerApi {
  train(
    request: TrainRequest,
    onProgress: (p: TrainProgress) => void,
    onCheckpoint: (epoch: number, files: ModelFiles) => Promise<void>,
  ): Promise<TrainResult>;
}

/** What prediction takes: rows of named features (tabular modules) or named input tensors (imported models). */
export type PredictInput =
  | { rows: Record<string, string | number>[] }
  | { tensors: Record<string, { data: Float32Array | Int32Array; shape: number[] }> };

/** Predictions: one per row (a class label or a number), or named output tensors. */
export type PredictOutput =
  | { predictions: (string | number)[]; probabilities?: number[][] }
  | { tensors: Record<string, { data: Float32Array | Int32Array; shape: number[] }> };

/** An input or output tensor of an imported model: its name, dtype and shape (`-1`, `null` or a name: any size). */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape?: (number | string | null)[];
}

/** The predictor worker's API (`web/jobs/predict.worker.ts`): load once, predict many times. */
export interface PredictorWorkerApi {
  /**
   * Loads a model from its files; answers the backend it runs on (and, for imported models, the
   * tensors `predict` takes and gives). A loaded key is kept until `unload`; loading it again replaces it.
   */
  load(
    key: string,
    module: string,
    files: ModelFiles,
    backends: Backend[],
  ): Promise<{ backend: Backend; inputs?: TensorSpec[]; outputs?: TensorSpec[] }>;
  predict(key: string, input: PredictInput): Promise<PredictOutput>;
  unload(key: string): Promise<void>;
}

/** Default backend priority per framework. */
export const DEFAULT_BACKENDS: Record<'tfjs' | 'onnx', Backend[]> = {
  tfjs: ['webgpu', 'webgl', 'wasm', 'cpu'],
  onnx: ['webgpu', 'wasm'],
};
