// <hangar-model ref="ns/m">: a model's versions (number, provisional marker, status, label),
// its aliases, and one metric compared across versions on one chart (a line per version).
import { css, html, nothing, type PropertyDeclarations } from 'lit';
import { HangarElement, Watch } from './base.ts';
import { splitRef } from './ref.ts';
import type { ChartSeries } from './chart-data.ts';
import type { ModelDetail, VersionSummary } from './source.ts';
import { baseStyles } from './styles.ts';

interface ModelView {
  model: ModelDetail;
  versions: VersionSummary[];
  /** Metric keys any version has logged. */
  keys: string[];
}

/** Points per version on the comparison chart. */
const COMPARE_POINTS = 1000;

export class HangarModel extends HangarElement {
  static override properties: PropertyDeclarations = {
    metric: { reflect: true },
    x: { reflect: true },
  };

  /** The metric compared across versions; the first logged key when unset. */
  declare metric?: string;
  declare x: 'step' | 'time';

  constructor() {
    super();
    this.x = 'step';
  }

  private get target(): { namespace: string; model: string } {
    if (!this.ref) throw new Error('Set the ref attribute to a model: ref="namespace/model".');
    const { namespace, model } = splitRef(this.ref);
    return { namespace, model };
  }

  private readonly view = new Watch<ModelView>(
    this,
    () => [this.ref],
    (source) => {
      const { namespace, model } = this.target;
      return async () => {
        const [detail, versions] = await Promise.all([source.model(namespace, model), source.versions(namespace, model)]);
        const summaries = await Promise.all(versions.map((v) => source.metrics({ namespace, model, number: v.number })));
        const keys = [...new Set(summaries.flatMap((s) => Object.keys(s)))].sort();
        return { model: detail, versions, keys };
      };
    },
  );

  private get shownMetric(): string | undefined {
    const v = this.view.state.status === 'ready' ? this.view.state.value : undefined;
    return this.metric && v?.keys.includes(this.metric) ? this.metric : v?.keys[0];
  }

  private readonly comparison = new Watch<ChartSeries[]>(
    this,
    () => [this.ref, this.shownMetric, this.view.state],
    (source) => {
      const key = this.shownMetric;
      const state = this.view.state;
      if (!key || state.status !== 'ready') return undefined;
      const { namespace, model } = this.target;
      return () =>
        Promise.all(
          state.value.versions.map(async (v) => ({
            label: `v${v.number}${v.version ? ` ${v.version}` : ''}`,
            points: await source.metricHistory({ namespace, model, number: v.number }, key, { maxPoints: COMPARE_POINTS }).catch(() => []),
          })),
        );
    },
  );

  private pickVersion(v: VersionSummary): void {
    this.select({ ref: `${v.namespace}/${v.model}/${v.number}`, namespace: v.namespace, model: v.model, version: v.number });
  }

  override render() {
    const state = this.view.state;
    if (state.status === 'loading') return html`<p class="muted" part="status" role="status">Loading model…</p>`;
    if (state.status === 'error') return html`<p class="error" part="error" role="alert">${state.message}</p>`;
    const { model, versions, keys } = state.value;
    const aliases = Object.entries(model.aliases);
    return html`
      <header part="header">
        <h2>${model.name} <span class="muted">${model.namespace}</span></h2>
        ${model.task || model.owner ? html`<p class="muted">${[model.task, model.owner && `owner ${model.owner}`].filter(Boolean).join(' · ')}</p>` : nothing}
        ${model.description ? html`<p>${model.description}</p>` : nothing}
      </header>
      <section part="versions" aria-labelledby="versions-h">
        <h3 id="versions-h">Versions</h3>
        ${versions.length
          ? html`<ul class="versions">
              ${versions.map((v) => html`<li>${this.versionButton(v)}</li>`)}
            </ul>`
          : html`<div part="empty"><slot name="no-versions"><p class="muted">No versions yet. Create one with model.newVersion() or POST …/versions.</p></slot></div>`}
      </section>
      <section part="aliases" aria-labelledby="aliases-h">
        <h3 id="aliases-h">Aliases</h3>
        ${aliases.length
          ? html`<ul class="aliases">
              ${aliases.map(([alias, n]) => html`<li><span class="badge" part="alias">${alias}</span> → version ${n}</li>`)}
            </ul>`
          : html`<p class="muted">No aliases. Point one at a version with model.setAlias('production', version).</p>`}
      </section>
      <section part="comparison" aria-labelledby="compare-h">
        <h3 id="compare-h">Compare versions</h3>
        ${keys.length ? this.comparisonChart(keys) : html`<p class="muted">No metrics logged on any version yet.</p>`}
      </section>
    `;
  }

  private versionButton(v: VersionSummary) {
    return html`<button type="button" part="version" class="version" @click=${() => this.pickVersion(v)}>
      <span class="number">Version ${v.number}</span>
      ${v.numberConfirmed ? nothing : html`<span class="badge" part="provisional" title="Numbered in this browser; a server may renumber it on sync">provisional</span>`}
      <span class="badge status-${v.status}" part="status-badge">${v.status}</span>
      ${v.version ? html`<span class="label">${v.version}</span>` : nothing}
      ${v.uniqueTags.map((t) => html`<span class="badge" part="alias">${t}</span>`)}
    </button>`;
  }

  private comparisonChart(keys: string[]) {
    const shown = this.shownMetric;
    const chart = this.comparison.state;
    return html`
      <label class="pick">
        <span>Metric</span>
        <select part="metric-select" @change=${(e: Event) => (this.metric = (e.target as HTMLSelectElement).value)}>
          ${keys.map((k) => html`<option value=${k} ?selected=${k === shown}>${k}</option>`)}
        </select>
      </label>
      ${chart.status === 'error' ? html`<p class="error" role="alert">${chart.message}</p>` : nothing}
      ${chart.status === 'loading' ? html`<p class="muted" role="status">Loading ${shown}…</p>` : nothing}
      ${chart.status === 'ready'
        ? html`<hangar-metrics-chart part="chart" exportparts="chart, controls, button" .series=${chart.value} x=${this.x} label="${shown} by version"></hangar-metrics-chart>`
        : nothing}
    `;
  }

  static override styles = [
    baseStyles,
    css`
      header p {
        margin: 0.2rem 0;
      }
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
        display: grid;
        gap: 0.35rem;
      }
      .version {
        width: 100%;
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.4rem;
        text-align: left;
      }
      .number {
        font-weight: 600;
      }
      .status-failed {
        background: var(--hangar-error-background, #fbe3e1);
      }
      .status-pending {
        background: var(--hangar-pending-background, #fdf1d8);
      }
      .pick {
        display: flex;
        gap: 0.5rem;
        align-items: center;
        margin-bottom: 0.5rem;
      }
    `,
  ];
}
