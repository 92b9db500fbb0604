import { html, LitElement, nothing } from 'lit';
import type { Hangar } from '../../client/index.ts';
import { describe } from '../errors.ts';
import { LiveQuery } from '../live-query.ts';
import { experimentPath, navigate } from '../router.ts';
import { pageStyles } from '../styles.ts';

interface Row {
  namespace: string;
  name: string;
  description: string | null;
  runs: number;
  updatedAt: string;
}

/** Experiments (models of kind `experiment`, MLflow's experiments), listed apart from registered models. */
export class ExperimentsPage extends LitElement {
  static override properties = { hangar: { attribute: false }, rows: { state: true }, error: { state: true } };
  declare hangar: Hangar;
  declare rows: Row[] | null;
  declare error: string | null;
  protected readonly live = new LiveQuery(this, { query: () => this.load(), next: (rows) => (this.rows = rows) });
  static override styles = pageStyles;

  constructor() {
    super();
    this.rows = null;
    this.error = null;
  }

  private async load(): Promise<Row[]> {
    const experiments = await this.hangar.experiments();
    return Promise.all(
      experiments.map(async (e) => ({ namespace: e.namespace, name: e.name, description: e.description, runs: (await e.versions()).length, updatedAt: e.updatedAt })),
    );
  }

  private async create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const text = (k: string) => String(data.get(k) ?? '').trim() || undefined;
    this.error = null;
    try {
      const e = await this.hangar.newExperiment({ namespace: text('namespace') ?? '', name: text('name') ?? '', description: text('description') });
      navigate(experimentPath(e.namespace, e.name));
    } catch (err) {
      this.error = describe(err);
    }
  }

  override render() {
    return html`
      <h1>Experiments</h1>
      <p class="muted">Runs logged with MLflow's client (<code>MLFLOW_TRACKING_URI=&lt;server&gt;/mlflow/&lt;namespace&gt;</code>) or with this library, grouped by experiment. Registered models are on the <a href="/">Models</a> page.</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.rows === null
        ? html`<p role="status">Loading experiments…</p>`
        : this.rows.length === 0
          ? html`<p class="empty">No experiments yet. Log runs with MLflow against a Hangar server and sync, or add one below.</p>`
          : html`<div class="table-wrap">
              <table id="experiments">
                <thead><tr><th scope="col">Experiment</th><th scope="col">Namespace</th><th scope="col">Runs</th><th scope="col">Description</th><th scope="col">Updated</th></tr></thead>
                <tbody>
                  ${this.rows.map(
                    (r) => html`<tr>
                      <td><a href=${experimentPath(r.namespace, r.name)}>${r.name}</a></td>
                      <td>${r.namespace}</td>
                      <td>${r.runs}</td>
                      <td>${r.description ?? '—'}</td>
                      <td>${new Date(r.updatedAt).toLocaleString()}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`}
      <h2>Add an experiment</h2>
      <form @submit=${this.create}>
        <div class="row">
          <label>Namespace <input name="namespace" required value="local" autocomplete="off" /></label>
          <label>Name <input name="name" required autocomplete="off" placeholder="churn" /></label>
        </div>
        <label>Description <input name="description" autocomplete="off" /></label>
        <div class="actions"><button type="submit">Create experiment</button></div>
      </form>
    `;
  }
}

customElements.define('app-experiments-page', ExperimentsPage);
