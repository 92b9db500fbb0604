import type { PredictOutput } from '../../jobs/protocol.ts';
import type { ClientContext } from '../context.ts';
import type { VersionHandle } from '../version.ts';
import { jobsSettings, type FactoryContext, type JobsOptions, type JobsSettings, type RegistryApi } from './context.ts';
import { finders, initializers, predictors, trainers } from './factories.ts';
import type { Finder } from './finder.ts';
import type { Initializer } from './initializer.ts';
import { toJobInfo, type Job, type JobInfo } from './job.ts';
import { importModelFiles, type ImportModelFiles } from './models.ts';
import type { Predictor } from './predictor.ts';
import { JobRecords } from './records.ts';
import { jobNotFound } from './runner.ts';
import type { Trainer } from './trainer.ts';

/** Purges after a job ends come at most this often (sooner with a shorter retention); timed purges at least this far apart. */
const PURGE_EVERY_MS = 60_000;

/**
 * A registry's model management: its trainers and predictors (one instance per type, built on
 * first use), its finder and initializer, and the job table. `Hangar` delegates here.
 */
export class JobsHub {
  readonly settings: JobsSettings;
  readonly records: JobRecords;
  private readonly trainerByType = new Map<string, Trainer>();
  private readonly predictorByType = new Map<string, Predictor>();
  private finder: Finder | undefined;
  private initializer: Initializer | undefined;
  private readonly ctx: Omit<FactoryContext, 'type'>;
  private lastPurge = 0;
  private purgeTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly registry: RegistryApi,
    client: ClientContext,
    options?: JobsOptions,
  ) {
    this.settings = jobsSettings(options);
    this.records = new JobRecords(client.db);
    this.ctx = {
      client,
      registry,
      records: this.records,
      settings: this.settings,
      finder: () => (this.finder ??= finders.create(this.settings.finder, this.ctx)),
      initializer: () => (this.initializer ??= initializers.create(this.settings.initializer, this.ctx)),
      jobEnded: () => this.purgeSoon(),
    };
  }

  /**
   * On open: jobs a closed page left queued or running become `interrupted`; jobs past retention
   * go, now and every quarter of the retention time (at least a minute) until `close`.
   */
  async start(): Promise<void> {
    await this.records.markInterrupted();
    await this.purge();
    clearInterval(this.purgeTimer);
    // Timers take at most 2^31 - 1 ms (about 24.8 days); a longer delay would fire at once.
    this.purgeTimer = setInterval(() => void this.purge(), Math.min(2 ** 31 - 1, Math.max(PURGE_EVERY_MS, this.settings.retentionMs / 4)));
  }

  /** Deletes finished and interrupted jobs past retention; never fails (a closed database just skips it). */
  async purge(): Promise<number> {
    this.lastPurge = Date.now();
    return this.records.purge(this.settings.retentionMs).catch(() => 0);
  }

  /**
   * After a job ends: purges, at most once a minute (sooner with a shorter retention), so a
   * stream of predictions does not scan the job table after each one.
   */
  private purgeSoon(): void {
    if (Date.now() - this.lastPurge >= Math.min(PURGE_EVERY_MS, this.settings.retentionMs)) void this.purge();
  }

  trainer(type: string): Trainer {
    const name = trainers.normalize(type);
    let trainer = this.trainerByType.get(name);
    if (!trainer) this.trainerByType.set(name, (trainer = trainers.create(name, this.ctx)));
    return trainer;
  }

  predictor(type: string): Predictor {
    const name = predictors.normalize(type);
    let predictor = this.predictorByType.get(name);
    if (!predictor) this.predictorByType.set(name, (predictor = predictors.create(name, this.ctx)));
    return predictor;
  }

  /** Every job of the registry (any page's), newest first, with the predictions this registry ran (kept in memory only). */
  async jobs(): Promise<JobInfo[]> {
    const recorded = (await this.records.list()).map(toJobInfo);
    // Trainers whose jobs are not recorded (`remote`: runs training elsewhere) list their own.
    const unrecorded = (await Promise.all(trainers.types().map((t) => this.trainer(t).jobs?.() ?? Promise.resolve([])))).flat();
    const here = [...this.predictorByType.values()].flatMap((p) => p.jobs?.() ?? []).concat(unrecorded);
    if (!here.length) return recorded;
    return [...recorded, ...here].sort((a, b) => (a.submitted === b.submitted ? (a.id < b.id ? 1 : -1) : a.submitted < b.submitted ? 1 : -1));
  }

  /** A handle on a job by id, through the trainer or predictor its id names. */
  async job(id: string): Promise<Job<VersionHandle> | Job<PredictOutput>> {
    const record = typeof id === 'string' ? await this.records.get(id) : undefined;
    const type = typeof id === 'string' ? id.slice(0, Math.max(0, id.indexOf(':'))) : '';
    // A prediction has no record: the predictor that ran it (if built here) keeps it in memory.
    const predictor = this.predictorByType.get(type);
    if (!record && predictor) return predictor.get(id);
    // A trainer that lists its own jobs (`remote`) finds them without a record.
    if (!record && trainers.has(type) && this.trainer(type).jobs) return this.trainer(type).get(id);
    if (!record) throw jobNotFound(String(id));
    return record.type === 'train' ? this.trainer(type).get(id) : this.predictor(type).get(id);
  }

  importModelFiles(input: ImportModelFiles): Promise<VersionHandle> {
    return importModelFiles(this.registry, input);
  }

  /** Stops every worker and the timed purge; jobs running here end `interrupted`, to resume later. */
  async close(): Promise<void> {
    clearInterval(this.purgeTimer);
    this.purgeTimer = undefined;
    this.finder?.close?.();
    this.finder = undefined;
    await Promise.all([...this.trainerByType.values(), ...this.predictorByType.values()].map((r) => r.close().catch(() => undefined)));
  }
}
