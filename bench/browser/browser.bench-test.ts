// The browser figures: each round runs in a fresh page of one Chromium, sides alternating.
// Only through `npm run bench -- browser` (bench/run.mjs): `npm test` never picks up *.bench-test.ts.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';
import { type Browser, expectNoPageErrors, launch } from '../../test/browser/browser.ts';
import { watchHeap } from './heap.ts';
import { EPOCHS, INPUT_VALUES, type Latency, type PredictRound, SEED, type TrainRound } from './jobs.ts';
import { POINTS } from './metrics.ts';
import { median, report } from './report.ts';

const PAGE = '/bench/browser/page.html';

type Side = 'library' | 'plain';
type Round<T> = (page: Page, name: string) => Promise<T>;

let browser: Browser;
/** Why the library cannot be measured (missing, or failing to load), if it cannot. */
let libraryError: string | undefined;
let versions: Record<string, string>;

beforeAll(async () => {
  browser = await launch();
  versions = { chromium: browser.context.browser()?.version() ?? 'unknown' };
  const page = await browser.newPage(PAGE);
  libraryError = (await page.evaluate(() => window.harnessReady))?.error;
  await page.close();
});

afterAll(() => browser?.close());

/** One round in a fresh page (fresh heap, no open connections), after every earlier database is deleted. */
async function inFreshPage<T>(run: Round<T>, name: string): Promise<T> {
  const page = await browser.newPage(PAGE);
  try {
    await page.evaluate(() => window.bench.clearDatabases());
    const result = await run(page, name);
    expectNoPageErrors(page);
    return result;
  } finally {
    await page.close();
  }
}

/**
 * `rounds` rounds of each side after one warm-up round that is not counted; each round starts
 * with the other side than the last, so drift spreads evenly. Without the library, the plain
 * side's rounds still run (so they are known to work) and then the figure fails, saying why.
 */
async function alternate<T>(figure: string, rounds: number, sides: Record<Side, Round<T>>): Promise<Record<Side, T[]>> {
  const order: Side[] = libraryError ? ['plain'] : ['library', 'plain'];
  const samples: Record<Side, T[]> = { library: [], plain: [] };
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < order.length; i++) {
      const side = order[(i + round) % order.length]!;
      const result = await inFreshPage(sides[side], `bench-${side}-${round}`);
      console.log(`${figure}: round ${round}${round === 0 ? ' (warm-up)' : ''}, ${side}: ${JSON.stringify(result)}`);
      if (round > 0) samples[side].push(result);
    }
  }
  if (libraryError) throw new Error(`${libraryError}: the library side of “${figure}” cannot run (the plain side ran: ${JSON.stringify(samples.plain)})`);
  return samples;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

it('logs 100,000 metric points through the library vs one plain Dexie bulkPut', async () => {
  const ROUNDS = 5;
  const ms = await alternate('metric points', ROUNDS, {
    library: (page, name) => page.evaluate((n) => window.bench.metricsLibrary(n), name),
    plain: (page, name) => page.evaluate((n) => window.bench.metricsPlain(n), name),
  });
  const perSecond = (xs: number[]) => xs.map((x) => Math.round((POINTS / x) * 1000));
  report({
    name: 'Log 100,000 metric points through the library (50,000 logMetrics calls × 2 keys)',
    value: median(perSecond(ms.library)),
    unit: 'points/s',
    baseline: median(perSecond(ms.plain)),
    goal: '≥ 0.85',
    note:
      'Library: openRegistry, newModel, newVersion, then 50,000 version.logMetrics({ loss, accuracy }, { step }) not awaited one by one and hangar.flush(), timed from the first call to the end of flush; ' +
      'baseline: the same 100,000 rows { id (UUIDv7), parentId, key, value, step, wallclock } made and put with one Dexie bulkPut into a table with the keys id, [parentId+key+step]; ' +
      `Chromium headless, a fresh page and empty IndexedDB per round, median of ${ROUNDS} alternating rounds after a warm-up.`,
    samples: perSecond(ms.library),
    baselineSamples: perSecond(ms.plain),
    versions,
  });
});

