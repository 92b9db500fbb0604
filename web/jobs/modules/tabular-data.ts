import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { LIMITS } from '../../../shared/limits.ts';
import { cell, MISSING, toNumber, UNKEPT_NUMBER, type Column, type Table } from '../csv.ts';
import { booleanValue, countRows, gridFigures, medianAt, Scratch, type Grid, type Profile } from '../profile.ts';
import type { ImputedCell, ModelFiles } from '../protocol.ts';
import { readJsonFile } from './tfjs-files.ts';

// What the tabular modules keep beside the network: which columns go in, how they are scaled,
// what comes out. Saved as preprocessing.json with the model, so a loaded model predicts from
// rows exactly as the trained one did.

/** The file of a tabular model that holds its `Preprocessing`, beside `model.json` and `weights.bin`. */
export const PREPROCESSING_JSON = 'preprocessing.json';

/** How rows become the network's input and its output becomes predictions: `preprocessing.json`. */
export type Preprocessing = PreprocessingV1 | PreprocessingV2;

/** Format 1: numeric features only, each one network input; a missing or non-numeric cell is refused. */
export interface PreprocessingV1 {
  /** Bumped when the layout changes. */
  format: 1;
  /** The module that wrote it, e.g. `tabular-classifier`. */
  module: string;
  /** The feature columns, in the order the network takes them. */
  features: string[];
  /** The column the model predicts. */
  target: string;
  /** Each feature becomes (value − mean) / std before it reaches the network. */
  scaling: { method: 'standardize'; mean: number[]; std: number[] };
  /** Classifiers: the label of each output unit. */
  labels?: (string | number)[];
  /** Regressors: the network predicts (target − mean) / std. */
  targetScaling?: { mean: number; std: number };
}

/** How one feature column becomes network inputs (format 2). */
export type ColumnPrep =
  /** One input, the value; a missing one is the training median, and (`missingFlag`) a second input is 1 where it was missing. */
  | { name: string; kind: 'numeric'; median: number; missingFlag: boolean }
  /** One input, yes/true as 1 and no/false as 0; a missing one is `fill` (the most common), flagged like a numeric one. */
  | { name: string; kind: 'boolean'; fill: number; missingFlag: boolean }
  /** One input per vocabulary value, then "other" (rare and unseen values), then (`missingSlot`) "missing". */
  | { name: string; kind: 'categorical'; vocabulary: string[]; missingSlot: boolean };

/**
 * Format 2: numeric, yes/no and categorical features, with missing values imputed. Everything
 * learned from the training rows (medians, vocabularies, scaling, labels) is here, so a loaded
 * model treats rows exactly as training did.
 */
export interface PreprocessingV2 extends Omit<PreprocessingV1, 'format'> {
  format: 2;
  /** How each feature (in `features` order) becomes inputs. */
  columns: ColumnPrep[];
  /** The network's inputs, in order: `age`, `age (missing)`, `island=Biscoe`, `island (other)`… `scaling` is per input. */
  inputs: string[];
  /** Whether `3,5` reads as 3.5 (data separated by `;` or tabs). */
  decimalComma: boolean;
}

/** How many network inputs a model takes. */
export const inputWidth = (prep: Preprocessing) => (prep.format === 2 ? prep.inputs.length : prep.features.length);

/** The input names of one column's slots. */
function slotNames(c: ColumnPrep): string[] {
  if (c.kind !== 'categorical') return c.missingFlag ? [c.name, `${c.name} (missing)`] : [c.name];
  return [...c.vocabulary.map((v) => `${c.name}=${v}`), `${c.name} (other)`, ...(c.missingSlot ? [`${c.name} (missing)`] : [])];
}

/**
 * The format-2 preprocessing of a profiled table, learned from the training rows only
 * (`trainRows`: positions in `profile.rows`): each feature's column (medians, the most common
 * yes/no, vocabularies), the network's inputs, and their standardization, each column's training
 * rows read once.
 *
 * The standardization is the one `fitScalingFlat` finds over `encodeTable`'s matrix, but for the
 * rounding of sums added in another order. A numeric input's values (32 bits, as the matrix holds
 * them; a missing one as its fill) are summed as their distances from the fill (the median, near
 * the mean: the sums stay small, and a missing value adds nothing), from the counts on the
 * column's grid when it has one; an input that is 0 or 1 (a one-hot slot, a missing flag) that is
 * 1 in a share p of the rows has mean p and deviation sqrt(p(1 − p)), from its count alone.
 */
