// The training and prediction figures, in the page: what running ML in Web Workers costs and
// buys. Everything runs on the tfjs `cpu` backend, so the numbers depend on no GPU (headless
// Chromium has none) and no wasm threads.
//
// Training (one round = one side, in a fresh page; `TrainRound` below):
//   job     hangar.trainer('local').train('tabular-classifier', { data: iris.csv Blob, target: 'species',
//           params: { epochs: 40, seed: 42 }, backends: ['cpu'], saveAs }) → job.result()
//           (the job layer's defaults otherwise: a checkpoint every 5 epochs, metrics and records in IndexedDB)
//   worker  spawnTrainWorker() (what the trainer starts per job) → api.train(request) over Comlink,
//           the same request with checkpointEvery: 0; no registry
//   main    what train.worker.ts does, on the page's main thread: loadTrainableModule,
//           readTrainingData, sha256OfBlob, module.train, model.dispose
// Every side watches `PerformanceObserver({ type: 'longtask', buffered: true })` from the call to
// the result, and times it.
//
// Prediction (`predictRound`): one model (a dense layer 2560 → 16, softmax, seeded weights) loaded
// in the page, in a predictor worker and in the registry's predictor, then timed calls on a 10 KiB
// input ({ tensors: { x: 2,560 float32 values, shape [1, 2560] } }), in two phases of interleaved
// calls (200 timed per side after 20 untimed):
//   phase 1  direct  the tfjs-import module's LoadedModel.predict in the page (tf.tensor → LayersModel.predict → data())
//            worker  spawnPredictWorker() (the job layer's predictor worker) → api.predict(key, input) over Comlink
//            echo    a bare module worker answering the same message with postMessage (echo.worker.ts): the substrate
//   phase 2  direct  as above
//            job     hangar.predictor('local').predict('bench/dense/1', input).result()
import type { Backend, ModelFiles, PredictInput, PredictOutput, TrainProgress, TrainRequest } from '../../web/jobs/protocol.ts';
import type { HangarLibrary } from '../../test/browser/fixtures/globals.d.ts';

export const EPOCHS = 40;
export const SEED = 42;
const BACKENDS: Backend[] = ['cpu'];
const IRIS = '/test/browser/fixtures/ml/iris.csv';

/** The Iris CSV (150 rows) as a user's file would come. */
const iris = async (): Promise<Blob> => (await fetch(IRIS)).blob();

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Long tasks (≥ 50 ms: shorter ones are never reported) of this page's main thread. */
export interface LongTasks {
  /** The longest, in ms; 0 when none was reported. */
  longest: number;
  count: number;
  /** Every one, in ms, rounded. */
  durations: number[];
}

/** The long tasks among `entries` that overlap [from, to]. */
function longTasksIn(entries: readonly PerformanceEntry[], from: number, to: number): LongTasks {
  const durations = entries.filter((e) => e.startTime < to && e.startTime + e.duration > from).map((e) => Math.round(e.duration));
  return { longest: durations.length ? Math.max(...durations) : 0, count: durations.length, durations };
}

/**
 * Watches this page's long tasks from now on; `stop` answers every one reported. It waits a
 * moment first, because a task is reported only after it has ended, and the last one (the task
 * that resolved the result) has not ended when the result is in.
 */
function watchLongTasks(): { stop(): Promise<PerformanceEntry[]> } {
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => void entries.push(...list.getEntries()));
  observer.observe({ type: 'longtask', buffered: true });
  return {
    async stop() {
      await pause(200);
      entries.push(...observer.takeRecords());
      observer.disconnect();
      return entries;
    },
  };
}

/** The iris request every training side makes: same data, seed, epochs and backend. */
const trainRequest = (csv: Blob, checkpointEvery: number): TrainRequest => ({
  module: 'tabular-classifier',
  data: { csv },
  target: 'species',
  params: { epochs: EPOCHS, seed: SEED },
  backends: BACKENDS,
  checkpointEvery,
});

/** One training side's round. */
export interface TrainRound {
  /** From the call to the result. */
  ms: number;
  /** Long tasks of the page's main thread over the same span. */
  longTasks: LongTasks;
  /** Long tasks from the first epoch's progress on (the code is loaded and the backend up by then). */
  longTasksAfterFirstEpoch?: LongTasks;
  /** The same training again in the same worker (or page): code loaded, backend up. */
  warmMs?: number;
  /** The final held-out accuracy, to check that every side trained the same model. */
  valAccuracy: number;
  backend: string;
  epochs: number;
  /** tfjs's version (the main-thread side, which loads it in the page). */
  tfjs?: string;
}

