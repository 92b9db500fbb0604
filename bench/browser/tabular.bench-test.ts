// Profiling and preprocessing a 100,000-row, 30-column CSV in a Web Worker, against papaparse
// alone parsing the same Blob in a worker of its own, in the same page. Only through
// `npm run bench -- tabular-browser` (bench/run.mjs).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Browser, expectNoPageErrors, launch } from '../../test/browser/browser.ts';
import { watchHeap } from './heap.ts';
import { median, report } from './report.ts';

const PAGE = '/bench/browser/tabular.html';
const ROWS = Number(import.meta.env.TABULAR_BENCH_ROWS ?? 100_000);
const ROUNDS = 5;

let browser: Browser;
let chromium: string;

beforeAll(async () => {
  browser = await launch();
  chromium = browser.context.browser()?.version() ?? 'unknown';
});

afterAll(() => browser?.close());

it('profiles and preprocesses a 100,000-row, 30-column CSV in a worker, against papaparse alone', async () => {
  const page = await browser.newPage(PAGE);
  page.on('crash', () => console.error('the benchmark page crashed'));
  page.on('console', (m) => console.error(`page: ${m.text()}`));
  await page.waitForFunction(() => 'tabular' in window);
  const bytes = await page.evaluate((rows) => window.tabular.make(rows), ROWS);
  type Side = 'papa' | 'papa-ahead' | 'hangar';
  const sides: Record<Side, { ms: number[]; mib: number[] }> = { papa: { ms: [], mib: [] }, 'papa-ahead': { ms: [], mib: [] }, hangar: { ms: [], mib: [] } };
  const phases: Record<string, number[]> = {};
  let inputs = 0;
  // A warm-up of each side, then rounds, the side going first taking turns.
  const all: Side[] = ['papa', 'hangar', 'papa-ahead'];
  for (const side of all) await page.evaluate((s) => window.tabular.run(s), side);
  for (let round = 0; round < ROUNDS; round++) {
    const order = all.map((_, k) => all[(k + round) % all.length]!);
    for (const side of order) {
      // One watch per round: stop() ends its DevTools session.
      const heap = await watchHeap(page);
      await heap.start();
      const out = await page.evaluate((s) => window.tabular.run(s), side);
      const mib = await heap.stop();
      expect(out.rows).toBe(ROWS);
      sides[side].ms.push(out.ms);
      sides[side].mib.push(mib);
      if (out.phases) {
        for (const [step, ms] of Object.entries(out.phases)) (phases[step] ??= []).push(ms);
        inputs = out.inputs;
      }
    }
  }
  expectNoPageErrors(page);
  await page.close();
  const round1 = (x: number) => Math.round(x * 10) / 10;
  const what =
    `A generated CSV of ${ROWS.toLocaleString('en')} rows × 30 columns (${(bytes / 2 ** 20).toFixed(1)} MiB: an id, 20 numeric columns with 10% of cells empty or NA, 8 categorical of 5–12 levels with 5% empty, a yes/no target) as a Blob, ` +
    `handed to a fresh module Web Worker per round; Hangar: parseCsv (the Blob read in 4 MiB chunks, the next one read while papaparse parses the last, decoded as one UTF-8 stream and given to papaparse as a stream; each row's cells taken as papaparse reads the row, straight into typed columns: a Float64 number, NaN where missing or text, once a column meets a number, and an Int32 code into the column's distinct texts once it meets a word), profileTable (typing and the report from the columns' counters), the stratified split, ` +
    `fitPreprocessing (medians, vocabularies, and each input's mean and deviation over the training rows, from the columns: a numeric input's counts on its grid or sums, a one-hot slot's count) and encodeTable into the ${inputs} standardized network inputs of every row, as a tabular training job does before its first epoch; ` +
    `baseline: papaparse alone reading the same Blob its own way (Papa.parse(blob): each 4 MiB chunk read in turn with a FileReader; a step callback per row counting it) in a worker of its own; times taken inside the worker; median of ${ROUNDS} rounds after a warm-up of each, the side going first taking turns; ` +
    `Chromium headless.`;
  report({
    name: 'Profile and preprocess a 100,000-row, 30-column CSV in a worker vs papaparse alone: time',
    value: round1(median(sides.hangar.ms)),
    unit: 'ms',
    baseline: round1(median(sides.papa.ms)),
    goal: '≤ 2',
    note: `${what} Hangar's steps, median ms: ${Object.entries(phases).map(([step, ms]) => `${step} ${round1(median(ms))}`).join(', ')}.`,
    samples: sides.hangar.ms,
    baselineSamples: sides.papa.ms,
    versions: { chromium },
  });
  report({
    name: 'papaparse alone given a CSV Blob as parseCsv gives it vs reading it its own way: time',
    value: round1(median(sides['papa-ahead'].ms)),
    unit: 'ms',
    baseline: round1(median(sides.papa.ms)),
    goal: null,
    note: `The same rounds and file: papaparse alone with a step callback counting rows, given the Blob as parseCsv gives it (read ahead in 4 MiB chunks, one UTF-8 stream) against reading it its own way (the baseline above). What of Hangar's time against papaparse is the reading of the file rather than the work on its cells.`,
    samples: sides['papa-ahead'].ms,
    baselineSamples: sides.papa.ms,
    versions: { chromium },
  });
  report({
    name: 'Profile and preprocess a 100,000-row, 30-column CSV in a worker vs papaparse alone: peak JS heap growth',
    value: round1(median(sides.hangar.mib)),
    unit: 'MiB',
    baseline: round1(median(sides.papa.mib)),
    goal: null,
    note: `The same rounds; value: the highest JS memory (V8 heap + ArrayBuffer backing stores) of the page and its workers, sampled every 50 ms over CDP (Runtime.getHeapUsage), less the same sum before the round after a GC everywhere (bench/browser/heap.ts); baseline: the same for papaparse alone, whose chunks are dropped as read, while Hangar keeps every cell (a Float64 number in a column of numbers, an Int32 text code in one of words, both in one of both) and the encoded Float32 matrix. papaparse alone given the Blob as parseCsv gives it (read ahead): ${round1(median(sides['papa-ahead'].mib))} MiB.`,
    samples: sides.hangar.mib,
    baselineSamples: sides.papa.mib,
    versions: { chromium },
  });
});
