import { html, LitElement, nothing } from 'lit';
import type { Hangar } from '../../client/index.ts';
import type { HangarEvent } from '../../../shared/events.ts';
import type { Page } from '../../../shared/pages.ts';
import { describe } from '../errors.ts';
import { api, connection, type Connection } from '../remote.ts';
import { modelPath } from '../router.ts';
import { pageStyles } from '../styles.ts';

/** The events worth a person's attention (metric points and metadata are left to the model pages). */
const ENTITIES = 'model,version,alias,artifact,checkpoint';

/** A sentence for one event: what happened to what. */
function what(e: HangarEvent): string {
  const d = e.data as Record<string, unknown>;
  const model = e.model?.name ?? 'a model';
  const version = typeof d.number === 'number' ? ` version ${d.number}` : '';
  switch (e.type) {
    case 'model.created':
      return `created ${model}`;
    case 'model.updated':
      return `edited ${model}`;
    case 'model.deleted':
      return `deleted ${String(d.name ?? model)}`;
    case 'model.restored':
      return `restored ${model}`;
    case 'model.purged':
      return 'purged a model from the trash';
    case 'version.purged':
      return `purged a version of ${model} from the trash`;
    case 'version.created':
      return `created ${model}${version}`;
    case 'version.updated':
      return `edited a version of ${model}`;
    case 'version.deleted':
      return `deleted ${model}${version}`;
    case 'version.ready':
    case 'version.pending':
    case 'version.failed':
      return `${model}: a version became ${e.type.slice('version.'.length)}`;
    case 'alias.moved':
      return `moved ${String(d.alias)} of ${model} to version ${d.version ?? '(new)'}`;
    case 'alias.deleted':
      return `removed ${String(d.alias)} from ${model}`;
    case 'artifact.uploaded':
      return `uploaded ${String(d.path ?? 'a file')}${e.model ? ` to ${model}` : ''}`;
    default:
      return `${e.type.replace('.', ' ')}${e.model ? ` (${model})` : ''}`;
  }
}

/** The namespace's events from the server: who (token name) did what, when. */
export class ActivityPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    conn: { state: true },
    namespace: { state: true },
    events: { state: true },
    next: { state: true },
    error: { state: true },
    loading: { state: true },
  };
  declare hangar: Hangar;
  declare conn: Connection | null | undefined;
  declare namespace: string;
  declare events: HangarEvent[];
  declare next: string | undefined;
  declare error: string | null;
  declare loading: boolean;
  static override styles = pageStyles;

  constructor() {
    super();
    this.conn = undefined;
    this.namespace = '';
    this.events = [];
    this.error = null;
    this.loading = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void connection(this.hangar).then((c) => {
      this.conn = c;
      if (c?.namespaces[0]) {
        this.namespace = c.namespaces[0];
        void this.load(true);
      }
    });
  }

  private async load(fresh: boolean): Promise<void> {
    if (!this.conn) return;
    this.loading = true;
    this.error = null;
    try {
      const token = fresh ? '' : `&pageToken=${encodeURIComponent(this.next ?? '')}`;
      const page = await api<Page<HangarEvent>>(this.conn, 'GET', `/namespaces/${encodeURIComponent(this.namespace)}/events?entity=${ENTITIES}&pageSize=50${token}`);
      this.events = fresh ? page.items : [...this.events, ...page.items];
      this.next = page.nextPageToken;
    } catch (err) {
      this.error = describe(err);
    } finally {
      this.loading = false;
    }
  }

  override render() {
    if (this.conn === undefined) return html`<h1>Activity</h1><p role="status">Reading the sync settings…</p>`;
    if (this.conn === null) {
      return html`<h1>Activity</h1>
        <p class="empty">The activity of a namespace lives on its server. <a href="/settings">Connect to a server in Settings</a> to see who changed what.</p>`;
    }
    return html`
      <h1>Activity</h1>
      <div class="row">
        <label
          >Namespace
          <select
            @change=${(e: Event) => {
              this.namespace = (e.target as HTMLSelectElement).value;
              void this.load(true);
            }}
          >
            ${this.conn.namespaces.map((ns) => html`<option ?selected=${ns === this.namespace}>${ns}</option>`)}
          </select>
        </label>
        <div class="actions"><button class="secondary" @click=${() => this.load(true)} ?disabled=${this.loading}>Refresh</button></div>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.events.length === 0 && !this.loading && !this.error ? html`<p class="empty">Nothing has happened in ${this.namespace} yet.</p>` : nothing}
      ${this.events.length
        ? html`<div class="table-wrap">
            <table aria-label="Events">
              <thead>
                <tr><th>When</th><th>Who</th><th>What</th></tr>
              </thead>
              <tbody>
                ${this.events.map(
                  (e) => html`<tr data-type=${e.type}>
                    <td><time datetime=${e.at}>${new Date(e.at).toLocaleString()}</time></td>
                    <td>${e.token?.name ?? html`<span class="muted">unknown</span>`}</td>
                    <td>${e.model && e.type !== 'model.deleted' ? html`<a href=${modelPath(this.namespace, e.model.name)}>${what(e)}</a>` : what(e)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : nothing}
      ${this.next ? html`<div class="actions"><button class="secondary" @click=${() => this.load(false)} ?disabled=${this.loading}>Older events</button></div>` : nothing}
      ${this.loading ? html`<p role="status">Loading…</p>` : nothing}
    `;
  }
}

customElements.define('app-activity-page', ActivityPage);
