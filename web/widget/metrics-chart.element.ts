// <hangar-metrics-chart ref="ns/m/3" keys="loss,accuracy" x="step|time">: metric lines drawn
// by uPlot (canvas, so 100,000 points stay quick). Drag across the plot to zoom, double-click
// or "Reset zoom" to go back; the zoom buttons do the same from the keyboard.
import { css, html, nothing, type PropertyDeclarations } from 'lit';
import uPlot from 'uplot';
import { HangarElement, Watch } from './base.ts';
import { alignSeries, type ChartSeries, type XAxis } from './chart-data.ts';
import { baseStyles } from './styles.ts';
import { uplotStyles } from './uplot-styles.ts';

const PALETTE = ['#2456c7', '#d1495b', '#2a9d8f', '#e9a03b', '#7b4fc9', '#5b6475', '#00798c', '#c45ab3'];

export class HangarMetricsChart extends HangarElement {
  static override properties: PropertyDeclarations = {
    keys: { reflect: true },
    x: { reflect: true },
    maxPoints: { attribute: 'max-points', type: Number },
    series: { attribute: false },
    label: {},
    zoomed: { state: true },
  };

  /** Comma-separated metric keys; all of the version's keys when empty. */
  declare keys: string;
  /** `step` (default) or `time` (wallclock). */
  declare x: XAxis;
  /** Points asked for per key, downsampled by the source (0: every point). Default 2000. */
  declare maxPoints: number;
  /** Lines given directly, instead of `ref` + `keys` read from a source. */
  declare series?: ChartSeries[];
  /** The chart's accessible name. */
  declare label?: string;
  declare private zoomed: boolean;

  private plot?: uPlot;
  private plotted?: { data: readonly ChartSeries[]; x: XAxis };
  private resize = new ResizeObserver(() => this.fit());
  private readonly loaded = new Watch<ChartSeries[]>(
    this,
    () => [this.ref, this.keys, this.maxPoints],
    (source) => {
      const ref = this.ref;
      if (!ref) throw new Error('Set the ref attribute to a version: ref="namespace/model/3".');
      const wanted = (this.keys ?? '').split(',').map((k) => k.trim()).filter(Boolean);
      const opts = this.maxPoints > 0 ? { maxPoints: this.maxPoints } : {};
      return async () => {
        const v = await source.version(ref);
        const target = { namespace: v.namespace, model: v.model, number: v.number };
        const keys = wanted.length ? wanted : Object.keys(await source.metrics(target));
        return Promise.all(keys.map(async (key) => ({ label: key, points: await source.metricHistory(target, key, opts) })));
      };
    },
    () => this.series !== undefined,
  );

  constructor() {
    super();
    this.keys = '';
    this.x = 'step';
    this.maxPoints = 2000;
    this.zoomed = false;
  }

  /** What is drawn now: the series' labels and how many x values. */
  get drawn(): { series: string[]; points: number } | undefined {
    if (!this.plot) return undefined;
    return { series: this.plot.series.slice(1).map((s) => String(s.label)), points: this.plot.data[0]?.length ?? 0 };
  }

  private get data(): ChartSeries[] | undefined {
    if (this.series) return this.series;
    return this.loaded.state.status === 'ready' ? this.loaded.state.value : undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
    this.plotted = undefined;
  }

  protected override updated(): void {
    const data = this.data;
    const target = this.renderRoot.querySelector<HTMLElement>('.plot');
    if (!data || !target || !data.some((s) => s.points.length)) {
      this.plot?.destroy();
      this.plot = undefined;
      this.plotted = undefined;
      return;
    }
    if (this.plotted?.data === data && this.plotted.x === this.x && this.plot?.root.isConnected) return;
    this.draw(data, target);
  }

