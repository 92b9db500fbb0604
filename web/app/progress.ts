import { html, type TemplateResult } from 'lit';
import { bytes } from './errors.ts';

/** How far work measured in bytes has got; null before the first report. */
export type ByteProgress = { loaded: number; total: number } | null;

/**
 * A live status line for work measured in bytes: a bar (moving without a value until the first
 * report) and the sentence, then "3.1 MB of 40.0 MB".
 */
export function byteProgress(label: string, text: string, p: ByteProgress): TemplateResult {
  const bar = p ? html`<progress aria-label=${label} max=${p.total || 1} .value=${p.loaded}></progress>` : html`<progress aria-label=${label}></progress>`;
  return html`<p role="status">${bar} ${text}${p?.total ? ` ${bytes(p.loaded)} of ${bytes(p.total)}` : ''}</p>`;
}
