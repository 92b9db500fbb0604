import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { uuidv7 } from '../../../shared/ids.ts';
import type { JobRecord } from '../db.ts';
import type { FactoryContext } from './context.ts';
import { Job, toJobInfo, type JobHost, type JobInfo, type JobProgress } from './job.ts';
import { ACTIVE, FINISHED, holdJob, SETTLED } from './records.ts';

/** A job started by this runner, followed in memory until it settles. */
export interface LiveJob<T> {
  id: string;
  /** The first write of its record. */
  created: Promise<void>;
  listeners: Set<(p: JobProgress) => void>;
  /** Settles when the job ends here: its result, or why it has none. */
  outcome: Promise<T>;
  settled: boolean;
  resolve(value: T): void;
  reject(err: unknown): void;
  /** Stops the job; resolves once it is marked canceled. */
  cancel(): Promise<void>;
  /** Its record writes, chained so they land in order and the final status is the last. */
  writes: Promise<unknown>;
  /**
   * The record of a job kept in memory only (a prediction; see `JobRunner.createInMemory`): its
   * writes change this and nothing goes to the jobs table. Undefined for a recorded job.
   */
  memory?: JobRecord;
}

/**
 * Settled jobs kept in memory (a prediction's output, and a prediction itself, are kept nowhere
 * else); running ones are all kept.
 */
export const KEEP_SETTLED = 256;

/** No job by that id here (never made, purged, or of another runner type). */
export const jobNotFound = (id: string) =>
  new HangarError(ErrorCode.JobNotFound, `No job "${id}" in this registry (finished jobs are purged after their retention time).`, { job: id });

/** A failure as a job stores it: a Hangar code (or `internal`) and a sentence. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof HangarError) return { code: err.code, message: err.message };
  const message = (err as { message?: unknown } | null)?.message;
  return { code: ErrorCode.Internal, message: typeof message === 'string' && message ? message : String(err) };
}

/** Why a job that did not complete has no result. */
export function noResult(info: Pick<JobInfo, 'id' | 'status' | 'error'>): Error {
  if (info.status === 'errored' && info.error) return new HangarError(info.error.code as ErrorCode, info.error.message, { job: info.id });
  const why = info.status === 'interrupted' ? 'was interrupted when its page closed; resume it to finish' : `was ${info.status}`;
  return new HangarError(ErrorCode.JobStopped, `Job "${info.id}" ${why}, so it has no result.`, { job: info.id, status: info.status });
}

/**
 * What trainers and predictors share: job handles, records, waiting, progress, cancel. A job
 * running in this runner is followed in memory; any other (another tab's, a closed page's) through
 * its record, so `hangar.job(id)` works for both. A job made with `createInMemory` (a prediction)
 * has no record: it lives in this runner's memory alone.
 */
export abstract class JobRunner<T> implements JobHost<T> {
  protected abstract readonly kind: 'train' | 'predict';
  protected readonly live = new Map<string, LiveJob<T>>();
  private readonly settledOrder: string[] = [];
  /** Listeners of jobs not running here, which join the job if it starts here (a resume). */
  private readonly following = new Map<string, Set<(p: JobProgress) => void>>();

  constructor(protected readonly ctx: FactoryContext) {}

  /** The type name this runner was built under: its jobs' id prefix. */
  get type(): string {
    return this.ctx.type;
  }

  protected newId(): string {
    return `${this.ctx.type}:${uuidv7()}`;
  }

  /**
   * Starts a new job: takes its lock, then adds its record, so no other tab ever sees the record
   * without its lock (and takes the job for one a closed page left); follows it in memory.
   */
  protected create(record: JobRecord, cancel: (job: LiveJob<T>) => Promise<void>): LiveJob<T> {
    const held = holdJob(record.id);
    const created = held.then(async (release) => {
      if (!release) throw new HangarError(ErrorCode.Internal, `Job "${record.id}" is held by another page.`, { job: record.id });
      await this.ctx.records.add(record);
    });
    return this.track(record.id, held, created, cancel);
  }