export function fitPreprocessing(table: Table, profile: Profile, trainRows: readonly number[]): Pick<PreprocessingV2, 'columns' | 'inputs' | 'scaling'> {
  // Nothing learned depends on the rows' order: they are read in table order, the faster way through memory.
  const rows = inTableOrder(profile.rows, trainRows);
  const n = rows.length;
  // Where a column's counts over every row are at hand, the training rows' are those less the other rows' (usually far fewer).
  const others = otherRows(rows, table.rowCount);
  // Training sets of some size leave values seen once to the "other" slot, so it learns something.
  const minCount = n >= 50 ? 2 : 1;
  const scratch = new Scratch();
  const columns: ColumnPrep[] = [];
  // Each input's mean and sum of squared deviations, in input order.
  const mean: number[] = [];
  const squares: number[] = [];
  /** An input whose values' distances from `from` sum to `sum`, and their squares to `sum2`. */
  const spread = (from: number, sum: number, sum2: number) => {
    mean.push(from + sum / n);
    squares.push(Math.max(0, sum2 - (sum * sum) / n));
  };
  /** An input that is 1 in `ones` of the training rows and 0 in the others. */
  const twoValued = (ones: number) => {
    const m = ones / n;
    mean.push(m);
    squares.push(ones * (1 - m) * (1 - m) + (n - ones) * m * m);
  };
  profile.columns.forEach((col, c) => {
    const { report, numbers, grid } = col;
    if (!report.feature) return;
    const name = report.name;
    if (report.type === 'numeric' || report.type === 'boolean') {
      const counted = grid && (others && col.counted ? uncount(col.counted, numbers!, others, grid, scratch) : scratch.countAt(numbers!, rows, grid));
      const { median: mid, missing: missingFlag } = counted ? { median: gridFigures(counted.counts, grid, counted.present).median, missing: counted.present < n } : medianAt(numbers!, rows, scratch);
      const prep: ColumnPrep = report.type === 'numeric' ? { name, kind: 'numeric', median: mid, missingFlag } : { name, kind: 'boolean', fill: mid >= 0.5 ? 1 : 0, missingFlag };
      const fill = Math.fround(prep.kind === 'numeric' ? prep.median : prep.fill);
      let sum = 0;
      let sum2 = 0;
      let missing = 0;
      if (counted) {
        sum = gridSum(counted.counts, grid, fill, 1);
        sum2 = gridSum(counted.counts, grid, fill, 2);
        missing = n - counted.present;
      } else {
        for (let i = 0; i < n; i++) {
          const v = numbers![rows[i]!]!;
          if (v === v) {
            const d = Math.fround(v) - fill;
            sum += d;
            sum2 += d * d;
          } else missing++;
        }
      }
      columns.push(prep);
      spread(fill, sum, sum2);
      if (missingFlag) twoValued(missing);
      return;
    }
    const column = table.data[c]!;
    const { codes, texts } = column;
    // Each text's count in the training rows, and the training rows whose code is not a kept text:
    // missing, or (seldom) a text or number not kept.
    let counts: Int32Array;
    const strays: number[] = [];
    let missing = 0;
    if (others && column.missing + column.counts.reduce((a, b) => a + b, 0) === column.rows) {
      // Every row a kept text or missing: the column's counts less the other rows'.
      counts = Int32Array.from(column.counts);
      missing = column.missing - uncountCodes(codes, others, counts);
    } else {
      counts = new Int32Array(texts.length);
      for (let i = 0; i < n; i++) {
        const r = rows[i]!;
        const code = codes[r]!;
        if (code >= 0) counts[code]!++;
        else strays.push(r);
      }
    }
    const vocabulary = texts
      .map((v, k) => [v, counts[k]!] as const)
      .filter(([, count]) => count >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, LIMITS.categoricalVocabulary)
      .map(([v]) => v);
    const prep: ColumnPrep = { name, kind: 'categorical', vocabulary, missingSlot: missing + strays.length > 0 };
    columns.push(prep);
    // Each slot's count of training rows: the counts of the texts it takes, and the rows without one.
    const source = categorySource(prep, column, 0);
    const slots = new Int32Array(source.width);
    counts.forEach((count, code) => (slots[source.slots[code]!]! += count));
    slots[source.missing]! += missing;
    for (const r of strays) slots[slotAt(source, r)]!++;
    slots.forEach(twoValued);
  });
  return { columns, inputs: inputNames(columns), scaling: { method: 'standardize', mean, std: squares.map((v) => (v / n > 1e-12 ? Math.sqrt(v / n) : 1)) } };
}

