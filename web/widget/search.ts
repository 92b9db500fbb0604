// The search box's text → a filter in the API's language (shared/filter.ts). Text that reads
// as a filter is sent as written (the source parses it and says what is wrong, if anything);
// plain text means `name LIKE '%text%'`.

/**
 * An operator or quote, a keyword between spaces, or a dotted key. Names hold no spaces, so
 * `nothing-like-this` stays plain text.
 */
const FILTERISH = /[=<>()'"]|\s(AND|OR|NOT|LIKE|ILIKE|IN|IS)\s|^NOT\s|^(tags|params|metrics)\./i;

/** The filter to send for the search box's text; undefined lists everything. */
export function searchFilter(text: string): string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  if (FILTERISH.test(t)) return t;
  // LIKE's own characters are made literal.
  return `name LIKE '%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%'`;
}
