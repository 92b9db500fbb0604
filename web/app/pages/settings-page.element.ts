import { html, LitElement, nothing } from 'lit';
import type { Hangar, StorageInfo } from '../../client/index.ts';
import { bytes, describe } from '../errors.ts';
import { pageStyles } from '../styles.ts';
import { checkServer, loadServerSettings, saveServerSettings, type ServerSettings } from '../server.ts';
import { api, connection } from '../remote.ts';
import { QUOTA_NAMES, type NamespaceUsage, type QuotaName } from '../../../shared/usage.ts';

const QUOTA_LABELS: Record<QuotaName, string> = { blobBytes: 'Artifact bytes', metricPoints: 'Metric points', models: 'Models' };
const figure = (q: QuotaName, n: number) => (q === 'blobBytes' ? bytes(n) : n.toLocaleString('en'));

/** The server to sync with (URL, token, namespaces), and this browser's storage. */
export class SettingsPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    saved: { state: true },
    found: { state: true },
    serverError: { state: true },
    serverBusy: { state: true },
    serverNote: { state: true },
    storage: { state: true },
    persistNote: { state: true },
    usage: { state: true },
    usageError: { state: true },
  };
  declare hangar: Hangar;
  declare saved: ServerSettings | null;
  /** What the last check found: the server and token it checked, and the namespaces the token sees. */
  declare found: { url: string; token: string; namespaces: string[] } | null;
  declare serverError: string | null;
  declare serverBusy: string | null;
  declare serverNote: string | null;
  declare storage: StorageInfo | null;
  declare persistNote: string | null;
  /** The synced namespaces' use and quotas on the server, as `GET …/usage` answers. */
  declare usage: NamespaceUsage[] | null;
  declare usageError: string | null;
  /** A server URL and token handed over by the link `npm start` prints (`?server=…#token=…`). */
  private offered: { url: string; token: string } = { url: '', token: '' };
  static override styles = pageStyles;

  constructor() {
    super();
    this.saved = loadServerSettings();
    this.found = null;
    this.serverError = null;
    this.serverBusy = null;
    this.serverNote = null;
    this.storage = null;
    this.persistNote = null;
    this.usage = null;
    this.usageError = null;
    this.offered = takeOffered();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.readStorage();
    void this.readUsage();
  }

  /** Each synced namespace's use against its quotas, from the server (none when not syncing or offline). */
  private async readUsage(): Promise<void> {
    this.usageError = null;
    try {
      const c = await connection(this.hangar);
      this.usage = c ? await Promise.all(c.namespaces.map((ns) => api<NamespaceUsage>(c, 'GET', `/namespaces/${ns}/usage`))) : null;
    } catch (err) {
      this.usage = null;
      this.usageError = describe(err);
    }
  }

  private renderUsage() {
    if (this.usageError) return html`<p class="muted" role="status">Server use unknown: ${this.usageError}</p>`;
    if (!this.usage) return nothing;
    return this.usage.map(
      (u) => html`<h3>Namespace ${u.namespace} on the server</h3>
        <dl data-namespace=${u.namespace}>
          ${QUOTA_NAMES.map((q) => {
            const limit = u.quotas[q];
            return html`<dt>${QUOTA_LABELS[q]}</dt>
              <dd data-quota=${q}>
                ${figure(q, u.usage[q])}${limit === null
                  ? html` <span class="muted">(no quota)</span>`
                  : html` of ${figure(q, limit)} <meter min="0" max=${limit} high=${limit * 0.9} .value=${u.usage[q]} aria-label=${`${QUOTA_LABELS[q]} used`}></meter>`}
              </dd>`;
          })}
        </dl>`,
    );
  }

  private async readStorage(): Promise<void> {
    this.storage = await this.hangar.storage();
  }

  private async check(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const url = String(data.get('url') ?? '').trim().replace(/\/+$/, '');
    const token = String(data.get('token') ?? '').trim();
    this.serverError = null;
    this.serverNote = null;
    this.found = null;
    this.serverBusy = 'Checking the server…';
    try {
      const namespaces = await checkServer(url, token);
      if (namespaces.length === 0) throw new Error('This token sees no namespace on that server: ask its admin for a token of a namespace.');
      this.found = { url, token, namespaces };
    } catch (err) {
      this.serverError = describe(err);
    } finally {
      this.serverBusy = null;
    }
  }

  private async start(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const found = this.found!;
    const namespaces = new FormData(event.target as HTMLFormElement).getAll('namespace').map(String);
    this.serverError = null;
    if (namespaces.length === 0) {
      this.serverError = 'Choose at least one namespace to sync.';
      return;
    }
    const settings: ServerSettings = { url: found.url, namespaces };
    this.serverBusy = 'Starting sync…';
    try {
      await this.hangar.sync({ ...settings, token: found.token });
      saveServerSettings(settings);
      this.saved = settings;
      this.found = null;
      this.serverNote = `Syncing ${namespaces.join(', ')} with ${found.url}. The Sync page shows how it goes.`;
      void this.readUsage();
    } catch (err) {
      this.serverError = describe(err);
    } finally {
      this.serverBusy = null;
    }
  }

  private async stop(): Promise<void> {
    this.serverError = null;
    try {
      await this.hangar.stopSync();
      saveServerSettings(null);
      this.saved = null;
      this.serverNote = 'Sync stopped. Everything stays in this browser.';
      this.usage = null;
    } catch (err) {
      this.serverError = describe(err);
    }
  }

  private async persist(): Promise<void> {
    const granted = await this.hangar.persist();
    this.persistNote = granted
      ? 'Granted: the browser will keep Hangar’s data even when storage runs low.'
      : 'The browser said no (it may grant it once the app is installed or used more). Hangar works either way.';
    await this.readStorage();
  }

  override render() {
    const s = this.storage;
    return html`
      <h1>Settings</h1>
      <section aria-labelledby="server-heading">
        <h2 id="server-heading">Server</h2>
        ${this.saved
          ? html`<p>Syncing <strong>${this.saved.namespaces.join(', ')}</strong> with <code>${this.saved.url}</code>.</p>
              <div class="actions"><button class="secondary" @click=${this.stop}>Stop syncing</button></div>`
          : html`<p class="muted">Hangar works with no server. To share models with a team, connect to a Hangar server with a token its admin gave you.</p>`}
        <form @submit=${this.check}>
          <label>Server URL <input name="url" type="url" required autocomplete="url" placeholder="https://hangar.example.com" .value=${this.saved?.url ?? this.offered.url} /></label>
          <label>Token <input name="token" type="password" required autocomplete="off" placeholder="hgr_…" .value=${this.offered.token} /></label>
          <div class="actions"><button type="submit" ?disabled=${!!this.serverBusy}>Check server</button></div>
        </form>
        ${this.found
          ? html`<form @submit=${this.start}>
              <fieldset>
                <legend>Namespaces to sync</legend>
                ${this.found.namespaces.map((n) => html`<label class="check"><span><input type="checkbox" name="namespace" value=${n} checked /> ${n}</span></label>`)}
              </fieldset>
              <div class="actions"><button type="submit" ?disabled=${!!this.serverBusy}>Start syncing</button></div>
            </form>`
          : nothing}
        ${this.serverBusy ? html`<p role="status">${this.serverBusy}</p>` : nothing}
        ${this.serverNote ? html`<p role="status" class="ok">${this.serverNote}</p>` : nothing}
        ${this.serverError ? html`<p class="error" role="alert">${this.serverError}</p>` : nothing}
      </section>
      <section aria-labelledby="storage-heading">
        <h2 id="storage-heading">Storage</h2>
        ${s
          ? html`<dl>
                <dt>Used</dt>
                <dd>${bytes(s.usage)}${s.quota ? html` of ${bytes(s.quota)} <meter min="0" max=${s.quota} .value=${s.usage ?? 0} aria-label="Storage used"></meter>` : nothing}</dd>
                <dt>Kept under storage pressure</dt>
                <dd>${s.persisted ? 'Yes (persistent storage granted)' : 'Not guaranteed: the browser may clear it when space runs low'}</dd>
              </dl>
              ${s.persisted ? nothing : html`<div class="actions"><button @click=${this.persist}>Ask to keep my data</button></div>`}`
          : html`<p role="status">Reading storage use…</p>`}
        ${this.persistNote ? html`<p role="status">${this.persistNote}</p>` : nothing}
        ${this.renderUsage()}
      </section>
    `;
  }
}

customElements.define('app-settings-page', SettingsPage);

/**
 * The server URL (`?server=`) and token (`#token=`) of a link such as the one `npm start` prints:
 * read once to fill the form, and the token taken out of the address bar and history at once.
 */
function takeOffered(): { url: string; token: string } {
  const url = new URLSearchParams(location.search).get('server') ?? '';
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  if (token) history.replaceState(history.state, '', location.pathname + location.search);
  return { url, token };
}