/** A round of the artifact figure: made ready in the page, then run with the heap watched. */
const artifactRound =
  (side: Side): Round<{ ms: number; heapGrowthMiB: number }> =>
  async (page, name) => {
    await page.evaluate(([s, n]) => window.bench.artifactPrepare(s, n), [side, name] as const);
    const heap = await watchHeap(page);
    await heap.start();
    const ms = await page.evaluate(() => window.bench.artifactRun()).catch(async (err) => {
      await heap.stop();
      throw err;
    });
    return { ms, heapGrowthMiB: await heap.stop() };
  };

it('stores and reads back a 256 MiB artifact within 64 MiB of JS heap', async () => {
  const ROUNDS = 3;
  const runs = await alternate('256 MiB artifact', ROUNDS, { library: artifactRound('library'), plain: artifactRound('plain') });
  const heap = (rs: { heapGrowthMiB: number }[]) => rs.map((r) => round1(r.heapGrowthMiB));
  const time = (rs: { ms: number }[]) => rs.map((r) => Math.round(r.ms));
  report({
    name: 'Store and read back a 256 MiB artifact: peak JS heap growth (page and its workers)',
    // A figure must be positive; growth below 0.1 MiB is shown as 0.1.
    value: Math.max(0.1, median(heap(runs.library))),
    unit: 'MiB',
    baseline: 64,
    goal: '< 1',
    note:
      'Library: version.uploadArtifacts([{ file, path }]) of a 256 MiB Blob of random bytes, then version.readArtifact(path).stream() read with a BYOB reader into one reused 1 MiB buffer and hashed (SHA-256 checked; the bytes are never one ArrayBuffer); ' +
      'value: the highest JS memory (V8 heap + ArrayBuffer backing stores, what performance.memory.usedJSHeapSize reports) of the page plus its Web Workers, summed every 50 ms over CDP (Runtime.getHeapUsage), less the same sum just before, after a GC everywhere; ' +
      `baseline: the 64 MiB budget, not a measurement. Median of ${ROUNDS} rounds, each in a fresh page; plain Dexie doing the same grew by ${median(heap(runs.plain))} MiB.`,
    samples: heap(runs.library),
    baselineSamples: heap(runs.plain),
    versions,
  });
  report({
    name: 'Store and read back a 256 MiB artifact: time',
    value: median(time(runs.library)),
    unit: 'ms',
    baseline: median(time(runs.plain)),
    goal: null,
    note:
      'The same rounds as the heap figure, timed in the page from uploadArtifacts to the last byte read back and hashed; ' +
      'baseline: the Blob put in a plain Dexie table and got back, read and hashed the same way (the library also hashes the input, to address it by SHA-256).',
    samples: time(runs.library),
    baselineSamples: time(runs.plain),
    versions,
  });
});

/**
 * `rounds` rounds of each side (any number of sides) after one warm-up round that is not
 * counted, each in a fresh page; the side that goes first rotates each round. Needs the library.
 */
async function rotate<S extends string, T>(figure: string, rounds: number, sides: Record<S, Round<T>>): Promise<Record<S, T[]>> {
  if (libraryError) throw new Error(`${libraryError}: “${figure}” cannot run`);
  const order = Object.keys(sides) as S[];
  const samples = Object.fromEntries(order.map((side) => [side, [] as T[]])) as unknown as Record<S, T[]>;
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < order.length; i++) {
      const side = order[(i + round) % order.length]!;
      const result = await inFreshPage(sides[side], `bench-${side}-${round}`);
      console.log(`${figure}: round ${round}${round === 0 ? ' (warm-up)' : ''}, ${side}: ${JSON.stringify(result)}`);
      if (round > 0) samples[side].push(result);
    }
  }
  return samples;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const ms = (x: number) => `${Math.round(x)} ms`;

const trainRound =
  (side: 'job' | 'worker' | 'main'): Round<TrainRound> =>
  (page, name) =>
    page.evaluate(([s, n]) => window.bench.train(s, n), [side, name] as const);

