import { html, LitElement, nothing } from 'lit';
import type { DataReport, Hangar, Job, JobProgress, VersionHandle } from '../../client/index.ts';
import '../data-report.element.ts';
import { describe } from '../errors.ts';
import '../progress-chart.element.ts';
import type { EpochPoint } from '../progress-chart.element.ts';
import { versionPath } from '../router.ts';
import { pageStyles } from '../styles.ts';
import { csvHeader } from '../csv-header.ts';

const MODULES = [
  ['tabular-classifier', 'Tabular classifier (predicts a class)'],
  ['tabular-regressor', 'Tabular regressor (predicts a number)'],
] as const;

/** A run started from this page: kept across navigations, so coming back shows it still going. */
interface Run {
  job: Job<VersionHandle>;
  epochs: number;
  points: EpochPoint[];
  state: 'running' | 'done' | 'failed' | 'canceled';
  version: VersionHandle | null;
  error: string | null;
  listeners: Set<() => void>;
}
let current: Run | null = null;

/** Train a tabular model on a CSV file in a Web Worker, with a live progress bar and chart, and a cancel button. */
export class TrainPage extends LitElement {
  static override properties = {
    hangar: { attribute: false },
    columns: { state: true },
    file: { state: true },
    module: { state: true },
    target: { state: true },
    report: { state: true },
    reportError: { state: true },
    off: { state: true },
    fileError: { state: true },
    formError: { state: true },
    run: { state: true },
    tick: { state: true },
  };
  declare hangar: Hangar;
  declare columns: string[];
  declare file: File | null;
  declare module: string;
  declare target: string;
  /** The data report of the chosen file, target and module; null while none is made. */
  declare report: DataReport | null;
  declare reportError: string | null;
  /** Feature columns switched off in the report. */
  declare off: Set<string>;
  declare fileError: string | null;
  declare formError: string | null;
  declare run: Run | null;
  declare tick: number;
  static override styles = pageStyles;

  constructor() {
    super();
    this.columns = [];
    this.file = null;
    this.module = MODULES[0][0];
    this.target = '';
    this.report = null;
    this.reportError = null;
    this.off = new Set();
    this.fileError = null;
    this.formError = null;
    this.run = current;
    this.tick = 0;
  }

  private rerender = () => (this.tick += 1);

  override connectedCallback(): void {
    super.connectedCallback();
    this.run?.listeners.add(this.rerender);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.run?.listeners.delete(this.rerender);
  }

  private async onFile(event: Event): Promise<void> {
    const file = (event.target as HTMLInputElement).files?.[0];
    this.columns = [];
    this.fileError = null;
    this.file = null;
    this.report = null;
    this.reportError = null;
    this.off = new Set();
    if (!file) return;
    try {
      this.columns = await csvHeader(file);
      this.file = file;
      this.target = this.columns[this.columns.length - 1]!;
      await this.makeReport();
    } catch (err) {
      this.fileError = describe(err);
    }
  }

  /** The data report of the chosen file, target and module, made in a training worker. */
  private reporting = 0;
  private async makeReport(): Promise<void> {
    if (!this.file || !this.target) return;
    const asked = ++this.reporting;
    this.report = null;
    this.reportError = null;
    try {
      const report = await this.hangar.trainer('local').report(this.module, { data: this.file, target: this.target });
      if (asked === this.reporting) this.report = report;
    } catch (err) {
      if (asked === this.reporting) this.reportError = describe(err);
    }
  }

  private onTarget(event: Event): void {
    this.target = (event.target as HTMLSelectElement).value;
    this.off = new Set();
    void this.makeReport();
  }

  private onModule(event: Event): void {
    this.module = (event.target as HTMLSelectElement).value;
    void this.makeReport();
  }

  private onSwitch(event: CustomEvent<{ column: string; on: boolean }>): void {
    const off = new Set(this.off);
    if (event.detail.on) off.delete(event.detail.column);
    else off.add(event.detail.column);
    this.off = off;
  }

