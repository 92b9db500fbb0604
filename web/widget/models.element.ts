// <hangar-models>: a searchable list of models. Only the rows in view are rendered, so 10,000
// models scroll as smoothly as ten. The list is one tab stop; arrows move, Enter picks.
import { css, html, nothing, type PropertyDeclarations } from 'lit';
import { HangarElement, Watch } from './base.ts';
import { searchFilter } from './search.ts';
import type { ModelSummary } from './source.ts';
import { baseStyles } from './styles.ts';

/** Row height in px; rows are fixed-height so the window is a division, not a measurement. */
const ROW = 52;
/** Rows rendered beyond each edge of the view. */
const OVERSCAN = 6;

export class HangarModels extends HangarElement {
  static override properties: PropertyDeclarations = {
    query: { reflect: true },
    top: { state: true },
    viewport: { state: true },
    active: { state: true },
  };

  /** The search box's text: a filter expression, or plain text matched against names. */
  declare query: string;
  declare private top: number;
  declare private viewport: number;
  declare private active: number;

  private readonly list = new Watch<ModelSummary[]>(
    this,
    () => [this.namespace, this.query],
    (source) => {
      const filter = searchFilter(this.query);
      return () => source.models({ ...(this.namespace ? { namespace: this.namespace } : {}), ...(filter ? { filter } : {}) });
    },
  );
  private typing?: ReturnType<typeof setTimeout>;
  private resize = new ResizeObserver(([entry]) => {
    this.viewport = entry?.contentRect.height ?? this.viewport;
  });

  constructor() {
    super();
    this.query = '';
    this.top = 0;
    this.viewport = 400;
    this.active = 0;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize.disconnect();
    clearTimeout(this.typing);
  }

  protected override firstUpdated(): void {
    this.resize.observe(this.scroller);
  }

  private get scroller(): HTMLElement {
    return this.renderRoot.querySelector('[part~="list"]')!;
  }

  private get models(): ModelSummary[] {
    return this.list.state.status === 'ready' ? this.list.state.value : [];
  }

  private onInput(e: InputEvent): void {
    const text = (e.target as HTMLInputElement).value;
    clearTimeout(this.typing);
    // Each keystroke would be a query: wait until typing pauses.
    this.typing = setTimeout(() => {
      this.query = text;
      this.active = 0;
      this.scroller.scrollTop = 0;
    }, 150);
  }

