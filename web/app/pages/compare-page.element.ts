import { css, html, LitElement, nothing } from 'lit';
import type { Hangar } from '../../client/index.ts';
import type { ChartSeries } from '../../widget/index.ts';
import '../../widget/index.ts';
import { describe } from '../errors.ts';
import { LiveQuery } from '../live-query.ts';
import { experimentPath, runPath } from '../router.ts';
import { cell, keysOf, runLabel, runRow, type RunRow } from '../runs.ts';
import { pageStyles } from '../styles.ts';

/** Points per run on the comparison chart (each run's history downsampled to this many buckets). */
const CHART_POINTS = 1000;

/** Runs side by side: params and final metrics in one table (rows whose values differ marked), and one metric of every run on one chart. */
export class ComparePage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    namespace: { attribute: false },
    experiment: { attribute: false },
    numbers: { attribute: false },
    runs: { state: true },
    metric: { state: true },
    series: { state: true },
    error: { state: true },
  };
  declare hangar: Hangar;
  declare namespace: string;
  declare experiment: string;
  declare numbers: number[];
  declare runs: RunRow[] | null;
  /** The metric on the chart. */
  declare metric: string | null;
  declare series: ChartSeries[] | null;
  declare error: string | null;
  protected readonly live = new LiveQuery(this, {
    query: () => this.load(),
    next: (runs) => {
      this.runs = runs;
      this.error = null;
      const keys = keysOf(runs.map((r) => r.metrics));
      if (!this.metric || !keys.includes(this.metric)) this.metric = keys[0] ?? null;
      void this.chart();
    },
    args: () => [this.namespace, this.experiment, this.numbers],
  });
  static override styles = [
    pageStyles,
    css`
      tr.differs { background: var(--notice-bg); }
      tr.differs th::after { content: ' ≠'; color: var(--muted); }
      tbody.section th[colspan] { padding-top: 0.75rem; color: var(--muted); }
    `,
  ];

  constructor() {
    super();
    this.runs = null;
    this.metric = null;
    this.series = null;
    this.error = null;
  }

  private async load(): Promise<RunRow[]> {
    const experiment = await this.hangar.model(this.namespace, this.experiment);
    return Promise.all(this.numbers.map(async (n) => runRow(await experiment.version(n))));
  }

  /** The chosen metric of every run, one line per run. */
  private async chart(): Promise<void> {
    const key = this.metric;
    const runs = this.runs;
    if (!key || !runs) {
      this.series = null;
      return;
    }
    try {
      const lines = await Promise.all(
        runs.filter((r) => key in r.metrics).map(async (r) => ({ label: `${runLabel(r.version)} · ${key}`, points: await r.version.metricHistory(key, { maxPoints: CHART_POINTS }) })),
      );
      if (this.metric === key) this.series = lines;
    } catch (err) {
      this.error = describe(err);
    }
  }

  private pick(event: Event): void {
    this.metric = (event.target as HTMLSelectElement).value;
    void this.chart();
  }

  override render() {
    const runs = this.runs;
    return html`
      <h1>Compare runs of ${this.experiment}</h1>
      <p><a href=${experimentPath(this.namespace, this.experiment)}>Back to ${this.namespace}/${this.experiment}</a></p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${runs === null ? (this.error ? nothing : html`<p role="status">Loading the runs…</p>`) : this.renderRuns(runs)}
    `;
  }

  private renderRuns(runs: RunRow[]) {
    const params = keysOf(runs.map((r) => r.params));
    const metrics = keysOf(runs.map((r) => r.metrics));
    const row = (kind: 'field' | 'param' | 'metric', key: string, values: unknown[]) => {
      const differs = new Set(values.map((v) => JSON.stringify(v ?? null))).size > 1;
      return html`<tr class=${differs ? 'differs' : ''} data-kind=${kind} data-key=${key} data-differs=${differs ? 'true' : 'false'}>
        <th scope="row">${key}</th>
        ${values.map((v) => html`<td>${cell(v)}</td>`)}
      </tr>`;
    };
    return html`
      <div class="table-wrap">
        <table id="compare">
          <caption class="muted">Rows whose values differ between the runs are marked ≠.</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              ${runs.map((r) => html`<th scope="col"><a href=${runPath(this.namespace, this.experiment, r.version.number)}>${runLabel(r.version)}</a></th>`)}
            </tr>
          </thead>
          <tbody>
            ${row('field', 'status', runs.map((r) => r.status))}
          </tbody>
          <tbody class="section">
            <tr><th colspan=${runs.length + 1} scope="colgroup">Params</th></tr>
            ${params.map((k) => row('param', k, runs.map((r) => r.params[k])))}
          </tbody>
          <tbody class="section">
            <tr><th colspan=${runs.length + 1} scope="colgroup">Final metrics</th></tr>
            ${metrics.map((k) => row('metric', k, runs.map((r) => r.metrics[k])))}
          </tbody>
        </table>
      </div>
      ${metrics.length
        ? html`<h2>Metric by step</h2>
            <label>Metric
              <select id="chart-metric" @change=${this.pick}>
                ${metrics.map((k) => html`<option value=${k} ?selected=${k === this.metric}>${k}</option>`)}
              </select>
            </label>
            ${this.series ? html`<hangar-metrics-chart id="compare-chart" .series=${this.series} label="${this.metric} of the compared runs"></hangar-metrics-chart>` : nothing}`
        : nothing}
    `;
  }
}

customElements.define('app-compare-page', ComparePage);