it('trains Iris in the trainer worker: no long task on the main thread, and about as fast as on the main thread', async () => {
  const ROUNDS = 7;
  const runs = await rotate('training', ROUNDS, { job: trainRound('job'), worker: trainRound('worker'), main: trainRound('main') });
  for (const [side, rs] of Object.entries(runs)) {
    for (const r of rs) {
      if (r.backend !== 'cpu' || r.epochs !== EPOCHS) throw new Error(`the ${side} side trained ${r.epochs} epochs on ${r.backend}, not ${EPOCHS} on cpu`);
    }
  }
  // Same data, seed, epochs and backend: the worker and the main thread train the same model.
  const accuracies = new Set([...runs.worker, ...runs.main].map((r) => r.valAccuracy));
  if (accuracies.size !== 1) throw new Error(`the worker and the main thread trained different models (held-out accuracies ${[...accuracies].join(', ')})`);

  const longest = (rs: TrainRound[]) => rs.map((r) => r.longTasks.longest);
  const counts = (rs: TrainRound[]) => rs.map((r) => r.longTasks.count);
  const jobLongest = median(longest(runs.job));
  const roundsWithLongTasks = runs.job.filter((r) => r.longTasks.count > 0).length;
  const cold = (rs: TrainRound[]) => rs.map((r) => Math.round(r.ms));
  const warm = (rs: TrainRound[]) => rs.map((r) => Math.round(r.warmMs!));
  const settings = `tfjs ${runs.main[0]!.tfjs} cpu backend (stable headless, no GPU), params { epochs: ${EPOCHS}, seed: ${SEED} } (otherwise the module's defaults: hidden [16], batch 32, validation split 0.2)`;

  report({
    name: `Longest main-thread task while a training job runs (Iris, ${EPOCHS} epochs, cpu)`,
    // A figure must be positive: no long task at all (the goal) is shown as 0.1 ms.
    value: Math.max(0.1, jobLongest),
    unit: 'ms',
    baseline: 50,
    goal: '< 1',
    note:
      `Job: hangar.trainer('local').train('tabular-classifier', { data: iris.csv as a Blob (150 rows), target: 'species', params, backends: ['cpu'], saveAs }) with the job layer's defaults (a checkpoint every 5 epochs; metrics, records, checkpoints and model files written to IndexedDB from the page), ${settings}; ` +
      `value: the longest PerformanceObserver({ type: 'longtask', buffered: true }) entry of the page overlapping the span from the train() call to job.result() resolving, 0.1 standing for none (the Long Tasks API reports only tasks over 50 ms, so anything shorter is invisible); baseline: the 50 ms long-task threshold, a budget, not a measurement. ` +
      `Median of ${ROUNDS} rounds, each in a fresh page after a warm-up round; long tasks per round: ${counts(runs.job).join(', ')} (${roundsWithLongTasks} of ${ROUNDS} rounds had any; longest in any round ${Math.max(...longest(runs.job))} ms). ` +
      `Context (baselineSamples): the same training run on the page's main thread (loadTrainableModule, parse, module.train, as train.worker.ts does it) had a median longest task of ${ms(median(longest(runs.main)))} (${median(counts(runs.main))} long task(s) per round; from the first epoch on: ${ms(median(runs.main.map((r) => r.longTasksAfterFirstEpoch!.longest)))}), a task spanning the epochs: on cpu, tfjs's awaits between batches and epochs resolve as microtasks, so training never yields to the event loop.`,
    samples: longest(runs.job),
    baselineSamples: longest(runs.main),
    versions: { ...versions, '@tensorflow/tfjs-core': runs.main[0]!.tfjs! },
  });

  const warmRatio = median(warm(runs.worker)) / median(warm(runs.main));
  report({
    name: `Train Iris (${EPOCHS} epochs, cpu) in the trainer worker vs on the main thread: time`,
    value: median(cold(runs.worker)),
    unit: 'ms',
    baseline: median(cold(runs.main)),
    goal: '≤ 1.1',
    note:
      `Worker: spawnTrainWorker() (the module Web Worker the local trainer starts per job) and api.train(request) over Comlink with progress and checkpoint callbacks as proxies, timed from new Worker to the result (worker start-up, loading tfjs and the module in the worker, parsing the CSV Blob there, training, saving the model files); ` +
      `baseline: what train.worker.ts does (loadTrainableModule, readTrainingData, sha256OfBlob, module.train, dispose), called on the page's main thread, timed from the first import to the result; both the same request: iris.csv (150 rows), target 'species', checkpointEvery 0, ${settings}, the same held-out accuracy checked. ` +
      `Each side the first training in a fresh page (cold: code loaded and the backend started inside the span); median of ${ROUNDS} rounds after a warm-up round, sides rotating. ` +
      `Warm (a second identical training in the same worker, or the same page): worker ${ms(median(warm(runs.worker)))} vs main thread ${ms(median(warm(runs.main)))}, ratio ${round2(warmRatio)}. ` +
      `Through hangar.trainer('local') (registry writes, default checkpoints every 5 epochs) the same training took ${ms(median(cold(runs.job)))} (median).`,
    samples: cold(runs.worker),
    baselineSamples: cold(runs.main),
    versions: { ...versions, '@tensorflow/tfjs-core': runs.main[0]!.tfjs! },
  });
});

