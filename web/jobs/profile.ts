import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { cellText, columnOf, DISTINCT_KEPT, MISSING, type Column, type Table } from './csv.ts';
import type { ColumnReport, DataReport, DroppedRows } from './protocol.ts';

// Column typing and profiling (DESIGN §1 "Data report"): what each column holds, what training
// does with it, which rows it leaves out. Pure functions over a parsed `Table`.

const invalid = (message: string, details?: Record<string, unknown>) => new HangarError(ErrorCode.InvalidDataset, message, details);

/** How a profiled column is read: the typed values training encodes from. */
export interface ProfiledColumn {
  report: ColumnReport;
  /** Numeric and boolean columns: each row's value, NaN where missing (or, in a numeric column, not a number). */
  numbers?: Float64Array;
  /** The grid `numbers` lie on, when they can be counted on one (see `gridOf`). */
  grid?: Grid;
  /** `numbers` counted on `grid`, every row, and how many are present: kept when the grid has no more steps than the column has rows. */
  counted?: { counts: Int32Array; present: number };
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

/**
 * Numbers that are each a whole number of `1 / unit`, from `low / unit` over `span` such steps:
 * few enough steps to count the numbers on (one count per step), which gives their median and how
 * many differ in one pass over them, without sorting or hashing.
 */
export interface Grid {
  low: number;
  unit: number;
  span: number;
}

/** Steps a grid may have per number counted on it (and at least `GRID_MIN`): its counts take 16 bytes per number. */
const GRID_PER_NUMBER = 4;
const GRID_MIN = 4096;

/**
 * The grid numbers from `min` to `max` lie on when each is a plain decimal of at most `decimals`
 * places (`Column.decimals`; -1: unknown), if it is narrow enough for `count` of them. Each such
 * number is a whole number of 10^-decimals, found exactly by rounding while under 2^50; and
 * dividing that whole number by 10^decimals gives back the very double it came from (both exact,
 * one rounding of the same quotient).
 */
export function gridOf(min: number, max: number, count: number, decimals: number): Grid | undefined {
  if (decimals < 0 || decimals > 15 || count === 0) return undefined;
  const unit = 10 ** decimals;
  if (!(Math.max(-min, max) * unit < 2 ** 50)) return undefined;
  const low = Math.round(min * unit);
  const span = Math.round(max * unit) - low + 1;
  return span <= Math.max(GRID_MIN, count * GRID_PER_NUMBER) ? { low, unit, span } : undefined;
}

/** Median of `values` at `rows`, NaN skipped (0 when none are present), and whether any was NaN. */
export function medianAt(values: Float64Array, rows: ArrayLike<number>, scratch = new Scratch()): { median: number; missing: boolean } {
  const present = scratch.values(rows.length);
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const v = values[rows[i]!]!;
    if (v !== v) continue;
    present[n++] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { median: median(present.subarray(0, n), min, max), missing: n < rows.length };
}

/** Buckets of the histogram `median` finds the middle in. */
const BUCKETS = 4096;
const histogram = new Int32Array(BUCKETS);

/**
 * The median of numbers (no NaN) from `min` to `max`, reordering them; 0 when there are none. The
 * same as the middle of them sorted, without sorting: a histogram over the values' range (its
 * buckets in the order of their values) finds the bucket holding the middle, and only that
 * bucket's values are searched with Hoare's selection. Few numbers, or a range too wide or too
 * narrow to split, are searched whole.
 */
function median(a: Float64Array, min: number, max: number): number {
  const n = a.length;
  if (n === 0) return 0;
  // The upper middle's rank; when `n` is even, the lower middle is the greatest value before it.
  const k = n >> 1;
  const scale = BUCKETS / (max - min);
  // Searched whole unless split: the values to search, how many values lie below them, and (when needed) the greatest of those.
  let searched = a;
  let before = 0;
  let below = -Infinity;
  if (n >= BUCKETS && scale > 0 && scale < Infinity) {
    const top = BUCKETS - 1;
    histogram.fill(0);
    for (let i = 0; i < n; i++) {
      const b = ((a[i]! - min) * scale) | 0;
      histogram[b < top ? b : top]!++;
    }
    let middle = 0;
    while (before + histogram[middle]! <= k) before += histogram[middle++]!;
    // An even count whose upper middle is its bucket's smallest value: the lower middle is the greatest below the bucket.
    if (n % 2 === 0 && before === k) {
      for (let i = 0; i < n; i++) {
        const v = a[i]!;
        if (Math.min(((v - min) * scale) | 0, top) < middle && v > below) below = v;
      }
    }
    // The middle bucket's values to the front (each place is written only once it has been read).
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      if (Math.min(((v - min) * scale) | 0, top) === middle) a[m++] = v;
    }
    searched = a.subarray(0, m);
  }
  const j = k - before;
  const upper = select(searched, j);
  if (n % 2) return upper;
  // The greatest value left of the upper middle one (in the buckets below when it is its bucket's smallest).
  let lower = below;
  for (let i = 0; i < j; i++) if (searched[i]! > lower) lower = searched[i]!;
  return (lower + upper) / 2;
}

