// The browser figures: each round runs in a fresh page of one Chromium, sides alternating.
// Only through `npm run bench -- browser` (bench/run.mjs): `npm test` never picks up *.bench-test.ts.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';
import { type Browser, expectNoPageErrors, launch } from '../../test/browser/browser.ts';
import { watchHeap } from './heap.ts';
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
