import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { namespaceSchema, nameSchema } from '../../../shared/names.ts';
import { parseWith } from '../../../shared/validate.ts';
import type { Backend, ModelFiles, TrainerWorkerApi, TrainingData, TrainProgress, TrainRequest, TrainResult } from '../../jobs/protocol.ts';
import type { JobRecord, TrainJobRequest } from '../db.ts';
import { VersionHandle } from '../version.ts';
import type { FactoryContext } from './context.ts';
import { frameworkOf } from './initializer.ts';
import { Job } from './job.ts';
import { ensureModel, uploadModelFiles } from './models.ts';
import { describeError, jobNotFound, JobRunner, noResult, type LiveJob } from './runner.ts';
import { spawnTrainWorker, type Spawn, type WorkerHandle } from './workers.ts';
import { setLocalStatus } from '../version.ts';

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
  readonly type: string;
  /** Starts (or queues) a job at once and answers it; bad options throw `invalid-argument` here. */
  train(module: string, opts: TrainOptions): Job<VersionHandle>;
  /** Restarts an `interrupted` job from its last checkpoint, under the same id. */
  resume(id: string): Promise<Job<VersionHandle>>;
  /** A handle on one of this trainer's jobs. */
  get(id: string): Promise<Job<VersionHandle>>;
  /** Stops every job running here; they end `interrupted`, to resume later. */
  close(): Promise<void>;
}

const row = z.record(z.string(), z.union([z.string(), z.number()]));
const optionsSchema = z.object({
  data: z.union([z.instanceof(Blob), z.array(row), z.object({ csv: z.instanceof(Blob) }), z.object({ rows: z.array(row) })]),
  target: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
  saveAs: z.object({ namespace: namespaceSchema, model: nameSchema }),
  backends: z.array(z.enum(['webgpu', 'webgl', 'wasm', 'cpu'])).min(1).optional(),
  checkpointEvery: z.number().int().min(0).optional(),
});

const CANCELED = Symbol('canceled');

type Json = z.infer<ReturnType<typeof z.json>>;
/** A value as plain JSON (metadata takes nothing else): undefined and functions dropped. */
const json = (value: unknown): Json => JSON.parse(JSON.stringify(value ?? null)) as Json;
const EPOCH_HANDLE = /^epoch_(\d+)$/;

