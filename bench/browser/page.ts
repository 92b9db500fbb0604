// The benchmark page: the rounds of each figure, callable from Node (browser.bench-test.ts)
// one at a time, each in a fresh page. The library comes in as on the test harness page.
import '../../test/browser/fixtures/dexie.ts';
import { loadLibrary } from '../../test/browser/fixtures/library.ts';
import * as artifact from './artifact.ts';
import * as chart from './chart.ts';
import * as jobs from './jobs.ts';
import * as metrics from './metrics.ts';
import * as storage from './storage.ts';

const loaded = loadLibrary();

async function library() {
  const { library, error } = await loaded;
  if (!library) throw new Error(error);
  return library;
}

/** Deletes every IndexedDB database of the origin, so earlier rounds' data weighs on no round. */
async function clearDatabases(): Promise<void> {
  for (const { name } of await indexedDB.databases()) if (name) await window.Dexie.delete(name);
}

let prepared: artifact.Prepared | undefined;

const bench = {
  clearDatabases,
  metricsLibrary: async (name: string) => metrics.libraryRound(await library(), name),
  metricsPlain: (name: string) => metrics.plainRound(name),
  /** Readies a round of the artifact figure; `artifactRun` then runs it (the heap is watched in between). */
  artifactPrepare: async (side: 'library' | 'plain', name: string) => {
    prepared = side === 'library' ? await artifact.prepareLibrary(await library(), name) : await artifact.preparePlain(name);
  },
  artifactRun: () => {
    if (!prepared) throw new Error('artifactPrepare first');
    return prepared.run();
  },
  /** A training round on one side: through a job, in the trainer worker directly, or on the main thread. */
  train: async (side: 'job' | 'worker' | 'main', name: string) =>
    side === 'job' ? jobs.trainJob(await library(), name) : side === 'worker' ? jobs.trainWorker() : jobs.trainMain(),
  predict: async (name: string, calls: number, warmup: number) => jobs.predictRound(await library(), name, calls, warmup),
  /** Logs `n` points of one key and times `<hangar-metrics-chart ref>` drawing them. */
  chart: async (name: string, n: number) => chart.chartRound(await library(), name, n),
  /** Deletes a model holding a 100 MiB artifact and reads how far the storage estimate drops. */
  freed: async (name: string) => storage.freedRound(await library(), name),
};

export type Bench = typeof bench;

declare global {
  interface Window {
    bench: Bench;
  }
}

window.bench = bench;
window.harnessReady = loaded.then(({ library, error }) => ({ library: library !== null, error }));
