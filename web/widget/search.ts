// The search box's text → a filter in the API's language (shared/filter.ts). A filter
// expression is used as written; plain text means `name LIKE '%text%'`.
import { parseFilter } from '../../shared/filter.ts';
import { MODEL_FILTER_FIELDS } from '../../shared/models.ts';

/**
 * Text that reads as a filter someone is writing: an operator or quote, a keyword between
 * spaces, or a dotted key. Names hold no spaces, so `nothing-like-this` stays plain text.
 */
const FILTERISH = /[=<>()'"]|\s(AND|OR|NOT|LIKE|ILIKE|IN|IS)\s|^NOT\s|^(tags|params|metrics)\./i;

/** `{ filter }` to send (undefined: list everything), or `{ error }` to show. */
export function searchFilter(text: string): { filter?: string; error?: string } {
  const t = text.trim();
  if (!t) return {};
  try {
    parseFilter(t, MODEL_FILTER_FIELDS);
    return { filter: t };
  } catch (err) {
    if (FILTERISH.test(t)) return { error: (err as Error).message };
  }
  // LIKE's own characters and the quote are made literal.
  const literal = t.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/'/g, "''");
  return { filter: `name LIKE '%${literal}%'` };
}
