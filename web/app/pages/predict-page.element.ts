import { html, LitElement, nothing } from 'lit';
import type { Hangar, PredictOutput } from '../../client/index.ts';
import { describe } from '../errors.ts';
import { pageStyles } from '../styles.ts';

type Row = Record<string, string | number>;

/** What a tabular version takes and gives, from its `preprocessing.json`. */
interface Inputs {
  ref: string;
  features: string[];
  target: string;
  /** Preprocessing format 2: how each feature is read (choice lists for categories and yes/no); absent for format 1 (numbers only). */
  columns?: { name: string; kind: 'numeric' | 'boolean' | 'categorical'; vocabulary?: string[] }[];
}

/** Predict with a version chosen by reference: one row typed in a form, or many from a CSV; a table out. */
export class PredictPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    refs: { state: true },
    inputs: { state: true },
    rows: { state: true },
    output: { state: true },
    error: { state: true },
    busy: { state: true },
  };
  declare hangar: Hangar;
  declare refs: string[];
  declare inputs: Inputs | null;
  declare rows: Row[];
  declare output: PredictOutput | null;
  declare error: string | null;
  declare busy: string | null;
  static override styles = pageStyles;

  constructor() {
    super();
    this.refs = [];
    this.inputs = null;
    this.rows = [];
    this.output = null;
    this.error = null;
    this.busy = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.listRefs();
    const ref = new URLSearchParams(location.search).get('ref');
    if (ref) void this.choose(ref);
  }

  /** Every alias and version here, for the reference field's suggestions. */
  private async listRefs(): Promise<void> {
    const refs: string[] = [];
    for (const m of await this.hangar.models()) {
      const base = `${m.namespace}/${m.name}`;
      for (const alias of Object.keys(await m.aliases())) refs.push(`${base}@${alias}`);
      for (const v of await m.versions()) if (v.status === 'ready') refs.push(`${base}/${v.number}`);
    }
    this.refs = refs;
  }

  private async choose(ref: string): Promise<void> {
    this.error = null;
    this.inputs = null;
    this.output = null;
    this.rows = [];
    ref = ref.trim();
    if (!ref) return;
    this.busy = 'Finding the version…';
    try {
      const version = await this.hangar.find(ref);
      const paths = (await version.artifacts()).map((a) => a.path);
      if (!paths.includes('model/preprocessing.json')) {
        throw new Error(`${ref} is not a tabular model (it has no preprocessing.json): this page predicts with models trained here.`);
      }
      const prep = JSON.parse(await (await version.readArtifact('model/preprocessing.json')).text()) as {
        format: number;
        features: string[];
        target: string;
        columns?: Inputs['columns'];
      };
      this.inputs = { ref, features: prep.features, target: prep.target, ...(prep.format === 2 && prep.columns && { columns: prep.columns }) };
    } catch (err) {
      this.error = describe(err);
    } finally {
      this.busy = null;
    }
  }

  private onChoose(event: SubmitEvent): void {
    event.preventDefault();
    void this.choose(String(new FormData(event.target as HTMLFormElement).get('ref') ?? ''));
  }

  private onRow(event: SubmitEvent): void {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const row: Row = {};
    // Format 2 takes cells as written (an empty one is filled in); format 1 takes numbers.
    for (const f of this.inputs!.features) row[f] = this.inputs!.columns ? String(data.get(f) ?? '') : Number(data.get(f));
    void this.predict([row]);
  }

  private async onCsv(event: Event): Promise<void> {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    this.error = null;
    this.busy = 'Reading the CSV…';
    try {
      const { default: Papa } = await import('papaparse');
      const parsed = Papa.parse<Row>(await file.text(), { header: true, dynamicTyping: true, skipEmptyLines: true });
      if (parsed.errors.length) throw new Error(`This CSV does not parse: ${parsed.errors[0]!.message} (row ${(parsed.errors[0]!.row ?? 0) + 1}).`);
      const missing = this.inputs!.features.filter((f) => !parsed.meta.fields?.includes(f));
      // A format-2 model fills in a missing column (and says so); a format-1 model needs every one.
      if (missing.length && !this.inputs!.columns) throw new Error(`This CSV lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} the model needs (${this.inputs!.features.join(', ')}).`);
      if (parsed.data.length === 0) throw new Error('This CSV has no data rows.');
      await this.predict(parsed.data);
    } catch (err) {
      this.error = describe(err);
    } finally {
      this.busy = null;
      input.value = '';
    }
  }

  private async predict(rows: Row[]): Promise<void> {
    this.error = null;
    this.output = null;
    this.busy = `Predicting ${rows.length} row${rows.length > 1 ? 's' : ''}…`;
    try {
      const features = this.inputs!.features;
      const input = rows.map((r) => Object.fromEntries(features.map((f) => [f, r[f] ?? ''])));
      this.output = await this.hangar.predictor('local').predict(this.inputs!.ref, input).result();
      this.rows = rows;
    } catch (err) {
      this.error = describe(err);
    } finally {
      this.busy = null;
    }
  }

  override render() {
    const inputs = this.inputs;
    return html`
      <h1>Predict</h1>
      <form @submit=${this.onChoose}>
        <div class="row">
          <label><span>Version (<code>namespace/model@alias</code> or <code>namespace/model/number</code>)</span>
            <input name="ref" list="refs" required autocomplete="off" .value=${inputs?.ref ?? new URLSearchParams(location.search).get('ref') ?? ''} placeholder="local/iris@production" />
          </label>
          <button type="submit">Use this version</button>
        </div>
        <datalist id="refs">${this.refs.map((r) => html`<option value=${r}></option>`)}</datalist>
      </form>
      ${this.refs.length === 0 && !inputs ? html`<p class="empty">No trained versions yet. <a href="/train">Train a model</a> first, then predict with it here.</p>` : nothing}
      ${this.busy ? html`<p role="status">${this.busy}</p>` : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${inputs
        ? html`
            <h2>One row</h2>
            <form @submit=${this.onRow}>
              <div class="row">${inputs.columns ? inputs.columns.map((c) => this.field(c)) : inputs.features.map((f) => html`<label>${f} <input name=${f} type="number" step="any" required /></label>`)}</div>
              ${inputs.columns ? html`<p class="muted">Leave a value out and the model fills it in as training did (the median, or "missing").</p>` : nothing}
              <div class="actions"><button type="submit">Predict ${inputs.target}</button></div>
            </form>
            <h2>Many rows</h2>
            <label>A CSV file with the columns ${inputs.features.join(', ')}${inputs.columns ? ' (missing cells and columns are filled in)' : ''}
              <input type="file" accept=".csv,text/csv" @change=${this.onCsv} />
            </label>
          `
        : nothing}
      ${this.output && inputs ? this.table(inputs) : nothing}
    `;
  }

  /** One feature's input in the one-row form: a choice list for categories and yes/no, a number field otherwise. */
  private field(c: NonNullable<Inputs['columns']>[number]) {
    if (c.kind === 'categorical') {
      return html`<label>${c.name}
        <select name=${c.name} aria-label=${c.name}>
          <option value="">(missing)</option>
          ${[...(c.vocabulary ?? [])].sort().map((v) => html`<option value=${v}>${v}</option>`)}
        </select>
      </label>`;
    }
    if (c.kind === 'boolean') {
      return html`<label>${c.name}
        <select name=${c.name} aria-label=${c.name}><option value="">(missing)</option><option value="yes">yes</option><option value="no">no</option></select>
      </label>`;
    }
    return html`<label>${c.name} <input name=${c.name} inputmode="decimal" autocomplete="off" placeholder="(missing)" /></label>`;
  }

  private table(inputs: Inputs) {
    const out = this.output!;
    if (!('predictions' in out)) return html`<p>The model answered tensors, which this page does not show.</p>`;
    const probability = (i: number) => (out.probabilities?.[i] ? Math.max(...out.probabilities[i]) : null);
    return html`
      <h2 id="predictions">Predictions</h2>
      <div class="table-wrap">
        <table aria-labelledby="predictions">
          <thead>
            <tr>${inputs.features.map((f) => html`<th scope="col">${f}</th>`)}<th scope="col">${inputs.target} (predicted)</th>${out.probabilities ? html`<th scope="col">Probability</th>` : nothing}</tr>
          </thead>
          <tbody>
            ${out.predictions.map(
              (p, i) => html`<tr>
                ${inputs.features.map((f) => html`<td>${this.rows[i]?.[f]}</td>`)}
                <td><strong>${typeof p === 'number' ? p.toFixed(4) : p}</strong></td>
                ${out.probabilities ? html`<td>${probability(i)?.toFixed(3)}</td>` : nothing}
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${out.imputed?.length
        ? html`<p id="imputed">Filled in:
            ${out.imputed.map((c) => `row ${c.row + 1} ${c.column} (${c.reason}) → ${typeof c.used === 'number' ? Number(c.used.toFixed(4)) : c.used}`).join('; ')}.</p>`
        : nothing}
      <p class="muted">Ran on the ${out.backend ?? 'default'} backend.</p>
    `;
  }
}

customElements.define('app-predict-page', PredictPage);