  private pick(index: number): void {
    const m = this.models[index];
    if (!m) return;
    this.active = index;
    this.select({ ref: `${m.namespace}/${m.name}`, namespace: m.namespace, model: m.name });
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.models.length;
    if (!n) return;
    const page = Math.max(1, Math.floor(this.viewport / ROW) - 1);
    const moves: Record<string, number> = {
      ArrowDown: this.active + 1,
      ArrowUp: this.active - 1,
      PageDown: this.active + page,
      PageUp: this.active - page,
      Home: 0,
      End: n - 1,
    };
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.pick(this.active);
      return;
    }
    const to = moves[e.key];
    if (to === undefined) return;
    e.preventDefault();
    this.active = Math.min(n - 1, Math.max(0, to));
    // Keep the active row in view.
    const s = this.scroller;
    const y = this.active * ROW;
    if (y < s.scrollTop) s.scrollTop = y;
    else if (y + ROW > s.scrollTop + s.clientHeight) s.scrollTop = y + ROW - s.clientHeight;
  }

  override render() {
    const state = this.list.state;
    const models = this.models;
    const first = Math.max(0, Math.floor(this.top / ROW) - OVERSCAN);
    const last = Math.min(models.length, Math.ceil((this.top + this.viewport) / ROW) + OVERSCAN);
    const active = Math.min(this.active, models.length - 1);
    return html`
      <label class="search" part="search">
        <span>Search models</span>
        <input
          type="search"
          part="search-input"
          .value=${this.query}
          placeholder="name, or task = 'tabular' AND metrics.accuracy > 0.9"
          @input=${this.onInput}
        />
      </label>
      <p class="status muted" part="status" role="status">
        ${state.status === 'loading' ? 'Loading models…' : state.status === 'ready' ? `${models.length} ${models.length === 1 ? 'model' : 'models'}` : ''}
      </p>
      ${state.status === 'error' ? html`<p class="error" part="error" role="alert">${state.message}</p>` : nothing}
      ${state.status === 'ready' && !models.length
        ? html`<div class="empty" part="empty">
            ${this.query.trim() ? html`<p>${this.emptyText()}</p>` : html`<slot name="empty"><p>${this.emptyText()}</p></slot>`}
          </div>`
        : nothing}
      <div
        part="list"
        role="listbox"
        aria-label="Models"
        tabindex=${models.length ? 0 : -1}
        ?hidden=${!models.length}
        style="height:min(var(--hangar-list-height, 24rem), ${models.length * ROW + 2}px)"
        aria-activedescendant=${models.length ? `row-${active}` : nothing}
        @scroll=${(e: Event) => (this.top = (e.target as HTMLElement).scrollTop)}
        @keydown=${this.onKey}
      >
        <div class="spacer" style="height:${models.length * ROW}px">
          ${models.slice(first, last).map((m, i) => this.row(m, first + i, first + i === active, models.length))}
        </div>
      </div>
    `;
  }

  private row(m: ModelSummary, index: number, active: boolean, size: number) {
    return html`<div
      id="row-${index}"
      part=${active ? 'row row-active' : 'row'}
      role="option"
      aria-selected=${active ? 'true' : 'false'}
      aria-posinset=${index + 1}
      aria-setsize=${size}
      style="transform:translateY(${index * ROW}px)"
      @click=${() => this.pick(index)}
    >
      <span class="name">${m.name}</span>
      <span class="meta muted">${m.namespace}${m.task ? ` · ${m.task}` : ''}${m.description ? ` · ${m.description}` : ''}</span>
    </div>`;
  }

  private emptyText(): string {
    if (this.query.trim()) return `No model matches "${this.query.trim()}". Clear the search to see every model.`;
    return this.source?.label === 'this browser'
      ? 'No models yet. Create one with hangar.newModel({ namespace, name }) or in the Hangar app.'
      : 'No models in this namespace yet. Push one with the API (POST /namespaces/{ns}/models) or sync a browser registry.';
  }

  static override styles = [
    baseStyles,
    css`
      .search {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 0.5rem;
        align-items: center;
      }
      .search input {
        flex: 1 1 12rem;
        min-width: 0;
      }
      .status {
        margin: 0.4rem 0;
        font-size: 0.85em;
      }
      [part~='list'] {
        position: relative;
        overflow-y: auto;
        border: 1px solid var(--hangar-border, #c9ced8);
        border-radius: var(--hangar-radius, 6px);
        contain: strict;
      }
      .spacer {
        position: relative;
      }
      [role='option'] {
        position: absolute;
        inset: 0 0 auto 0;
        height: ${ROW}px;
        box-sizing: border-box;
        padding: 0.35rem 0.75rem;
        display: flex;
        flex-direction: column;
        justify-content: center;
        border-bottom: 1px solid var(--hangar-border, #e3e6ec);
        cursor: pointer;
        overflow: hidden;
      }
      [role='option']:hover {
        background: var(--hangar-hover, #f3f5f9);
      }
      [part~='row-active'] {
        background: var(--hangar-active, #e4ecfd);
      }
      [part~='list']:focus-visible [part~='row-active'] {
        outline: 2px solid var(--hangar-focus, #2f6fed);
        outline-offset: -2px;
      }
      .name {
        font-weight: 600;
      }
      .name,
      .meta {
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .meta {
        font-size: 0.85em;
      }
    `,
  ];
}