/** One running job's worker and stop switch. */
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
    const data: TrainingData = o.data instanceof Blob ? { csv: o.data } : Array.isArray(o.data) ? { rows: o.data } : o.data;
    const request: TrainJobRequest = {
      data,
      target: o.target,
      params: o.params ?? {},
      backends: o.backends ?? this.ctx.initializer().backendsFor(module),
      checkpointEvery: o.checkpointEvery ?? this.ctx.settings.checkpointEvery,
      saveAs: o.saveAs,
    };
    const id = this.newId();
    const record: JobRecord = {
      ...{ id, type: 'train', module, status: 'queued', progress: null, submitted: Date.now(), started: null, completed: null, error: null },
      ...{ request, versionId: null, lastCheckpoint: null, backend: null },
    };
    this.enqueue(id, this.ctx.records.add(record));
    return new Job(id, this);
  }

  async resume(id: string): Promise<Job<VersionHandle>> {
    const current = this.live.get(id);
    if (current && !current.settled) return new Job(id, this);
    await this.record(id);
    const record = await this.ctx.records.update(id, { status: 'queued', error: null, completed: null }, ['interrupted']);
    if (record?.status !== 'queued') {
      throw new HangarError(ErrorCode.InvalidArgument, `Job "${id}" is ${record?.status}; only an interrupted job can resume.`, { job: id, status: record?.status });
    }
    this.enqueue(id, Promise.resolve());
    return new Job(id, this);
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
    return this.versionById(record.versionId);
  }

  protected override async canceledElsewhere(record: JobRecord): Promise<void> {
    if (record.versionId) await (await this.versionById(record.versionId)).update({ status: 'failed' }).catch(() => undefined);
  }

  private enqueue(id: string, created: Promise<void>): void {
    const job = this.track(id, created, (j) => this.stop(j));
    this.queue.push(id);
    created.then(
      () => this.pump(),
      (err: unknown) => {
        this.queue.splice(this.queue.indexOf(id), 1);
        job.reject(err);
      },
    );
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
    const queued = this.queue.indexOf(job.id);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      await job.created.catch(() => undefined);
      await this.end(job, 'canceled');
    } else {
      this.runs.get(job.id)?.abort.abort('canceled');
    }
    await job.outcome.catch(() => undefined);
  }

  private async versionById(id: string): Promise<VersionHandle> {
    const row = await this.ctx.client.db.versions.get(id);
    const model = row && (await this.ctx.client.db.models.get(row.modelId));
    if (!row || !model || row.deletedAt !== null) throw new HangarError(ErrorCode.VersionNotFound, 'The version this job trained no longer exists.', { versionId: id });
    return VersionHandle.load(this.ctx.client, model.name, row);
  }

  /** The version being trained: the one an earlier run made, or a new one. */
  private async versionFor(job: LiveJob<VersionHandle>, record: JobRecord, request: TrainJobRequest): Promise<VersionHandle> {
    if (record.versionId) return this.versionById(record.versionId);
    const model = await ensureModel(this.ctx.registry, request.saveAs.namespace, request.saveAs.model, 'tabular');
    const version = await model.newVersion({ framework: frameworkOf(record.module), metadata: { module: record.module, params: json(request.params) } });
    await this.write(job, { versionId: version.id });
    return version;
  }

  /** The latest `epoch_N` checkpoint of the version, to resume from. */
  private async resumePoint(version: VersionHandle): Promise<TrainRequest['resume']> {
    const epochs = (await version.checkpoints()).items.map((c) => Number(EPOCH_HANDLE.exec(c.handle)?.[1] ?? NaN)).filter((n) => Number.isSafeInteger(n));
    if (!epochs.length) return undefined;
    const epoch = Math.max(...epochs);
    const files: ModelFiles = {};
    for (const f of (await version.loadCheckpoint(`epoch_${epoch}`)).files) files[f.path] = f.blob;
    return { epoch, files };
  }

  private async run(job: LiveJob<VersionHandle>): Promise<void> {
    const run: Run = { abort: new AbortController() };
    this.runs.set(job.id, run);
    const { signal } = run.abort;
    const check = () => {
      if (signal.aborted) throw CANCELED;
    };
    let version: VersionHandle | undefined;
    try {
      const record = await this.write(job, { status: 'running', started: Date.now() }, ['queued']);
      if (record?.status !== 'running') throw CANCELED;
      const request = record.request as TrainJobRequest;
      version = await this.versionFor(job, record, request);
      // Pending while it trains, so `ns/m` (the latest ready version) never picks it half-made.
      await setLocalStatus(this.ctx.client, version.id, 'pending');
      // Epochs an earlier run logged are not logged twice when it resumes. The version's own
      // points say how far it got: its page may have closed before the record caught up.
      const logged = Math.max(record.progress?.epoch ?? 0, ...Object.values(await version.metrics()).map((m) => m.lastStep));
      check();
      const resume = await this.resumePoint(version);
      check();
      const trained = version;
      const worker = (run.worker = this.spawn());
      const onProgress = (p: TrainProgress) => this.progress(job, run, trained, p, logged);
      const onCheckpoint = async (epoch: number, files: ModelFiles) => {
        if (signal.aborted) return;
        await trained.saveCheckpoint(`epoch_${epoch}`, files);
        await this.write(job, { lastCheckpoint: { epoch } }, ['running']);
      };
      const { data, target, params, backends, checkpointEvery } = request;
      const train: TrainRequest = { module: record.module, data, target, params, backends, checkpointEvery, ...(resume ? { resume } : {}) };
      // Cancel terminates the worker, whose pending call then never answers: race it.
      const stopped = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(CANCELED), { once: true }));
      const result = await Promise.race([worker.api.train(train, onProgress, onCheckpoint), worker.failed, stopped]);
      worker.terminate();
      check();
      await this.finish(job, trained, result);
    } catch (err) {
      run.worker?.terminate();
      const how = signal.aborted ? (signal.reason === 'interrupted' ? 'interrupted' : 'canceled') : err === CANCELED ? 'canceled' : 'errored';
      if (version && how !== 'interrupted') await version.update({ status: 'failed' }).catch(() => undefined);
      await this.end(job, how, how === 'errored' ? describeError(err) : undefined);
    } finally {
      this.runs.delete(job.id);
    }
  }

  private progress(job: LiveJob<VersionHandle>, run: Run, version: VersionHandle, p: TrainProgress, logged: number): void {
    if (run.abort.signal.aborted) return;
    for (const listener of job.listeners) {
      try {
        listener(p);
      } catch {
        // A listener's failure is its own; training goes on.
      }
    }
    const metrics = Object.fromEntries(Object.entries(p.metrics).filter(([, v]) => Number.isFinite(v)));
    if (p.epoch > logged) void version.logMetrics(metrics, { step: p.epoch }).catch(() => undefined);
    // Another tab may have canceled it through its record: stop at this epoch.
    void this.write(job, { progress: p }, ['running']).then(
      (r) => r?.status === 'canceled' && run.abort.abort('canceled'),
      () => undefined,
    );
  }

  private async finish(job: LiveJob<VersionHandle>, version: VersionHandle, result: TrainResult): Promise<void> {
    await uploadModelFiles(version, result.files);
    const lineage = { module: (await this.record(job.id)).module, params: result.params, datasetSha256: result.datasetSha256, job: job.id, backend: result.backend };
    await version.update({ metadata: { params: json(result.params), lineage: json(lineage) } });
    await this.ctx.client.metrics.flush();
    await setLocalStatus(this.ctx.client, version.id, 'ready');
    if (this.runs.get(job.id)?.abort.signal.aborted) throw CANCELED;
    const done = await this.write(job, { status: 'completed', completed: Date.now(), backend: result.backend }, ['running']);
    if (done?.status !== 'completed') throw CANCELED;
    job.resolve(await version.refresh());
  }

  /** Ends a job that did not complete, in its record and for whoever waits. */
  private async end(job: LiveJob<VersionHandle>, status: 'canceled' | 'errored' | 'interrupted', error?: { code: string; message: string }): Promise<void> {
    const changes = status === 'interrupted' ? { status } : { status, completed: Date.now(), error: error ?? null };
    const row = await this.write(job, changes, ['queued', 'running']).catch(() => undefined);
    const info = { id: job.id, status: row?.status ?? status, error: row?.error ?? error ?? null };
    job.reject(noResult(info));
  }
}

/** The LOCAL trainer's factory. */
export const localTrainer = (ctx: FactoryContext): Trainer => new LocalTrainer(ctx);
