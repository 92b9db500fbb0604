// Series of metric points → uPlot's aligned columns: one x column shared by every series.
import uPlot from 'uplot';
import type { ChartPoint } from './source.ts';

/** One line of a chart: a label and its points. */
export interface ChartSeries {
  label: string;
  points: readonly ChartPoint[];
}

export type XAxis = 'step' | 'time';

/** x and y columns of one series, x ascending (uPlot needs it). Time is in seconds, as uPlot takes it. */
function columns(points: readonly ChartPoint[], x: XAxis): [Float64Array, Float64Array] {
  const n = points.length;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    xs[i] = x === 'time' ? p.wallclock / 1000 : p.step;
    ys[i] = p.value;
    if (i && xs[i]! < xs[i - 1]!) sorted = false;
  }
  if (sorted) return [xs, ys];
  // Wallclock need not follow step order (points logged late, clocks moved).
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  return [Float64Array.from(order, (i) => xs[i]!), Float64Array.from(order, (i) => ys[i]!)];
}

const same = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The aligned data for uPlot; series on other x values are joined (gaps where one has no point). */
export function alignSeries(series: readonly ChartSeries[], x: XAxis): uPlot.AlignedData {
  const cols = series.map((s) => columns(s.points, x));
  const first = cols[0];
  if (!first) return [new Float64Array(0)];
  // Keys logged together share their x column: no join needed, which matters at 100,000 points.
  if (cols.every(([xs]) => same(xs, first[0]))) return [first[0], ...cols.map(([, ys]) => ys)];
  return uPlot.join(cols.map(([xs, ys]) => [xs, ys]));
}
