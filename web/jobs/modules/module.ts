import type { Backend, ModelFiles, PredictInput, PredictOutput, SkippedBackend, TrainProgress, TrainResult } from '../protocol.ts';
import type { Table } from '../csv.ts';
import type { TensorSpec } from './tensors.ts';

/** The ML library a module is built on; it picks the default backend priority (`DEFAULT_BACKENDS`). */
export type Framework = 'tfjs' | 'onnx';

/** What a trainable module is given: the data already parsed, and the job's callbacks. */
export interface TrainJob {
  table: Table;
  target: string;
  params: Record<string, unknown>;
  /** Backends to try, in order (the module skips those it does not support). */
  backends: Backend[];
  /** Save a checkpoint every this many epochs (0: never). */
  checkpointEvery: number;
  /** Files of a checkpoint saved after `epoch` epochs: training continues from there. */
  resume?: { epoch: number; files: ModelFiles };
  /** Called after every epoch, not awaited (the worker orders it before checkpoints). `epoch` counts finished epochs, from 1. */
  onProgress(progress: TrainProgress): void;
  /** Called every `checkpointEvery` epochs with the model as it stands; training waits for it. */
  onCheckpoint(epoch: number, files: ModelFiles): Promise<void>;
}

/** A trained model: what the worker answers, plus the model still in memory. */
export interface Trained extends Omit<TrainResult, 'datasetSha256'> {
  /** The trained model, ready to predict; the caller disposes it. */
  model: LoadedModel;
}

/** A model in memory, on one backend. */
export interface LoadedModel {
  backend: Backend;
  /** Backends asked for before `backend` that could not start, and why; absent when the first one started. */
  skipped?: SkippedBackend[];
  /** Imported models: the input tensors `predict` takes, by name. */
  inputs?: TensorSpec[];
  /** Imported models: the output tensors `predict` answers, by name. */
  outputs?: TensorSpec[];
  predict(input: PredictInput): Promise<PredictOutput>;
  /** Frees its tensors (weights and, after training, its optimizer's) or session; the model cannot predict afterwards. */
  dispose(): void;
}

/** A kind of model Hangar can train or run (DESIGN §1 "Modules"). */
export interface Module {
  /** The type id jobs name it by, e.g. `tabular-classifier`. */
  id: string;
  framework: Framework;
  /** The backends it can run on, best first. */
  backends: readonly Backend[];
  /** Present on modules that train; import-only modules have none. */
  train?(job: TrainJob): Promise<Trained>;
  /** Loads a model from its files on the first of `backends` that works. */
  load(files: ModelFiles, backends: Backend[]): Promise<LoadedModel>;
}
