/**
 * Hangar's client library: a whole model registry in the browser, on IndexedDB.
 *
 * ```ts
 * const hangar = await openRegistry({ name: 'hangar' });
 * const model = await hangar.newModel({ namespace: 'team', name: 'churn', task: 'tabular' });
 * const v = await model.newVersion({ framework: 'tfjs' });
 * v.logMetrics({ loss: 0.31 }, { step: 3 });
 * await model.setAlias('production', v);
 * await hangar.find('team/churn@production');
 * ```
 * @packageDocumentation
 */
export { openRegistry, Hangar, type OpenOptions, type ListModelsOptions } from './registry.ts';
export { ModelHandle } from './model.ts';
export { VersionHandle } from './version.ts';
export type { ArtifactUpload, ReadArtifactOptions } from './artifacts.ts';
export type { ByteProgress } from './read-body.ts';
export type { ArchiveOptions } from './archive.ts';
export type { StorageInfo } from './storage.ts';
export type { LocalTrashEntry } from './trash.ts';
export { HangarError, ErrorCode } from '../../shared/errors.ts';
export type { Artifact, FileType } from '../../shared/artifacts.ts';
export type { AliasHistoryEntry } from '../../shared/aliases.ts';
export type { MetricSummary, MetricPoint } from '../../shared/metrics.ts';
export type { MetricBucket } from '../../shared/downsample.ts';
export type { Checkpoint } from '../../shared/checkpoints.ts';
export type { VersionStatus } from '../../shared/versions.ts';
export type { ModelKind } from '../../shared/models.ts';
export type { Params } from '../../shared/params.ts';
export type { LoadedCheckpoint, CheckpointList } from './checkpoints.ts';
export { Job, type JobInfo, type JobProgress, type JobStatus } from './jobs/job.ts';
export type { Trainer, TrainOptions } from './jobs/trainer.ts';
export type { Predictor, PredictRows } from './jobs/predictor.ts';
export type { Finder, ModelConfig } from './jobs/finder.ts';
export type { Initializer, Framework } from './jobs/initializer.ts';
export type { JobsOptions, FactoryContext } from './jobs/context.ts';
export type { ImportModelFiles } from './jobs/models.ts';
export { finders, initializers, trainers, predictors, FactoryRegistry, type Factory } from './jobs/factories.ts';
export { registerHangarRouters } from './tfjs-io.ts';
export {
  DEFAULT_BACKENDS,
  type Backend,
  type ColumnReport,
  type DataReport,
  type ImputedCell,
  type ModelFiles,
  type PredictInput,
  type PredictOutput,
  type TrainingData,
} from '../jobs/protocol.ts';
export type { SyncOptions, SyncStatus, LiveValue } from './sync/engine.ts';
export type { Conflict } from './sync/conflicts.ts';
export type { UploadProgress } from './sync/blobs.ts';
export { PROTOCOL_VERSION } from '../../shared/sync.ts';
