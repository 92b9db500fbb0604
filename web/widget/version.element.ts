// <hangar-version ref="ns/m/3">: one version — its fields, metadata, parameters and lineage
// (the `params` and `lineage` metadata keys training writes), a chart per metric, artifacts to
// download and checkpoints.
import { css, html, nothing, type PropertyDeclarations } from 'lit';
import type { ByteProgress } from '../client/read-body.ts';
import type { Artifact } from '../../shared/artifacts.ts';
import type { MetricSummary } from '../../shared/metrics.ts';
import { HangarElement, Watch } from './base.ts';
import { messageOf, type CheckpointSummary, type Target, type VersionDetail } from './source.ts';
import { baseStyles } from './styles.ts';

interface VersionView {
  version: VersionDetail;
  metrics: Record<string, MetricSummary>;
  artifacts: Artifact[];
  checkpoints: { items: CheckpointSummary[]; default: string | null };
}

const SPECIAL = ['params', 'lineage'];

const size = (n: number | null) =>
  n === null ? '—' : n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

export class HangarVersion extends HangarElement {
  static override properties: PropertyDeclarations = {
    x: { reflect: true },
    downloading: { state: true },
    downloaded: { state: true },
    downloadError: { state: true },
  };

  declare x: 'step' | 'time';
  declare private downloading?: string;
  /** Bytes of the artifact being downloaded that have arrived (none while they come from this browser). */
  declare private downloaded?: ByteProgress;
  declare private downloadError?: string;

  constructor() {
    super();
    this.x = 'step';
  }

  private readonly view = new Watch<VersionView>(
    this,
    () => [this.ref],
    (source) => {
      const ref = this.ref;
      if (!ref) throw new Error('Set the ref attribute to a version: ref="namespace/model/3".');
      return async () => {
        const version = await source.version(ref);
        const t = { namespace: version.namespace, model: version.model, number: version.number };
        const [metrics, artifacts, checkpoints] = await Promise.all([source.metrics(t), source.artifacts(t), source.checkpoints(t)]);
        return { version, metrics, artifacts, checkpoints };
      };
    },
  );

  /** Fetches an artifact's bytes (with the token, in server mode) and hands them to the browser as a download. */
  private async download(t: Target, a: Artifact): Promise<void> {
    if (!this.source) return;
    this.downloading = a.path;
    this.downloaded = undefined;
    this.downloadError = undefined;
    try {
      const blob = await this.source.readArtifact(t, a.path, (p) => (this.downloaded = p));
      const url = URL.createObjectURL(blob);
      const link = Object.assign(document.createElement('a'), { href: url, download: a.path.split('/').pop() ?? 'artifact' });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      this.downloadError = `Could not download ${a.path}: ${messageOf(err)}`;
    } finally {
      this.downloading = undefined;
      this.downloaded = undefined;
    }
  }

