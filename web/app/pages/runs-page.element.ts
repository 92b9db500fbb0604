import { css, html, LitElement, nothing } from 'lit';
import type { Hangar } from '../../client/index.ts';
import { LiveQuery } from '../live-query.ts';
import { preloadWhenIdle } from '../pages.ts';
import { comparePath, navigate, runPath } from '../router.ts';
import { cell, experimentRuns, keysOf, runLabel, showRuns, type RunRow } from '../runs.ts';
import { pageStyles, runStatusStyles } from '../styles.ts';

/** An experiment's runs: status, params and final metrics, a filter box in the API's filter language, and runs picked to compare. */
export class RunsPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    namespace: { attribute: false },
    experiment: { attribute: false },
    filter: { state: true },
    runs: { state: true },
    error: { state: true },
    selected: { state: true },
  };
  declare hangar: Hangar;
  declare namespace: string;
  declare experiment: string;
  declare filter: string;
  declare runs: RunRow[] | null;
  declare error: string | null;
  /** Numbers of the runs picked for comparison. */
  declare selected: Set<number>;
  private preloaded = false;
  protected readonly live = new LiveQuery(this, {
    query: () => experimentRuns(this.hangar, this.namespace, this.experiment, this.filter),
    next: ({ runs }) => {
      this.runs = runs;
      showRuns(this.namespace, this.experiment, runs);
      this.error = null;
    },
    args: () => [this.namespace, this.experiment, this.filter],
  });
  static override styles = [
    pageStyles,
    runStatusStyles,
    css`
      td.num { font-variant-numeric: tabular-nums; }
    `,
  ];

  constructor() {
    super();
    this.filter = '';
    this.runs = null;
    this.error = null;
    this.selected = new Set();
  }

  protected override updated(): void {
    // A listed run is what the user opens next, or compares: load those pages' modules meanwhile.
    if (this.preloaded || !this.runs?.length) return;
    this.preloaded = true;
    const n = this.runs[0]!.version.number;
    preloadWhenIdle(runPath(this.namespace, this.experiment, n), comparePath(this.namespace, this.experiment, [n]));
  }

  private applyFilter(event: SubmitEvent): void {
    event.preventDefault();
    this.filter = String(new FormData(event.target as HTMLFormElement).get('filter') ?? '');
  }

  private toggle(n: number, on: boolean): void {
    const next = new Set(this.selected);
    if (on) next.add(n);
    else next.delete(n);
    this.selected = next;
  }

  override render() {
    const runs = this.runs;
    const params = runs ? keysOf(runs.map((r) => r.params)) : [];
    const metrics = runs ? keysOf(runs.map((r) => r.metrics)) : [];
    const picked = [...this.selected].sort((a, b) => a - b);
    return html`
      <h1>${this.namespace}/${this.experiment}</h1>
      <p><a href="/experiments">All experiments</a></p>
      <form id="filter-form" @submit=${this.applyFilter}>
        <label>Filter runs
          <input name="filter" .value=${this.filter} autocomplete="off" placeholder="params.lr < 0.01 AND metrics.loss < 0.3 AND status = 'ready'" />
        </label>
        <div class="actions">
          <button type="submit">Filter</button>
          <button type="button" class="secondary" ?disabled=${picked.length < 2} @click=${() => navigate(comparePath(this.namespace, this.experiment, picked))}>Compare ${picked.length} runs</button>
        </div>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${runs === null
        ? this.error
          ? nothing
          : html`<p role="status">Loading runs…</p>`
        : runs.length === 0
          ? html`<p class="empty">${this.filter ? 'No run matches this filter.' : 'No runs yet.'}</p>`
          : html`<div class="table-wrap">
              <table id="runs">
                <thead>
                  <tr>
                    <th scope="col"><span class="muted">Compare</span></th>
                    <th scope="col">Run</th>
                    <th scope="col">Status</th>
                    ${params.map((k) => html`<th scope="col" title="param">${k}</th>`)}
                    ${metrics.map((k) => html`<th scope="col" title="final metric">${k}</th>`)}
                  </tr>
                </thead>
                <tbody>
                  ${runs.map(
                    (r) => html`<tr data-run=${r.version.number}>
                      <td><input type="checkbox" aria-label="Compare ${runLabel(r.version)}" .checked=${this.selected.has(r.version.number)} @change=${(e: Event) => this.toggle(r.version.number, (e.target as HTMLInputElement).checked)} /></td>
                      <td><a href=${runPath(this.namespace, this.experiment, r.version.number)}>${runLabel(r.version)}</a></td>
                      <td class="status-${r.status}">${r.status}</td>
                      ${params.map((k) => html`<td>${cell(r.params[k])}</td>`)}
                      ${metrics.map((k) => html`<td class="num">${cell(r.metrics[k])}</td>`)}
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`}
    `;
  }
}

customElements.define('app-runs-page', RunsPage);
