import { html, LitElement, nothing } from 'lit';
import type { Conflict, Hangar, SyncStatus } from '../../client/index.ts';
import { bytes, describe } from '../errors.ts';
import { pageStyles } from '../styles.ts';

/** Errors that a new token fixes. */
const TOKEN_CODES = ['unauthenticated', 'token-expired', 'permission-denied', 'origin-not-allowed'];

/**
 * A conflict's side for people: `key: value` pairs, a version id shown as its number, other ids
 * (which mean nothing to a reader) left out.
 */
function show(value: unknown, numbers: Map<string, number>): string {
  if (value === undefined || value === null) return '—';
  if (typeof value !== 'object') return String(value);
  const source = 'args' in value && typeof (value as { args: unknown }).args === 'object' ? (value as { args: object }).args : value;
  const parts = new Map<string, string>();
  for (const [k, v] of Object.entries(source ?? {})) {
    if (/versionId$/i.test(k) && typeof v === 'string') {
      const label = k === 'versionId' ? 'version' : k.replace(/VersionId$/, '');
      parts.set(label, numbers.has(v) ? String(numbers.get(v)) : 'a deleted version');
    } else if (!/(^id|Id)$/.test(k) && !parts.has(k)) parts.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return [...parts].map(([k, v]) => `${k} ${v}`).join(', ') || JSON.stringify(value);
}

/** Sync status (online, pending changes and uploads, last sync, errors) and the conflicts to resolve. */
export class SyncPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    status: { state: true },
    conflicts: { state: true },
    error: { state: true },
    busy: { state: true },
  };
  declare hangar: Hangar;
  declare status: SyncStatus | null;
  declare conflicts: Conflict[];
  declare error: string | null;
  declare busy: boolean;
  private unsubscribe: (() => void) | null = null;
  private conflictCount = -1;
  private numbers = new Map<string, number>();
  static override styles = pageStyles;

  constructor() {
    super();
    this.status = null;
    this.conflicts = [];
    this.error = null;
    this.busy = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.onStatus(this.hangar.syncStatus.value);
    this.unsubscribe = this.hangar.syncStatus.subscribe((s) => this.onStatus(s));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribe?.();
  }

  private onStatus(s: SyncStatus): void {
    this.status = s;
    if (s.conflicts !== this.conflictCount) {
      this.conflictCount = s.conflicts;
      void this.loadConflicts();
    }
  }

  private async loadConflicts(): Promise<void> {
    try {
      const conflicts = (await this.hangar.conflicts()).sort((a, b) => b.at - a.at);
      // Version ids the conflicts name, as numbers.
      const ids = [...new Set(conflicts.flatMap((c) => JSON.stringify([c.mine, c.theirs]).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? []))];
      const rows = await this.hangar.db.versions.bulkGet(ids);
      this.numbers = new Map(rows.flatMap((r) => (r ? [[r.id, r.number] as const] : [])));
      this.conflicts = conflicts;
    } catch (err) {
      this.error = describe(err);
    }
  }

  private async run(work: () => Promise<void>): Promise<void> {
    this.error = null;
    this.busy = true;
    try {
      await work();
    } catch (err) {
      this.error = describe(err);
    } finally {
      this.busy = false;
    }
  }

  private resolve(id: string, choice: 'mine' | 'theirs') {
    return this.run(async () => {
      await this.hangar.resolveConflict(id, choice);
      await this.loadConflicts();
    });
  }

  override render() {
    const s = this.status;
    if (!s) return html`<h1>Sync</h1><p role="status">Reading the sync status…</p>`;
    return html`
      <h1>Sync</h1>
      ${s.enabled
        ? nothing
        : html`<p class="empty">Not syncing: everything stays in this browser. To share models, <a href="/settings">connect to a server in Settings</a>.</p>`}
      ${s.updateNeeded ? html`<p class="error" role="alert">The server needs a newer Hangar: reload the app to update it.</p>` : nothing}
      ${s.error
        ? html`<p class="error" role="alert">
            Sync stopped: ${s.error.message}
            ${TOKEN_CODES.includes(s.error.code) ? html`Ask the server's admin for another token, then <a href="/settings">connect again in Settings</a>.` : nothing}
          </p>`
        : nothing}
      ${this.error && this.error !== s.error?.message ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <dl aria-label="Sync status">
        <dt>Connection</dt>
        <dd>${s.online ? 'Online' : 'Offline: changes wait here until the server answers'}</dd>
        <dt>State</dt>
        <dd>${!s.enabled ? 'Off' : s.syncing ? 'Syncing…' : 'Idle'}</dd>
        <dt>Pending changes</dt>
        <dd data-testid="pending">${s.pendingMutations}</dd>
        <dt>Pending uploads</dt>
        <dd>${bytes(s.pendingBytes)}</dd>
        <dt>Last sync</dt>
        <dd>${s.lastSync ? new Date(s.lastSync).toLocaleString() : 'Never'}</dd>
        <dt>Conflicts</dt>
        <dd>${s.conflicts}</dd>
      </dl>
      ${s.uploads.length
        ? html`<h2>Uploads</h2>
            <ul>
              ${s.uploads.map(
                (u) => html`<li><code>${u.sha256.slice(0, 12)}</code> <progress max=${u.size} .value=${u.sent} aria-label="Upload ${u.sha256.slice(0, 12)}"></progress> ${bytes(u.sent)} of ${bytes(u.size)}</li>`,
              )}
            </ul>`
        : nothing}
      ${s.enabled ? html`<div class="actions"><button @click=${() => this.run(() => this.hangar.syncNow())} ?disabled=${this.busy || s.syncing}>Sync now</button></div>` : nothing}
      <h2 id="conflicts-heading">Conflicts</h2>
      ${this.conflicts.length === 0
        ? html`<p class="empty">No conflicts. When this browser and the server disagree (an alias moved on both, a label taken twice), it shows here for you to decide; nothing is lost meanwhile.</p>`
        : html`<ul aria-labelledby="conflicts-heading" class="conflicts">
            ${this.conflicts.map(
              (c) => html`<li>
                <p><strong>${c.kind}</strong> in <code>${c.namespace}</code>: ${c.message}</p>
                <dl>
                  <dt>This browser</dt>
                  <dd>${show(c.mine, this.numbers)}</dd>
                  <dt>The server</dt>
                  <dd>${show(c.theirs, this.numbers)}</dd>
                </dl>
                <div class="actions">
                  <button @click=${() => this.resolve(c.id, 'mine')} ?disabled=${this.busy || !c.canKeepMine} aria-label="Keep mine: ${c.message}">Keep mine</button>
                  <button class="secondary" @click=${() => this.resolve(c.id, 'theirs')} ?disabled=${this.busy} aria-label="Take theirs: ${c.message}">Take theirs</button>
                </div>
              </li>`,
            )}
          </ul>`}
    `;
  }
}

customElements.define('app-sync-page', SyncPage);