/** The sum of the distances from `from` (`power` 1) or of their squares (`power` 2) of the numbers counted on `grid`, each rounded to 32 bits. */
function gridSum(counts: Int32Array, grid: Grid, from: number, power: 1 | 2): number {
  const { low, unit, span } = grid;
  let sum = 0;
  for (let i = 0; i < span; i++) {
    const k = counts[i]!;
    if (k === 0) continue;
    const d = Math.fround((low + i) / unit) - from;
    sum += power === 1 ? k * d : k * d * d;
  }
  return sum;
}

/** Takes the codes of the rows `others` off the counts of the texts they are; returns how many were not a text (missing). */
function uncountCodes(codes: Int32Array, others: Int32Array, counts: Int32Array): number {
  let missing = 0;
  for (let i = 0; i < others.length; i++) {
    const code = codes[others[i]!]!;
    if (code >= 0) counts[code]!--;
    else missing++;
  }
  return missing;
}

/** The rows of a table of `rowCount` rows that are not among `rows` (in table order, each once), in order; null when a row is there twice. */
function otherRows(rows: Int32Array, rowCount: number): Int32Array | null {
  const taken = new Uint8Array(rowCount);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (taken[r]) return null;
    taken[r] = 1;
  }
  const out = new Int32Array(rowCount - rows.length);
  for (let r = 0, k = 0; r < rowCount; r++) if (!taken[r]) out[k++] = r;
  return out;
}

/** The counts on `grid` of every row (`counted`) less those of the rows `others`: the counts of the rows that remain. */
function uncount(counted: { counts: Int32Array; present: number }, values: Float64Array, others: Int32Array, grid: Grid, scratch: Scratch): { counts: Int32Array; present: number } {
  const counts = scratch.counts(grid.span);
  counts.set(counted.counts);
  return { counts, present: counted.present - countRows(values, others, grid, counts, -1) };
}

/** The table rows at `positions` (indexes into `rows`, which is in table order), in table order. */
function inTableOrder(rows: readonly number[], positions: readonly number[]): Int32Array {
  const times = new Int32Array(rows.length);
  for (let i = 0; i < positions.length; i++) times[positions[i]!]!++;
  const out = new Int32Array(positions.length);
  let n = 0;
  for (let i = 0; i < times.length; i++) for (let t = times[i]!; t > 0; t--) out[n++] = rows[i]!;
  return out;
}

/** The network inputs of `columns`, in order. */
export const inputNames = (columns: readonly ColumnPrep[]) => columns.flatMap(slotNames);

/** Where one feature column's inputs come from: a profile's typed values, or a column's text codes. */
type Source =
  | { kind: 'number'; offset: number; numbers: Float64Array; fill: number; flag: boolean }
  | { kind: 'category'; offset: number; width: number; codes: Int32Array; column: Column; slots: Int32Array; index: Map<string, number>; missing: number; other: number };

/** Each feature column of `prep` as a `Source`, in input order. */
function sourcesOf(prep: Pick<PreprocessingV2, 'columns'>, table: Table, profile: Profile): Source[] {
  let offset = 0;
  return prep.columns.map((col): Source => {
    const c = table.columns.indexOf(col.name);
    if (col.kind !== 'categorical') {
      const source = { kind: 'number' as const, offset, numbers: profile.columns[c]!.numbers!, fill: col.kind === 'numeric' ? col.median : col.fill, flag: col.missingFlag };
      offset += col.missingFlag ? 2 : 1;
      return source;
    }
    const source = categorySource(col, table.data[c]!, offset);
    offset += source.width;
    return source;
  });
}

