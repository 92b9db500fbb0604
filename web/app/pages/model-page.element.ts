import { css, html, LitElement, nothing } from 'lit';
import type { ByteProgress, Hangar, ModelHandle } from '../../client/index.ts';
import '../../widget/index.ts';
import { describe, download } from '../errors.ts';
import { LiveQuery } from '../live-query.ts';
import { onSelect } from '../select.ts';
import { byteProgress } from '../progress.ts';
import { pageStyles } from '../styles.ts';

interface State {
  model: ModelHandle;
  aliases: Record<string, number>;
  versions: { number: number; status: string }[];
}

/** One model: the widget's view (versions, aliases, a metric compared across versions), moving an alias, export. */
export class ModelPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    namespace: { attribute: false },
    model: { attribute: false },
    state: { state: true },
    error: { state: true },
    aliasNote: { state: true },
    aliasError: { state: true },
    busy: { state: true },
    progress: { state: true },
  };
  declare hangar: Hangar;
  declare namespace: string;
  declare model: string;
  declare state: State | null;
  declare error: string | null;
  declare aliasNote: string | null;
  declare aliasError: string | null;
  declare busy: string | null;
  /** Bytes done so far; null before the first report. */
  declare progress: ByteProgress | null;
  protected readonly live = new LiveQuery(this, {
    query: () => this.load(),
    next: (s) => {
      this.state = s;
      this.error = null;
    },
    args: () => [this.namespace, this.model],
    restart: () => (this.state = null),
  });
  static override styles = [
    pageStyles,
    // The page says itself what to do with no version (train one), in place of the widget's developer text.
    css`
      hangar-model::part(empty) { display: none; }
    `,
  ];

  constructor() {
    super();
    this.state = null;
    this.error = null;
    this.aliasNote = null;
    this.aliasError = null;
    this.busy = null;
  }

  private async load(): Promise<State> {
    const model = await this.hangar.model(this.namespace, this.model);
    const versions = (await model.versions()).map((v) => ({ number: v.number, status: v.status }));
    return { model, aliases: await model.aliases(), versions };
  }

  private async moveAlias(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const alias = String(data.get('alias') ?? '').trim();
    const number = Number(data.get('version'));
    const { model, aliases } = this.state!;
    this.aliasNote = null;
    this.aliasError = null;
    try {
      // Only if the alias still points where this page showed it: a move made meanwhile (another tab, a sync) is not overwritten.
      await model.setAlias(alias, number, { expected: aliases[alias] ?? null });
      this.aliasNote = `${alias} now points at version ${number}.`;
      this.state = await this.load();
    } catch (err) {
      this.aliasError = describe(err);
    }
  }

  private async export(): Promise<void> {
    this.error = null;
    this.busy = 'Exporting the model, its versions and artifacts…';
    this.progress = null;
    try {
      const blob = await this.hangar.exportModel(this.namespace, this.model, { onProgress: (p) => (this.progress = p) });
      download(blob, `${this.namespace}-${this.model}.zip`);
    } catch (err) {
      this.error = `The model was not exported: ${describe(err)}`;
    } finally {
      this.busy = null;
    }
  }

  override render() {
    const s = this.state;
    const ref = `${this.namespace}/${this.model}`;
    return html`
      <h1>${ref}</h1>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <hangar-model .client=${this.hangar} ref=${ref} @hangar-select=${onSelect}></hangar-model>
      ${s ? this.renderTools(s) : this.error ? nothing : html`<p role="status">Loading the model…</p>`}
    `;
  }

  private renderTools(s: State) {
    const aliasNames = Object.keys(s.aliases);
    return html`
      ${s.versions.length === 0 ? html`<p class="empty">No versions yet. <a href="/train">Train this model</a> to make its first version.</p>` : nothing}
      <section aria-labelledby="alias-heading">
        <h2 id="alias-heading">Move an alias</h2>
        ${aliasNames.length
          ? html`<p>${aliasNames.map((a, i) => html`${i ? ', ' : ''}<code>${a}</code> → version ${s.aliases[a]}`)}</p>`
          : html`<p class="muted">No aliases yet. Point one (say <code>production</code>) at a version, then predict with <code>${this.namespace}/${this.model}@production</code>.</p>`}
        ${s.versions.length
          ? html`<form @submit=${this.moveAlias}>
              <div class="row">
                <label>Alias <input name="alias" list="alias-names" required autocomplete="off" value=${aliasNames[0] ?? 'production'} /></label>
                <datalist id="alias-names">${aliasNames.map((a) => html`<option value=${a}></option>`)}</datalist>
                <label>Version
                  <select name="version" required>
                    ${[...s.versions].reverse().map((v) => html`<option value=${v.number}>${v.number} (${v.status})</option>`)}
                  </select>
                </label>
                <button type="submit">Move alias</button>
              </div>
            </form>`
          : nothing}
        ${this.aliasNote ? html`<p role="status" class="ok">${this.aliasNote}</p>` : nothing}
        ${this.aliasError ? html`<p class="error" role="alert">${this.aliasError}</p>` : nothing}
      </section>
      <section aria-labelledby="export-heading">
        <h2 id="export-heading">Export</h2>
        <p class="muted">One .zip with the model, its versions, metrics, metadata, artifacts and checkpoints; import it in another browser from the Models page.</p>
        <div class="actions"><button class="secondary" @click=${this.export} ?disabled=${!!this.busy}>Export model</button></div>
        ${this.busy ? byteProgress('Exporting', this.busy, this.progress) : nothing}
      </section>
    `;
  }
}

customElements.define('app-model-page', ModelPage);
