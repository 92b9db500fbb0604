import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { parseNumber, type Table } from './csv.ts';
import type { ColumnReport, DataReport, DroppedRows } from './protocol.ts';

// Column typing and profiling (DESIGN §1 "Data report"): what each column holds, what training
// does with it, which rows it leaves out. Pure functions over a parsed `Table`.

const invalid = (message: string, details?: Record<string, unknown>) => new HangarError(ErrorCode.InvalidDataset, message, details);

/** How a profiled column is read: the typed values training encodes from. */
export interface ProfiledColumn {
  report: ColumnReport;
  /** Numeric and boolean columns: each row's value, NaN where missing (or, in a numeric column, not a number). */
  numbers?: Float64Array;
}

/** A profile: the report, and what training needs from it. */
export interface Profile {
  report: DataReport;
  /** Each column's profile, in table order. */
  columns: ProfiledColumn[];
  /** The rows training uses (those with a target), as table row indexes. */
  rows: number[];
  /** The target of each row in `rows`: a class label or a number. */
  y: (string | number)[];
}

/** Column names that say "identifier" when the values are whole numbers, each different. */
const ID_NAME = /(^|[^a-z])(id|ids|key|index|idx|uuid|guid)$|^(id|row|rownum|row_number|index|key|uuid|guid)([^a-z]|$)/i;
/** camelCase identifiers: `userId`, `orderID`. */
const CAMEL_ID = /[a-z](Id|ID|Key|Index)$/;
const idName = (name: string) => ID_NAME.test(name) || CAMEL_ID.test(name);
const BOOLEAN_TRUE = new Set(['true', 'yes', 'y', 't']);
const BOOLEAN_FALSE = new Set(['false', 'no', 'n', 'f']);
const DATE =
  /^(\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?|\d{4}\/\d{1,2}\/\d{1,2})$/;
/** Distinct text values counted before a column is taken for free text or identifiers. */
const DISTINCT_COUNTED = 100_000;
/** A mostly numeric column: at most this share of its present cells may be other text (then treated as missing). */
const STRAY_TEXT_SHARE = 0.05;
/** Columns with fewer present values than this are never taken for identifiers. */
const ID_MIN_ROWS = 20;

/** A boolean cell as 1 or 0; undefined when it is not one. */
export function booleanValue(text: string | null): number | undefined {
  if (text === null) return undefined;
  const t = text.toLowerCase();
  return BOOLEAN_TRUE.has(t) ? 1 : BOOLEAN_FALSE.has(t) ? 0 : undefined;
}

