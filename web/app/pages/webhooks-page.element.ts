import { html, LitElement, nothing } from 'lit';
import type { Hangar } from '../../client/index.ts';
import type { Page } from '../../../shared/pages.ts';
import { WEBHOOK_EVENTS, type Webhook, type WebhookDelivery } from '../../../shared/webhooks.ts';
import { describe } from '../errors.ts';
import { api, connection, type Connection } from '../remote.ts';
import { pageStyles } from '../styles.ts';

/** An admin's webhooks of a namespace: register, send a test event, see every delivery attempt, delete. */
export class WebhooksPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    conn: { state: true },
    namespace: { state: true },
    hooks: { state: true },
    deliveries: { state: true },
    secret: { state: true },
    error: { state: true },
    note: { state: true },
    busy: { state: true },
  };
  declare hangar: Hangar;
  declare conn: Connection | null | undefined;
  declare namespace: string;
  declare hooks: Webhook[] | null;
  declare deliveries: Map<string, WebhookDelivery[]>;
  /** The secret of the webhook just registered, shown once. */
  declare secret: { id: string; secret: string } | null;
  declare error: string | null;
  declare note: string | null;
  declare busy: boolean;
  static override styles = pageStyles;

  constructor() {
    super();
    this.conn = undefined;
    this.namespace = '';
    this.hooks = null;
    this.deliveries = new Map();
    this.secret = null;
    this.error = null;
    this.note = null;
    this.busy = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void connection(this.hangar).then((c) => {
      this.conn = c;
      if (c?.namespaces[0]) {
        this.namespace = c.namespaces[0];
        void this.load();
      }
    });
  }

  private get base() {
    return `/namespaces/${encodeURIComponent(this.namespace)}/webhooks`;
  }

  private async run(work: () => Promise<void>): Promise<void> {
    this.error = null;
    this.busy = true;
    try {
      await work();
    } catch (err) {
      const code = (err as { code?: string }).code;
      this.error = code === 'permission-denied' ? `Managing webhooks needs an admin token of ${this.namespace}; this browser syncs with a lower one.` : describe(err);
    } finally {
      this.busy = false;
    }
  }

  private load(): Promise<void> {
    return this.run(async () => {
      const page = await api<Page<Webhook>>(this.conn!, 'GET', this.base);
      this.hooks = page.items;
      const lists = await Promise.all(page.items.map((h) => api<Page<WebhookDelivery>>(this.conn!, 'GET', `${this.base}/${h.id}/deliveries?pageSize=20`)));
      this.deliveries = new Map(page.items.map((h, i) => [h.id, lists[i]!.items]));
    });
  }

  private register(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const events = data.getAll('event').map(String);
    return this.run(async () => {
      if (events.length === 0) throw new Error('Choose at least one event.');
      const created = await api<Webhook & { secret: string }>(this.conn!, 'POST', this.base, { url: String(data.get('url') ?? '').trim(), events });
      this.secret = { id: created.id, secret: created.secret };
      this.note = `Registered ${created.url}.`;
      form.reset();
      await this.load();
    });
  }

  private test(hook: Webhook): Promise<void> {
    return this.run(async () => {
      await api(this.conn!, 'POST', `${this.base}/${hook.id}/test`);
      this.note = `A test event is on its way to ${hook.url}; refresh to see the attempt.`;
      await this.load();
    });
  }

  private deleteHook(hook: Webhook): Promise<void> {
    return this.run(async () => {
      await api(this.conn!, 'DELETE', `${this.base}/${hook.id}`);
      this.note = `Deleted the webhook to ${hook.url}.`;
      if (this.secret?.id === hook.id) this.secret = null;
      await this.load();
    });
  }

  private renderDeliveries(hook: Webhook) {
    const list = this.deliveries.get(hook.id) ?? [];
    if (!list.length) return html`<p class="muted">No deliveries yet.</p>`;
    return html`<div class="table-wrap">
      <table aria-label="Deliveries to ${hook.url}">
        <thead>
          <tr><th>When</th><th>Event</th><th>Status</th><th>Attempts (status codes)</th><th>Next attempt</th></tr>
        </thead>
        <tbody>
          ${list.map(
            (d) => html`<tr data-status=${d.status}>
              <td><time datetime=${d.createdAt}>${new Date(d.createdAt).toLocaleString()}</time></td>
              <td><code>${d.event}</code></td>
              <td>${d.status}</td>
              <td>${d.attempts.length ? d.attempts.map((a) => (a.statusCode ?? a.error ?? 'no answer')).join(', ') : '—'}</td>
              <td>${d.nextAttemptAt ? new Date(d.nextAttemptAt).toLocaleString() : '—'}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  override render() {
    if (this.conn === undefined) return html`<h1>Webhooks</h1><p role="status">Reading the sync settings…</p>`;
    if (this.conn === null) {
      return html`<h1>Webhooks</h1>
        <p class="empty">Webhooks live on the server. <a href="/settings">Connect to a server in Settings</a> with an admin token to manage them.</p>`;
    }
    return html`
      <h1>Webhooks</h1>
      <div class="row">
        <label
          >Namespace
          <select
            @change=${(e: Event) => {
              this.namespace = (e.target as HTMLSelectElement).value;
              this.secret = null;
              void this.load();
            }}
          >
            ${this.conn.namespaces.map((ns) => html`<option ?selected=${ns === this.namespace}>${ns}</option>`)}
          </select>
        </label>
        <div class="actions"><button class="secondary" @click=${() => this.load()} ?disabled=${this.busy}>Refresh</button></div>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.note ? html`<p class="ok" role="status">${this.note}</p>` : nothing}
      ${this.secret
        ? html`<p role="status">
            Signing secret (shown once; the receiver checks <code>webhook-signature</code> with it, as the Standard Webhooks libraries do):
            <code data-testid="secret">${this.secret.secret}</code>
          </p>`
        : nothing}
      <h2>Register a webhook</h2>
      <form @submit=${this.register}>
        <label>URL <input name="url" type="url" required placeholder="https://deploy.example.com/hangar" /></label>
        <fieldset>
          <legend>Events</legend>
          ${WEBHOOK_EVENTS.map((e) => html`<label style="display:flex;gap:0.4rem;font-weight:400"><input type="checkbox" name="event" value=${e} ?checked=${e === 'alias.moved' || e === 'version.ready'} />${e}</label>`)}
        </fieldset>
        <div class="actions"><button type="submit" ?disabled=${this.busy}>Register</button></div>
      </form>
      <h2>Webhooks of ${this.namespace}</h2>
      ${this.hooks === null
        ? nothing
        : this.hooks.length === 0
          ? html`<p class="empty">No webhooks yet. A registered URL receives signed JSON within seconds of each event it asks for.</p>`
          : html`<ul aria-label="Webhooks">
              ${this.hooks.map(
                (h) => html`<li>
                  <p><code>${h.url}</code> — ${h.events.join(', ')}</p>
                  <div class="actions">
                    <button class="secondary" @click=${() => this.test(h)} ?disabled=${this.busy} aria-label="Send a test event to ${h.url}">Send test event</button>
                    <button class="secondary" @click=${() => this.deleteHook(h)} ?disabled=${this.busy} aria-label="Delete the webhook to ${h.url}">Delete</button>
                  </div>
                  ${this.renderDeliveries(h)}
                </li>`,
              )}
            </ul>`}
    `;
  }
}

customElements.define('app-webhooks-page', WebhooksPage);
