import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { namespaceSchema, nameSchema } from '../../../shared/names.ts';
import { parseWith } from '../../../shared/validate.ts';
import { LIMITS } from '../../../shared/limits.ts';
import type { Backend, DataReport, ModelFiles, TrainerWorkerApi, TrainingData, TrainProgress, TrainRequest } from '../../jobs/protocol.ts';
import type { JobRecord, TrainJobRequest } from '../db.ts';
import type { VersionHandle } from '../version.ts';
import { backendSchema, type FactoryContext } from './context.ts';
import { Job, type JobInfo } from './job.ts';
import { moduleProblem } from './models.ts';
import { holdJob } from './records.ts';
import { describeError, jobNotFound, JobRunner, type LiveJob } from './runner.ts';
import { loggedEpochs, newTrainedVersion, resumePoint, saveTrained, versionById } from './training.ts';
import { spawnTrainWorker, type Spawn, type WorkerHandle } from './workers.ts';

/** Options of `trainer.train(module, opts)`. */
export interface TrainOptions {
  /** A CSV file (first row = header; parsed in the worker), rows, or `{ csv }` / `{ rows }`. */
  data: Blob | Record<string, string | number>[] | TrainingData;
  /** The column to predict. */
  target: string;
  /** Module parameters: `{ epochs: 50, hidden: [16], learningRate: 0.01 }`. */
  params?: Record<string, unknown>;
  /** Where the trained version goes; the model is created (task `tabular`) when missing. */
  saveAs: { namespace: string; model: string };
  /** Backends to try, in order. Default: the initializer's priority for the module. */
  backends?: Backend[];
  /** Save a checkpoint every this many epochs (0: never). Default: the registry's `jobs.checkpointEvery`. */
  checkpointEvery?: number;
}

/** Starts training jobs (caikit's trainer). Built by the `trainers` factories: `hangar.trainer('local')`. */
export interface Trainer {
  /** The type name it was built under (`local`), lower-cased: the prefix of its jobs' ids. */
  readonly type: string;
  /**
   * Starts (or queues) a job at once and answers it; bad options throw `invalid-argument` here.
   * A module that does not train ends the job `errored` at once (`unknown-module`, or
   * `invalid-argument` for an import module), with no model or version made.
   */
  train(module: string, opts: TrainOptions): Job<VersionHandle>;
  /**
   * Restarts an `interrupted` job from its last checkpoint, under the same id. Resuming a job this
   * trainer is already running answers it; one running in another page is `invalid-argument`.
   */
  resume(id: string): Promise<Job<VersionHandle>>;
  /** A handle on one of this trainer's jobs. */
  get(id: string): Promise<Job<VersionHandle>>;
  /**
   * The data report of training data, before any job starts (DESIGN §1 "Data report"): each
   * column's type, missing and distinct counts, and what training `module` would do with it; the
   * rows it would leave out. Refuses (`invalid-dataset`, naming the column) what training would
   * refuse. Runs in a worker of its own, which ends with the answer.
   */
  report(module: string, opts: Pick<TrainOptions, 'data' | 'target' | 'params'>): Promise<DataReport>;
  /** Stops every job running here; they end `interrupted`, to resume later. */
  close(): Promise<void>;
  /**
   * Jobs this trainer knows without the job table (the `remote` trainer's runs): listed by
   * `hangar.jobs()` beside the recorded ones, and found by `hangar.job(id)`.
   */
  jobs?(): Promise<JobInfo[]>;
}

const row = z.record(z.string(), z.union([z.string(), z.number()]));
const optionsSchema = z.object({
  data: z.union([z.instanceof(Blob), z.array(row), z.object({ csv: z.instanceof(Blob) }), z.object({ rows: z.array(row) })]),
  target: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
  saveAs: z.object({ namespace: namespaceSchema, model: nameSchema }),
  backends: z.array(backendSchema).min(1).optional(),
  checkpointEvery: z.number().int().min(0).optional(),
});