/** The median of values already sorted. */
const sortedMedian = (sorted: Float64Array) => {
  const n = sorted.length;
  if (n === 0) return 0;
  return n % 2 ? sorted[(n - 1) >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
};

/** Median of `values` at `rows`, NaN skipped; 0 when none are present. */
export function median(values: Float64Array, rows: readonly number[]): number {
  const present = new Float64Array(rows.length);
  let n = 0;
  for (const r of rows) {
    const v = values[r]!;
    if (v === v) present[n++] = v;
  }
  return sortedMedian(present.subarray(0, n).sort());
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** One column's type and figures, from its cells (before any choice of target or features). */
export function profileColumn(name: string, cells: readonly (string | null)[], decimalComma: boolean): ProfiledColumn {
  const n = cells.length;
  let missing = 0;
  let nonNumeric = 0;
  const numbers = new Float64Array(n);
  // Past this many cells that are not numbers the column is text: the rest are not parsed.
  const strayMax = n * STRAY_TEXT_SHARE;
  let r = 0;
  for (; r < n && nonNumeric <= strayMax; r++) {
    const text = cells[r]!;
    if (text === null) {
      missing++;
      numbers[r] = NaN;
      continue;
    }
    const v = parseNumber(text, decimalComma);
    if (v === undefined) {
      nonNumeric++;
      numbers[r] = NaN;
    } else numbers[r] = v;
  }
  for (; r < n; r++) if (cells[r] === null) missing++;
  const present = n - missing;
  const base = { name, missing, feature: false };
  if (present === 0) return { report: { ...base, type: 'empty', distinct: 0, action: 'ignore', reason: 'every value is missing' } };

  if (nonNumeric <= present * STRAY_TEXT_SHARE && nonNumeric < present) {
    // Numeric (a few stray words, such as "unknown", count as missing).
    const values = new Float64Array(n);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = numbers[i]!;
      if (v === v) values[count++] = v;
    }
    const sorted = values.subarray(0, count).sort();
    let distinct = sorted.length > 0 ? 1 : 0;
    let integers = true;
    for (let i = 0; i < sorted.length; i++) {
      if (i > 0 && sorted[i] !== sorted[i - 1]) distinct++;
      if (integers && !Number.isInteger(sorted[i])) integers = false;
    }
    const figures = { min: sorted[0]!, median: sortedMedian(sorted), max: sorted[sorted.length - 1]! };
    const gaps = missing + nonNumeric;
    const report = { ...base, missing: gaps, distinct, ...figures };
    if (distinct === 1) return { report: { ...report, type: 'constant', action: 'ignore', reason: `one value (${sorted[0]}) in every row: nothing to learn from` } };
    const unique = distinct === sorted.length && sorted.length >= ID_MIN_ROWS;
    const consecutive = figures.max - figures.min === sorted.length - 1;
    if (integers && unique && (idName(name) || consecutive)) {
      return { report: { ...report, type: 'identifier', action: 'ignore', reason: `whole numbers, each different${consecutive ? ' and consecutive' : ''}: an identifier, not a measurement` } };
    }
    const stray = nonNumeric > 0 ? ` (${plural(nonNumeric, 'cell')} not a number counted as missing)` : '';
    return {
      report: {
        ...report,
        type: 'numeric',
        action: gaps > 0 ? 'impute' : 'use',
        reason: gaps > 0 ? `numeric; ${plural(gaps, 'missing value')} filled with the training median, and flagged${stray}` : 'numeric',
      },
      numbers,
    };
  }

  // Text: count values (up to a bound).
  const counts = new Map<string, number>();
  let capped = false;
  let booleans = true;
  let dates = true;
  for (let r = 0; r < n; r++) {
    const text = cells[r]!;
    if (text === null) continue;
    const seen = counts.get(text);
    if (seen !== undefined) counts.set(text, seen + 1);
    else if (counts.size < DISTINCT_COUNTED) {
      counts.set(text, 1);
      if (booleans && booleanValue(text) === undefined) booleans = false;
      if (dates && !DATE.test(text)) dates = false;
    } else capped = true;
  }
  const distinct = counts.size;
  const report = { ...base, distinct };
  if (distinct === 1) {
    const [only] = counts.keys();
    return { report: { ...report, type: 'constant', action: 'ignore', reason: `one value (${JSON.stringify(only)}) in every row: nothing to learn from` } };
  }
  if (booleans) {
    const values = new Float64Array(n);
    for (let r = 0; r < n; r++) values[r] = booleanValue(cells[r]!) ?? NaN;
    return {
      report: {
        ...report,
        type: 'boolean',
        action: missing > 0 ? 'impute' : 'use',
        reason: missing > 0 ? `yes/no as 1/0; ${plural(missing, 'missing value')} filled with the most common one, and flagged` : 'yes/no as 1/0',
      },
      numbers: values,
    };
  }
  if (dates) return { report: { ...report, type: 'date', action: 'ignore', reason: 'dates: not used as a feature' } };
  const vocabulary = LIMITS.categoricalVocabulary;
  if (capped || (distinct === present && present >= ID_MIN_ROWS) || (distinct > vocabulary && distinct > present / 2)) {
    const what = distinct === present ? 'every value differs' : `${capped ? 'over ' : ''}${distinct} distinct values in ${present} rows`;
    return { report: { ...report, type: 'identifier', action: 'ignore', reason: `${what}: an identifier or free text, not a category` } };
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, vocabulary);
  const rest = distinct - top.length;
  const parts = [`${plural(distinct, 'value')}, one-hot`];
  if (rest > 0) parts.push(`the ${plural(rest, 'rarest value')} share an "other" slot`);
  if (missing > 0) parts.push(`${plural(missing, 'missing value')} get a slot of their own`);
  return { report: { ...report, type: 'categorical', action: 'one-hot', reason: parts.join('; '), values: top.map(([v]) => v) } };
}

/** Which kind of target a module predicts. */
export type TargetKind = 'class' | 'number';

/** The target kind of a module id. */
export const targetKind = (module: string): TargetKind => (module === 'tabular-regressor' ? 'number' : 'class');

/**
 * Profiles a table for training `module` to predict `target` from `features` (default: every
 * usable column). Refused with `invalid-dataset`, naming the column: no such target; a target that
 * is missing everywhere, constant, or (for a regressor) not numeric; no usable feature left.
 */
export function profileTable(table: Table, target: string, module: string, features?: readonly string[]): Profile {
  const t = table.columns.indexOf(target);
  if (t < 0) {
    throw invalid(`There is no target column "${target}"; the columns are ${table.columns.join(', ')}.`, { target, columns: table.columns });
  }
  if (features) {
    const unknown = features.filter((c) => !table.columns.includes(c));
    if (unknown.length > 0) throw invalid(`No such feature column: ${unknown.join(', ')}.`, { unknown, columns: table.columns });
    if (features.includes(target)) throw invalid(`The target "${target}" cannot also be a feature.`, { target });
  }
  const kind = targetKind(module);

  // The target: rows without one are left out.
  const targetCells = table.cells[t]!;
  const rows: number[] = [];
  const missingLines: number[] = [];
  let missingTargets = 0;
  for (let r = 0; r < table.rowCount; r++) {
    if (targetCells[r] !== null) rows.push(r);
    else {
      missingTargets++;
      if (missingLines.length < 10) missingLines.push(table.lines[r]!);
    }
  }
  if (rows.length === 0) throw invalid(`The target "${target}" has no value in any row.`, { column: target });
  let y: (string | number)[];
  if (kind === 'number') {
    y = rows.map((r) => {
      const v = parseNumber(targetCells[r]!, table.decimalComma);
      if (v === undefined) {
        throw invalid(
          `The target "${target}" is not numeric (${JSON.stringify(targetCells[r])} on ${table.source === 'csv' ? 'line' : 'row'} ${table.lines[r]}): a regressor predicts numbers; train a tabular-classifier to predict categories.`,
          { column: target, row: table.lines[r], value: targetCells[r] },
        );
      }
      return v;
    });
  } else {
    const numeric = rows.every((r) => parseNumber(targetCells[r]!, table.decimalComma) !== undefined);
    y = rows.map((r) => (numeric ? parseNumber(targetCells[r]!, table.decimalComma)! : targetCells[r]!));
  }
  const distinctTargets = new Set(y.map(String));
  if (distinctTargets.size < 2) {
    throw invalid(
      `The target "${target}" has one value (${JSON.stringify(y[0])}) in every row${missingTargets ? ' that has one' : ''}: there is nothing to predict${kind === 'class' ? '; a classifier needs at least two classes' : ''}.`,
      { column: target, value: y[0] },
    );
  }

  const columns = table.columns.map((name, c) => {
    const profiled = profileColumn(name, table.cells[c]!, table.decimalComma);
    const report = profiled.report;
    if (c === t) {
      report.action = 'target';
      report.reason = kind === 'class' ? `${plural(distinctTargets.size, 'class')} to predict` : 'a number to predict';
      if (missingTargets > 0) report.reason += `; ${plural(missingTargets, 'row')} without one left out`;
    } else if (report.action !== 'ignore') {
      if (features && !features.includes(name)) {
        report.action = 'ignore';
        report.reason = `switched off (${report.reason})`;
      } else report.feature = true;
    }
    return profiled;
  });
  const used = columns.filter((c) => c.report.feature).map((c) => c.report.name);
  if (used.length === 0) {
    const why = columns.filter((c) => c.report.action === 'ignore').map((c) => `"${c.report.name}": ${c.report.reason}`);
    throw invalid(`No usable feature column is left to predict "${target}" from${why.length ? ` (${why.join('; ')})` : ''}.`, { target, columns: why });
  }

  const dropped: DroppedRows[] = [];
  if (table.malformed.count > 0) {
    dropped.push({ reason: 'malformed row', count: table.malformed.count, lines: table.malformed.lines, ...(table.malformed.first && { detail: table.malformed.first }) });
  }
  if (missingTargets > 0) dropped.push({ reason: 'missing target', count: missingTargets, lines: missingLines, detail: `no value for "${target}"` });
  const report: DataReport = {
    format: 1,
    module,
    target,
    delimiter: table.delimiter,
    decimalComma: table.decimalComma,
    rows: table.rowCount,
    usedRows: rows.length,
    dropped,
    columns: columns.map((c) => c.report),
    features: used,
  };
  if (kind === 'class') {
    const classes: Record<string, number> = {};
    for (const label of y) classes[String(label)] = (classes[String(label)] ?? 0) + 1;
    report.classes = classes;
  }
  return { report, columns, rows, y };
}