type CategorySource = Extract<Source, { kind: 'category' }>;

/** A categorical feature's inputs, from `offset` on, and where they come from in its column. */
function categorySource(col: Extract<ColumnPrep, { kind: 'categorical' }>, column: Column, offset: number): CategorySource {
  const index = new Map(col.vocabulary.map((v, k) => [v, k]));
  const other = col.vocabulary.length;
  const width = other + 1 + (col.missingSlot ? 1 : 0);
  // Each text's slot, by its code in the column.
  const slots = Int32Array.from(column.texts, (v) => index.get(v) ?? other);
  return { kind: 'category', offset, width, codes: column.codes, column, slots, index, missing: col.missingSlot ? other + 1 : other, other };
}

/** The slot of table row `r` in a categorical source. */
function slotAt(col: CategorySource, r: number): number {
  const code = col.codes[r]!;
  // A number whose text was not kept (a column of many numbers, given to a checkpoint that took it for categories): as written.
  return code >= 0 ? col.slots[code]! : code === MISSING ? col.missing : code === UNKEPT_NUMBER ? (col.index.get(String(col.column.numbers[r])) ?? col.other) : col.other;
}

/** Rows `encodeTable` writes at a time (about 128 KiB of a matrix of 128 inputs). */
const ENCODE_BLOCK = 256;

/**
 * The rows `rows` of a table as network inputs (format 2): a flat [rows, inputs] matrix, each
 * input standardized by `scaling` when given (else as it is). Numeric and yes/no columns are read
 * from the profile's typed values. Scaled here or by `scaleInPlace` afterwards, every value is the
 * same: each input is first rounded to 32 bits, as the matrix holds it.
 */
export function encodeTable(prep: Pick<PreprocessingV2, 'columns' | 'inputs'>, table: Table, profile: Profile, rows: readonly number[], scaling?: Preprocessing['scaling']): Float32Array {
  const width = prep.inputs.length;
  const out = new Float32Array(rows.length * width);
  const n = rows.length;
  const mean = scaling ? Float64Array.from(scaling.mean) : new Float64Array(width);
  const std = scaling ? Float64Array.from(scaling.std) : new Float64Array(width).fill(1);
  // An input at 0 and at 1 once scaled: every row starts as all zeros, then its values and hot slots are written.
  const zero = new Float32Array(width);
  const one = new Float64Array(width);
  for (let j = 0; j < width; j++) {
    zero[j] = (0 - mean[j]!) / std[j]!;
    one[j] = (1 - mean[j]!) / std[j]!;
  }
  const sources = sourcesOf(prep, table, profile);
  const numeric = sources.filter((s) => s.kind === 'number');
  const categorical = sources.filter((s): s is CategorySource => s.kind === 'category');
  // A missing value's input once scaled (its fill, rounded to 32 bits as the matrix holds it).
  const fills = Float64Array.from(numeric, (col) => (Math.fround(col.fill) - mean[col.offset]!) / std[col.offset]!);
  const zeroed = scaling !== undefined && zero.some((z) => z !== 0);
  // Written in blocks of rows that stay in the cache, column by column within a block: each
  // column's loop is short and the same for every row (a function of its own, so that it is
  // compiled as one rather than entered and left mid-loop).
  for (let start = 0; start < n; start += ENCODE_BLOCK) {
    const end = Math.min(n, start + ENCODE_BLOCK);
    if (zeroed) {
      // Every input of the block's rows at 0 first: the first row, then copied over the rest, doubling.
      const from = start * width;
      const to = end * width;
      out.set(zero, from);
      for (let filled = width; from + filled < to; filled *= 2) out.copyWithin(from + filled, from, from + Math.min(filled, to - from - filled));
    }
    for (let k = 0; k < numeric.length; k++) {
      const { offset: j, numbers, flag } = numeric[k]!;
      encodeNumbers(out, width, rows, start, end, numbers, j, mean[j]!, std[j]!, fills[k]!, flag ? one[j + 1]! : NaN);
    }
    for (let k = 0; k < categorical.length; k++) encodeCategories(out, width, rows, start, end, categorical[k]!, one);
  }
  return out;
}

