import { html, type TemplateResult } from 'lit';
import type { ByteProgress } from '../client/index.ts';
import { bytes } from './errors.ts';

/**
 * A live status line for work measured in bytes: a bar (moving without a value until the first
 * report) and the sentence, then "3.1 MB of 40.0 MB".
 */
export function byteProgress(label: string, text: string, p: ByteProgress | null): TemplateResult {
  const bar = p ? html`<progress aria-label=${label} max=${p.total || 1} .value=${p.loaded}></progress>` : html`<progress aria-label=${label}></progress>`;
  return html`<p role="status">${bar} ${text}${p?.total ? ` ${bytes(p.loaded)} of ${bytes(p.total)}` : ''}</p>`;
}
