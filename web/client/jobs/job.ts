import type { Backend, TrainProgress } from '../../jobs/protocol.ts';
import type { JobRecord, JobStatus } from '../db.ts';

export type { JobStatus };

/** One finished epoch of a training job: `{ epoch, epochs, metrics: { loss, accuracy, … } }`. */
export type JobProgress = TrainProgress;

/** A job's state, as `job.info()` and `hangar.jobs()` answer it. */
export interface JobInfo {
  /** `<type>:<uuidv7>`: the trainer or predictor type that runs it, so `hangar.job(id)` finds it again. */
  id: string;
  type: 'train' | 'predict';
  /** The module trained or run (`tabular-classifier`…); empty until a prediction has found its version. */
  module: string;
  status: JobStatus;
  /** The last finished epoch of a training job; null before the first, and for predictions. */
  progress: JobProgress | null;
  /** ISO 8601 times. */
  submitted: string;
  started: string | null;
  /** When it ended (completed, errored, canceled, or interrupted: stopped or found stopped); null while it runs. */
  completed: string | null;
  /** Why an `errored` job failed: a Hangar error code and a sentence. */
  error: { code: string; message: string } | null;
  /** The version being trained (from the moment the job runs), or the version a prediction ran. */
  versionId: string | null;
  /** The last checkpoint saved, which `resume` restarts from. */
  lastCheckpoint: { epoch: number } | null;
  /** The backend the worker ran on, once known. */
  backend: Backend | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A stored job as `JobInfo`. */
export function toJobInfo(r: JobRecord): JobInfo {
  return {
    id: r.id,
    type: r.type,
    module: r.module,
    status: r.status,
    progress: r.progress,
    submitted: new Date(r.submitted).toISOString(),
    started: iso(r.started),
    completed: iso(r.completed),
    error: r.error,
    versionId: r.versionId,
    lastCheckpoint: r.lastCheckpoint,
    backend: r.backend,
  };
}

/** What runs jobs (a trainer or a predictor): a `Job` handle asks it everything. */
export interface JobHost<T> {
  info(id: string): Promise<JobInfo>;
  onProgress(id: string, listener: (p: JobProgress) => void): () => void;
  cancel(id: string): Promise<void>;
  wait(id: string): Promise<JobInfo>;
  result(id: string): Promise<T>;
  resume(id: string): Promise<unknown>;
}

/**
 * A job as a future (caikit's): it is returned at once, runs in the background, and can be
 * asked for its state, followed, canceled, waited for and asked for its result. Handles are
 * cheap: `hangar.job(id)` makes another one for the same job, in this page or a later one.
 */
export class Job<T> {
  constructor(
    /** `<type>:<uuidv7>`, e.g. `local:0190…`. */
    readonly id: string,
    private readonly host: JobHost<T>,
  ) {}

  /** The job's state now. */
  info(): Promise<JobInfo> {
    return this.host.info(this.id);
  }

  /**
   * Calls `listener` after each finished epoch (training jobs); answers a function that
   * stops it. Progress of a job running in another tab arrives through the job's record.
   */
  onProgress(listener: (p: JobProgress) => void): () => void {
    return this.host.onProgress(this.id, listener);
  }

  /**
   * Cancels the job: a queued one never starts; a running one's worker is terminated. The
   * job ends `canceled` (a training job's version `failed`). Nothing happens to a finished job,
   * nor to a trained version already ready (saving its files, the job is past canceling).
   */
  cancel(): Promise<void> {
    return this.host.cancel(this.id);
  }

  /** Waits until the job has ended (completed, errored, canceled or interrupted) and answers its state; never rejects for the job's own failure. */
  wait(): Promise<JobInfo> {
    return this.host.wait(this.id);
  }

  /**
   * The job's result once it has completed: the trained version (training) or the
   * predictions (prediction). An errored job rejects with its HangarError (code kept); a
   * canceled or interrupted one with `job-stopped`.
   */
  result(): Promise<T> {
    return this.host.result(this.id);
  }

  /** Restarts an `interrupted` training job from its last checkpoint, under the same id. */
  async resume(): Promise<void> {
    await this.host.resume(this.id);
  }
}