  private start(event: SubmitEvent): void {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const file = data.get('csv');
    this.formError = null;
    if (!(file instanceof File) || file.size === 0) {
      this.formError = 'Choose a CSV file to train on.';
      return;
    }
    if (this.fileError) {
      this.formError = this.fileError;
      return;
    }
    if (this.reportError) {
      this.formError = this.reportError;
      return;
    }
    const features = this.report ? this.report.features.filter((f) => !this.off.has(f)) : undefined;
    if (features && features.length === 0) {
      this.formError = 'Every feature column is switched off: switch at least one on.';
      return;
    }
    const num = (name: string) => Number(data.get(name));
    const hidden = String(data.get('hidden') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    const params = {
      ...{ epochs: num('epochs'), hidden, learningRate: num('learningRate'), batchSize: num('batchSize'), validationSplit: num('validationSplit') },
      ...(features && this.off.size > 0 && { features }),
    };
    let job: Job<VersionHandle>;
    try {
      job = this.hangar.trainer('local').train(String(data.get('module')), {
        data: file,
        target: String(data.get('target')),
        params,
        saveAs: { namespace: String(data.get('namespace')).trim(), model: String(data.get('model')).trim() },
      });
    } catch (err) {
      this.formError = describe(err);
      return;
    }
    const run: Run = { job, epochs: params.epochs, points: [], state: 'running', version: null, error: null, listeners: new Set([this.rerender]) };
    const changed = () => run.listeners.forEach((l) => l());
    job.onProgress((p: JobProgress) => {
      run.epochs = p.epochs;
      run.points = [...run.points, { epoch: p.epoch, metrics: p.metrics }];
      changed();
    });
    job.result().then(
      (version) => {
        run.state = 'done';
        run.version = version;
        changed();
      },
      async (err: unknown) => {
        const info = await job.info().catch(() => null);
        run.state = info?.status === 'canceled' ? 'canceled' : 'failed';
        run.error = run.state === 'canceled' ? null : describe(err);
        changed();
      },
    );
    current = run;
    this.run = run;
  }

  private renderRun(run: Run) {
    const last = run.points[run.points.length - 1];
    const summary = last ? Object.entries(last.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' · ') : '';
    return html`
      <section aria-labelledby="progress-heading">
        <h2 id="progress-heading">Progress</h2>
        <progress id="bar" max=${run.epochs} .value=${last?.epoch ?? 0} aria-label="Training progress"></progress>
        <p role="status" aria-live="polite">
          ${run.state === 'running' ? (last ? `Epoch ${last.epoch} of ${run.epochs}: ${summary}` : 'Starting the training worker…') : nothing}
          ${run.state === 'done' && run.version
            ? html`Trained version ${run.version.number} of ${run.version.namespace}/${run.version.model}${summary ? `: ${summary}` : ''}.`
            : nothing}
          ${run.state === 'canceled' ? 'Training was canceled; the version it started is marked failed.' : nothing}
        </p>
        ${run.error ? html`<p class="error" role="alert">Training failed: ${run.error}</p>` : nothing}
        <app-progress-chart .points=${run.points}></app-progress-chart>
        <div class="actions">
          ${run.state === 'running' ? html`<button class="secondary" @click=${() => run.job.cancel()}>Cancel training</button>` : nothing}
          ${run.state === 'done' && run.version
            ? html`<a href=${versionPath(run.version.namespace, run.version.model, run.version.number)}>Open the trained version</a>
                <a href="/predict?ref=${encodeURIComponent(`${run.version.namespace}/${run.version.model}/${run.version.number}`)}">Predict with it</a>`
            : nothing}
        </div>
      </section>
    `;
  }

  override render() {
    const running = this.run?.state === 'running';
    return html`
      <h1>Train a model</h1>
      <p class="muted">Training runs in a Web Worker in this browser, offline too. Each run makes a new version of the model.</p>
      <form @submit=${this.start} aria-describedby=${this.formError ? 'form-error' : nothing}>
        <fieldset>
          <legend>What to train</legend>
          <label>Module
            <select name="module" @change=${this.onModule}>${MODULES.map(([id, label]) => html`<option value=${id}>${label}</option>`)}</select>
          </label>
          <div class="row">
            <label>Namespace <input name="namespace" required value="local" autocomplete="off" /></label>
            <label>Model name <input name="model" required autocomplete="off" placeholder="iris" /></label>
          </div>
        </fieldset>
        <fieldset>
          <legend>Data</legend>
          <label>CSV file (first row: column names; commas, semicolons or tabs)
            <input name="csv" type="file" accept=".csv,.tsv,.txt,text/csv,text/tab-separated-values" required @change=${this.onFile} aria-describedby="file-error" />
          </label>
          ${this.fileError ? html`<p id="file-error" class="error" role="alert">${this.fileError}</p>` : nothing}
          <label>Column to predict
            <select name="target" required ?disabled=${this.columns.length === 0} @change=${this.onTarget}>
              ${this.columns.length === 0 ? html`<option value="">Choose a CSV file first</option>` : nothing}
              ${this.columns.map((c) => html`<option value=${c} ?selected=${c === this.target}>${c}</option>`)}
            </select>
          </label>
          ${this.file && !this.report && !this.reportError ? html`<p class="muted" role="status">Reading the data…</p>` : nothing}
          ${this.reportError ? html`<p id="report-error" class="error" role="alert">${this.reportError}</p>` : nothing}
          ${this.report
            ? html`<app-data-report .report=${this.report} .off=${this.off} switches @switch=${this.onSwitch}></app-data-report>`
            : nothing}
        </fieldset>
        <fieldset>
          <legend>Parameters</legend>
          <div class="row">
            <label>Epochs <input name="epochs" type="number" min="1" max="10000" step="1" value="50" required /></label>
            <label>Hidden layers (units, comma-separated) <input name="hidden" value="16" inputmode="numeric" /></label>
          </div>
          <div class="row">
            <label>Learning rate <input name="learningRate" type="number" min="0.000001" step="any" value="0.01" required /></label>
            <label>Batch size <input name="batchSize" type="number" min="1" step="1" value="32" required /></label>
            <label>Validation split <input name="validationSplit" type="number" min="0" max="0.9" step="0.05" value="0.2" required /></label>
          </div>
        </fieldset>
        ${this.formError ? html`<p id="form-error" class="error" role="alert">${this.formError}</p>` : nothing}
        <div class="actions"><button type="submit" ?disabled=${running}>Start training</button></div>
      </form>
      ${this.run ? this.renderRun(this.run) : nothing}
    `;
  }
}

customElements.define('app-train-page', TrainPage);
