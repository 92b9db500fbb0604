import { html, LitElement, nothing, type PropertyValues } from 'lit';
import type { Artifact, Hangar, VersionHandle } from '../../client/index.ts';
import { bytes, describe, download } from '../errors.ts';
import { onSelect } from '../select.ts';
import { pageStyles } from '../styles.ts';

interface State {
  version: VersionHandle;
  keys: string[];
  artifacts: Artifact[];
}

type Pinnable = VersionHandle & { pin?(opts?: { onProgress?: (p: { loaded: number; total: number }) => void }): Promise<void> };

/** One version: the widget's view (metadata, parameters, lineage, checkpoints), its metric charts, artifacts to download, pin for offline. */
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
  private subscription: { unsubscribe(): void } | null = null;
  static override styles = pageStyles;

  constructor() {
    super();
    this.state = null;
    this.error = null;
    this.pin = null;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('namespace') && !changed.has('model') && !changed.has('number')) return;
    this.subscription?.unsubscribe();
    this.state = null;
    this.subscription = this.hangar.live(() => this.load()).subscribe({
      next: (s) => {
        this.state = s;
        this.error = null;
      },
      error: (err: unknown) => (this.error = describe(err)),
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  private get ref(): string {
    return `${this.namespace}/${this.model}/${this.number}`;
  }

  private async load(): Promise<State> {
    const version = await this.hangar.find(this.ref);
    return { version, keys: Object.keys(await version.metrics()).sort(), artifacts: await version.artifacts() };
  }

  private async download(path: string): Promise<void> {
    this.error = null;
    try {
      download(await this.state!.version.readArtifact(path), path.split('/').pop() ?? path);
    } catch (err) {
      this.error = `${path} could not be read: ${describe(err)}`;
    }
  }

  private async pinVersion(): Promise<void> {
    const v = this.state!.version as Pinnable;
    this.error = null;
    this.pin = { loaded: 0, total: 0, done: false };
    try {
      await v.pin!({ onProgress: (p) => (this.pin = { ...p, done: false }) });
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
      <hangar-version .client=${this.hangar} ref=${this.ref} @hangar-select=${onSelect}></hangar-version>
      ${s ? this.renderState(s) : this.error ? nothing : html`<p role="status">Loading the version…</p>`}
    `;
  }

  private renderState(s: State) {
    const pinnable = typeof (s.version as Pinnable).pin === 'function';
    return html`
      <section aria-labelledby="metrics-heading">
        <h2 id="metrics-heading">Metrics</h2>
        ${s.keys.length
          ? s.keys.map((k) => html`<hangar-metrics-chart .client=${this.hangar} ref=${this.ref} keys=${k} x="step"></hangar-metrics-chart>`)
          : html`<p class="empty">No metrics logged. Training logs loss and accuracy here each epoch.</p>`}
      </section>
      <section aria-labelledby="artifacts-heading">
        <h2 id="artifacts-heading">Artifacts</h2>
        ${s.artifacts.length
          ? html`<div class="table-wrap">
              <table>
                <thead><tr><th scope="col">Path</th><th scope="col">Type</th><th scope="col">Size</th><th scope="col"><span class="muted">Download</span></th></tr></thead>
                <tbody>
                  ${s.artifacts.map(
                    (a) => html`<tr>
                      <td><code>${a.path}</code></td>
                      <td>${a.fileType}</td>
                      <td>${bytes(a.size)}</td>
                      <td>${a.url ? html`<a href=${a.url} rel="noopener">Open</a>` : html`<button class="secondary" @click=${() => this.download(a.path)} aria-label="Download ${a.path}">Download</button>`}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
          : html`<p class="empty">No artifacts. A trained version holds its model files here.</p>`}
        ${pinnable
          ? html`<div class="actions"><button class="secondary" @click=${this.pinVersion} ?disabled=${!!this.pin && !this.pin.done}>Keep offline</button></div>
              ${this.pin
                ? html`<p role="status">
                    <progress max=${this.pin.total || 1} .value=${this.pin.loaded} aria-label="Downloading for offline use"></progress>
                    ${this.pin.done ? 'Every artifact of this version is in this browser.' : `${bytes(this.pin.loaded)} of ${bytes(this.pin.total)}`}
                  </p>`
                : nothing}`
          : nothing}
      </section>
    `;
  }
}

customElements.define('app-version-page', VersionPage);
