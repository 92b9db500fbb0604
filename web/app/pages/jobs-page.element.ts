import { html, LitElement, nothing } from 'lit';
import type { Hangar, JobInfo } from '../../client/index.ts';
import { describe } from '../errors.ts';
import { LiveQuery } from '../live-query.ts';
import { pageStyles } from '../styles.ts';
import { runPath, versionPath } from '../router.ts';

interface Row extends JobInfo {
  /** `ns/model/number` of the job's version, when it has one. */
  ref: string | null;
  /** The page of the job's version: a run's page for a remote job's run. */
  href: string | null;
}

/** Every training and prediction job this registry keeps, live: status, progress, cancel and resume. */
export class JobsPage extends LitElement {
  static override properties = { hangar: { attribute: false }, rows: { state: true }, error: { state: true } };
  declare hangar: Hangar;
  declare rows: Row[] | null;
  declare error: string | null;
  // Training jobs live in IndexedDB, so any tab's change re-runs this query.
  protected readonly live = new LiveQuery(this, { query: () => this.load(), next: (rows) => (this.rows = rows) });
  static override styles = pageStyles;

  constructor() {
    super();
    this.rows = null;
    this.error = null;
  }

  private async load(): Promise<Row[]> {
    const jobs = await this.hangar.jobs();
    const db = this.hangar.db;
    return Promise.all(
      jobs.map(async (j) => {
        const v = j.versionId ? await db.versions.get(j.versionId) : undefined;
        const m = v ? await db.models.get(v.modelId) : undefined;
        const ref = v && m ? `${m.namespace}/${m.name}/${v.number}` : null;
        const href = v && m ? (m.kind === 'experiment' ? runPath(m.namespace, m.name, v.number) : versionPath(m.namespace, m.name, v.number)) : null;
        return { ...j, ref, href };
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
    const remote = j.id.startsWith('remote:');
    return html`<tr data-job=${j.id}>
      <td>${remote ? 'Remote run' : j.type === 'train' ? 'Training' : 'Prediction'} <code title=${j.id}>${j.id.slice(-8)}</code></td>
      <td>${j.module || '—'}</td>
      <td>${j.status}${j.error ? html`<br /><span class="error">${j.error.message}</span>` : nothing}</td>
      <td>${p ? (p.epochs > 0 ? html`<progress max=${p.epochs} .value=${p.epoch} aria-label="${remote ? 'Step' : 'Epoch'} ${p.epoch} of ${p.epochs}"></progress> ${p.epoch}/${p.epochs}` : `step ${p.epoch}`) : '—'}</td>
      <td>${j.ref && j.href ? html`<a href=${j.href}>${j.ref}</a>` : '—'}</td>
      <td>${j.started ? new Date(j.started).toLocaleString() : '—'}</td>
      <td>
        ${j.status === 'running' || j.status === 'queued' ? html`<button class="secondary" @click=${() => this.act(j.id, 'cancel')}>Cancel</button>` : nothing}
        ${j.status === 'interrupted' && j.type === 'train' ? html`<button class="secondary" @click=${() => this.act(j.id, 'resume')}>Resume</button>` : nothing}
      </td>
    </tr>`;
  }
}

customElements.define('app-jobs-page', JobsPage);