const reportSchema = optionsSchema.pick({ data: true, target: true, params: true });

/** Training data as a request carries it; a CSV over `LIMITS.trainingDataBytes` is `payload-too-large`, naming the limit. */
function trainingData(given: TrainOptions['data']): TrainingData {
  const data: TrainingData = given instanceof Blob ? { csv: given } : Array.isArray(given) ? { rows: given } : given;
  if ('csv' in data && data.csv.size > LIMITS.trainingDataBytes) {
    const mib = (n: number) => `${Math.round(n / (1024 * 1024))} MiB`;
    throw new HangarError(ErrorCode.PayloadTooLarge, `The training data is ${mib(data.csv.size)}; the limit is ${mib(LIMITS.trainingDataBytes)} (LIMITS.trainingDataBytes).`, {
      size: data.csv.size,
      limit: LIMITS.trainingDataBytes,
    });
  }
  return data;
}

/** Thrown inside a run: the job stopped (canceled, or its record ended by another page) before completing. */
const STOPPED = Symbol('stopped');

/** One running job's worker and stop switch (aborted with how it ends: `canceled` or `interrupted`). */
interface Run {
  abort: AbortController;
  worker?: WorkerHandle<TrainerWorkerApi>;
}

/**
 * LOCAL: each job in its own module Web Worker, at most `jobs.concurrency` at once (the rest
 * queue). The version is created when the job starts, so its metrics show live; checkpoints and
 * metrics go to it as the worker reports them; the model files and lineage when it finishes.
 */
export class LocalTrainer extends JobRunner<VersionHandle> implements Trainer {
  protected readonly kind = 'train';
  private readonly queue: string[] = [];
  private readonly runs = new Map<string, Run>();
  /** Resumes under way, so two at once in this page answer one job. */
  private readonly resuming = new Map<string, Promise<Job<VersionHandle>>>();
  private running = 0;

  constructor(
    ctx: FactoryContext,
    private readonly spawn: Spawn<TrainerWorkerApi> = spawnTrainWorker,
  ) {
    super(ctx);
  }

  train(module: string, opts: TrainOptions): Job<VersionHandle> {
    if (typeof module !== 'string' || !module) throw new HangarError(ErrorCode.InvalidArgument, 'Invalid training job: name a module to train, e.g. "tabular-classifier".');
    const o = parseWith(optionsSchema, opts, 'training options');
    const data = trainingData(o.data);
    const request: TrainJobRequest = {
      data,
      target: o.target,
      params: o.params ?? {},
      backends: o.backends ?? this.ctx.initializer().backendsFor(module),
      checkpointEvery: o.checkpointEvery ?? this.ctx.settings.checkpointEvery,
      saveAs: o.saveAs,
    };
    const id = this.newId();
    // A module that cannot train ends the job here, before any model or version is made.
    const problem = moduleProblem(module, 'train');
    const now = Date.now();
    const end = problem ? { status: 'errored' as const, completed: now, error: describeError(problem) } : { status: 'queued' as const, completed: null, error: null };
    const record: JobRecord = {
      ...{ id, type: 'train', module, progress: null, submitted: now, started: null, ...end },
      ...{ request, versionId: null, lastCheckpoint: null, backend: null },
    };
    const job = this.create(record, (j) => this.stop(j));
    if (problem) void job.created.then(() => job.reject(problem), (err: unknown) => job.reject(err));
    else this.enqueue(job);
    return new Job(id, this);
  }

  async report(module: string, opts: Pick<TrainOptions, 'data' | 'target' | 'params'>): Promise<DataReport> {
    if (typeof module !== 'string' || !module) throw new HangarError(ErrorCode.InvalidArgument, 'Name a module to report for, e.g. "tabular-classifier".');
    const o = parseWith(reportSchema, opts, 'data report options');
    const data = trainingData(o.data);
    const problem = moduleProblem(module, 'train');
    if (problem) throw problem;
    const worker = this.spawn();
    try {
      return await Promise.race([worker.api.report({ module, data, target: o.target, params: o.params ?? {} }), worker.failed]);
    } finally {
      worker.terminate();
    }
  }

