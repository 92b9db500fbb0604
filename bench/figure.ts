/**
 * One figure as a benchmark prints it. bench/run.mjs collects every `BENCH {json}` line from
 * stdout, fills in `ratio` and `meetsGoal`, and writes docs/benchmarks.json and BENCHMARKS.md.
 */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** The substrate's figure (or a fixed budget) for the same work; null if none. */
  baseline: number | null;
  /** What the ratio value/baseline must satisfy, e.g. "≥ 0.85"; null for a figure kept for information. */
  goal: string | null;
  /** One sentence a reader needs: what was measured against what. */
  note?: string;
  samples?: number[];
  baselineSamples?: number[];
  /** Versions beside the suite's packages (the browser's); bench/run.mjs adds them to the run's. */
  versions?: Record<string, string>;
}

export function report(figure: BenchFigure): void {
  console.log(`BENCH ${JSON.stringify(figure)}`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