/**
 * The median of `n` numbers counted on `grid` (`counts`: how many at each step), how many differ,
 * and whether all are whole. (Each from a walk of its own along the grid: a short loop that
 * returns a number is compiled as one, where a long one that builds an object after it is left.)
 */
export function gridFigures(counts: Int32Array, grid: Grid, n: number): { median: number; distinct: number; integers: boolean } {
  const { low, unit, span } = grid;
  // The ranks (from 0) of the lower and upper middle: the same one when `n` is odd.
  const upper = n >> 1;
  const lower = n % 2 ? upper : upper - 1;
  const valueOfRank = (rank: number) => (low + stepOfRank(counts, span, rank)) / unit;
  return {
    median: n === 0 ? 0 : (valueOfRank(lower) + valueOfRank(upper)) / 2,
    distinct: countedSteps(counts, span),
    integers: unit === 1 || firstStepOff(counts, low, unit, span) === span,
  };
}

/** The step of the number of rank `rank` (from 0) among those counted: -1 past the last. */
function stepOfRank(counts: Int32Array, span: number, rank: number): number {
  for (let i = 0, seen = 0; i < span; i++) {
    seen += counts[i]!;
    if (seen > rank) return i;
  }
  return -1;
}

/** How many steps have a count. */
function countedSteps(counts: Int32Array, span: number): number {
  let steps = 0;
  for (let i = 0; i < span; i++) if (counts[i] !== 0) steps++;
  return steps;
}

/** The first step with a count that is not a whole number (`low + step` not a multiple of `unit`); `span` when there is none. */
function firstStepOff(counts: Int32Array, low: number, unit: number, span: number): number {
  for (let i = 0; i < span; i++) if (counts[i] !== 0 && (low + i) % unit !== 0) return i;
  return span;
}

/** The `k`-th smallest of `a` (from 0), moving the smaller ones before it and the others after (Hoare's selection). */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // The median of three as the pivot.
    const mid = (lo + hi) >> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * Working memory the profiling of one table reuses from column to column: the present numbers of
 * a column, and the sets counting the different ones. Each grows to the largest column.
 */
export class Scratch {
  private numbers = new Float64Array(0);
  /** Hash set slots: a number, or NaN where the slot is free (no present value is NaN). */
  private slots = new Float64Array(0);
  /** Bit set of whole numbers, by their distance from the smallest. */
  private bits = new Int32Array(0);
  /** Counts on a grid. */
  private grid = new Int32Array(0);
  private readonly one = new Float64Array(1);
  private readonly words = new Uint32Array(this.one.buffer);