  resume(id: string): Promise<Job<VersionHandle>> {
    const current = this.live.get(id);
    if (current && !current.settled) return Promise.resolve(new Job(id, this));
    let resuming = this.resuming.get(id);
    if (!resuming) {
      resuming = this.restart(id).finally(() => this.resuming.delete(id));
      this.resuming.set(id, resuming);
    }
    return resuming;
  }

  async close(): Promise<void> {
    const queued = this.queue.splice(0).map((id) => this.live.get(id)!);
    await Promise.all(queued.map((job) => this.end(job, 'interrupted')));
    const running = [...this.runs.keys()].map((id) => this.live.get(id)!);
    for (const run of this.runs.values()) run.abort.abort('interrupted');
    await Promise.all(running.map((job) => job.outcome.catch(() => undefined)));
  }

  protected async loadResult(record: JobRecord): Promise<VersionHandle> {
    if (!record.versionId) throw jobNotFound(record.id);
    return versionById(this.ctx.client, record.versionId);
  }

  /** A job canceled through its record fails its version, unless the version was already finished (ready). */
  protected override async canceledElsewhere(record: JobRecord): Promise<void> {
    const version = record.versionId ? await versionById(this.ctx.client, record.versionId).catch(() => undefined) : undefined;
    if (version && version.status !== 'ready') await version.markFailed().catch(() => undefined);
  }

  /**
   * Resumes an interrupted job: takes its lock (free unless another page has it), then moves its
   * record from `interrupted` to `queued`; only when that applied does the job run here.
   */
  private async restart(id: string): Promise<Job<VersionHandle>> {
    await this.record(id);
    const release = await holdJob(id);
    let record: JobRecord | undefined;
    try {
      record = release && (await this.ctx.records.update(id, { status: 'queued', error: null, completed: null }, ['interrupted']));
    } finally {
      if (!record) release?.();
    }
    if (!record) {
      const status = (await this.ctx.records.get(id))?.status;
      const why = release ? `is ${status}` : 'runs in another page';
      throw new HangarError(ErrorCode.InvalidArgument, `Job "${id}" ${why}; only an interrupted job can resume.`, { job: id, status });
    }
    this.enqueue(this.track(id, Promise.resolve(release), Promise.resolve(), (j) => this.stop(j)));
    return new Job(id, this);
  }

  private enqueue(job: LiveJob<VersionHandle>): void {
    this.queue.push(job.id);
    job.created.then(
      () => this.pump(),
      (err: unknown) => {
        this.unqueue(job.id);
        job.reject(err);
      },
    );
  }

  /** Takes a job off the queue; false when it is not there (started, or taken off already). */
  private unqueue(id: string): boolean {
    const at = this.queue.indexOf(id);
    if (at < 0) return false;
    this.queue.splice(at, 1);
    return true;
  }

