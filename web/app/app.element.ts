import { html, LitElement, css, nothing, type TemplateResult } from 'lit';
import type { Hangar } from '../client/index.ts';
import { describe } from './errors.ts';
import { loadPage, pageReady, preloadOnIntent } from './pages.ts';
import { registerServiceWorker } from './pwa.ts';
import { registry } from './registry.ts';
import { interceptLinks, match, type Route } from './router.ts';
import { pageStyles } from './styles.ts';

const NAV: [string, string][] = [
  ['/', 'Models'],
  ['/experiments', 'Experiments'],
  ['/train', 'Train'],
  ['/predict', 'Predict'],
  ['/jobs', 'Jobs'],
  ['/sync', 'Sync'],
  ['/activity', 'Activity'],
  ['/webhooks', 'Webhooks'],
  ['/settings', 'Settings'],
];

/** The app: header and navigation, the current route's page, and the update and offline notices. */
export class AppShell extends LitElement {
  static override properties = {
    route: { state: true },
    hangar: { state: true },
    failure: { state: true },
    loaded: { state: true },
    online: { state: true },
    pendingUpdate: { state: true },
  };
  declare route: Route;
  declare hangar: Hangar | null;
  declare failure: string | null;
  declare loaded: Route['page'] | null;
  declare online: boolean;
  declare pendingUpdate: (() => void) | null;
  private navigated = false;

  static override styles = [
    pageStyles,
    css`
      :host { display: block; min-height: 100vh; }
      header { background: var(--header-bg); color: var(--header-fg); }
      .bar { max-width: 64rem; margin: 0 auto; padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 1rem; }
      .brand { color: inherit; font-weight: 700; font-size: 1.15rem; text-decoration: none; display: flex; align-items: center; gap: 0.4rem; }
      .brand img { width: 1.6rem; height: 1.6rem; }
      nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.1rem 0.25rem; margin: 0; padding: 0; }
      nav a { color: inherit; text-decoration: none; padding: 0.35rem 0.55rem; border-radius: 4px; display: inline-block; }
      nav a[aria-current='page'] { background: var(--header-current); }
      nav a:hover { text-decoration: underline; }
      header :focus-visible { outline-color: var(--header-focus); }
      .status { margin-left: auto; font-size: 0.9rem; }
      main { max-width: 64rem; margin: 0 auto; padding: 1rem; }
      .notice { max-width: 64rem; margin: 0.5rem auto 0; padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; background: var(--notice-bg); border-radius: 4px; }
    `,
  ];

  constructor() {
    super();
    this.route = match(location.pathname);
    this.hangar = null;
    this.failure = null;
    this.loaded = null;
    this.online = navigator.onLine;
    this.pendingUpdate = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    interceptLinks(this.renderRoot);
    preloadOnIntent(this.renderRoot);
    window.addEventListener('app-navigate', this.onNavigate);
    window.addEventListener('popstate', this.onNavigate);
    window.addEventListener('online', this.onConnectivity);
    window.addEventListener('offline', this.onConnectivity);
    registry().then(
      (h) => (this.hangar = h),
      (err: unknown) => (this.failure = `The registry could not open in this browser: ${describe(err)}`),
    );
    registerServiceWorker((update) => (this.pendingUpdate = update));
    void this.load(this.route);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('app-navigate', this.onNavigate);
    window.removeEventListener('popstate', this.onNavigate);
    window.removeEventListener('online', this.onConnectivity);
    window.removeEventListener('offline', this.onConnectivity);
  }

  private onNavigate = () => {
    this.route = match(location.pathname);
    this.navigated = true;
    void this.load(this.route);
  };

  private onConnectivity = () => (this.online = navigator.onLine);

  private async load(route: Route): Promise<void> {
    // A module loaded already (preloaded, or visited before): the page renders in this update,
    // not after a placeholder and another frame.
    if (pageReady(route.page)) {
      this.loaded = route.page;
      return;
    }
    try {
      await loadPage(route.page);
      if (this.route === route) this.loaded = route.page;
    } catch (err) {
      this.failure = `This page could not load: ${describe(err)}`;
    }
  }