  override render() {
    const state = this.view.state;
    if (state.status === 'loading') return html`<p class="muted" part="status" role="status">Loading version…</p>`;
    if (state.status === 'error') return html`<p class="error" part="error" role="alert">${state.message}</p>`;
    const { version: v, metrics, artifacts, checkpoints } = state.value;
    const t = { namespace: v.namespace, model: v.model, number: v.number };
    const other = Object.entries(v.metadata).filter(([k]) => !SPECIAL.includes(k));
    return html`
      <header part="header">
        <h2>
          <button type="button" class="link" part="model-link" @click=${() => this.select({ ref: `${v.namespace}/${v.model}`, namespace: v.namespace, model: v.model })}>
            ${v.namespace}/${v.model}
          </button>
          · Version ${v.number}
          ${v.numberConfirmed ? nothing : html`<span class="badge" part="provisional" title="Numbered in this browser; a server may renumber it on sync">provisional</span>`}
          <span class="badge" part="status-badge">${v.status}</span>
        </h2>
        <dl>
          ${v.version ? html`<dt>Label</dt><dd>${v.version}</dd>` : nothing} ${v.name ? html`<dt>Name</dt><dd>${v.name}</dd>` : nothing}
          ${v.framework ? html`<dt>Framework</dt><dd>${v.framework}</dd>` : nothing}
          ${v.uniqueTags.length ? html`<dt>Aliases</dt><dd>${v.uniqueTags.join(', ')}</dd>` : nothing}
          <dt>Created</dt>
          <dd>${new Date(v.createdAt).toLocaleString()}</dd>
        </dl>
        ${v.description ? html`<p>${v.description}</p>` : nothing}
      </header>
      ${this.keyValues('Parameters', 'params', v.metadata.params)} ${this.keyValues('Lineage', 'lineage', v.metadata.lineage)}
      ${other.length ? this.keyValues('Metadata', 'metadata', Object.fromEntries(other)) : nothing}
      <section part="metrics" aria-labelledby="metrics-h">
        <h3 id="metrics-h">Metrics</h3>
        ${Object.keys(metrics).length
          ? Object.entries(metrics).map(
              ([key, s]) => html`<figure>
                <figcaption>${key} <span class="muted">last ${s.last.toPrecision(4)} · min ${s.min.toPrecision(4)} · max ${s.max.toPrecision(4)} · ${s.count} points</span></figcaption>
                <hangar-metrics-chart part="chart" exportparts="chart, controls, button" .source=${this.source} ref="${v.namespace}/${v.model}/${v.number}" keys=${key} x=${this.x}></hangar-metrics-chart>
              </figure>`,
            )
          : html`<p class="muted">No metrics logged yet.</p>`}
      </section>
      <section part="artifacts" aria-labelledby="artifacts-h">
        <h3 id="artifacts-h">Artifacts</h3>
        ${this.downloadError ? html`<p class="error" role="alert">${this.downloadError}</p>` : nothing}
        ${artifacts.length
          ? html`<ul>
              ${artifacts.map(
                (a) => html`<li part="artifact">
                  <span class="path">${a.path}</span>
                  <span class="muted">${a.fileType} · ${size(a.size)}</span>
                  ${a.url
                    ? html`<a href=${a.url} target="_blank" rel="noopener">Open ${a.path}</a>`
                    : html`<button type="button" part="button" ?disabled=${this.downloading === a.path} @click=${() => this.download(t, a)}>
                          ${this.downloading === a.path ? 'Downloading…' : html`Download <span class="sr-only">${a.path}</span>`}
                        </button>
                        ${this.downloading === a.path && this.downloaded?.total
                          ? html`<span role="status"
                              ><progress part="progress" max=${this.downloaded.total} .value=${this.downloaded.loaded} aria-label="Downloading ${a.path}"></progress>
                              ${size(this.downloaded.loaded)} of ${size(this.downloaded.total)}</span
                            >`
                          : nothing}`}
                </li>`,
              )}
            </ul>`
          : html`<p class="muted">No artifacts yet.</p>`}
      </section>
      <section part="checkpoints" aria-labelledby="checkpoints-h">
        <h3 id="checkpoints-h">Checkpoints</h3>
        ${checkpoints.items.length
          ? html`<ul>
              ${checkpoints.items.map(
                (c) => html`<li part="checkpoint">
                  <span class="path">${c.handle}</span>
                  ${c.handle === checkpoints.default ? html`<span class="badge">default</span>` : nothing}
                  <span class="muted">${new Date(c.createdAt).toLocaleString()}${c.files !== undefined ? ` · ${c.files} files` : ''}</span>
                </li>`,
              )}
            </ul>`
          : html`<p class="muted">No checkpoints.</p>`}
      </section>
    `;
  }

  private keyValues(title: string, part: string, value: unknown) {
    if (value === undefined || value === null) return nothing;
    const entries = typeof value === 'object' && !Array.isArray(value) ? Object.entries(value as Record<string, unknown>) : [['value', value] as const];
    return html`<section part=${part}>
      <h3>${title}</h3>
      <dl>
        ${entries.map(([k, v]) => html`<dt>${k}</dt><dd><code>${show(v)}</code></dd>`)}
      </dl>
    </section>`;
  }

  static override styles = [
    baseStyles,
    css`
      h2 {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.4rem;
      }
      .link {
        border: none;
        background: none;
        padding: 0;
        min-height: 0;
        color: var(--hangar-accent, #2456c7);
        text-decoration: underline;
        font-weight: inherit;
      }
      dl {
        display: grid;
        grid-template-columns: minmax(5rem, max-content) 1fr;
        gap: 0.2rem 0.75rem;
        margin: 0.3rem 0;
      }
      dt {
        color: var(--hangar-muted, #5b6475);
      }
      dd {
        margin: 0;
        min-width: 0;
        overflow-wrap: anywhere;
      }
      code {
        white-space: pre-wrap;
        font-size: 0.9em;
      }
      figure {
        margin: 0 0 1rem;
      }
      figcaption {
        margin-bottom: 0.3rem;
      }
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
        display: grid;
        gap: 0.4rem;
      }
      li {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem;
      }
      .path {
        font-family: var(--hangar-mono, ui-monospace, monospace);
        overflow-wrap: anywhere;
      }
    `,
  ];
}