  private pump(): void {
    while (this.running < this.ctx.settings.concurrency && this.queue.length) {
      const job = this.live.get(this.queue.shift()!)!;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async stop(job: LiveJob<VersionHandle>): Promise<void> {
    if (this.unqueue(job.id)) {
      await job.created.catch(() => undefined);
      await this.end(job, 'canceled');
    } else {
      this.runs.get(job.id)?.abort.abort('canceled');
    }
    await job.outcome.catch(() => undefined);
  }

  /** The version being trained: the one an earlier run made, or a new one. */
  private async versionFor(job: LiveJob<VersionHandle>, record: JobRecord, request: TrainJobRequest): Promise<VersionHandle> {
    if (record.versionId) return versionById(this.ctx.client, record.versionId);
    const version = await newTrainedVersion(this.ctx.registry, record.module, request);
    await this.write(job, { versionId: version.id });
    return version;
  }

  private async run(job: LiveJob<VersionHandle>): Promise<void> {
    const run: Run = { abort: new AbortController() };
    this.runs.set(job.id, run);
    const { signal } = run.abort;
    const check = () => {
      if (signal.aborted) throw STOPPED;
    };
    let version: VersionHandle | undefined;
    let ready = false;
    try {
      const record = await this.write(job, { status: 'running', started: Date.now() }, ['queued']);
      if (!record) throw STOPPED;
      const request = record.request as TrainJobRequest;
      const worker = (run.worker = this.spawn());
      // Cancel terminates the worker, whose pending call then never answers: race it.
      const stopped = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(STOPPED), { once: true }));
      stopped.catch(() => undefined);
      if (!record.versionId) {
        // Data training would refuse is refused before any version exists: none is left behind.
        const { data, target, params } = request;
        await Promise.race([worker.api.report({ module: record.module, data, target, params }), worker.failed, stopped]);
        check();
      }
      // Created pending (see newTrainedVersion): `ns/m` never picks it half-made, here or elsewhere.
      const trained = (version = await this.versionFor(job, record, request));
      // Epochs an earlier run logged are not logged twice when it resumes.
      const logged = await loggedEpochs(trained);
      check();
      const resume = await resumePoint(trained);
      check();
      const onProgress = (p: TrainProgress) => this.progress(job, run, trained, p, logged);
      const onCheckpoint = async (epoch: number, files: ModelFiles) => {
        if (signal.aborted) return;
        await trained.saveCheckpoint(`epoch_${epoch}`, files);
        await this.write(job, { lastCheckpoint: { epoch } }, ['running']);
      };
      const { data, target, params, backends, checkpointEvery } = request;
      const train: TrainRequest = { module: record.module, data, target, params, backends, checkpointEvery, ...(resume ? { resume } : {}) };
      const result = await Promise.race([worker.api.train(train, onProgress, onCheckpoint), worker.failed, stopped]);
      worker.terminate();
      check();
      await saveTrained(this.ctx.client, trained, { id: job.id, module: record.module }, result);
      // From here the version is finished: a cancel comes too late, and should another page have
      // ended the record meanwhile, the job ends as it says while the version stays ready.
      ready = true;
      if (!(await this.write(job, { status: 'completed', completed: Date.now(), backend: result.backend }, ['running']))) throw STOPPED;
      job.resolve(await trained.refresh());
    } catch (err) {
      run.worker?.terminate();
      const halted = err === STOPPED || signal.aborted;
      const how = !halted ? 'errored' : signal.aborted && !ready ? (signal.reason as 'canceled' | 'interrupted') : 'canceled';
      // Failed or canceled: the version is marked failed everywhere. Interrupted: it stays pending, to resume.
      if (version && !ready && how !== 'interrupted') await version.markFailed().catch(() => undefined);
      await this.end(job, how, how === 'errored' ? describeError(err) : undefined);
    } finally {
      this.runs.delete(job.id);
    }
  }

  private progress(job: LiveJob<VersionHandle>, run: Run, version: VersionHandle, p: TrainProgress, logged: number): void {
    const { signal } = run.abort;
    if (signal.aborted) return;
    for (const listener of job.listeners) {
      try {
        listener(p);
      } catch {
        // A listener's failure is its own; training goes on.
      }
    }
    const metrics = Object.fromEntries(Object.entries(p.metrics).filter(([, v]) => Number.isFinite(v)));
    if (p.epoch > logged) void version.logMetrics(metrics, { step: p.epoch }).catch(() => undefined);
    // Another page may have ended its record (a cancel, or taken it for interrupted): stop at this epoch.
    void this.write(job, { progress: p }, ['running'])
      .then(async (changed) => {
        if (changed || signal.aborted) return;
        const status = (await this.ctx.records.get(job.id))?.status;
        run.abort.abort(status === 'interrupted' ? 'interrupted' : 'canceled');
      })
      .catch(() => undefined);
  }
}

/** The LOCAL trainer's factory. */
export const localTrainer = (ctx: FactoryContext): Trainer => new LocalTrainer(ctx);