it('predicts through the predictor worker within 1 ms (p50) and 3 ms (p95) of predicting in the page', async () => {
  const ROUNDS = 5;
  const CALLS = 200;
  const WARMUP = 20;
  const { predict: runs } = await rotate('prediction round trips', ROUNDS, {
    predict: (page: Page, name: string) => page.evaluate(([n, c, w]) => window.bench.predict(n, c, w), [name, CALLS, WARMUP] as const),
  });
  for (const r of runs) if (!r.sameOutput || r.backend !== 'cpu') throw new Error(`the ways to predict disagree, or ran on ${r.backend}`);
  const tfjs = runs[0]!.tfjs;
  type Phase = 'workerPhase' | 'jobPhase';
  type Tag = 'p50' | 'p95';
  const stat = <P extends Phase>(phase: P, side: keyof PredictRound[P], tag: Tag) =>
    runs.map((r) => round2((r[phase][side] as Latency)[tag]));
  const overhead = <P extends Phase>(phase: P, side: keyof PredictRound[P], tag: Tag) =>
    runs.map((r) => round2((r[phase][side] as Latency)[tag] - (r[phase] as { direct: Latency }).direct[tag]));
  // A figure must be positive: below the timer's resolution (0.1 ms here) it is shown as 0.05.
  const figure = (xs: number[]) => Math.max(0.05, round2(median(xs)));
  const med = (xs: number[]) => `${round2(median(xs))} ms`;

  const model = `Model: a tfjs layers model (one dense layer ${INPUT_VALUES} → 16, softmax, seeded weights) saved in the page and run by the tfjs-import module on the tfjs ${tfjs} cpu backend (stable headless, no GPU)`;
  const input = `input: { tensors: { x: { data: Float32Array(${INPUT_VALUES}), shape: [1, ${INPUT_VALUES}] } } }, ${(INPUT_VALUES * 4) / 1024} KiB of tensor data, structured-cloned to the worker (not transferred); output: 16 float32, transferred back`;
  const direct = `direct: the same files loaded by the same module on the page's main thread (tfjs-import load, then its predict: tf.tensor → LayersModel.predict → data())`;
  const how =
    `${CALLS} timed calls per side after ${WARMUP} untimed ones, each awaited before the next, the sides taking turns call by call; every side gave the same output; ` +
    `overhead = the side's percentile less the direct calls' same percentile, per round; median of ${ROUNDS} rounds, each in a fresh page after a warm-up round; performance.now() in the page, whose resolution is 0.1 ms (not cross-origin isolated)`;
  const worker = `spawnPredictWorker() (the predictor worker the job layer starts, wrapped with Comlink) loaded once with api.load, then api.predict(key, input)`;
  const job = `hangar.predictor('local').predict('bench/dense/1', input).result() (registry opened with jobs.backends { 'tfjs-import': ['cpu'] }, model registered with hangar.importModelFiles and already loaded in the predictor's worker)`;

  for (const [tag, budget] of [
    ['p50', 1],
    ['p95', 3],
  ] as const) {
    report({
      name: `Prediction round trip through the predictor worker, 10 KiB input: overhead ${tag}`,
      value: figure(overhead('workerPhase', 'worker', tag)),
      unit: 'ms',
      baseline: budget,
      goal: '≤ 1',
      note:
        `Value: ${tag} of ${worker}, less ${tag} of the ${direct}; baseline: the ${budget} ms budget, not a measurement. ` +
        `Medians: worker ${tag} ${med(stat('workerPhase', 'worker', tag))}, direct ${tag} ${med(stat('workerPhase', 'direct', tag))}, and a bare module worker echoing the same message with postMessage alone (no Comlink, no tfjs) ${tag} ${med(stat('workerPhase', 'echo', tag))}. ` +
        `${model}; ${input}; ${how}. The job-path calls ran in a later phase of the same page, not interleaved with these.`,
      samples: overhead('workerPhase', 'worker', tag),
      baselineSamples: stat('workerPhase', 'direct', tag),
      versions: { ...versions, '@tensorflow/tfjs-core': tfjs },
    });
  }
  for (const [tag, budget] of [
    ['p50', 1],
    ['p95', 3],
  ] as const) {
    report({
      name: `Prediction job through hangar.predictor('local'), 10 KiB input: overhead ${tag}`,
      value: figure(overhead('jobPhase', 'job', tag)),
      unit: 'ms',
      baseline: budget,
      goal: '≤ 1',
      note:
        `Value: ${tag} of ${job}, less ${tag} of the ${direct}, interleaved with it; baseline: the ${budget} ms budget, not a measurement. ` +
        `Medians: job ${tag} ${med(stat('jobPhase', 'job', tag))}, direct ${tag} ${med(stat('jobPhase', 'direct', tag))}. ` +
        `A prediction job is kept in memory; its reference's resolution is kept until a write to models, versions, aliases or metadata (Dexie's storagemutated event), so it reads no IndexedDB; ` +
        `the worker call itself (the figure above) ${tag} ${med(stat('workerPhase', 'worker', tag))}. ${model}; ${input}; ${how}.`,
      samples: overhead('jobPhase', 'job', tag),
      baselineSamples: stat('jobPhase', 'direct', tag),
      versions: { ...versions, '@tensorflow/tfjs-core': tfjs },
    });
  }
});