/**
 * Rows `start` to `end` of a numeric input at offset `j` of each row of `out`: (value − m) / s, or
 * `fill` where missing, with the missing flag after it set to `flagged` (NaN: no flag).
 */
function encodeNumbers(out: Float32Array, width: number, rows: readonly number[], start: number, end: number, numbers: Float64Array, j: number, m: number, s: number, fill: number, flagged: number): void {
  for (let i = start, at = start * width + j; i < end; i++, at += width) {
    const v = numbers[rows[i]!]!;
    if (v === v) out[at] = (Math.fround(v) - m) / s;
    else {
      out[at] = fill;
      if (flagged === flagged) out[at + 1] = flagged;
    }
  }
}

/** Rows `start` to `end` of a categorical input: its hot slot in each row of `out`, at its value 1 scaled (`one`). */
function encodeCategories(out: Float32Array, width: number, rows: readonly number[], start: number, end: number, col: CategorySource, one: Float64Array): void {
  for (let i = start, at = start * width + col.offset; i < end; i++, at += width) {
    const slot = slotAt(col, rows[i]!);
    out[at + slot] = one[col.offset + slot]!;
  }
}

/**
 * Rows given for prediction as network inputs (format 2), not yet scaled. Never refuses a row: a
 * missing or non-numeric value is imputed, an unseen category goes to "other"; each such cell is
 * listed in `imputed`.
 */
export function encodeRows(prep: PreprocessingV2, rows: readonly Record<string, unknown>[]): { x: Float32Array; imputed: ImputedCell[] } {
  const width = prep.inputs.length;
  const x = new Float32Array(rows.length * width);
  const imputed: ImputedCell[] = [];
  rows.forEach((row, i) => {
    let offset = i * width;
    for (const col of prep.columns) {
      const given = row && typeof row === 'object' ? row[col.name] : undefined;
      const text = cell(given);
      if (col.kind !== 'categorical') {
        const v = col.kind === 'numeric' ? toNumber(given, prep.decimalComma) : (booleanValue(text) ?? (text === '1' ? 1 : text === '0' ? 0 : undefined));
        const fill = col.kind === 'numeric' ? col.median : col.fill;
        if (v === undefined) {
          imputed.push({ row: i, column: col.name, reason: text === null ? 'missing' : 'not a number', used: fill });
          x[offset] = fill;
          if (col.missingFlag) x[offset + 1] = 1;
        } else x[offset] = v;
        offset += col.missingFlag ? 2 : 1;
      } else {
        const other = col.vocabulary.length;
        let slot = text === null ? -1 : col.vocabulary.indexOf(text);
        if (text === null) {
          slot = col.missingSlot ? other + 1 : other;
          imputed.push({ row: i, column: col.name, reason: 'missing', used: col.missingSlot ? 'missing' : 'other' });
        } else if (slot < 0) {
          slot = other;
          imputed.push({ row: i, column: col.name, reason: 'unseen category', used: 'other' });
        }
        x[offset + slot] = 1;
        offset += other + 1 + (col.missingSlot ? 1 : 0);
      }
    }
  });
  return { x, imputed };
}

/** Mean and standard deviation of each input over the rows `rows` of a flat [n, width] matrix (std 1 for a constant input). */
export function fitScalingFlat(x: Float32Array, width: number, rows: readonly number[]): Preprocessing['scaling'] {
  const mean = new Float64Array(width);
  const std = new Float64Array(width);
  for (const r of rows) for (let j = 0, base = r * width; j < width; j++) mean[j]! += x[base + j]!;
  for (let j = 0; j < width; j++) mean[j]! /= rows.length;
  for (const r of rows) {
    for (let j = 0, base = r * width; j < width; j++) {
      const d = x[base + j]! - mean[j]!;
      std[j]! += d * d;
    }
  }
  return { method: 'standardize', mean: Array.from(mean), std: Array.from(std, (v) => (v / rows.length > 1e-12 ? Math.sqrt(v / rows.length) : 1)) };
}

