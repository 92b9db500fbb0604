import { z } from 'zod';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { parseRef } from '../../../shared/refs.ts';
import { parseWith } from '../../../shared/validate.ts';
import type { PredictInput, PredictOutput, PredictorWorkerApi } from '../../jobs/protocol.ts';
import type { JobRecord } from '../db.ts';
import type { FactoryContext } from './context.ts';
import { Job, type JobInfo } from './job.ts';
import { describeError, JobRunner, type LiveJob } from './runner.ts';
import { PredictSession } from './session.ts';
import { spawnPredictWorker, type Spawn } from './workers.ts';

/** Rows of named features, as tabular modules take them. */
export type PredictRows = Record<string, string | number>[];

/** Runs prediction jobs (caikit's predictor). Built by the `predictors` factories: `hangar.predictor('local')`. */
export interface Predictor {
  /** The type name it was built under (`local`), lower-cased: the prefix of its jobs' ids. */
  readonly type: string;
  /**
   * Predicts with a version (`ns/m@alias`, `ns/m/3`, `ns/m`) as a job, answered at once:
   * `await predictor.predict(ref, rows).result()`. A bad reference or input throws here.
   */
  predict(ref: string, input: PredictRows | PredictInput): Job<PredictOutput>;
  get(id: string): Promise<Job<PredictOutput>>;
  /**
   * The jobs it keeps in memory only, newest first: `hangar.jobs()` lists them with the recorded
   * ones. A LOCAL predictor's predictions have no record, so they are listed through this.
   */
  jobs?(): JobInfo[];
  /** Cannot resume a prediction: run it again. */
  resume(id: string): Promise<Job<PredictOutput>>;
  /** Stops the predictor worker, unloading every model; predictions under way end `interrupted`. */
  close(): Promise<void>;
}

const cell = z.union([z.string(), z.number()]);
const tensor = z.object({ data: z.union([z.instanceof(Float32Array), z.instanceof(Int32Array)]), shape: z.array(z.number().int().min(0)) });
const inputSchema = z.union([
  z.array(z.record(z.string(), cell)),
  z.object({ rows: z.array(z.record(z.string(), cell)) }),
  z.object({ tensors: z.record(z.string(), tensor) }),
]);

/**
 * LOCAL: every prediction is a job (cancelable) run in one predictor worker per registry, shared
 * by all its predictions, with the models it loaded kept in an LRU keyed by resolved version.
 * Prediction jobs live in this predictor's memory only: no record in IndexedDB and no Web Lock,
 * so a prediction costs no write. They are kept while they run and, once settled, among the last
 * `KEEP_SETTLED` (256); `hangar.jobs()` and `hangar.job(id)` find them through the predictor, in
 * the registry instance that ran them. A prediction cannot outlive its page anyway: it is never
 * resumed, and its output was never stored.
 */
export class LocalPredictor extends JobRunner<PredictOutput> implements Predictor {
  protected readonly kind = 'predict';
  private readonly session: PredictSession;
  /** Jobs being canceled: their run must not end them a second time. */
  private readonly canceling = new Set<string>();

  constructor(ctx: FactoryContext, spawn: Spawn<PredictorWorkerApi> = spawnPredictWorker) {
    super(ctx);
    this.session = new PredictSession(spawn, ctx.settings.modelCacheSize, ctx.settings.predictorIdleMs);
  }

  /** Version ids of the loaded models, least recently used first. */
  get loaded(): string[] {
    return this.session.loaded;
  }

  predict(ref: string, input: PredictRows | PredictInput): Job<PredictOutput> {
    parseRef(ref);
    const parsed = parseWith(inputSchema, input, 'prediction input');
    const payload: PredictInput = Array.isArray(parsed) ? { rows: parsed } : (parsed as PredictInput);
    const id = this.newId();
    const now = Date.now();
    const record: JobRecord = {
      ...{ id, type: 'predict', module: '', status: 'running', progress: null, submitted: now, started: now, completed: null, error: null },
      ...{ request: { ref }, versionId: null, lastCheckpoint: null, backend: null },
    };
    // Predictions do not queue: the shared worker takes them in turn.
    const job = this.createInMemory(record, (j) => this.stop(j));
    void this.run(job, ref, payload);
    return new Job(id, this);
  }

  jobs(): JobInfo[] {
    return this.inMemory();
  }

  async resume(id: string): Promise<Job<PredictOutput>> {
    throw new HangarError(ErrorCode.InvalidArgument, `Job "${id}" is a prediction; predictions do not resume, so run it again.`, { job: id });
  }

  async close(): Promise<void> {
    for (const job of this.live.values()) if (!job.settled) await this.end(job, 'interrupted');
    this.session.close();
  }

  protected async loadResult(record: JobRecord): Promise<PredictOutput> {
    // Predictions are kept in memory only, by the page that ran them: a prediction record is one
    // an earlier version of Hangar wrote.
    throw new HangarError(ErrorCode.InvalidArgument, `Job "${record.id}" ran in another page; its predictions were not kept. Run it again.`, { job: record.id });
  }

  private async run(job: LiveJob<PredictOutput>, ref: string, input: PredictInput): Promise<void> {
    try {
      const config = await this.ctx.finder().find(ref);
      if (job.settled || this.canceling.has(job.id)) return;
      await this.write(job, { module: config.module, versionId: config.version.id });
      const { output, backend } = await this.session.predict(job.id, config, this.ctx.initializer(), input);
      if (job.settled || this.canceling.has(job.id)) return;
      // Only this predictor ends its jobs (they have no record): a job still here is running.
      if (await this.write(job, { status: 'completed', completed: Date.now(), backend }, ['running'])) job.resolve(output);
      else await this.end(job, 'canceled');
    } catch (err) {
      if (!job.settled && !this.canceling.has(job.id)) await this.end(job, 'errored', describeError(err));
    }
  }

  /** Cancel: the job ends `canceled` at once; its worker call is stopped if nothing else needs the worker. */
  private async stop(job: LiveJob<PredictOutput>): Promise<void> {
    this.canceling.add(job.id);
    this.session.abandon(job.id);
    await this.end(job, 'canceled');
    this.canceling.delete(job.id);
  }
}

/** The LOCAL predictor's factory. */
export const localPredictor = (ctx: FactoryContext): Predictor => new LocalPredictor(ctx);