  protected override updated(): void {
    // After a navigation, move focus to the new page's heading, so keyboard and screen-reader users start there.
    if (!this.navigated || !this.hangar || this.loaded !== this.route.page) return;
    const page = this.renderRoot.querySelector('main > *');
    if (!page) return;
    this.navigated = false;
    void this.focusHeading(page as HTMLElement & { updateComplete?: Promise<unknown> });
  }

  private async focusHeading(page: HTMLElement & { updateComplete?: Promise<unknown> }): Promise<void> {
    await page.updateComplete;
    const heading = page.shadowRoot?.querySelector('h1') ?? page.querySelector('h1');
    if (!heading) return;
    heading.setAttribute('tabindex', '-1');
    heading.focus();
    document.title = `${heading.textContent?.trim()} · Hangar`;
  }

  private page(): TemplateResult {
    const r = this.route;
    const h = this.hangar;
    if (this.failure) return html`<p class="error" role="alert">${this.failure}</p>`;
    if (!h || this.loaded !== r.page) return html`<p role="status">Opening the registry…</p>`;
    switch (r.page) {
      case 'models':
        return html`<app-models-page .hangar=${h}></app-models-page>`;
      case 'model':
        return html`<app-model-page .hangar=${h} .namespace=${r.namespace} .model=${r.model}></app-model-page>`;
      case 'version':
        return html`<app-version-page .hangar=${h} .namespace=${r.namespace} .model=${r.model} .number=${r.number}></app-version-page>`;
      case 'experiments':
        return html`<app-experiments-page .hangar=${h}></app-experiments-page>`;
      case 'experiment':
        return html`<app-runs-page .hangar=${h} .namespace=${r.namespace} .experiment=${r.experiment}></app-runs-page>`;
      case 'run':
        return html`<app-run-page .hangar=${h} .namespace=${r.namespace} .experiment=${r.experiment} .number=${r.number}></app-run-page>`;
      case 'compare':
        return html`<app-compare-page .hangar=${h} .namespace=${r.namespace} .experiment=${r.experiment} .numbers=${r.numbers}></app-compare-page>`;
      case 'train':
        return html`<app-train-page .hangar=${h}></app-train-page>`;
      case 'predict':
        return html`<app-predict-page .hangar=${h}></app-predict-page>`;
      case 'jobs':
        return html`<app-jobs-page .hangar=${h}></app-jobs-page>`;
      case 'sync':
        return html`<app-sync-page .hangar=${h}></app-sync-page>`;
      case 'activity':
        return html`<app-activity-page .hangar=${h}></app-activity-page>`;
      case 'webhooks':
        return html`<app-webhooks-page .hangar=${h}></app-webhooks-page>`;
      case 'settings':
        return html`<app-settings-page .hangar=${h}></app-settings-page>`;
      case 'not-found':
        return html`<h1>Not found</h1>
          <p>Nothing lives at <code>${r.path}</code>. <a href="/">Go to the models</a>.</p>`;
    }
  }

  override render(): TemplateResult {
    const p = this.route.page;
    const current = p === 'models' || p === 'model' || p === 'version' ? '/' : p === 'experiment' || p === 'run' || p === 'compare' ? '/experiments' : `/${p}`;
    return html`
      <header>
        <div class="bar">
          <a class="brand" href="/"><img src="/icons/icon.svg" alt="" />Hangar</a>
          <nav aria-label="Main">
            <ul>
              ${NAV.map(([href, label]) => html`<li><a href=${href} aria-current=${current === href ? 'page' : nothing}>${label}</a></li>`)}
            </ul>
          </nav>
          <span class="status" role="status">${this.online ? 'Online' : 'Offline'}</span>
        </div>
      </header>
      ${this.pendingUpdate
        ? html`<div class="notice" role="alert">
            A new version of Hangar is ready.
            <button @click=${() => this.pendingUpdate?.()}>Reload to update</button>
            <button class="secondary" @click=${() => (this.pendingUpdate = null)}>Later</button>
          </div>`
        : nothing}
      <main>${this.page()}</main>
    `;
  }
}

customElements.define('app-shell', AppShell);
