// Fake workers for the unit tests of job management (Node has no Web Workers): they implement
// the seam's APIs in memory, so queueing, states, cancel and caching are tested without tfjs.
// The real workers are exercised in Chromium (test/browser/jobs*.test.ts).
import { afterEach } from 'vitest';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { Backend, DataReport, ModelFiles, PredictInput, PredictOutput, PredictorWorkerApi, TrainerWorkerApi, TrainRequest } from '../../jobs/protocol.ts';
import type { JobRecord } from '../db.ts';
import { openRegistry, type Hangar, type JobsOptions } from '../index.ts';
import { trainers } from './factories.ts';
import { LocalTrainer } from './trainer.ts';
import type { WorkerHandle } from './workers.ts';

/** A promise and its resolvers. */
export function deferred<T = void>() {
  let resolve: (v: T) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const files = (epoch: number): ModelFiles => ({
  'model.json': new Blob([JSON.stringify({ epoch })], { type: 'application/json' }),
  'weights.bin': new Blob([new Uint8Array([epoch, 1, 2, 3])]),
});

export interface FakeTrainWorker extends WorkerHandle<TrainerWorkerApi> {
  terminated: boolean;
  requests: TrainRequest[];
  /** Makes the worker die, as a crashed Web Worker does. */
  die(): void;
}

/**
 * A trainer worker that "trains" `params.epochs` epochs (default 3), from `resume.epoch + 1`,
 * awaiting `beforeEpoch` before each, checkpointing every `checkpointEvery`. `params.fail`
 * makes it throw `unknown-module`.
 */
export function fakeTrainers(opts: { beforeEpoch?: (epoch: number) => Promise<void> } = {}) {
  const spawned: FakeTrainWorker[] = [];
  const spawn = (): FakeTrainWorker => {
    const dead = deferred<never>();
    dead.promise.catch(() => undefined);
    const worker: FakeTrainWorker = {
      terminated: false,
      requests: [],
      failed: dead.promise,
      terminate: () => void (worker.terminated = true),
      die: () => dead.reject(new HangarError(ErrorCode.Internal, 'The training worker stopped: boom.')),
      api: {
        async train(request, onProgress, onCheckpoint) {
          worker.requests.push(request);
          if (request.params.fail) throw new HangarError(ErrorCode.UnknownModule, `There is no module "${request.module}".`);
          const epochs = typeof request.params.epochs === 'number' ? request.params.epochs : 3;
          for (let epoch = (request.resume?.epoch ?? 0) + 1; epoch <= epochs; epoch++) {
            await (opts.beforeEpoch?.(epoch) ?? new Promise((r) => setTimeout(r, 1)));
            // A terminated worker runs no more code: its call never answers.
            if (worker.terminated) return new Promise(() => undefined);
            onProgress({ epoch, epochs, metrics: { loss: 1 / epoch, accuracy: epoch / epochs } });
            if (request.checkpointEvery && epoch % request.checkpointEvery === 0) await onCheckpoint(epoch, files(epoch));
          }
          const report = await worker.api.report(request);
          return { files: files(epochs), metrics: { accuracy: 1 }, backend: 'cpu', datasetSha256: 'a'.repeat(64), params: { ...request.params, filled: true }, report };
        },
        async report(request) {
          if (request.params.badData) throw new HangarError(ErrorCode.InvalidDataset, `The target "${request.target}" has one value in every row.`);
          return {
            ...{ format: 1, module: request.module, target: request.target, delimiter: ',', decimalComma: false, rows: 3, usedRows: 3, dropped: [] },
            columns: [{ name: request.target, type: 'numeric', missing: 0, distinct: 3, action: 'target', reason: 'the target', feature: false }],
            features: [],
          } satisfies DataReport;
        },
      },
    };
    spawned.push(worker);
    return worker;
  };
  return { spawn, spawned };
}

export interface FakePredictWorker extends WorkerHandle<PredictorWorkerApi> {
  terminated: boolean;
  loads: string[];
  unloads: string[];
  die(): void;
}

/** A predictor worker whose models answer each row's `x` doubled; `beforePredict` can hold a call. */
export function fakePredictors(opts: { beforePredict?: () => Promise<void> } = {}) {
  const spawned: FakePredictWorker[] = [];
  const spawn = (): FakePredictWorker => {
    const dead = deferred<never>();
    dead.promise.catch(() => undefined);
    const models = new Map<string, string>();
    const worker: FakePredictWorker = {
      terminated: false,
      loads: [],
      unloads: [],
      failed: dead.promise,
      terminate: () => void (worker.terminated = true),
      die: () => dead.reject(new HangarError(ErrorCode.Internal, 'The prediction worker stopped: boom.')),
      api: {
        async load(key: string, module: string, given: ModelFiles, backends: Backend[]) {
          if (!given['model.json']) throw new HangarError(ErrorCode.InvalidModelFile, 'No model.json.');
          worker.loads.push(key);
          models.set(key, module);
          return { backend: backends[backends.length - 1]! };
        },
        async predict(key: string, input: PredictInput): Promise<PredictOutput> {
          await opts.beforePredict?.();
          if (!models.has(key)) throw new HangarError(ErrorCode.InvalidArgument, `No model is loaded under "${key}".`);
          if (!('rows' in input)) return { tensors: {} };
          return { predictions: input.rows.map((r) => Number(r.x) * 2) };
        },
        async unload(key: string) {
          worker.unloads.push(key);
          models.delete(key);
        },
      },
    };
    spawned.push(worker);
    return worker;
  };
  return { spawn, spawned };
}

/** Registries a test file opens (`open`), closed after each test unless a test closed them (`close`). */
export function testRegistries(prefix: string) {
  const open = new Set<Hangar>();
  let n = 0;
  afterEach(async () => {
    await Promise.all([...open].map((h) => h.close()));
    open.clear();
  });
  return {
    async open(name = `${prefix}-${n++}`, jobs: JobsOptions = {}): Promise<Hangar> {
      const h = await openRegistry({ name, persist: false, jobs });
      open.add(h);
      return h;
    },
    async close(h: Hangar): Promise<void> {
      open.delete(h);
      await h.close();
    },
  };
}

/** Registers trainer type `fake`, a LocalTrainer over fake workers; answers them. */
export function fakeTrainer(opts: Parameters<typeof fakeTrainers>[0] = {}) {
  const workers = fakeTrainers(opts);
  trainers.register('fake', (ctx) => new LocalTrainer(ctx, workers.spawn));
  return workers;
}

/** A stored training job of trainer `fake` over two rows, as a page may have left it. */
export function trainRecord(id: string, status: JobRecord['status'], changes: Partial<JobRecord> = {}): JobRecord {
  const now = Date.now();
  const request = { data: { rows: [{ x: 1, y: 'a' }] }, target: 'y', params: { epochs: 2 }, backends: ['cpu' as const], checkpointEvery: 0, saveAs: { namespace: 'team', model: 'iris' } };
  return {
    ...{ id, type: 'train', module: 'tabular-classifier', status, progress: null, submitted: now, started: now, completed: null, error: null },
    ...{ request, versionId: null, lastCheckpoint: null, backend: null, ...changes },
  };
}

/**
 * An in-memory Web Locks manager (exclusive locks; `ifAvailable`), granting a macrotask after the
 * request as a browser's does; `hold` takes a lock as another tab would, until its `release`.
 */
export function fakeLocks() {
  const held = new Set<string>();
  const waiting = new Map<string, (() => void)[]>();
  async function request<T>(name: string, a: LockOptions | ((lock: Lock | null) => T), b?: (lock: Lock | null) => T): Promise<Awaited<T>> {
    const options = typeof a === 'function' ? {} : a;
    const callback = (typeof a === 'function' ? a : b)!;
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (held.has(name)) {
      if (options.ifAvailable) return await callback(null);
      // Handed over by the holder on release: it stays held.
      await new Promise<void>((resolve) => waiting.set(name, [...(waiting.get(name) ?? []), resolve]));
    } else {
      held.add(name);
    }
    try {
      return await callback({ name, mode: 'exclusive' } as Lock);
    } finally {
      const next = waiting.get(name)?.shift();
      if (next) next();
      else held.delete(name);
    }
  }
  return {
    manager: { request, query: async () => ({ held: [...held].map((name) => ({ name, mode: 'exclusive' as const, clientId: 'fake' })), pending: [] }) },
    isHeld: (name: string) => held.has(name),
    /** Takes a lock as another tab: resolves once held. */
    async hold(name: string): Promise<{ release(): void }> {
      const gate = deferred();
      const taken = deferred();
      void request(name, () => (taken.resolve(), gate.promise));
      await taken.promise;
      return { release: () => gate.resolve() };
    },
  };
}
