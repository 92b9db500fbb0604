// The widget benchmark page: rounds callable from Node (widget.bench-test.ts), each in a fresh
// page. The elements come from the built script-tag bundle (production Lit, minified), as a host
// page would load them; the raw uPlot baseline comes from the same uPlot package.
import uPlot from 'uplot';
import { loadLibrary } from '../../test/browser/fixtures/library.ts';
import type { HangarMetricsChart, HangarModels, ModelSummary, WidgetSource } from '../../web/widget/index.ts';

const frame = () => new Promise<number>((r) => requestAnimationFrame(r));

/** `n` points of a decaying, noisy loss curve, one a second. */
function lossCurve(n: number) {
  const start = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, step) => ({ step, value: Math.exp(-step / (n / 5)) + Math.sin(step) * 0.01, wallclock: start + step * 1000 }));
}

/** Long tasks from now on (buffered, so none is missed; those before now, loading the page, are left out). */
function watchLongTasks() {
  const since = performance.now();
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => void entries.push(...list.getEntries()));
  observer.observe({ type: 'longtask', buffered: true });
  return () => {
    entries.push(...observer.takeRecords());
    observer.disconnect();
    return entries.filter((e) => e.startTime + e.duration > since).map((e) => ({ at: Math.round(e.startTime - since), ms: Math.round(e.duration) }));
  };
}

/** The element given 100,000 points directly: from appending it to the frame after uPlot drew. */
async function chartElement(n: number): Promise<number> {
  await customElements.whenDefined('hangar-metrics-chart');
  const points = lossCurve(n);
  await frame();
  const t0 = performance.now();
  const el = document.createElement('hangar-metrics-chart') as HangarMetricsChart;
  el.series = [{ label: 'loss', points }];
  const drawn = new Promise((r) => el.addEventListener('hangar-draw', r, { once: true }));
  document.body.append(el);
  await drawn;
  await frame();
  const ms = performance.now() - t0;
  if (el.drawn?.points !== n) throw new Error(`the chart drew ${el.drawn?.points} points, not ${n}`);
  return ms;
}

/** The baseline: uPlot itself, given the same points turned into columns, at the same size. */
async function chartRaw(n: number): Promise<number> {
  const points = lossCurve(n);
  const target = document.createElement('div');
  document.body.append(target);
  await frame();
  const t0 = performance.now();
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = points[i]!.step;
    ys[i] = points[i]!.value;
  }
  const drawn = new Promise<void>((resolve) => {
    new uPlot({ width: document.body.clientWidth, height: 240, series: [{}, { label: 'loss', stroke: '#2456c7', width: 1.5 }], hooks: { draw: [() => resolve()] } }, [xs, ys], target);
  });
  await drawn;
  await frame();
  return performance.now() - t0;
}

/** Logs `n` points on a version of a fresh registry, then times <hangar-metrics-chart ref> reading them (downsampled to max-points). */
async function chartFromRegistry(n: number, name: string): Promise<number> {
  const { library, error } = await loadLibrary();
  if (!library) throw new Error(error);
  const hangar = await library.openRegistry({ name });
  const model = await hangar.newModel({ namespace: 'bench', name: 'curve' });
  const v = await model.newVersion();
  for (const p of lossCurve(n)) void v.logMetrics({ loss: p.value }, { step: p.step, wallclock: p.wallclock });
  await hangar.flush();
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
  return performance.now() - t0;
}

/** A source holding `n` models in memory: the list's own cost, apart from any storage. */
function modelsSource(n: number): WidgetSource {
  const models: ModelSummary[] = Array.from({ length: n }, (_, i) => ({
    namespace: 'bench',
    name: `model-${String(i).padStart(5, '0')}`,
    owner: 'bench',
    task: i % 2 ? 'tabular' : 'vision',
    description: `Model number ${i}, with a description long enough to be cut at the row's edge`,
    updatedAt: new Date(0).toISOString(),
  }));
  const unused = () => Promise.reject(new Error('not used by the list'));
  return {
    label: 'memory',
    models: async () => models,
    model: unused,
    versions: unused,
    version: unused,
    metrics: unused,
    metricHistory: unused,
    artifacts: unused,
    readArtifact: unused,
    checkpoints: unused,
    watch: (query, next, error) => {
      query().then(next, error);
      return () => {};
    },
  };
}

/**
 * Renders <hangar-models> over `n` models, then scrolls its list from top to bottom, `step` px a
 * frame, watching long tasks from the first render to the end.
 */
async function scrollModels(n: number, step: number) {
  await customElements.whenDefined('hangar-models');
  // The host's data exists before the element does: only the element is timed.
  const source = modelsSource(n);
  await frame();
  const stop = watchLongTasks();
  const t0 = performance.now();
  const el = document.createElement('hangar-models') as HangarModels;
  el.source = source;
  document.body.append(el);
  const list = () => el.shadowRoot!.querySelector<HTMLElement>('[part~="list"]')!;
  while (!list() || list().hidden || list().scrollHeight < n * 40) await frame();
  const rendered = performance.now() - t0;
  const scroller = list();
  let frames = 0;
  let worstFrame = 0;
  // The element's own work per step: the scroll handler and Lit's update, then the layout they cause.
  const work: number[] = [];
  let last = await frame();
  for (let y = 0; y <= scroller.scrollHeight; y += step) {
    const t0 = performance.now();
    scroller.scrollTop = y;
    scroller.dispatchEvent(new Event('scroll'));
    await el.updateComplete;
    void el.shadowRoot!.querySelector('[role="option"]')?.getBoundingClientRect();
    work.push(performance.now() - t0);
    const now = await frame();
    worstFrame = Math.max(worstFrame, now - last);
    last = now;
    frames++;
  }
  work.sort((a, b) => a - b);
  const at = (q: number) => Math.round(work[Math.min(work.length - 1, Math.floor(work.length * q))]! * 100) / 100;
  const lastRow = el.shadowRoot!.querySelector('[role="option"]:last-child .name')?.textContent;
  const longTasks = stop();
  return { rendered: Math.round(rendered), frames, worstFrame: Math.round(worstFrame), work: { p50: at(0.5), p99: at(0.99) }, longTasks, lastRow, rowsInDom: el.shadowRoot!.querySelectorAll('[role="option"]').length };
}

/**
 * The same number of frames on a page with no element, each spending `busyMs` on plain
 * JavaScript: the long tasks the machine alone causes to that much work.
 */
async function busyFrames(frames: number, busyMs: number) {
  const stop = watchLongTasks();
  for (let i = 0; i < frames; i++) {
    const until = performance.now() + busyMs;
    while (performance.now() < until);
    await frame();
  }
  return { longTasks: stop() };
}

async function clearDatabases(): Promise<void> {
  for (const { name } of await indexedDB.databases()) if (name) indexedDB.deleteDatabase(name);
}

window.widgetBench = { chartElement, chartRaw, chartFromRegistry, scrollModels, busyFrames, clearDatabases };

declare global {
  interface Window {
    widgetBench: {
      chartElement: typeof chartElement;
      chartRaw: typeof chartRaw;
      chartFromRegistry: typeof chartFromRegistry;
      scrollModels: typeof scrollModels;
      busyFrames: typeof busyFrames;
      clearDatabases: typeof clearDatabases;
    };
  }
}
