import { html, LitElement, nothing } from 'lit';
import type { DataReport, Hangar, VersionHandle } from '../../client/index.ts';
import '../data-report.element.ts';
import '../../widget/index.ts';
import { bytes, describe } from '../errors.ts';
import { LiveQuery } from '../live-query.ts';
import { onSelect } from '../select.ts';
import { pageStyles } from '../styles.ts';
import { runPath, versionPath } from '../router.ts';

interface State {
  version: VersionHandle;
  /** What training found in its data (a tabular version trained here), with the data set's SHA-256. */
  report: DataReport | null;
  datasetSha256: string | null;
  /** Lineage: the run (or other version) this version was registered from, with its page. */
  source: { label: string; href: string } | null;
}

/** One version: the widget's view (metadata, parameters, lineage, metric charts, artifacts to download, checkpoints), and keeping it offline. */
export class VersionPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    namespace: { attribute: false },
    model: { attribute: false },
    number: { attribute: false },
    state: { state: true },
    error: { state: true },
    pin: { state: true },
  };
  declare hangar: Hangar;
  declare namespace: string;
  declare model: string;
  declare number: number;
  declare state: State | null;
  declare error: string | null;
  declare pin: { loaded: number; total: number; done: boolean } | null;
  protected readonly live = new LiveQuery(this, {
    query: () => this.load(),
    next: (s) => {
      this.state = s;
      this.error = null;
    },
    args: () => [this.namespace, this.model, this.number],
    restart: () => (this.state = null),
  });
  static override styles = pageStyles;

  constructor() {
    super();
    this.state = null;
    this.error = null;
    this.pin = null;
  }

  private get ref(): string {
    return `${this.namespace}/${this.model}/${this.number}`;
  }

  private async load(): Promise<State> {
    const version = await this.hangar.find(this.ref);
    const meta = await version.metadata();
    const report = meta.dataReport && typeof meta.dataReport === 'object' && 'columns' in meta.dataReport ? (meta.dataReport as unknown as DataReport) : null;
    const lineage = meta.lineage as { datasetSha256?: unknown } | undefined;
    const from = await version.source();
    const fromModel = from ? await this.hangar.model(from.namespace, from.model) : null;
    const source =
      from && fromModel
        ? fromModel.kind === 'experiment'
          ? { label: `run ${from.name ?? from.number} of experiment ${from.namespace}/${from.model}`, href: runPath(from.namespace, from.model, from.number) }
          : { label: `${from.namespace}/${from.model}/${from.number}`, href: versionPath(from.namespace, from.model, from.number) }
        : null;
    return { version, report, datasetSha256: typeof lineage?.datasetSha256 === 'string' ? lineage.datasetSha256 : null, source };
  }

  private async pinVersion(): Promise<void> {
    const v = this.state!.version;
    this.error = null;
    this.pin = { loaded: 0, total: 0, done: false };
    try {
      await v.pin({ onProgress: (p) => (this.pin = { ...p, done: false }) });
      this.pin = { ...this.pin, done: true };
    } catch (err) {
      this.pin = null;
      this.error = `The version was not kept offline: ${describe(err)}`;
    }
  }

  override render() {
    const s = this.state;
    return html`
      <h1>${this.ref}</h1>
      <p><a href="/models/${encodeURIComponent(this.namespace)}/${encodeURIComponent(this.model)}">Back to ${this.namespace}/${this.model}</a></p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${s?.source ? html`<p id="registered-from">Registered from <a href=${s.source.href}>${s.source.label}</a>.</p>` : nothing}
      <hangar-version .client=${this.hangar} ref=${this.ref} @hangar-select=${onSelect}></hangar-version>
      ${s?.report
        ? html`<section aria-labelledby="data-heading">
            <h2 id="data-heading">Training data</h2>
            ${s.datasetSha256 ? html`<p>Data set SHA-256: <code id="dataset-sha">${s.datasetSha256}</code></p>` : nothing}
            <app-data-report .report=${s.report}></app-data-report>
          </section>`
        : nothing}
      ${s ? this.renderOffline() : this.error ? nothing : html`<p role="status">Loading the version…</p>`}
    `;
  }

  private renderOffline() {
    // Without a server every artifact is already here.
    if (!this.hangar.syncStatus.value.enabled) return nothing;
    return html`
      <section aria-labelledby="offline-heading">
        <h2 id="offline-heading">Offline</h2>
        <p class="muted">Artifacts synced from a server download when first opened. Keep this version offline to fetch all its files now.</p>
        <div class="actions"><button class="secondary" @click=${this.pinVersion} ?disabled=${!!this.pin && !this.pin.done}>Keep offline</button></div>
        ${this.pin
          ? html`<p role="status">
              <progress max=${this.pin.total || 1} .value=${this.pin.loaded} aria-label="Downloading for offline use"></progress>
              ${this.pin.done ? 'Every artifact of this version is in this browser.' : `${bytes(this.pin.loaded)} of ${bytes(this.pin.total)}`}
            </p>`
          : nothing}
      </section>
    `;
  }
}

customElements.define('app-version-page', VersionPage);
