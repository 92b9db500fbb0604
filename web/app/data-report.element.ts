import { html, LitElement, nothing } from 'lit';
import type { ColumnReport, DataReport } from '../client/index.ts';
import { pageStyles } from './styles.ts';

const TYPES: Record<ColumnReport['type'], string> = {
  numeric: 'numeric',
  categorical: 'categorical',
  boolean: 'yes/no',
  identifier: 'identifier-like',
  date: 'date-like',
  constant: 'constant',
  empty: 'empty',
};

const separatorName = (d: string) => (d === '\t' ? 'tabs' : d === ';' ? 'semicolons' : d === '|' ? 'bars' : 'commas');

/**
 * A data report (what each column holds and what training does with it, the rows left out), as a
 * table. With `switches`, each feature column has an on/off switch: toggling one sends `switch`
 * ({ column, on }); `off` lists those switched off.
 */
export class DataReportView extends LitElement {
  static override properties = {
    report: { attribute: false },
    off: { attribute: false },
    switches: { type: Boolean },
  };
  declare report: (DataReport & { omittedColumns?: number }) | null;
  declare off: Set<string>;
  declare switches: boolean;
  static override styles = pageStyles;

  constructor() {
    super();
    this.report = null;
    this.off = new Set();
    this.switches = false;
  }

  private toggle(column: string, on: boolean): void {
    this.dispatchEvent(new CustomEvent('switch', { detail: { column, on }, bubbles: true, composed: true }));
  }

  private action(c: ColumnReport) {
    if (this.off.has(c.name)) return html`<strong>ignore</strong>: switched off`;
    return html`<strong>${c.action}</strong>: ${c.reason}`;
  }

  override render() {
    const r = this.report;
    if (!r) return nothing;
    const used = r.features.filter((f) => !this.off.has(f)).length;
    return html`
      <section aria-labelledby="report-heading" id="data-report">
        <h3 id="report-heading">Data report</h3>
        <p id="report-summary">
          ${r.rows} rows read (separated by ${separatorName(r.delimiter)}${r.decimalComma ? ', decimal commas accepted' : ''}); ${r.usedRows} used to
          predict <strong>${r.target}</strong> from ${used} feature column${used === 1 ? '' : 's'}.
          ${r.classes ? html`Classes: ${Object.entries(r.classes).map(([k, n]) => `${k} (${n})`).join(', ')}.` : nothing}
        </p>
        ${r.dropped.length > 0
          ? html`<ul id="report-dropped">
              ${r.dropped.map(
                (d) => html`<li>
                  ${d.count} row${d.count === 1 ? '' : 's'} left out: ${d.reason}${d.detail ? ` (${d.detail})` : ''}, line${d.lines.length === 1 ? '' : 's'}
                  ${d.lines.join(', ')}${d.count > d.lines.length ? '…' : ''}
                </li>`,
              )}
            </ul>`
          : html`<p class="muted">No rows left out.</p>`}
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                ${this.switches ? html`<th scope="col">Use</th>` : nothing}
                <th scope="col">Column</th>
                <th scope="col">Type</th>
                <th scope="col">Missing</th>
                <th scope="col">Distinct</th>
                <th scope="col">What training does</th>
              </tr>
            </thead>
            <tbody>
              ${r.columns.map(
                (c) => html`<tr data-column=${c.name}>
                  ${this.switches
                    ? html`<td>
                        ${c.feature
                          ? html`<input
                              type="checkbox"
                              aria-label=${`Use ${c.name}`}
                              .checked=${!this.off.has(c.name)}
                              @change=${(e: Event) => this.toggle(c.name, (e.target as HTMLInputElement).checked)}
                            />`
                          : nothing}
                      </td>`
                    : nothing}
                  <th scope="row">${c.name}</th>
                  <td>${TYPES[c.type]}</td>
                  <td>${c.missing}</td>
                  <td>${c.distinct}</td>
                  <td style="white-space: normal">${this.action(c)}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>
        ${r.omittedColumns ? html`<p class="muted">${r.omittedColumns} more columns not used by training are not listed.</p>` : nothing}
      </section>
    `;
  }
}

customElements.define('app-data-report', DataReportView);