it('gives back at least 99 MiB of the storage estimate when a model with a 100 MiB artifact is deleted', async () => {
  const ROUNDS = 3;
  const runs = await rotate('space given back', ROUNDS, { library: (page, name) => page.evaluate((n) => window.bench.freed(n), name) });
  const freed = runs.library.map((r) => round2(r.freedMiB));
  report({
    name: 'Delete a model holding a 100 MiB artifact: storage estimate given back',
    value: median(freed),
    unit: 'MiB',
    baseline: 100,
    goal: '≥ 0.99',
    note:
      'Library: openRegistry, newModel, newVersion, uploadArtifacts of 100 MiB of random bytes, then model.delete(); ' +
      'value: how far navigator.storage.estimate().usage dropped from just before the delete, read every 20 ms until it had dropped and then held still for 0.5 s (at most 10 s); ' +
      `baseline: the artifact's size. The estimate reached its lowest a median ${Math.round(median(runs.library.map((r) => r.ms)))} ms from the delete's call. ` +
      `Chromium headless, median of ${ROUNDS} rounds after a warm-up, each in a fresh page and empty IndexedDB.`,
    samples: freed,
    versions,
  });
});

for (const [points, budget] of [
  [100_000, 100],
  [1_000_000, 300],
] as const) {
  it(`draws <hangar-metrics-chart ref> over ${points.toLocaleString('en')} logged points within ${budget} ms`, async () => {
    const ROUNDS = 3;
    const runs = await rotate(`chart of ${points} points`, ROUNDS, { library: (page, name) => page.evaluate(([n, p]) => window.bench.chart(n, p), [name, points] as const) });
    report({
      name: `\`<hangar-metrics-chart ref>\` over ${points.toLocaleString('en')} points of one key in the local registry (max-points 2000)`,
      value: round1(median(runs.library)),
      unit: 'ms',
      baseline: budget,
      goal: '≤ 1',
      note:
        `Library: ${points.toLocaleString('en')} version.logMetrics({ loss }, { step, wallclock }) and hangar.flush() (not timed), then a <hangar-metrics-chart ref="bench/curve/1" keys="loss"> with the client appended: timed from the append to the frame after its hangar-draw event, the element reading metricHistory(key, { maxPoints: 2000 }) and uPlot drawing its buckets (${points === 100_000 ? '1,563 of 64 steps' : '1,954 of 512 steps'}: the least power-of-two width that leaves at most 2,000), answered from the per-level cells (64 or 256 steps each: 1,563 or 3,906 cells) with only the partial segment at the range's end read; ` +
        `baseline: the ${budget} ms budget, not a measurement. Chromium headless, median of ${ROUNDS} rounds after a warm-up, each in a fresh page and empty IndexedDB (the widget from source through Vite, not the minified bundle).`,
      samples: runs.library.map(round1),
      versions,
    });
  });
}
