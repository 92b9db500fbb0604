// The chart-from-the-registry figures, in the page: `n` points of one key logged through the
// library, then `<hangar-metrics-chart ref>` (max-points 2000, its default) drawing them.
//
// Library calls used (DESIGN §7a), in this order:
//   const hangar = await openRegistry({ name })
//   const model = await hangar.newModel({ namespace: 'bench', name: 'curve' })
//   const version = await model.newVersion({})
//   version.logMetrics({ loss }, { step, wallclock })     × n, not awaited one by one
//   await hangar.flush()
//   <hangar-metrics-chart ref="bench/curve/1" keys="loss"> with .client = hangar    timed from its append
//   the frame after its `hangar-draw` event                                          to here
import { bucketWidth } from '../../shared/downsample.ts';
import type { HangarLibrary } from '../../test/browser/fixtures/globals.d.ts';
import type { HangarMetricsChart } from '../../web/widget/index.ts';

const frame = () => new Promise<number>((r) => requestAnimationFrame(r));

/** Logs `n` points of a decaying, noisy loss curve, one a second; not timed. */
async function seed(library: HangarLibrary, name: string, n: number) {
  const hangar = await library.openRegistry({ name });
  const model = await hangar.newModel({ namespace: 'bench', name: 'curve' });
  const version = await model.newVersion({});
  const start = Date.UTC(2026, 0, 1);
  for (let step = 0; step < n; step++) void version.logMetrics({ loss: Math.exp(-step / (n / 5)) + Math.sin(step) * 0.01 }, { step, wallclock: start + step * 1000 });
  await hangar.flush();
  const count = (await version.metrics()).loss?.count;
  if (count !== n) throw new Error(`the registry stored ${count} points, not ${n}`);
  return hangar;
}

export async function chartRound(library: HangarLibrary, name: string, n: number): Promise<number> {
  await import('../../web/widget/index.ts');
  const hangar = await seed(library, name, n);
  await customElements.whenDefined('hangar-metrics-chart');
  await frame();
  const t0 = performance.now();
  const el = document.createElement('hangar-metrics-chart') as HangarMetricsChart;
  el.client = hangar;
  el.setAttribute('ref', 'bench/curve/1');
  el.setAttribute('keys', 'loss');
  const drawn = new Promise((r) => el.addEventListener('hangar-draw', r, { once: true }));
  document.body.append(el);
  await drawn;
  await frame();
  const ms = performance.now() - t0;
  const points = el.drawn?.points;
  el.remove();
  await hangar.close();
  // Steps 0..n − 1 in buckets of the least power-of-two width that leaves at most 2,000.
  const buckets = Math.floor((n - 1) / bucketWidth(0, n - 1, 2000)) + 1;
  if (points !== buckets) throw new Error(`the chart drew ${points} points, not the ${buckets} buckets of max-points 2000`);
  return ms;
}
