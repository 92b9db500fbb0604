import { env } from 'cloudflare:test';

/**
 * One figure as a benchmark prints it. bench/run.mjs collects every `BENCH {json}` line from
 * stdout, fills in `ratio` and `meetsGoal`, and writes docs/benchmarks.json and BENCHMARKS.md.
 */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** The substrate's (or a peer's) figure for the same work, measured in the same run; null if none. */
  baseline: number | null;
  /** What the ratio value/baseline must satisfy, e.g. "≤ 1.5"; null for a figure kept for information. */
  goal: string | null;
  /** One sentence a reader needs: what was measured against what. */
  note?: string;
  samples?: number[];
  baselineSamples?: number[];
}

export function report(figure: BenchFigure): void {
  console.log(`BENCH ${JSON.stringify(figure)}`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Times `work` in milliseconds. In workerd the clock only moves across I/O, so a trivial D1
 * query first makes the start reading fresh (the CPU spent before it is not counted), and
 * `work` must end with I/O (it always does here: a D1 batch or a fetch) for the end reading
 * to include everything it did.
 */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  await env.DB.prepare('SELECT 1').first();
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  if (!(ms > 0)) throw new Error(`a benchmark measured ${ms} ms: the clock did not move, so the figure would be meaningless`);
  return ms;
}
