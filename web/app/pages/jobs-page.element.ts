import { html, LitElement, nothing } from 'lit';
import type { Hangar, JobInfo } from '../../client/index.ts';
import { describe } from '../errors.ts';
import { pageStyles } from '../styles.ts';

interface Row extends JobInfo {
  /** `ns/model/number` of the job's version, when it has one. */
  ref: string | null;
}

/** Every training and prediction job this registry keeps, live: status, progress, cancel and resume. */
export class JobsPage extends LitElement {
  static override properties = { hangar: { attribute: false }, rows: { state: true }, error: { state: true } };
  declare hangar: Hangar;
  declare rows: Row[] | null;
  declare error: string | null;
  private subscription: { unsubscribe(): void } | null = null;
  static override styles = pageStyles;

  constructor() {
    super();
    this.rows = null;
    this.error = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Training jobs live in IndexedDB, so any tab's change re-runs this query.
    this.subscription = this.hangar.live(() => this.load()).subscribe({
      next: (rows) => (this.rows = rows),
      error: (err: unknown) => (this.error = describe(err)),
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.subscription?.unsubscribe();
  }

  private async load(): Promise<Row[]> {
    const jobs = await this.hangar.jobs();
    const db = this.hangar.db;
    return Promise.all(
      jobs.map(async (j) => {
        const v = j.versionId ? await db.versions.get(j.versionId) : undefined;
        const m = v ? await db.models.get(v.modelId) : undefined;
        return { ...j, ref: v && m ? `${m.namespace}/${m.name}/${v.number}` : null };
      }),
    );
  }

  private async act(id: string, what: 'cancel' | 'resume'): Promise<void> {
    this.error = null;
    try {
      const job = await this.hangar.job(id);
      await job[what]();
      this.rows = await this.load();
    } catch (err) {
      this.error = describe(err);
    }
  }

  override render() {
    return html`
      <h1>Jobs</h1>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.rows === null
        ? html`<p role="status">Loading jobs…</p>`
        : this.rows.length === 0
          ? html`<p class="empty">No jobs yet. <a href="/train">Train a model</a> or <a href="/predict">run a prediction</a>; their jobs show here.</p>`
          : html`<div class="table-wrap">
              <table>
                <caption class="muted">Newest first</caption>
                <thead><tr><th scope="col">Job</th><th scope="col">Module</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Version</th><th scope="col">Started</th><th scope="col"><span class="muted">Actions</span></th></tr></thead>
                <tbody>${this.rows.map((j) => this.row(j))}</tbody>
              </table>
            </div>`}
    `;
  }

  private row(j: Row) {
    const p = j.progress;
    const [ns, model, n] = j.ref?.split('/') ?? [];
    return html`<tr>
      <td>${j.type === 'train' ? 'Training' : 'Prediction'} <code title=${j.id}>${j.id.slice(-8)}</code></td>
      <td>${j.module || '—'}</td>
      <td>${j.status}${j.error ? html`<br /><span class="error">${j.error.message}</span>` : nothing}</td>
      <td>${p ? html`<progress max=${p.epochs} .value=${p.epoch} aria-label="Epoch ${p.epoch} of ${p.epochs}"></progress> ${p.epoch}/${p.epochs}` : '—'}</td>
      <td>${j.ref ? html`<a href="/models/${encodeURIComponent(ns!)}/${encodeURIComponent(model!)}/versions/${n}">${j.ref}</a>` : '—'}</td>
      <td>${j.started ? new Date(j.started).toLocaleString() : '—'}</td>
      <td>
        ${j.status === 'running' || j.status === 'queued' ? html`<button class="secondary" @click=${() => this.act(j.id, 'cancel')}>Cancel</button>` : nothing}
        ${j.status === 'interrupted' && j.type === 'train' ? html`<button class="secondary" @click=${() => this.act(j.id, 'resume')}>Resume</button>` : nothing}
      </td>
    </tr>`;
  }
}

customElements.define('app-jobs-page', JobsPage);
