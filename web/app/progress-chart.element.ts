import { css, html, LitElement, unsafeCSS, type PropertyValues } from 'lit';
import uPlot from 'uplot';
import uPlotCss from 'uplot/dist/uPlot.min.css?inline';

/** One finished epoch, as a training job reports it. */
export interface EpochPoint {
  epoch: number;
  metrics: Record<string, number>;
}

const COLOURS = ['#2856a8', '#d1495b', '#2a9d8f', '#e08a00', '#6a4c93', '#3d5a80'];

/**
 * A training run's live loss and accuracy by epoch (uPlot): the train page feeds it each epoch
 * from `job.onProgress`, before the version's metrics have been written. Losses on the left
 * axis, accuracies (0–1) on the right.
 */
export class ProgressChart extends LitElement {
  static override properties = { points: { attribute: false } };
  declare points: EpochPoint[];
  private plot: uPlot | null = null;
  private keys: string[] = [];
  private resize = new ResizeObserver(() => this.plot?.setSize(this.size()));

  static override styles = [
    unsafeCSS(uPlotCss),
    css`
      :host { display: block; min-height: 240px; }
      .u-legend { font-size: 0.85rem; }
    `,
  ];

  constructor() {
    super();
    this.points = [];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private size() {
    return { width: Math.max(240, this.clientWidth), height: 220 };
  }

  override render() {
    return html`<div role="img" aria-label=${this.summary()}></div>`;
  }

  /** What the chart shows, for screen readers: the last epoch's values. */
  private summary(): string {
    const last = this.points[this.points.length - 1];
    if (!last) return 'Training chart: no epoch finished yet';
    const values = Object.entries(last.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`);
    return `Training chart, epoch ${last.epoch}: ${values.join(', ')}`;
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!changed.has('points')) return;
    const keys = [...new Set(this.points.flatMap((p) => Object.keys(p.metrics)))].sort();
    const data: uPlot.AlignedData = [this.points.map((p) => p.epoch), ...keys.map((k) => this.points.map((p) => p.metrics[k] ?? null))];
    if (!this.plot || keys.join() !== this.keys.join()) {
      this.plot?.destroy();
      this.keys = keys;
      const isAccuracy = (k: string) => /acc/i.test(k);
      const target = this.renderRoot.querySelector('div')!;
      this.plot = new uPlot(
        {
          ...this.size(),
          scales: { x: { time: false }, acc: { range: [0, 1] } },
          axes: [{ label: 'epoch' }, { label: 'loss' }, { side: 1, scale: 'acc', label: 'accuracy', grid: { show: false } }],
          series: [{ label: 'epoch' }, ...keys.map((k, i) => ({ label: k, stroke: COLOURS[i % COLOURS.length], width: 2, scale: isAccuracy(k) ? 'acc' : 'y', dash: k.startsWith('val_') ? [6, 4] : undefined }))],
        },
        data,
        target,
      );
    } else {
      this.plot.setData(data);
    }
  }
}

customElements.define('app-progress-chart', ProgressChart);