/** Standardizes a flat [n, width] matrix in place. */
export function scaleInPlace(scaling: Preprocessing['scaling'], x: Float32Array, width: number): Float32Array {
  const mean = Float64Array.from(scaling.mean);
  const std = Float64Array.from(scaling.std);
  for (let base = 0; base < x.length; base += width) for (let j = 0; j < width; j++) x[base + j] = (x[base + j]! - mean[j]!) / std[j]!;
  return x;
}

/**
 * The split of `n` rows into training and held-out rows: a seeded shuffle; for classifiers
 * (`labels` given) each class is split on its own, so both sides keep the classes' shares.
 */
export function splitRows(n: number, validationSplit: number, seed: number, labels?: readonly (string | number)[]): { train: number[]; held: number[] } {
  if (!labels) {
    const all: number[] = [];
    for (let i = 0; i < n; i++) all.push(i);
    const order = shuffled(all, seed);
    const held = Math.floor(n * validationSplit);
    return { train: order.slice(0, n - held), held: order.slice(n - held) };
  }
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const k = String(labels[i]);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  const train: number[] = [];
  const held: number[] = [];
  [...groups.keys()].sort().forEach((k, gi) => {
    const order = shuffled(groups.get(k)!, seed + 31 * gi);
    const h = Math.round(order.length * validationSplit);
    // A class of one row trains; it is not held out.
    const take = order.length > 1 ? Math.min(h, order.length - 1) : 0;
    for (let i = 0; i < order.length - take; i++) train.push(order[i]!);
    for (let i = order.length - take; i < order.length; i++) held.push(order[i]!);
  });
  // Whole numbers in order: a typed array's sort, without a comparison function.
  return { train: shuffled(train, seed), held: Array.from(Int32Array.from(held).sort()) };
}

/** The parameters of a tabular module, defaults filled in. */
export interface TabularParams {
  /** Units of each hidden dense layer (ReLU); `[]` for none. */
  hidden: number[];
  /** Passes over the training rows. */
  epochs: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Rows per gradient step. */
  batchSize: number;
  /** Share of rows held out (after a seeded shuffle) to report `val_*` metrics. */
  validationSplit: number;
  /** Seeds the shuffle, the split and the initial weights: the same data and seed train the same model. */
  seed: number;
  /** The feature columns; default: every column but the target. */
  features?: string[];
}

/** The parameters a tabular module uses where a job gives none. */
export const TABULAR_DEFAULTS: TabularParams = { hidden: [16], epochs: 50, learningRate: 0.01, batchSize: 32, validationSplit: 0.2, seed: 42 };

const invalidParam = (name: string, rule: string, value: unknown) =>
  new HangarError(ErrorCode.InvalidArgument, `The parameter ${name} must be ${rule}; it is ${JSON.stringify(value)}.`, { param: name, value });

const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

