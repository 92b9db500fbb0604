import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { Backend, PredictInput, PredictOutput, PredictorWorkerApi } from '../../jobs/protocol.ts';
import { LruCache } from './cache.ts';
import type { ModelConfig } from './finder.ts';
import type { Initializer } from './initializer.ts';
import type { Spawn, WorkerHandle } from './workers.ts';

/** Why a call under way has no answer: it was given up, or its worker stopped before answering. */
const stopped = (why: string) => new HangarError(ErrorCode.JobStopped, why);

/**
 * The predictor worker of one predictor and the models loaded in it: an LRU keyed by version id
 * (a version's files never change, so its id names its model). Evicted models are unloaded in
 * the worker once no prediction uses them. The worker starts on first use and stops after
 * `idleMs` with nothing to do; its models go with it.
 */
export class PredictSession {
  private worker: WorkerHandle<PredictorWorkerApi> | undefined;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private readonly cache: LruCache<string, Promise<{ backend: Backend }>>;
  /** Model key → predictions using it now. */
  private readonly inUse = new Map<string, number>();
  /** Evicted while in use: unloaded when the last user is done. */
  private readonly toUnload = new Set<string>();
  /** Job id → a way to stop its call (it rejects with that error). */
  private readonly calls = new Map<string, (err: HangarError) => void>();

  constructor(
    private readonly spawn: Spawn<PredictorWorkerApi>,
    cacheSize: number,
    private readonly idleMs: number,
  ) {
    this.cache = new LruCache(cacheSize);
  }

  /** Version ids of the loaded models, least recently used first. */
  get loaded(): string[] {
    return this.cache.keys();
  }

  /** Whether a predictor worker runs now. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Loads the version's model unless it is loaded, then predicts; answers the output and the backend used. */
  async predict(jobId: string, config: ModelConfig, initializer: Initializer, input: PredictInput): Promise<{ output: PredictOutput; backend: Backend }> {
    const worker = this.start();
    const key = config.version.id;
    let stop: (err: HangarError) => void = () => undefined;
    const halted = new Promise<never>((_, reject) => (stop = reject));
    halted.catch(() => undefined);
    this.calls.set(jobId, stop);
    this.inUse.set(key, (this.inUse.get(key) ?? 0) + 1);
    // A terminated worker never answers: a call also ends when it is given up or its worker retired.
    const race = <R>(p: Promise<R>): Promise<R> => Promise.race([p, worker.failed, halted]);
    try {
      const { backend } = await race(this.load(worker, key, config, initializer));
      const output = await race(worker.api.predict(key, input));
      return { output, backend };
    } finally {
      this.calls.delete(jobId);
      const users = (this.inUse.get(key) ?? 1) - 1;
      if (users > 0) this.inUse.set(key, users);
      else {
        this.inUse.delete(key);
        if (this.toUnload.delete(key) && !this.cache.has(key) && this.worker === worker) void worker.api.unload(key).catch(() => undefined);
      }
      if (this.calls.size === 0 && this.worker) this.scheduleIdle();
    }
  }

  /**
   * Gives up a job's call. When no other call needs the worker it is terminated (hard cancel:
   * whatever it computes stops now, and its models go with it); otherwise the call's answer is dropped.
   */
  abandon(jobId: string): void {
    const stop = this.calls.get(jobId);
    if (!stop) return;
    if (this.calls.size === 1) this.retire();
    stop(stopped('The prediction was canceled.'));
  }

  /** Stops the worker now; calls under way reject with `job-stopped`. */
  close(): void {
    this.retire();
  }

  private load(worker: WorkerHandle<PredictorWorkerApi>, key: string, config: ModelConfig, initializer: Initializer): Promise<{ backend: Backend }> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const loading = config.files().then((files) => initializer.initialize(worker.api, key, config, files));
    for (const evicted of this.cache.set(key, loading)) {
      if (this.inUse.get(evicted)) this.toUnload.add(evicted);
      else void worker.api.unload(evicted).catch(() => undefined);
    }
    // A failed load is not cached: the next prediction tries again.
    loading.catch(() => this.cache.peek(key) === loading && this.cache.delete(key));
    return loading;
  }

  private start(): WorkerHandle<PredictorWorkerApi> {
    clearTimeout(this.idle);
    if (this.worker) return this.worker;
    const worker = this.spawn();
    this.worker = worker;
    worker.failed.catch(() => this.worker === worker && this.retire());
    return worker;
  }

  private scheduleIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.retire(), this.idleMs);
  }

  /** Stops the worker; calls under way reject with `job-stopped` (a dead worker's calls with its own error, which comes first). */
  private retire(): void {
    clearTimeout(this.idle);
    this.worker?.terminate();
    this.worker = undefined;
    for (const stop of this.calls.values()) stop(stopped('The prediction worker was stopped before it answered.'));
    this.cache.clear();
    this.toUnload.clear();
  }
}
