import { css, html, LitElement, nothing } from 'lit';
import type { Artifact, Hangar, VersionHandle } from '../../client/index.ts';
import '../../widget/index.ts';
import { bytes, describe, download } from '../errors.ts';
import { LiveQuery } from '../live-query.ts';
import { experimentPath, versionPath } from '../router.ts';
import { cell, runLabel, runRow, shownRun, type RunRow } from '../runs.ts';
import { pageStyles, runStatusStyles } from '../styles.ts';

/** What the run page shows besides the run itself: read apart, so the run and its charts never wait for it. */
interface Extras {
  artifacts: Artifact[];
  /** Registered model versions made from this run (its lineage). */
  registered: VersionHandle[];
  /** The version this one was itself registered from, if any. */
  source: VersionHandle | null;
}

/**
 * One run: status, params, tags, final metrics, a chart per metric, artifacts, and the registered
 * versions that came from it. Two live queries, started together: the run's row (status, params,
 * tags, final metrics), which the charts need (their keys), and its artifacts and lineage. So the
 * charts start reading as soon as the run's keys are known, and a change to its lineage (a version
 * registered from it) runs only the lineage query again, not the run's. Opened from its experiment's runs page, the page starts
 * from the row that page showed (web/app/runs.ts), so the charts start reading at once.
 */
export class RunPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    namespace: { attribute: false },
    experiment: { attribute: false },
    number: { attribute: false },
    run: { state: true },
    extras: { state: true },
    error: { state: true },
  };
  declare hangar: Hangar;
  declare namespace: string;
  declare experiment: string;
  declare number: number;
  declare run: RunRow | null;
  declare extras: Extras | null;
  declare error: string | null;
  private readonly route = () => [this.namespace, this.experiment, this.number];
  protected readonly liveRun = new LiveQuery(this, {
    query: async () => runRow(await this.version()),
    next: (run) => {
      this.run = run;
      this.error = null;
    },
    args: this.route,
  });
  protected readonly liveExtras = new LiveQuery(this, {
    query: async () => {
      const version = await this.version();
      const [artifacts, registered, source] = await Promise.all([version.artifacts(), version.registered(), version.source()]);
      return { artifacts, registered, source };
    },
    next: (extras) => (this.extras = extras),
    args: this.route,
    restart: () => (this.extras = null),
  });
  static override styles = [
    pageStyles,
    runStatusStyles,
    css`
      .charts { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); }
    `,
  ];

  constructor() {
    super();
    this.run = null;
    this.extras = null;
    this.error = null;
  }

  protected override willUpdate(changed: Map<PropertyKey, unknown>): void {
    // A new route: start from the row the runs page showed for this run, when it did (so the
    // charts start reading now), else from nothing; the live query answers with the run as read.
    if (changed.has('namespace') || changed.has('experiment') || changed.has('number')) this.run = shownRun(this.namespace, this.experiment, this.number) ?? null;
  }

  private async version(): Promise<VersionHandle> {
    return (await this.hangar.model(this.namespace, this.experiment)).version(this.number);
  }

  private async save(a: Artifact): Promise<void> {
    this.error = null;
    try {
      download(await this.run!.version.readArtifact(a.path), a.path.split('/').pop() ?? a.path);
    } catch (err) {
      this.error = `The artifact could not be read: ${describe(err)}`;
    }
  }

  override render() {
    const r = this.run;
    const title = r ? `${this.experiment} · ${runLabel(r.version)}` : `${this.experiment} · run ${this.number}`;
    return html`
      <h1>${title}</h1>
      <p><a href=${experimentPath(this.namespace, this.experiment)}>Back to ${this.namespace}/${this.experiment}</a></p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${r ? this.renderRun(r, this.extras) : this.error ? nothing : html`<p role="status">Loading the run…</p>`}
    `;
  }

  private renderRun(r: RunRow, s: Extras | null) {
    const v = r.version;
    const metricKeys = Object.keys(r.metrics);
    return html`
      <dl id="run-fields">
        <dt>Status</dt><dd class="status-${r.status}" id="run-status">${r.status}</dd>
        <dt>Run id</dt><dd><code>${v.id}</code></dd>
        <dt>Number</dt><dd>${v.number}${v.numberConfirmed ? '' : ' (provisional)'}</dd>
        <dt>Created</dt><dd>${new Date(v.createdAt).toLocaleString()}</dd>
        ${v.description ? html`<dt>Description</dt><dd>${v.description}</dd>` : nothing}
      </dl>
      <section aria-labelledby="lineage-heading">
        <h2 id="lineage-heading">Lineage</h2>
        ${s ? this.lineage(s) : loading}
      </section>
      <section aria-labelledby="params-heading">
        <h2 id="params-heading">Params</h2>
        ${this.table('params', 'Param', r.params)}
      </section>
      <section aria-labelledby="metrics-heading">
        <h2 id="metrics-heading">Metrics</h2>
        ${this.table('final-metrics', 'Final value', r.metrics)}
        ${metricKeys.length
          ? html`<div class="charts">
              ${metricKeys.map(
                (key) => html`<hangar-metrics-chart .client=${this.hangar} ref="${v.namespace}/${v.model}/${v.number}" keys=${key} label="${key} by step"></hangar-metrics-chart>`,
              )}
            </div>`
          : nothing}
      </section>
      <section aria-labelledby="tags-heading">
        <h2 id="tags-heading">Tags</h2>
        ${this.table('tags', 'Value', r.tags)}
      </section>
      <section aria-labelledby="artifacts-heading">
        <h2 id="artifacts-heading">Artifacts</h2>
        ${s ? this.artifacts(s.artifacts) : loading}
      </section>
    `;
  }

  private lineage(s: Extras) {
    if (s.registered.length === 0 && !s.source) return html`<p class="muted">No registered model version comes from this run yet.</p>`;
    return html`<ul id="lineage">
      ${s.registered.map((x) => html`<li>Registered as <a href=${versionPath(x.namespace, x.model, x.number)}>${x.namespace}/${x.model} version ${x.number}</a>${x.uniqueTags.length ? ` (${x.uniqueTags.join(', ')})` : ''}</li>`)}
      ${s.source ? html`<li>Registered from <a href=${versionPath(s.source.namespace, s.source.model, s.source.number)}>${s.source.namespace}/${s.source.model}/${s.source.number}</a></li>` : nothing}
    </ul>`;
  }

  private artifacts(artifacts: Artifact[]) {
    if (artifacts.length === 0) return html`<p class="muted">None.</p>`;
    return html`<div class="table-wrap">
      <table id="artifacts">
        <thead><tr><th scope="col">Path</th><th scope="col">Size</th><th scope="col"><span class="muted">Download</span></th></tr></thead>
        <tbody>
          ${artifacts.map(
            (a) => html`<tr>
              <td>${a.path}</td>
              <td>${a.size === null ? '—' : bytes(a.size)}</td>
              <td><button class="secondary" @click=${() => this.save(a)}>Download</button></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  private table(id: string, valueLabel: string, values: Record<string, unknown>) {
    const keys = Object.keys(values).sort();
    if (keys.length === 0) return html`<p class="muted">None.</p>`;
    return html`<div class="table-wrap">
      <table id=${id}>
        <thead><tr><th scope="col">Key</th><th scope="col">${valueLabel}</th></tr></thead>
        <tbody>${keys.map((k) => html`<tr><th scope="row">${k}</th><td>${cell(values[k])}</td></tr>`)}</tbody>
      </table>
    </div>`;
  }
}

const loading = html`<p class="muted" role="status">Loading…</p>`;

customElements.define('app-run-page', RunPage);
