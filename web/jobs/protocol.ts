/**
 * What crosses between the page (job management, `web/client/jobs/`) and the Web Workers that
 * train and predict (`web/jobs/*.worker.ts`). Large payloads travel as Blobs (handles, not
 * bytes) or transferred ArrayBuffers; errors keep their Hangar code (`web/common/comlink-errors.ts`).
 */

/** Backends a module may run on, in the order an initializer tries them. */
export type Backend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** A model's files: path → bytes. `model.json` + weight shards for tfjs, `model.onnx` for ONNX. */
export type ModelFiles = Record<string, Blob>;

/** Training data: a CSV file (parsed in the worker, first row = header) or rows already parsed. */
export type TrainingData = { csv: Blob } | { rows: Record<string, string | number>[] };

/**
 * One training run, as job management (`web/client/jobs/trainer.ts`) asks the trainer worker for
 * it: which module trains on which data, with which parameters, on which backend, and whether it
 * goes on from a checkpoint. Crosses to the worker by structured clone (the CSV as a Blob handle).
 */
export interface TrainRequest {
  /** A trainable module type id: `tabular-classifier`, `tabular-regressor` (`MODULE_TYPES`). */
  module: string;
  /** The rows to learn from; the module holds some out for validation when its parameters say so. */
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

/** What profiling found a column to hold. */
export type ColumnType = 'numeric' | 'categorical' | 'boolean' | 'identifier' | 'date' | 'constant' | 'empty';

/** What training does with a column: predicts it, uses it as it is, imputes its gaps, one-hot encodes it, or leaves it out. */
export type ColumnAction = 'target' | 'use' | 'impute' | 'one-hot' | 'ignore';

/** One column of a data report. */
export interface ColumnReport {
  name: string;
  type: ColumnType;
  /** Rows (of those read) where the cell is missing: empty, `NA`, `null`, `?`… */
  missing: number;
  /** Distinct values among the cells that are present. */
  distinct: number;
  action: ColumnAction;
  /** Why, in words: "3 distinct values, one-hot", "every value differs: an identifier". */
  reason: string;
  /** Whether training uses it as a feature; `false` for the target and ignored columns. */
  feature: boolean;
  /** Numeric and boolean columns: smallest, median and largest value present. */
  min?: number;
  median?: number;
  max?: number;
  /** Categorical columns: their most frequent values, most frequent first (at most `LIMITS.categoricalVocabulary`). */
  values?: string[];
}

/** Rows training leaves out, by reason, with the first few lines (CSV lines, header = 1; or row numbers). */
export interface DroppedRows {
  reason: 'malformed row' | 'missing target';
  count: number;
  lines: number[];
  /** What was wrong with the first of them. */
  detail?: string;
}

/**
 * What a data set holds and what training will do with it (DESIGN §1 "Data report"): made by the
 * trainer worker before training, shown before a job starts, and stored with the version.
 */
export interface DataReport {
  /** `hangar.data-report` version 1. */
  format: 1;
  /** The module it was made for: a classifier and a regressor treat a target differently. */
  module: string;
  target: string;
  /** `,`, `;`, tab or `|`. */
  delimiter: string;
  decimalComma: boolean;
  /** Rows of data read (malformed rows not counted). */
  rows: number;
  /** Rows training uses: read, and with a target. */
  usedRows: number;
  dropped: DroppedRows[];
  columns: ColumnReport[];
  /** The feature columns training uses, in order. */
  features: string[];
  /** Classifiers: rows per class (of the rows used). */
  classes?: Record<string, number>;
}

/** A data report asked for before training: the same data, target, module and parameters a training run takes. */
export interface ReportRequest {
  module: string;
  data: TrainingData;
  target: string;
  params: Record<string, unknown>;
}

/** One finished epoch. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  /** `loss`, `accuracy`, `val_loss`, … of this epoch. */
  metrics: Record<string, number>;
}

/** A backend asked for that could not start, and why (e.g. `{ backend: 'wasm', error: 'TypeError: Failed to fetch' }`). */
export interface SkippedBackend {
  backend: Backend;
  error: string;
}

/**
 * What a finished training run answers: the model as files (the version's artifacts), how it did,
 * and what it was made from and on (the version's lineage). Every epoch's progress has reached
 * `onProgress` before this arrives.
 */