  /**
   * Starts a new job kept in memory only, for this runner alone: no record and no Web Lock (no
   * other page ever sees it, so none can take it for a closed page's job). `info`, `wait`,
   * `result`, `cancel` answer from memory, as long as it is kept: while it runs, and among the
   * last `KEEP_SETTLED` settled jobs afterwards; then it is gone (`job-not-found`).
   */
  protected createInMemory(record: JobRecord, cancel: (job: LiveJob<T>) => Promise<void>): LiveJob<T> {
    const job = this.track(record.id, Promise.resolve(undefined), Promise.resolve(), cancel);
    job.memory = { ...record };
    return job;
  }

  /** The jobs kept in memory only (see `createInMemory`), newest first. */
  protected inMemory(): JobInfo[] {
    const jobs: JobInfo[] = [];
    for (const job of this.live.values()) if (job.memory) jobs.push(toJobInfo(job.memory));
    // The map keeps creation order, and in-memory jobs are never set again.
    return jobs.reverse();
  }

  /** Follows a job in memory; it counts as alive for other pages until it settles, when `held`'s lock goes. */
  protected track(id: string, held: Promise<(() => void) | undefined>, created: Promise<void>, cancel: (job: LiveJob<T>) => Promise<void>): LiveJob<T> {
    let resolve: (v: T) => void = () => undefined;
    let reject: (e: unknown) => void = () => undefined;
    const outcome = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    outcome.catch(() => undefined);
    const release = () => void held.then((unhold) => unhold?.());
    const job: LiveJob<T> = {
      id,
      created,
      listeners: new Set(),
      outcome,
      settled: false,
      writes: created.catch(() => undefined),
      resolve: (v) => this.settle(job, release, () => resolve(v)),
      reject: (e) => this.settle(job, release, () => reject(e)),
      cancel: () => cancel(job),
    };
    for (const listener of this.following.get(id) ?? []) job.listeners.add(listener);
    this.live.set(id, job);
    return job;
  }

  private settle(job: LiveJob<T>, release: () => void, done: () => void): void {
    if (job.settled) return;
    job.settled = true;
    job.listeners.clear();
    release();
    done();
    this.settledOrder.push(job.id);
    while (this.settledOrder.length > KEEP_SETTLED) {
      const old = this.settledOrder.shift()!;
      if (this.live.get(old)?.settled) this.live.delete(old);
    }
    // Only a recorded job leaves something for the purge.
    if (!job.memory) this.ctx.jobEnded();
  }

  /** Writes the job's record after its earlier writes; answers the record as changed, or undefined when it did not change (see `JobRecords.update`). */
  protected write(job: LiveJob<T>, changes: Partial<JobRecord>, onlyIf?: readonly JobRecord['status'][]): Promise<JobRecord | undefined> {
    const kept = job.memory;
    if (kept) {
      // In memory, a write lands at once, so writes land in the order they are made.
      if (onlyIf && !onlyIf.includes(kept.status)) return Promise.resolve(undefined);
      Object.assign(kept, changes);
      return Promise.resolve({ ...kept });
    }
    const next = job.writes.then(() => this.ctx.records.update(job.id, changes, onlyIf));
    job.writes = next.catch(() => undefined);
    return next;
  }

  /**
   * Ends a job that did not complete: its record becomes `status` unless another page ended it
   * first, and whoever waits hears why there is no result (the record's own status in that case).
   */
  protected async end(job: LiveJob<T>, status: 'canceled' | 'errored' | 'interrupted', error?: { code: string; message: string }): Promise<void> {
    const changes = { status, completed: Date.now(), error: error ?? null };
    const row =
      (await this.write(job, changes, ACTIVE).catch(() => undefined)) ?? job.memory ?? (await this.ctx.records.get(job.id).catch(() => undefined));
    job.reject(noResult(row && SETTLED.includes(row.status) ? row : { id: job.id, status, error: error ?? null }));
  }

