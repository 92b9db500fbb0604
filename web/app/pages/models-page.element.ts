import { css, html, LitElement, nothing } from 'lit';
import type { ByteProgress, Hangar } from '../../client/index.ts';
import '../../widget/index.ts';
import { describe } from '../errors.ts';
import { LiveQuery } from '../live-query.ts';
import { modelPath, navigate } from '../router.ts';
import { byteProgress } from '../progress.ts';
import { pageStyles } from '../styles.ts';
import { onSelect } from '../select.ts';

/** Every model here (the widget's searchable list), and making or importing one. */
export class ModelsPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    error: { state: true },
    busy: { state: true },
    progress: { state: true },
    count: { state: true },
  };
  declare hangar: Hangar;
  declare error: string | null;
  declare busy: string | null;
  /** Bytes done so far; null before the first report. */
  declare progress: ByteProgress | null;
  /** Live models in this registry; null until counted. */
  declare count: number | null;
  protected readonly live = new LiveQuery(this, {
    query: () => this.hangar.db.models.filter((m) => m.deletedAt === null && m.kind !== 'experiment').count(),
    next: (n) => (this.count = n),
  });
  static override styles = [
    pageStyles,
    // With no model at all, the page says what to do instead of the widget's developer-facing text.
    css`
      hangar-models.none::part(empty) { display: none; }
    `,
  ];

  constructor() {
    super();
    this.error = null;
    this.busy = null;
    this.count = null;
  }

  private async create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const text = (k: string) => String(data.get(k) ?? '').trim() || undefined;
    this.error = null;
    try {
      const model = await this.hangar.newModel({ namespace: text('namespace') ?? '', name: text('name') ?? '', task: text('task'), description: text('description') });
      navigate(modelPath(model.namespace, model.name));
    } catch (err) {
      this.error = describe(err);
    }
  }

  private async import(event: Event): Promise<void> {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    this.error = null;
    this.busy = `Importing ${file.name}…`;
    this.progress = null;
    try {
      const { namespace, name } = await this.hangar.importModel(file, { onProgress: (p) => (this.progress = p) });
      navigate(modelPath(namespace, name));
    } catch (err) {
      this.error = `The archive was not imported: ${describe(err)}`;
    } finally {
      this.busy = null;
      input.value = '';
    }
  }

  override render() {
    return html`
      <h1>Models</h1>
      <hangar-models class=${this.count === 0 ? 'none' : ''} .client=${this.hangar} @hangar-select=${onSelect}></hangar-models>
      ${this.count === 0
        ? html`<p class="empty">No models yet. <a href="/train">Train one on a CSV file</a>, add one below, import an archive, or <a href="/settings">connect to a server</a> to sync a team's models.</p>`
        : nothing}
      <h2>Add a model</h2>
      <p class="muted">Or <a href="/train">train one on a CSV file</a>: training makes the model and its first version.</p>
      <form @submit=${this.create}>
        <div class="row">
          <label>Namespace <input name="namespace" required value="local" autocomplete="off" /></label>
          <label>Name <input name="name" required autocomplete="off" placeholder="churn" /></label>
          <label>Task <input name="task" autocomplete="off" placeholder="tabular" /></label>
        </div>
        <label>Description <input name="description" autocomplete="off" /></label>
        <div class="actions"><button type="submit">Create model</button></div>
      </form>
      <h2>Import a model</h2>
      <label>An archive exported from Hangar (.zip)
        <input type="file" accept=".zip,application/zip" @change=${this.import} ?disabled=${!!this.busy} />
      </label>
      ${this.busy ? byteProgress('Importing', this.busy, this.progress) : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
    `;
  }
}

customElements.define('app-models-page', ModelsPage);