export interface TrainResult {
  /** The trained model: `model.json`, `weights.bin` and the module's own files (`preprocessing.json`). */
  files: ModelFiles;
  /** Final metrics (held-out where a validation split was used). */
  metrics: Record<string, number>;
  /** The backend training ran on. */
  backend: Backend;
  /** Backends asked for before `backend` that could not start, and why; absent when the first one started. */
  skipped?: SkippedBackend[];
  /** SHA-256 of the training data as given (the CSV's bytes, or the rows as JSON). */
  datasetSha256: string;
  /** The parameters as used, defaults filled in. */
  params: Record<string, unknown>;
  /** Tabular modules: what the data held and what training did with each column. */
  report?: DataReport;
}

/** The trainer worker's API (`web/jobs/train.worker.ts`), called through Comlink. */
export interface TrainerWorkerApi {
  /**
   * Trains one model. `onProgress` is called after every epoch; training does not wait for it
   * between checkpoints, but every progress call sent so far has been answered (the callback has
   * returned, and its promise settled if it returns one) before `onCheckpoint` is called and
   * before `train` answers: the page sees epoch N's progress before epoch N's checkpoint, and no
   * progress after the result. Training waits for `onCheckpoint`.
   */
  train(
    request: TrainRequest,
    onProgress: (p: TrainProgress) => void | Promise<void>,
    onCheckpoint: (epoch: number, files: ModelFiles) => Promise<void>,
  ): Promise<TrainResult>;
  /**
   * Profiles training data without training: each column's type and what training would do
   * with it, the rows it would leave out. Bad data (no such target, a constant target, nothing
   * left to learn from) is refused here with the same `invalid-dataset` training would give.
   */
  report(request: ReportRequest): Promise<DataReport>;
}

/** What prediction takes: rows of named features (tabular modules) or named input tensors (imported models). */
export type PredictInput =
  | { rows: Record<string, string | number>[] }
  | { tensors: Record<string, { data: Float32Array | Int32Array; shape: number[] }> };

/**
 * Predictions: one per row (a class label or a number), or named output tensors; with the
 * backend the prediction actually ran on (set by the predictor worker).
 */
export type PredictOutput = (
  | { predictions: (string | number)[]; probabilities?: number[][]; imputed?: ImputedCell[] }
  | { tensors: Record<string, { data: Float32Array | Int32Array; shape: number[] }> }
) & { backend?: Backend };

/** A cell a tabular model filled in or mapped before predicting: missing or not a number (imputed), or a category training never saw ("other"). */
export interface ImputedCell {
  /** The row, from 0. */
  row: number;
  column: string;
  reason: 'missing' | 'not a number' | 'unseen category';
  /** What the model used instead: the training median, or `other`. */
  used: number | string;
}

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
  ): Promise<{ backend: Backend; skipped?: SkippedBackend[]; inputs?: TensorSpec[]; outputs?: TensorSpec[] }>;
  /**
   * Predicts with a loaded model. tfjs models take turns (tfjs has one active backend per
   * worker), each on the backend it was loaded on; the answer says which (`backend`).
   */
  predict(key: string, input: PredictInput): Promise<PredictOutput>;
  unload(key: string): Promise<void>;
}

/** tfjs's memory in a worker: its tensors, and the data buffers each started backend holds. */
export interface TfjsMemory {
  numTensors: number;
  numBytes: number;
  /** Data buffers (tensors and variables) per started backend, e.g. `{ cpu: 12, wasm: 4 }`. */
  backends: Partial<Record<Backend, number>>;
}

/**
 * What `web/jobs/predict.worker.ts` exposes: the predictor API, plus a debugging call job
 * management does not use (tests and benchmarks do).
 */
export interface PredictorWorkerDebugApi extends PredictorWorkerApi {
  /** tfjs's memory in the worker now; null while no tfjs model has loaded there. */
  memory(): Promise<TfjsMemory | null>;
}

/** Default backend priority per framework. */
export const DEFAULT_BACKENDS: Record<'tfjs' | 'onnx', Backend[]> = {
  tfjs: ['webgpu', 'webgl', 'wasm', 'cpu'],
  onnx: ['webgpu', 'wasm'],
};