  private draw(data: ChartSeries[], target: HTMLElement): void {
    this.plot?.destroy();
    this.plotted = { data, x: this.x };
    this.zoomed = false;
    const style = getComputedStyle(this);
    const color = (i: number) => style.getPropertyValue(`--hangar-series-${i + 1}`).trim() || PALETTE[i % PALETTE.length]!;
    const opts: uPlot.Options = {
      width: Math.max(200, target.clientWidth),
      height: parseFloat(style.getPropertyValue('--hangar-chart-height')) || 240,
      scales: { x: { time: this.x === 'time' } },
      series: [{ label: this.x === 'time' ? 'time' : 'step' }, ...data.map((s, i) => ({ label: s.label, stroke: color(i), width: 1.5, spanGaps: true }))],
      axes: [{ stroke: style.getPropertyValue('--hangar-muted').trim() || '#5b6475' }, { stroke: style.getPropertyValue('--hangar-muted').trim() || '#5b6475' }],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setScale: [(u, key) => key === 'x' && (this.zoomed = this.isZoomed(u))],
        draw: [() => this.dispatchEvent(new Event('hangar-draw'))],
      },
    };
    this.plot = new uPlot(opts, alignSeries(data, this.x), target);
  }

  private isZoomed(u: uPlot): boolean {
    const xs = u.data[0];
    const { min, max } = u.scales.x ?? {};
    return xs.length > 1 && min !== undefined && max !== undefined && (min > xs[0]! || max < xs[xs.length - 1]!);
  }

  private fit(): void {
    const target = this.renderRoot.querySelector<HTMLElement>('.plot');
    // Observers also fire on first layout, at the width the plot was made with: redrawing
    // 100,000 points for nothing would double the first render.
    if (!this.plot || !target || !target.clientWidth || target.clientWidth === this.plot.width) return;
    this.plot.setSize({ width: target.clientWidth, height: this.plot.height });
  }

  /** Zooms the x axis around its middle: factor < 1 zooms in. */
  private zoom(factor: number): void {
    const u = this.plot;
    const xs = u?.data[0];
    if (!u || !xs?.length) return;
    const { min = xs[0]!, max = xs[xs.length - 1]! } = u.scales.x ?? {};
    const mid = (min + max) / 2;
    const half = Math.max(((max - min) * factor) / 2, 1e-9);
    u.setScale('x', { min: Math.max(xs[0]!, mid - half), max: Math.min(xs[xs.length - 1]!, mid + half) });
  }

  private reset(): void {
    const xs = this.plot?.data[0];
    if (xs?.length) this.plot!.setScale('x', { min: xs[0]!, max: xs[xs.length - 1]! });
  }

  override render() {
    const state = this.loaded.state;
    const data = this.data;
    const empty = data !== undefined && !data.some((s) => s.points.length);
    const name = this.label ?? `Chart of ${data?.map((s) => s.label).join(', ') || 'metrics'} by ${this.x === 'time' ? 'time' : 'step'}`;
    return html`
      ${!this.series && state.status === 'loading' ? html`<p class="muted" part="status" role="status">Loading metrics…</p>` : nothing}
      ${!this.series && state.status === 'error' ? html`<p class="error" part="error" role="alert">${state.message}</p>` : nothing}
      ${empty ? html`<p class="muted" part="empty">No metric points yet. Log some with <code>version.logMetrics({ loss: 0.3 }, { step: 1 })</code>.</p>` : nothing}
      <div class="controls" part="controls" ?hidden=${!data || empty}>
        <button type="button" part="button" @click=${() => this.zoom(0.5)}>Zoom in</button>
        <button type="button" part="button" @click=${() => this.zoom(2)}>Zoom out</button>
        <button type="button" part="button" ?disabled=${!this.zoomed} @click=${this.reset}>Reset zoom</button>
      </div>
      <div class="plot" part="chart" role="img" aria-label=${name} ?hidden=${!data || empty}></div>
    `;
  }

  static override styles = [
    baseStyles,
    uplotStyles,
    css`
      .controls {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        margin-bottom: 0.4rem;
      }
      .controls button {
        font-size: 0.85em;
      }
      .plot {
        width: 100%;
        min-width: 0;
        overflow: hidden;
      }
      .uplot {
        width: 100%;
      }
      .u-legend {
        font-size: 0.85em;
      }
    `,
  ];
}