/** Through the job layer, as an app would: a registry, a job, a new version with its metrics and files. */
export async function trainJob(library: HangarLibrary, name: string): Promise<TrainRound> {
  const hangar = await library.openRegistry({ name });
  const csv = await iris();
  const watch = watchLongTasks();
  const start = performance.now();
  const job = hangar.trainer('local').train('tabular-classifier', {
    data: csv,
    target: 'species',
    params: { epochs: EPOCHS, seed: SEED },
    backends: BACKENDS,
    saveAs: { namespace: 'bench', model: 'iris' },
  });
  let epochs = 0;
  job.onProgress((p) => void (epochs = p.epoch));
  const version = await job.result();
  const ms = performance.now() - start;
  const longTasks = longTasksIn(await watch.stop(), start, start + ms);
  const info = await job.info();
  const valAccuracy = (await version.metrics()).val_accuracy?.last ?? Number.NaN;
  await hangar.close();
  return { ms, longTasks, valAccuracy, backend: info.backend ?? 'unknown', epochs };
}

/** The trainer worker itself, as the trainer starts it for a job, over Comlink; trains twice (cold, then warm). */
export async function trainWorker(): Promise<TrainRound> {
  const { spawnTrainWorker } = await import('../../web/client/jobs/workers.ts');
  const csv = await iris();
  const watch = watchLongTasks();
  const start = performance.now();
  const worker = spawnTrainWorker();
  let epochs = 0;
  const progress = (p: TrainProgress) => void (epochs = p.epoch);
  const noCheckpoint = async () => undefined;
  try {
    const train = () => Promise.race([worker.api.train(trainRequest(csv, 0), progress, noCheckpoint), worker.failed]);
    const result = await train();
    const ms = performance.now() - start;
    const longTasks = longTasksIn(await watch.stop(), start, start + ms);
    const warmStart = performance.now();
    await train();
    const warmMs = performance.now() - warmStart;
    return { ms, longTasks, warmMs, valAccuracy: result.metrics.val_accuracy ?? Number.NaN, backend: result.backend, epochs };
  } finally {
    worker.terminate();
  }
}

/** What train.worker.ts does, on the page's main thread; trains twice (cold, then warm). */
export async function trainMain(): Promise<TrainRound> {
  const csv = await iris();
  const once = async (onFirstEpoch: () => void) => {
    const [{ loadTrainableModule }, { readTrainingData }, { sha256OfBlob }] = await Promise.all([
      import('../../web/jobs/modules/index.ts'),
      import('../../web/jobs/csv.ts'),
      import('../../web/common/hashing.ts'),
    ]);
    const request = trainRequest(csv, 0);
    const module = await loadTrainableModule(request.module);
    const table = await readTrainingData(request.data);
    const digest = sha256OfBlob(csv);
    let epochs = 0;
    const trained = await module.train({
      table,
      target: request.target,
      params: request.params,
      backends: request.backends,
      checkpointEvery: 0,
      onProgress: (p) => {
        if (epochs === 0) onFirstEpoch();
        epochs = p.epoch;
      },
      onCheckpoint: async () => undefined,
    });
    trained.model.dispose();
    await digest;
    return { epochs, valAccuracy: trained.metrics.val_accuracy ?? Number.NaN, backend: trained.backend };
  };
  const watch = watchLongTasks();
  const start = performance.now();
  let firstEpoch = start;
  const result = await once(() => (firstEpoch = performance.now()));
  const ms = performance.now() - start;
  const entries = await watch.stop();
  const longTasks = longTasksIn(entries, start, start + ms);
  const longTasksAfterFirstEpoch = longTasksIn(entries, firstEpoch, start + ms);
  const warmStart = performance.now();
  await once(() => undefined);
  const warmMs = performance.now() - warmStart;
  const tfjs = (await import('@tensorflow/tfjs-core')).version_core;
  return { ms, longTasks, longTasksAfterFirstEpoch, warmMs, ...result, tfjs };
}

// ---------------------------------------------------------------------------------------------
// Prediction round trips.

/** Inputs of 2,560 float32 values: 10,240 bytes (10 KiB) of tensor data per prediction. */
export const INPUT_VALUES = 2560;
const UNITS = 16;

/** A side's timed calls, in ms. */
export interface Latency {
  p50: number;
  p95: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentile. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
}

const latency = (xs: number[]): Latency => ({
  p50: percentile(xs, 0.5),
  p95: percentile(xs, 0.95),
  mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  max: Math.max(...xs),
});

export interface PredictRound {
  /** Phase 1: the page's own predict, the predictor worker over Comlink, and a bare postMessage echo worker. */
  workerPhase: { direct: Latency; worker: Latency; echo: Latency };
  /**
   * Phase 2: the page's own predict, the full prediction job, and (diagnostics, not predictions)
   * what the job path does per prediction besides the worker call.
   */
  jobPhase: { direct: Latency; job: Latency };
  /** Whether the three gave the same output for the same input (they run the same arithmetic on cpu). */
  sameOutput: boolean;
  backend: string;
  tfjs: string;
}