/** The parameters as used: defaults for those not given, `invalid-argument` for a bad value. */
export function tabularParams(given: Record<string, unknown>): TabularParams {
  const p = { ...TABULAR_DEFAULTS, ...given } as Record<string, unknown>;
  if (!Array.isArray(p.hidden) || !p.hidden.every(positiveInt)) throw invalidParam('hidden', 'a list of positive integers', p.hidden);
  if (!positiveInt(p.epochs)) throw invalidParam('epochs', 'a positive integer', p.epochs);
  if (!positiveInt(p.batchSize)) throw invalidParam('batchSize', 'a positive integer', p.batchSize);
  if (typeof p.learningRate !== 'number' || !(p.learningRate > 0)) throw invalidParam('learningRate', 'a number above 0', p.learningRate);
  const split = p.validationSplit;
  if (typeof split !== 'number' || !(split >= 0 && split < 1)) throw invalidParam('validationSplit', 'a number from 0 up to (not including) 1', split);
  if (!Number.isInteger(p.seed)) throw invalidParam('seed', 'an integer', p.seed);
  if (p.features !== undefined && !(Array.isArray(p.features) && p.features.every((f) => typeof f === 'string'))) {
    throw invalidParam('features', 'a list of column names', p.features);
  }
  const { hidden, epochs, learningRate, batchSize, validationSplit, seed, features } = p as unknown as TabularParams;
  return { hidden: [...hidden], epochs, learningRate, batchSize, validationSplit, seed, ...(features && { features: [...features] }) };
}

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `items` in a seeded random order (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** Rows of feature values, standardized, flat in row order (a [rows, features] matrix). */
export function scale(prep: PreprocessingV1, x: readonly number[][]): Float32Array {
  const width = prep.features.length;
  const out = new Float32Array(x.length * width);
  x.forEach((row, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = (row[j]! - prep.scaling.mean[j]!) / prep.scaling.std[j]!;
  });
  return out;
}

/** The feature values of rows given for prediction; a missing or non-numeric feature is `invalid-argument`. */
export function featureMatrix(prep: PreprocessingV1, rows: readonly Record<string, unknown>[]): number[][] {
  if (!Array.isArray(rows)) throw new HangarError(ErrorCode.InvalidArgument, 'rows must be a list of objects.');
  return rows.map((row, i) =>
    prep.features.map((column) => {
      const n = toNumber(row?.[column]);
      if (n === undefined) {
        throw new HangarError(
          ErrorCode.InvalidArgument,
          `Row ${i + 1} has ${row?.[column] == null || row[column] === '' ? 'no value' : `${JSON.stringify(row[column])}, not a number,`} for the feature "${column}"; the model needs ${prep.features.join(', ')}.`,
          { row: i, column, features: prep.features },
        );
      }
      return n;
    }),
  );
}

/** Rows of a table as a format-1 model takes them: every feature a number, else `invalid-dataset` naming the column and line. */
export function encodeTableV1(prep: PreprocessingV1, table: Table, rows: readonly number[]): Float32Array {
  const columns = prep.features.map((f) => table.data[table.columns.indexOf(f)]!.numbers);
  const x = rows.map((r) =>
    columns.map((numbers, j) => {
      const n = numbers[r]!;
      if (n !== n) {
        const where = `${table.source === 'csv' ? 'line' : 'row'} ${table.lines[r]}`;
        throw new HangarError(ErrorCode.InvalidDataset, `The feature column "${prep.features[j]}" has no number on ${where}; this checkpoint takes numeric features only.`, {
          column: prep.features[j],
          row: table.lines[r],
        });
      }
      return n;
    }),
  );
  return scale(prep, x);
}

/** Checks a checkpoint was made from data of the same shape as the data now given. */
export function checkSameData(prep: Preprocessing, dataset: { target: string; features: string[] }): void {
  if (prep.target !== dataset.target || prep.features.join('\0') !== dataset.features.join('\0')) {
    throw new HangarError(
      ErrorCode.InvalidArgument,
      `The checkpoint was trained to predict "${prep.target}" from ${prep.features.join(', ')}; this data has "${dataset.target}" from ${dataset.features.join(', ')}.`,
      { checkpoint: { target: prep.target, features: prep.features }, data: { target: dataset.target, features: dataset.features } },
    );
  }
}

/** preprocessing.json of a tabular model, checked to belong to `module`. */
export async function readPreprocessing(files: ModelFiles, module: string): Promise<Preprocessing> {
  const prep = await readJsonFile<Preprocessing>(files, PREPROCESSING_JSON);
  const ok =
    (prep?.format === 1 || (prep?.format === 2 && Array.isArray(prep.columns) && Array.isArray(prep.inputs) && prep.columns.length === prep.features.length)) &&
    Array.isArray(prep.features) &&
    typeof prep.target === 'string' &&
    Array.isArray(prep.scaling?.mean) &&
    Array.isArray(prep.scaling?.std) &&
    prep.scaling.mean.length === inputWidth(prep) &&
    prep.scaling.std.length === inputWidth(prep);
  if (!ok) throw new HangarError(ErrorCode.InvalidModelFile, `${PREPROCESSING_JSON} is not one a tabular module wrote.`);
  if (prep.module !== module) {
    throw new HangarError(ErrorCode.InvalidModelFile, `These files are a ${prep.module} model, not a ${module} one.`, { module: prep.module });
  }
  return prep;
}

/** `preprocessing.json` as a file, to save with the model. */
export const preprocessingFile = (prep: Preprocessing) => new Blob([JSON.stringify(prep, null, 2)], { type: 'application/json' });
