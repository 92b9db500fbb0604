// The profiling figure's worker: papaparse alone reading a CSV Blob, or what a training job does
// to it before training (parse, profile, split, fit the preprocessing, encode and standardize), timed inside.
import { expose } from 'comlink';
import Papa from 'papaparse';
import { BlobText, parseCsv } from '../../web/jobs/csv.ts';
import { encodeTable, fitPreprocessing, splitRows } from '../../web/jobs/modules/tabular-data.ts';
import { profileTable } from '../../web/jobs/profile.ts';

const api = {
  /**
   * papaparse alone: the Blob read in chunks of 4 MiB, row by row (as parseCsv takes them), rows
   * counted; `ahead`: given the Blob as parseCsv gives it (read ahead, one UTF-8 stream), else
   * reading it its own way (each chunk read in turn with a FileReader).
   */
  papa(csv: Blob, ahead = false): Promise<{ ms: number; rows: number }> {
    const start = performance.now();
    let rows = 0;
    const text = ahead ? new BlobText(csv) : null;
    return new Promise((resolve, reject) => {
      Papa.parse<string[]>((text ?? csv) as unknown as string, {
        header: false,
        delimiter: ',',
        skipEmptyLines: false,
        chunkSize: 4 * 1024 * 1024,
        step: () => void rows++,
        complete: () => resolve({ ms: performance.now() - start, rows: rows - 1 }),
        error: (err: Error) => reject(err),
      });
      void text?.start();
    });
  },
  /** Hangar: parse into columns, profile, split, fit the format-2 preprocessing and its scaling, and encode every row as standardized network input. */
  async profile(csv: Blob, target: string): Promise<{ ms: number; rows: number; inputs: number; phases: Record<string, number> }> {
    const start = performance.now();
    let last = start;
    // Each step's time, in order.
    const phases: Record<string, number> = {};
    const lap = (phase: string) => {
      const now = performance.now();
      phases[phase] = now - last;
      last = now;
    };
    const table = await parseCsv(csv);
    lap('parse');
    const profile = profileTable(table, target, 'tabular-classifier');
    lap('profile');
    const split = splitRows(profile.rows.length, 0.2, 42, profile.y);
    lap('split');
    const prep = fitPreprocessing(table, profile, split.train);
    lap('fit');
    encodeTable(prep, table, profile, profile.rows, prep.scaling);
    lap('encode');
    return { ms: performance.now() - start, rows: profile.rows.length, inputs: prep.inputs.length, phases };
  },
};

export type TabularBenchWorker = typeof api;
expose(api);