  /** How many of `values` (NaN skipped) lie at each step of `grid`, counted into `counts` (all 0). */
  countAll(values: Float64Array, grid: Grid, counts = this.counts(grid.span)): Int32Array {
    const { low, unit } = grid;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === v) counts[Math.round(v * unit) - low]!++;
    }
    return counts;
  }

  /** How many of `values` at `rows` lie at each step of `grid`, and how many are present (not NaN). */
  countAt(values: Float64Array, rows: ArrayLike<number>, grid: Grid): { counts: Int32Array; present: number } {
    const counts = this.counts(grid.span);
    return { counts, present: countRows(values, rows, grid, counts, 1) };
  }

  /** `span` counts, each 0. */
  counts(span: number): Int32Array {
    if (this.grid.length < span) this.grid = new Int32Array(Math.max(span, this.grid.length * 2));
    else this.grid.fill(0, 0, span);
    return this.grid;
  }

  /** Room for `n` numbers. */
  values(n: number): Float64Array {
    if (this.numbers.length < n) this.numbers = new Float64Array(n);
    return this.numbers;
  }

  /**
   * How many different numbers `values` (no NaN) holds, -0 and 0 being one. Whole numbers from
   * `min` to `max` (when `whole`), or numbers of at most `decimals` decimal places (each then a
   * whole number of 10^-decimals, found exactly by rounding while under 2^50), over a range of at
   * most 64 such units per value, go in a bit set; others in an open-addressing hash set on their
   * bits, grown with the count of different ones (not the count of values), so a column of few
   * different numbers is counted in a small set that stays in the processor's cache.
   */
  distinct(values: Float64Array, min = -Infinity, max = Infinity, whole = false, decimals = -1): number {
    const n = values.length;
    if (n === 0) return 0;
    const unit = whole ? 1 : decimals > 0 ? 10 ** decimals : 0;
    if (unit > 0 && (max - min) * unit < n * 64 && (whole || Math.max(-min, max) * unit < 2 ** 50)) {
      const low = Math.round(min * unit);
      const words = Math.floor((Math.round(max * unit) - low) / 32) + 1;
      if (this.bits.length < words) this.bits = new Int32Array(words);
      else this.bits.fill(0, 0, words);
      const bits = this.bits;
      let distinct = 0;
      for (let i = 0; i < n; i++) {
        const d = Math.round(values[i]! * unit) - low;
        const w = (d / 32) | 0;
        const bit = 1 << (d - w * 32);
        const word = bits[w]!;
        if ((word & bit) === 0) {
          bits[w] = word | bit;
          distinct++;
        }
      }
      return distinct;
    }
    let size = 1024;
    while (size < n * 2 && size < 16384) size *= 2;
    let slots = this.table(size);
    let mask = size - 1;
    let distinct = 0;
    const { one, words } = this;
    for (let i = 0; i < n; i++) {
      const v = values[i]! + 0; // -0 + 0 is 0
      one[0] = v;
      // MurmurHash3's finalizer over both words.
      let h = words[0]! ^ Math.imul(words[1]!, 0x9e3779b1);
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      let k = (h ^ (h >>> 16)) & mask;
      for (;;) {
        const s = slots[k]!;
        if (s === v) break;
        if (s !== s) {
          slots[k] = v;
          distinct++;
          // Kept at most half full: past that, four times the room, every number placed again.
          if (distinct * 2 > size && size < n * 2) {
            const old = slots.slice(0, size);
            size *= 4;
            mask = size - 1;
            slots = this.table(size);
            for (let j = 0; j < old.length; j++) {
              const o = old[j]!;
              if (o !== o) continue;
              one[0] = o;
              let g = words[0]! ^ Math.imul(words[1]!, 0x9e3779b1);
              g = Math.imul(g ^ (g >>> 16), 0x85ebca6b);
              g = Math.imul(g ^ (g >>> 13), 0xc2b2ae35);
              let q = (g ^ (g >>> 16)) & mask;
              while (slots[q] === slots[q]) q = (q + 1) & mask;
              slots[q] = o;
            }
          }
          break;
        }
        k = (k + 1) & mask;
      }
    }
    return distinct;
  }

  /** `size` free hash set slots. */
  private table(size: number): Float64Array {
    if (this.slots.length < size) this.slots = new Float64Array(Math.max(size, this.slots.length * 2));
    const slots = this.slots;
    slots.fill(NaN, 0, size);
    return slots;
  }
}