const outputOf = (out: PredictOutput) => ('tensors' in out ? Array.from(Object.values(out.tensors)[0]!.data) : []);

/**
 * `warmup` untimed then `calls` timed calls of each side, each awaited before the next, the sides
 * taking turns (which goes first rotates each call); answers each side's latency.
 */
async function interleave<K extends string>(sides: Record<K, () => Promise<unknown>>, calls: number, warmup: number): Promise<Record<K, Latency>> {
  const names = Object.keys(sides) as K[];
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as unknown as Record<K, number[]>;
  for (let call = 0; call < warmup + calls; call++) {
    for (let k = 0; k < names.length; k++) {
      const side = names[(call + k) % names.length]!;
      const start = performance.now();
      await sides[side]();
      const ms = performance.now() - start;
      if (call >= warmup) times[side].push(ms);
    }
  }
  return Object.fromEntries(names.map((n) => [n, latency(times[n])])) as Record<K, Latency>;
}

/** A bare worker that answers each message (echo.worker.ts), as a promise per call. */
function echoWorker(): { call(input: PredictInput): Promise<unknown>; terminate(): void } {
  const worker = new Worker(new URL('./echo.worker.ts', import.meta.url), { type: 'module' });
  const waiting = new Map<number, (value: unknown) => void>();
  let next = 0;
  worker.onmessage = (event: MessageEvent<{ id: number; out: Float32Array }>) => {
    waiting.get(event.data.id)?.(event.data.out);
    waiting.delete(event.data.id);
  };
  return {
    call: (input) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        worker.postMessage({ id, input });
      }),
    terminate: () => worker.terminate(),
  };
}

/**
 * One model, loaded in the page, in a predictor worker, and in the registry's predictor; then two
 * phases of interleaved timed calls on the same 10 KiB input. The phases are apart so that the
 * job path's IndexedDB work (in the browser's other processes, on the same cores) does not land
 * in the worker round trips.
 */
export async function predictRound(library: HangarLibrary, name: string, calls: number, warmup: number): Promise<PredictRound> {
  const [tf, tfl, { saveModelFiles }, { loadModule }, { spawnPredictWorker }] = await Promise.all([
    import('@tensorflow/tfjs-core'),
    import('@tensorflow/tfjs-layers'),
    import('../../web/jobs/modules/tfjs-files.ts'),
    import('../../web/jobs/modules/index.ts'),
    import('../../web/client/jobs/workers.ts'),
    import('@tensorflow/tfjs-backend-cpu'),
  ]);
  await tf.setBackend('cpu');
  const built = tfl.sequential({
    layers: [tfl.layers.dense({ units: UNITS, inputShape: [INPUT_VALUES], activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) })],
  });
  const files: ModelFiles = await saveModelFiles(built);
  built.dispose();

  // Direct: the same module code the worker runs, in the page.
  const direct = await (await loadModule('tfjs-import')).load(files, BACKENDS);
  // Worker: the predictor worker the job layer starts, used directly.
  const worker = spawnPredictWorker();
  const echo = echoWorker();
  // Job: the registry's local predictor, made to load tfjs-import models on cpu.
  const hangar = await library.openRegistry({ name, jobs: { backends: { 'tfjs-import': BACKENDS } } });
  try {
    await Promise.race([worker.api.load('bench', 'tfjs-import', files, BACKENDS), worker.failed]);
    const version = await hangar.importModelFiles({ namespace: 'bench', model: 'dense', module: 'tfjs-import', files });
    const ref = `bench/dense/${version.number}`;
    const predictor = hangar.predictor('local');

    const data = new Float32Array(INPUT_VALUES);
    for (let i = 0; i < INPUT_VALUES; i++) data[i] = Math.sin(i * 0.37) * 2;
    const input: PredictInput = { tensors: { x: { data, shape: [1, INPUT_VALUES] } } };

    const sides = {
      direct: () => direct.predict(input),
      worker: () => Promise.race([worker.api.predict('bench', input), worker.failed]),
      job: () => predictor.predict(ref, input).result(),
    };
    // The first job call also loads the model into the predictor's worker.
    const outputs = await Promise.all(Object.values(sides).map((side) => side().then(outputOf)));
    const sameOutput = outputs.every((o) => o.length === UNITS && o.every((v, i) => v === outputs[0]![i]));

    const workerPhase = await interleave({ direct: sides.direct, worker: sides.worker, echo: () => echo.call(input) }, calls, warmup);
    const jobPhase = await interleave({ direct: sides.direct, job: sides.job }, calls, warmup);
    return { workerPhase, jobPhase, sameOutput, backend: direct.backend, tfjs: tf.version_core };
  } finally {
    direct.dispose();
    worker.terminate();
    echo.terminate();
    await hangar.close();
  }
}