  /** The result of a job that completed, read back from its record (it did not run here). */
  protected abstract loadResult(record: JobRecord): Promise<T>;

  /** What else a cancel does for a job that is not running here (a trainer fails its version). */
  protected async canceledElsewhere(record: JobRecord): Promise<void> {
    void record;
  }

  abstract resume(id: string): Promise<Job<T>>;

  /** A handle on one of this runner's jobs, or `invalid-argument` when there is none. */
  async get(id: string): Promise<Job<T>> {
    if (!this.live.has(id)) await this.record(id);
    return new Job(id, this);
  }

  protected async record(id: string): Promise<JobRecord> {
    const job = this.live.get(id);
    if (job?.memory) return { ...job.memory };
    await job?.created.catch(() => undefined);
    const row = await this.ctx.records.get(id);
    if (!row || row.type !== this.kind || !id.startsWith(`${this.ctx.type}:`)) throw jobNotFound(id);
    return row;
  }

  /** Whether the job runs in this runner now (its progress then comes straight from its worker). */
  private runsHere(id: string): boolean {
    const job = this.live.get(id);
    return job !== undefined && !job.settled;
  }

  async info(id: string): Promise<JobInfo> {
    return toJobInfo(await this.record(id));
  }

  onProgress(id: string, listener: (p: JobProgress) => void): () => void {
    const job = this.live.get(id);
    if (job) {
      if (job.settled) return () => undefined;
      job.listeners.add(listener);
      return () => void job.listeners.delete(listener);
    }
    // Another page runs it: follow its record, from the progress it has now, until it finishes
    // (an interrupted job is still followed: a resume, here or in another tab, goes on with it).
    // Should it start here (a resume), the listener hears it directly instead.
    const following = this.following.get(id) ?? new Set();
    this.following.set(id, following.add(listener));
    let last: number | undefined;
    let stopped = false;
    let unwatch: (() => void) | undefined;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      unwatch?.();
      following.delete(listener);
      if (!following.size && this.following.get(id) === following) this.following.delete(id);
      this.live.get(id)?.listeners.delete(listener);
    };
    unwatch = this.ctx.records.watch(id, (row) => {
      if (stopped) return;
      const p = row?.progress;
      if (last === undefined) last = p?.epoch ?? 0;
      else if (p && p.epoch !== last && !this.runsHere(id)) {
        last = p.epoch;
        listener(p);
      }
      if (!row || FINISHED.includes(row.status)) stop();
    });
    if (stopped) unwatch();
    return stop;
  }

  async wait(id: string): Promise<JobInfo> {
    const job = this.live.get(id);
    if (job) {
      await job.outcome.catch(() => undefined);
      return this.info(id);
    }
    await this.record(id);
    return new Promise<JobInfo>((resolve, reject) => {
      let stop: (() => void) | undefined;
      let done = false;
      const finish = (then: () => void) => {
        done = true;
        stop?.();
        then();
      };
      stop = this.ctx.records.watch(id, (row) => {
        if (done) return;
        if (!row) finish(() => reject(jobNotFound(id)));
        else if (SETTLED.includes(row.status)) finish(() => resolve(toJobInfo(row)));
      });
      if (done) stop();
    });
  }

  async result(id: string): Promise<T> {
    const job = this.live.get(id);
    if (job) return job.outcome;
    const info = await this.wait(id);
    if (info.status === 'completed') return this.loadResult(await this.record(id));
    throw noResult(info);
  }

  async cancel(id: string): Promise<void> {
    const job = this.live.get(id);
    if (job) {
      if (!job.settled) await job.cancel();
      return;
    }
    const row = await this.record(id);
    if (!ACTIVE.includes(row.status) && row.status !== 'interrupted') return;
    // The page running it sees the mark at its next step and stops; a closed page's job just ends.
    const after = await this.ctx.records.update(id, { status: 'canceled', completed: Date.now() }, [...ACTIVE, 'interrupted']);
    if (after) await this.canceledElsewhere(after);
  }
}