/** Adds `by` to `counts` at the step of `grid` of each value at `rows` that is present (not NaN); returns how many were. */
export function countRows(values: Float64Array, rows: ArrayLike<number>, grid: Grid, counts: Int32Array, by: 1 | -1): number {
  const { low, unit } = grid;
  let present = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = values[rows[i]!]!;
    if (v !== v) continue;
    counts[Math.round(v * unit) - low]! += by;
    present++;
  }
  return present;
}

/** The grid of yes/no as 1/0. */
const BOOLEAN_GRID: Grid = { low: 0, unit: 1, span: 2 };

/** The figures of a column's `count` present numbers that lie on no grid: copied out, counted in a set, the median selected. */
function presentFigures(numbers: Float64Array, count: number, min: number, max: number, decimals: number, scratch: Scratch): { median: number; distinct: number; integers: boolean } {
  const present = scratch.values(count).subarray(0, count);
  let integers = true;
  for (let i = 0, k = 0; i < numbers.length; i++) {
    const v = numbers[i]!;
    if (v !== v) continue;
    present[k++] = v;
    if (integers && !Number.isInteger(v)) integers = false;
  }
  const distinct = scratch.distinct(present, min, max, integers, decimals);
  return { median: median(present, min, max), distinct, integers };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** One column's type and figures, from its cells (before any choice of target or features). */
export function profileColumn(name: string, cells: Column | readonly (string | null)[], decimalComma: boolean, scratch = new Scratch()): ProfiledColumn {
  const column = Array.isArray(cells) ? columnOf(cells, decimalComma) : (cells as Column);
  const n = column.rows;
  const { missing, nonNumeric } = column;
  const present = n - missing;
  const base = { name, missing, feature: false };
  if (present === 0) return { report: { ...base, type: 'empty', distinct: 0, action: 'ignore', reason: 'every value is missing' } };

  if (nonNumeric <= present * STRAY_TEXT_SHARE && nonNumeric < present) {
    // Numeric (a few stray words, such as "unknown", count as missing).
    const { numbers, min, max } = column;
    const count = present - nonNumeric;
    const grid = gridOf(min, max, count, column.decimals);
    const counted = grid && grid.span <= n ? { counts: scratch.countAll(numbers, grid, new Int32Array(grid.span)), present: count } : undefined;
    const { distinct, median: mid, integers } = grid ? gridFigures(counted?.counts ?? scratch.countAll(numbers, grid), grid, count) : presentFigures(numbers, count, min, max, column.decimals, scratch);
    const figures = { min, median: mid, max };
    const gaps = missing + nonNumeric;
    const report = { ...base, missing: gaps, distinct, ...figures };
    if (distinct === 1) return { report: { ...report, type: 'constant', action: 'ignore', reason: `one value (${min}) in every row: nothing to learn from` } };
    const unique = distinct === count && count >= ID_MIN_ROWS;
    const consecutive = figures.max - figures.min === count - 1;
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
      ...(grid && { grid }),
      ...(counted && { counted }),
    };
  }

  // Text: the distinct values (up to a bound) and how often each appears, as read.
  const { texts, counts, capped } = column;
  const distinct = texts.length;
  const report = { ...base, distinct };
  if (distinct === 1) {
    return { report: { ...report, type: 'constant', action: 'ignore', reason: `one value (${JSON.stringify(texts[0])}) in every row: nothing to learn from` } };
  }
  const booleans = texts.map(booleanValue);
  if (!booleans.includes(undefined)) {
    const values = new Float64Array(n);
    const codes = column.codes;
    for (let r = 0; r < n; r++) {
      const code = codes[r]!;
      values[r] = code >= 0 ? booleans[code]! : NaN;
    }
    return {
      report: {
        ...report,
        type: 'boolean',
        action: missing > 0 ? 'impute' : 'use',
        reason: missing > 0 ? `yes/no as 1/0; ${plural(missing, 'missing value')} filled with the most common one, and flagged` : 'yes/no as 1/0',
      },
      numbers: values,
      grid: BOOLEAN_GRID,
    };
  }
  if (texts.every((t) => DATE.test(t))) return { report: { ...report, type: 'date', action: 'ignore', reason: 'dates: not used as a feature' } };
  const vocabulary = LIMITS.categoricalVocabulary;
  if (capped || (distinct === present && present >= ID_MIN_ROWS) || (distinct > vocabulary && distinct > present / 2)) {
    const what = distinct === present ? 'every value differs' : `${capped ? 'over ' : ''}${distinct} distinct values in ${present} rows`;
    return { report: { ...report, type: 'identifier', action: 'ignore', reason: `${what}: an identifier or free text, not a category` } };
  }
  const top = texts
    .map((v, k) => [v, counts[k]!] as const)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, vocabulary);
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
  const targetColumn = table.data[t]!;
  const targetCodes = targetColumn.codes;
  const rows: number[] = [];
  const missingLines: number[] = [];
  let missingTargets = 0;
  for (let r = 0; r < table.rowCount; r++) {
    if (targetCodes[r] !== MISSING) rows.push(r);
    else {
      missingTargets++;
      if (missingLines.length < 10) missingLines.push(table.lines[r]!);
    }
  }
  if (rows.length === 0) throw invalid(`The target "${target}" has no value in any row.`, { column: target });
  let y: (string | number)[];
  // A target of texts (each kept): its classes are the column's texts, each in some row that has a target, counted as read.
  let labels: Column | undefined;
  if (kind === 'number' || targetColumn.nonNumeric === 0) {
    const targetNumbers = targetColumn.numbers;
    y = rows.map((r) => {
      const v = targetNumbers[r]!;
      if (v !== v) {
        const text = cellText(targetColumn, r);
        throw invalid(
          `The target "${target}" is not numeric (${JSON.stringify(text)} on ${table.source === 'csv' ? 'line' : 'row'} ${table.lines[r]}): a regressor predicts numbers; train a tabular-classifier to predict categories.`,
          { column: target, row: table.lines[r], value: text },
        );
      }
      return v;
    });
  } else {
    if (targetColumn.capped) {
      throw invalid(`The target "${target}" has over ${DISTINCT_KEPT.toLocaleString('en')} distinct values: too many classes to predict.`, { column: target });
    }
    y = rows.map((r) => cellText(targetColumn, r)!);
    if (targetColumn.numberTexts) labels = targetColumn;
  }
  const distinctTargets = labels ? labels.texts.length : new Set(y.map(String)).size;
  if (distinctTargets < 2) {
    throw invalid(
      `The target "${target}" has one value (${JSON.stringify(y[0])}) in every row${missingTargets ? ' that has one' : ''}: there is nothing to predict${kind === 'class' ? '; a classifier needs at least two classes' : ''}.`,
      { column: target, value: y[0] },
    );
  }

  const scratch = new Scratch();
  const columns = table.columns.map((name, c) => {
    const profiled = profileColumn(name, table.data[c]!, table.decimalComma, scratch);
    const report = profiled.report;
    if (c === t) {
      report.action = 'target';
      report.reason = kind === 'class' ? `${plural(distinctTargets, 'class')} to predict` : 'a number to predict';
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
    if (labels) {
      const { texts, counts } = labels;
      texts.forEach((text, k) => (classes[text] = counts[k]!));
    } else for (const label of y) classes[String(label)] = (classes[String(label)] ?? 0) + 1;
    report.classes = classes;
  }
  return { report, columns, rows, y };
}
