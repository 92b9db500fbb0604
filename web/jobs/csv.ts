import Papa from 'papaparse';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { TrainingData } from './protocol.ts';

/** A column's code for a missing cell. */
export const MISSING = -1;
/** A column's code for a number whose text was not kept (see `Column.numberTexts`). */
export const UNKEPT_NUMBER = -2;
/** A column's code for a text past the first `DISTINCT_KEPT` distinct ones (see `Column.capped`). */
export const UNKEPT_TEXT = -3;
/** Distinct texts a column keeps before it is taken for free text or identifiers. */
export const DISTINCT_KEPT = 100_000;
/**
 * Distinct texts of numbers a column keeps: past this many, a column of numbers keeps only their
 * values (its texts matter only to a column that turns out not to be numeric, read again then).
 */
const NUMBER_TEXTS_KEPT = 1024;

/**
 * One column of parsed training data, typed as it was read: each cell as a number (NaN where
 * missing or not a number) and as a code into the column's distinct texts, with the counters
 * column typing needs. Cells are trimmed; a cell saying "no value" (empty, `NA`, `null`, `?`…) is
 * missing.
 */
export interface Column {
  /** How many rows the column holds. */
  rows: number;
  /**
   * Each row's number; NaN where the cell is missing or not a number. A column of a CSV that holds
   * no number makes these (all NaN) only when they are first read.
   */
  readonly numbers: Float64Array;
  /**
   * Each row's text, as an index into `texts`; `MISSING`, `UNKEPT_NUMBER` or `UNKEPT_TEXT` otherwise.
   * A column of a CSV that holds only numbers and missing cells makes these from `numbers` only
   * when they are first read.
   */
  readonly codes: Int32Array;
  /** The distinct texts, in order of first appearance (at most `DISTINCT_KEPT`). */
  texts: string[];
  /** How many rows hold each text of `texts`. */
  counts: number[];
  /** Rows where the cell is missing. */
  missing: number;
  /** Present cells that are not numbers. */
  nonNumeric: number;
  /** Whether more than `DISTINCT_KEPT` distinct texts were seen: the rest are `UNKEPT_TEXT`. */
  capped: boolean;
  /** Whether every number's text is in `texts` (else numbers past the first distinct ones are `UNKEPT_NUMBER`). */
  numberTexts: boolean;
  /**
   * The most decimal places of the column's numbers when each is written as a plain decimal of at
   * most 15 digits (`-12.034`), so that each is a whole number of 10^-decimals; -1 when some number
   * is written otherwise (`1e-3`, a decimal comma, more digits).
   */
  decimals: number;
  /** The smallest and the largest of the column's numbers (-0 counting as below 0); Infinity and -Infinity when it holds none. */
  min: number;
  max: number;
}

/**
 * Parsed training data, column by column. Rows that could not be read (a wrong number of cells,
 * a broken quote) are left out and counted in `malformed`.
 */
export interface Table {
  columns: string[];
  /** Each column's cells (`data[c]`: column `c`). */
  data: Column[];
  rowCount: number;
  /** Where each row came from: a CSV line (the header is line 1) or a row number from 1. */
  lines: number[];
  source: 'csv' | 'rows';
  /** The separator a CSV used (`,`, `;`, tab, `|`). */
  delimiter: string;
  /** Whether numbers may be written with a decimal comma (`3,14`): a CSV separated by something else than commas. */
  decimalComma: boolean;
  /** Rows left out because they could not be read, and the first lines where that happened. */
  malformed: { count: number; lines: number[]; first?: string };
}

/** The text of row `r` of a column: null when missing; a number whose text was not kept, as JavaScript writes it. */
export function cellText(column: Column, r: number): string | null {
  const code = column.codes[r]!;
  if (code >= 0) return column.texts[code]!;
  if (code === MISSING) return null;
  if (code === UNKEPT_NUMBER) return String(column.numbers[r]);
  throw new Error(`The text of row ${r} was not kept.`);
}

/** Every cell of a column as text (null where missing). */
export const columnCells = (column: Column): (string | null)[] => Array.from(column.codes, (_, r) => cellText(column, r));

const invalid = (message: string, details?: Record<string, unknown>) => new HangarError(ErrorCode.InvalidDataset, message, details);

/** Where row `r` is, as a person looking at the data would say it. */
export const rowName = (table: Table, r: number) => (table.source === 'csv' ? `line ${table.lines[r]}` : `row ${table.lines[r]}`);

/** How many malformed lines a table lists (it counts them all). */
const LINES_LISTED = 10;

/** Cells that mean "no value", compared trimmed and lower-cased. */
const MISSING_TOKENS = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?', '#n/a', '-', 'missing', 'undefined']);

/** The longest text in `MISSING_TOKENS`: longer cells are never lower-cased to be looked up. */
const MISSING_LONGEST = Math.max(...[...MISSING_TOKENS].map((m) => m.length));

/** A cell as stored: trimmed text, or null when it says there is no value. */
export function cell(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  return missingText(String(value).trim());
}

/** Trimmed text as stored: null when it says there is no value. No token of `MISSING_TOKENS` starts with a digit, so most numbers are never lower-cased. */
function missingText(text: string): string | null {
  if (text.length === 0) return null;
  const first = text.charCodeAt(0);
  if (text.length > MISSING_LONGEST || isDigit(first) || (text.length > 1 && (first === 45 || first === 43 || first === 46) && isDigit(text.charCodeAt(1)))) return text;
  return MISSING_TOKENS.has(text.toLowerCase()) ? null : text;
}

const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const COMMA_NUMBER = /^[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?$/;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLetter = (c: number) => (c | 32) >= 97 && (c | 32) <= 122;

/** A cell's number: `12`, `-3.5`, `1e-3`, and `3,5` where decimal commas are allowed; otherwise undefined. */
export function parseNumber(text: string | null, decimalComma = false): number | undefined {
  if (text === null || text.length === 0) return undefined;
  const first = text.charCodeAt(0);
  // Every number starts with a digit, a sign, a point or (with decimal commas) a comma.
  if (!isDigit(first) && first !== 45 && first !== 43 && first !== 46 && first !== 44) return undefined;
  // The common case without a regular expression: a digit (or sign, or point) first, a digit (or point) last,
  // and no letter second (Number() would read 0x10 and 0b1).
  const last = text.charCodeAt(text.length - 1);
  if (first !== 44 && (isDigit(last) || last === 46) && (text.length < 2 || !isLetter(text.charCodeAt(1)))) {
    if (plainDecimal(text, decimal, 0) >= 0) return decimal[0]!;
    const v = Number(text);
    if (v === v) return v;
  }
  if (!decimalComma || !COMMA_NUMBER.test(text)) return PLAIN_NUMBER.test(text) ? Number(text) : undefined;
  return Number(text.replace(',', '.'));
}

/** Powers of ten a double holds exactly. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Where `parseNumber` has `plainDecimal` write. */
const decimal = new Float64Array(1);

/**
 * A plain decimal (`-12.034`: sign, digits, point, digits) of at most 15 digits, read without
 * `Number`: its digits as an integer, divided by a power of ten, both exact, so the one rounding
 * of the division gives the same double `Number` gives. Written to `out[at]`, returning its
 * decimal places; -1 (nothing written) for anything else. Written rather than returned, so that
 * reading a column's cells allocates nothing per cell (a number returned from a call is boxed
 * unless inlined).
 */
function plainDecimal(text: string, out: Float64Array, at: number): number {
  const n = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 45 || first === 43) {
    negative = first === 45;
    i = 1;
  }
  let digits = 0;
  let fraction = -1;
  let value = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
    } else if (c === 46 && fraction < 0) fraction = digits;
    else return -1;
  }
  if (digits === 0 || digits > 15) return -1;
  const places = fraction >= 0 ? digits - fraction : 0;
  if (places > 0) value /= POWERS_OF_TEN[places]!;
  out[at] = negative ? -value : value;
  return places;
}

/** A cell as a number: numbers as they are, numeric strings parsed; otherwise undefined. */
export function toNumber(value: unknown, decimalComma = false): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return parseNumber(cell(value), decimalComma);
}

/**
 * The separator of a CSV, from its first lines: the candidate that splits every sampled line
 * into the same number (more than one) of cells. Tab and `;` come before `,`, since a file
 * separated by `;` usually writes its numbers with decimal commas, which would also split on `,`.
 */
export function guessDelimiter(sample: string): string {
  const lines = sample.split(/\r?\n/).filter((l) => l.trim() !== '');
  // The last line of a sample may be cut short.
  const whole = lines.length > 2 ? lines.slice(0, Math.min(lines.length - 1, 50)) : lines;
  for (const delimiter of ['\t', ';', ',', '|']) {
    const parsed = Papa.parse<string[]>(whole.join('\n'), { delimiter, header: false });
    const counts = new Set(parsed.data.map((r) => r.length));
    if (counts.size === 1 && (parsed.data[0]?.length ?? 0) > 1) return delimiter;
  }
  return ',';
}

/** Column names from a header row: each trimmed; empty ones named by position; a name twice is `invalid-dataset`. */
function headerColumns(header: readonly unknown[]): string[] {
  const columns = header.map((h, i) => (String(h ?? '').trim() === '' ? `column_${i + 1}` : String(h).trim()));
  const seen = new Map<string, number>();
  columns.forEach((c, i) => {
    const first = seen.get(c);
    if (first !== undefined) {
      throw invalid(`The column name "${c}" appears twice in the header (columns ${first + 1} and ${i + 1}); each column needs its own name.`, {
        column: c,
        positions: [first + 1, i + 1],
      });
    }
    seen.set(c, i);
  });
  return columns;
}

/** A training data set over `LIMITS.trainingDataBytes` is `payload-too-large`, naming the limit. */
export function checkDataSize(bytes: number): void {
  if (bytes > LIMITS.trainingDataBytes) {
    const mib = (n: number) => `${Math.round(n / (1024 * 1024))} MiB`;
    throw new HangarError(
      ErrorCode.PayloadTooLarge,
      `The training data is ${mib(bytes)}; the limit is ${mib(LIMITS.trainingDataBytes)} (LIMITS.trainingDataBytes).`,
      { size: bytes, limit: LIMITS.trainingDataBytes },
    );
  }
}

/**
 * Room for `size` codes, those of the first `r` rows made for a column of numbers and missing
 * cells: `MISSING` where NaN (or with no numbers at all), else the code of the number's text by
 * its value in `byValue`, or `UNKEPT_NUMBER` without it.
 */
function codesOfNumbers(numbers: Float64Array | null, r: number, size: number, byValue: ReadonlyMap<number, number> | null): Int32Array {
  const codes = new Int32Array(size);
  if (numbers === null) codes.fill(MISSING, 0, r);
  else {
    for (let i = 0; i < r; i++) {
      const v = numbers[i]!;
      codes[i] = v !== v ? MISSING : byValue ? byValue.get(v)! : UNKEPT_NUMBER;
    }
  }
  return codes;
}

/** Slots of `ColumnBuilder`'s cache of recent texts (a power of two). */
const RECENT_SLOTS = 64;

/** The slot of a (non-empty) text in that cache: by its length and last character. */
const recentSlot = (text: string) => (text.length * 31 + text.charCodeAt(text.length - 1)) & (RECENT_SLOTS - 1);

/** The smallest and the largest of numbers (NaN skipped, -0 below 0); Infinity and -Infinity when there are none. */
function range(numbers: Float64Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < numbers.length; i++) {
    const v = numbers[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // 0 and -0 compare equal: a smallest 0 is -0 when some number is -0, a largest 0 when none is 0.
  if (min === 0 || max === 0) {
    const zeros = signedZeros(numbers);
    if (min === 0 && zeros & NEGATIVE_ZERO) min = -0;
    if (max === 0) max = zeros & POSITIVE_ZERO ? 0 : -0;
  }
  return { min, max };
}

const POSITIVE_ZERO = 1;
const NEGATIVE_ZERO = 2;

/** Which zeros numbers hold: `POSITIVE_ZERO`, `NEGATIVE_ZERO`, both or neither. */
function signedZeros(numbers: Float64Array): number {
  let zeros = 0;
  for (let i = 0; i < numbers.length; i++) if (numbers[i] === 0) zeros |= 1 / numbers[i]! > 0 ? POSITIVE_ZERO : NEGATIVE_ZERO;
  return zeros;
}

/**
 * One column as it is read: cells typed into growing typed arrays, distinct texts coded. A CSV's
 * column makes its numbers only once it meets a number, and its codes only once it meets a text
 * that is not a number: until then, a number's code follows from its value (`byValue`) and a
 * missing cell's from its NaN, so a column of numbers never writes codes, nor one of texts numbers.
 */
class ColumnBuilder {
  /** Each row's number; null until the first number (the rows before then are NaN). */
  numbers: Float64Array | null = null;
  /** Each row's code; null until the first text that is not a number, unless every number's text is kept. */
  codes: Int32Array | null;
  /** Rows the arrays have room for. */
  size = 0;
  texts: string[] = [];
  counts: number[] = [];
  private readonly index = new Map<string, number>();
  /** While there are no codes: the code of each number's text kept, by its value. */
  private readonly byValue = new Map<number, number>();
  /** Whether two texts kept were the same number (`1` and `1.0`), so that a value does not tell its text. */
  private sameValue = false;
  /**
   * A small cache in front of `index`: the texts met lately and their codes, in slots chosen by a
   * text's length and last character, so that most cells of a column of few texts are matched by
   * comparing two short strings rather than hashing the cell (a new string for every cell).
   */
  private readonly recentTexts: (string | undefined)[] = new Array<string | undefined>(RECENT_SLOTS).fill(undefined);
  private readonly recentCodes = new Int32Array(RECENT_SLOTS);
  missing = 0;
  nonNumeric = 0;
  capped = false;

  /** Whether every number's text is kept so far. */
  numberTexts = true;
  /** The most decimal places of a number so far, each a plain decimal; -1 once a number was written otherwise. */
  decimals = 0;

  /** `keepAllNumberTexts`: keep every number's text (else only while few texts are distinct). */
  constructor(
    private readonly decimalComma: boolean,
    private readonly keepAllNumberTexts: boolean,
  ) {
    // Codes that cannot all be told from the values (no second reading would give the texts back) are made from the start.
    this.codes = keepAllNumberTexts ? new Int32Array(0) : null;
  }

  /** Room for `rows` rows. */
  reserve(rows: number): void {
    if (rows <= this.size) return;
    const size = Math.max(rows, this.size * 2);
    if (this.numbers) {
      const numbers = new Float64Array(size);
      numbers.set(this.numbers);
      this.numbers = numbers;
    }
    if (this.codes) {
      const codes = new Int32Array(size);
      codes.set(this.codes);
      this.codes = codes;
    }
    this.size = size;
  }

  /** The numbers, made at row `r` (the rows before it NaN). */
  private numbersAt(r: number): Float64Array {
    const numbers = new Float64Array(this.size);
    numbers.fill(NaN, 0, r);
    return (this.numbers = numbers);
  }

  /** The codes, made at row `r` from the rows before it. */
  private codesAt(r: number): Int32Array {
    // Texts that were the same number cannot be told apart: their rows' texts are not kept (a second reading gives them).
    if (this.sameValue) this.numberTexts = false;
    this.codes = codesOfNumbers(this.numbers, r, this.size, this.numberTexts ? this.byValue : null);
    this.byValue.clear();
    return this.codes;
  }

  /**
   * Row `r`'s cell as papaparse read it, if it is one of a column's common cells, which take a
   * few steps and no trimming or lookup: a plain decimal in a column that keeps no number's text,
   * or a text starting with a letter met lately in one that has codes. Else false, and nothing is
   * done (`addText` reads it by the general rules).
   */
  addCommon(raw: string, r: number): boolean {
    const n = raw.length;
    if (n === 0) return false;
    const first = raw.charCodeAt(0);
    if (isDigit(first) || first === 45) {
      const numbers = this.numbers;
      if (numbers === null || this.codes !== null || this.numberTexts) return false;
      const places = plainDecimal(raw, numbers, r);
      if (places < 0) return false;
      if (places > this.decimals && this.decimals >= 0) this.decimals = places;
      return true;
    }
    const codes = this.codes;
    if (codes === null || !isLetter(first) || raw.charCodeAt(n - 1) <= 32) return false;
    const slot = recentSlot(raw);
    if (this.recentTexts[slot] !== raw) return false;
    const code = this.recentCodes[slot]!;
    if (code === MISSING) {
      this.missing++;
      codes[r] = MISSING;
    } else {
      this.nonNumeric++;
      this.counts[code]!++;
      codes[r] = code;
    }
    if (this.numbers) this.numbers[r] = NaN;
    return true;
  }

  /** Row `r`'s cell as papaparse read it. */
  addText(raw: string, r: number): void {
    const n = raw.length;
    if (n === 0) return this.addMissing(r);
    let first = raw.charCodeAt(0);
    let text = raw;
    if (first <= 32 || raw.charCodeAt(n - 1) <= 32) {
      text = raw.trim();
      if (text.length === 0) return this.addMissing(r);
      first = text.charCodeAt(0);
    }
    // Every number starts with a digit, a sign, a point or a comma: other cells go straight to the texts.
    // Most numbers are plain decimals; the rest go through the full rules.
    let isNumber = false;
    if (isDigit(first) || first === 45 || first === 43 || first === 46 || first === 44) {
      const numbers = this.numbers ?? this.numbersAt(r);
      const places = plainDecimal(text, numbers, r);
      if (places >= 0) {
        isNumber = true;
        if (places > this.decimals && this.decimals >= 0) this.decimals = places;
      } else {
        const v = parseNumber(text, this.decimalComma);
        if (v !== undefined) {
          numbers[r] = v;
          isNumber = true;
          this.decimals = -1;
        } else numbers[r] = NaN;
      }
    }
    const codes = this.codes;
    if (isNumber) {
      if (!this.numberTexts) {
        if (codes) codes[r] = UNKEPT_NUMBER;
        return;
      }
      let code = this.lookup(text);
      if (code !== undefined) this.counts[code]!++;
      else if (!this.keepAllNumberTexts && this.texts.length >= NUMBER_TEXTS_KEPT) {
        this.numberTexts = false;
        code = UNKEPT_NUMBER;
      } else {
        code = this.newText(text);
        if (codes === null) {
          const v = this.numbers![r]!;
          if (this.byValue.has(v)) this.sameValue = true;
          else this.byValue.set(v, code);
        }
      }
      if (codes) codes[r] = code;
      return;
    }
    // Text, or a token saying "no value" (kept in the index as missing, so it is looked up once).
    let code = this.lookup(text);
    if (code === undefined && missingText(text) === null) this.index.set(text, (code = MISSING));
    if (code === MISSING) return this.addMissing(r);
    this.nonNumeric++;
    if (this.numbers) this.numbers[r] = NaN;
    const to = codes ?? this.codesAt(r);
    if (code !== undefined) {
      this.counts[code]!++;
      to[r] = code;
    } else to[r] = this.newText(text);
  }

  /** Row `r`'s cell as a stored text (trimmed, or null when missing). */
  addCell(text: string | null, r: number): void {
    if (text === null) this.addMissing(r);
    else this.addText(text, r);
  }

  /** The code of a text met before (`MISSING` for a token saying "no value"), or undefined. */
  private lookup(text: string): number | undefined {
    const slot = recentSlot(text);
    if (this.recentTexts[slot] === text) return this.recentCodes[slot];
    const code = this.index.get(text);
    if (code !== undefined) {
      // The column's own copy of a kept text, not the cell's (which may hold on to the chunk it was cut from); a missing token is short, never such a slice.
      this.recentTexts[slot] = code >= 0 ? this.texts[code]! : text;
      this.recentCodes[slot] = code;
    }
    return code;
  }

  private addMissing(r: number): void {
    this.missing++;
    if (this.numbers) this.numbers[r] = NaN;
    if (this.codes) this.codes[r] = MISSING;
  }

  private newText(text: string): number {
    if (this.texts.length >= DISTINCT_KEPT) {
      this.capped = true;
      return UNKEPT_TEXT;
    }
    const code = this.texts.length;
    this.index.set(text, code);
    this.texts.push(text);
    this.counts.push(1);
    return code;
  }

  column(rows: number): Column {
    // Room reserved well past the rows read (the file's first lines were shorter than the rest) is given back.
    const fit = this.size > rows * 1.25 + 1024;
    const cut = <T extends Float64Array | Int32Array>(a: T): T => (fit ? a.slice(0, rows) : a.subarray(0, rows)) as T;
    let numbers = this.numbers && cut(this.numbers);
    let codes = this.codes && cut(this.codes);
    const numberTexts = this.numberTexts && (codes !== null || !this.sameValue);
    const byValue = numberTexts ? this.byValue : null;
    const { min, max } = numbers ? range(numbers) : { min: Infinity, max: -Infinity };
    // Made when first read: a column without numbers holds NaN, one without codes has them from its numbers.
    return {
      rows,
      get numbers() {
        return (numbers ??= new Float64Array(rows).fill(NaN));
      },
      get codes() {
        return (codes ??= codesOfNumbers(numbers, rows, rows, byValue));
      },
      texts: this.texts,
      counts: this.counts,
      missing: this.missing,
      nonNumeric: this.nonNumeric,
      capped: this.capped,
      numberTexts,
      decimals: this.decimals,
      min,
      max,
    };
  }
}

/**
 * Rows of cells (header first) into a column-major table, as they stream in. `only`: fill just
 * these columns, keeping every number's text (a second reading of a file).
 */
class TableBuilder {
  columns: string[] | null = null;
  builders: ColumnBuilder[] = [];
  /** The columns to fill, and their builders. */
  private filled: number[] = [];
  private filledBuilders: ColumnBuilder[] = [];
  lines: number[] = [];
  malformed: Table['malformed'] = { count: 0, lines: [] };
  /** The data line the next row comes from. */
  line = 1;

  constructor(
    private readonly headerOnly: (columns: string[]) => never,
    private readonly decimalComma: boolean,
    private readonly keepNumberTexts: boolean,
    private readonly only?: readonly number[],
    /** Rows the file is expected to hold, reserved once the header is read. */
    private expectedRows = 0,
  ) {}

  /** Room for `rows` rows in all (so the columns grow once rather than many times); before the header is read, made once it is. */
  reserve(rows: number): void {
    if (this.columns === null) this.expectedRows = Math.max(this.expectedRows, rows);
    for (const b of this.filledBuilders) b.reserve(rows);
  }

  /** One parsed row; `broken` when the parser reported an error on it. */
  add(row: readonly unknown[], broken?: string): void {
    if (this.columns === null) {
      if (row.every((c) => String(c ?? '').trim() === '')) return;
      this.columns = headerColumns(row);
      this.builders = this.columns.map(() => new ColumnBuilder(this.decimalComma, this.keepNumberTexts));
      this.filled = this.only ? [...this.only] : this.columns.map((_, c) => c);
      this.filledBuilders = this.filled.map((c) => this.builders[c]!);
      this.reserve(this.expectedRows);
      return;
    }
    this.line++;
    // A blank line (or one of separators only) is skipped, still counted so later lines keep their numbers.
    if (broken === undefined && (row.length <= 1 || row[0] === '') && row.every((c) => String(c ?? '').trim() === '')) return;
    const width = this.columns.length;
    if (broken !== undefined || row.length !== width) {
      this.malformed.count++;
      if (this.malformed.lines.length < LINES_LISTED) this.malformed.lines.push(this.line);
      this.malformed.first ??= broken ?? `line ${this.line} has ${row.length} cells; the header has ${width}`;
      return;
    }
    const r = this.lines.length;
    const filled = this.filled;
    const builders = this.filledBuilders;
    if (r >= builders[0]!.size) this.reserve(r + 1);
    for (let i = 0; i < filled.length; i++) {
      const value = row[filled[i]!];
      const builder = builders[i]!;
      if (typeof value !== 'string') builder.addCell(cell(value), r);
      else if (!builder.addCommon(value, r)) builder.addText(value, r);
    }
    this.lines.push(this.line);
  }

  table(delimiter: string, source: Table['source']): Table {
    if (this.columns === null) throw invalid('The CSV file is empty: it needs a header row and at least one row of data.');
    if (this.lines.length === 0) {
      if (this.malformed.count === 0) this.headerOnly(this.columns);
      throw invalid(`None of the ${this.malformed.count} rows of data could be read: ${this.malformed.first}.`, {
        malformed: this.malformed,
      });
    }
    const rows = this.lines.length;
    return {
      columns: this.columns,
      data: this.builders.map((b) => b.column(rows)),
      rowCount: rows,
      lines: this.lines,
      source,
      delimiter,
      decimalComma: source === 'csv' && delimiter !== ',',
      malformed: this.malformed,
    };
  }
}

const headerOnly = (columns: string[]): never => {
  throw invalid(`The CSV file has a header row (${columns.join(', ')}) but no rows of data.`, { columns });
};

type Listener = (value?: unknown) => void;

/**
 * Gives back the memory of bytes read and no longer needed now rather than at the next full
 * collection of garbage, by moving them into an empty buffer (where `ArrayBuffer.transfer` exists).
 */
const release = (bytes: ArrayBuffer) => void (bytes as { transfer?: (length: number) => ArrayBuffer }).transfer?.(0);

/**
 * A Blob's text as papaparse's stream input (a Node readable stream's `data`, `end` and `error`
 * events): read in chunks of `CHUNK_BYTES` from the moment it is made, the next chunk read while
 * papaparse parses the last one, and decoded as one UTF-8 stream, so that a character cut by a
 * chunk's end is read whole. (papaparse's own reading of a File waits for each chunk in turn, and
 * decodes each on its own: a character across a chunk's end became two U+FFFD.)
 */
export class BlobText {
  /** What papaparse checks a stream by. */
  readonly readable = true;
  private readonly listeners: Record<string, Listener[]> = { data: [], end: [], error: [] };
  private stopped = false;
  /** The first chunk, asked for at once (and let go once read through). */
  private first: Promise<ArrayBuffer> | null;

  constructor(private readonly blob: Blob) {
    this.first = blob.slice(0, CHUNK_BYTES).arrayBuffer();
    // Read again by `sample` or `start`; a failure is theirs to report.
    this.first.catch(() => {});
  }

  /** The text of the file's first `bytes` bytes at most (its last character may be cut). */
  async sample(bytes: number): Promise<string> {
    const first = await (this.first ?? this.blob.slice(0, bytes).arrayBuffer());
    return new TextDecoder().decode(new Uint8Array(first, 0, Math.min(bytes, first.byteLength)));
  }

  read(): void {}
  pause(): void {}
  resume(): void {}

  on(event: string, listener: Listener): void {
    this.listeners[event]?.push(listener);
  }

  removeListener(event: string, listener: Listener): void {
    this.listeners[event] = (this.listeners[event] ?? []).filter((l) => l !== listener);
  }

  /** Reads the Blob through, papaparse parsing each chunk as it comes, unless stopped. */
  async start(): Promise<void> {
    const emit = (event: string, value?: unknown) => {
      for (const listener of this.listeners[event]!) listener(value);
    };
    try {
      const { blob } = this;
      const decoder = new TextDecoder();
      let next = this.first ?? blob.slice(0, CHUNK_BYTES).arrayBuffer();
      this.first = null;
      for (let at = 0; at < blob.size && !this.stopped; ) {
        const bytes = await next;
        at += bytes.byteLength;
        if (at < blob.size) next = blob.slice(at, at + CHUNK_BYTES).arrayBuffer();
        const text = decoder.decode(bytes, { stream: at < blob.size });
        release(bytes);
        if (!this.stopped) emit('data', text);
      }
      if (!this.stopped) emit('end');
    } catch (err) {
      if (!this.stopped) emit('error', err);
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

/** Reads a CSV with papaparse into `builder`, row by row as papaparse reads it (so each row's cells are taken while they are fresh). */
function readInto(input: BlobText | string, delimiter: string, builder: TableBuilder, totalBytes: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const blob = typeof input === 'string' ? null : input;
    let failed = false;
    // The row count at which room for the whole file is estimated again (first once the header's share of the text read is small).
    let nextReserve = RESERVE_EVERY;
    Papa.parse<string[]>(input as string, {
      delimiter,
      header: false,
      skipEmptyLines: false,
      chunkSize: CHUNK_BYTES,
      step(results: Papa.ParseStepResult<string[]>, parser: Papa.Parser) {
        if (failed) return;
        try {
          const rows = builder.lines.length;
          if (rows >= nextReserve) {
            // Room for the whole file at the rate of rows read so far, so the columns seldom grow.
            const cursor = Math.max(results.meta.cursor, 1);
            builder.reserve(Math.ceil(((rows + 1) * totalBytes) / cursor));
            nextReserve = rows + RESERVE_EVERY;
          }
          let broken: string | undefined;
          const errors = results.errors;
          for (let i = 0; i < errors.length; i++) if (errors[i]!.code !== 'UndetectableDelimiter') broken ??= errors[i]!.message;
          builder.add(results.data, broken);
        } catch (err) {
          // Refused before aborting: papaparse completes the parse as it aborts.
          failed = true;
          blob?.stop();
          reject(err);
          parser.abort();
        }
      },
      complete: () => resolve(),
      error: (err: Error) => reject(invalid(`The CSV file could not be read: ${err.message}.`)),
    });
    void blob?.start();
  });
}

/** Rows read between estimates of the room the whole file needs. */
const RESERVE_EVERY = 1024;

/** The chunks a file is read and parsed in. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Parses a CSV (or TSV, or `;`-separated) file whose first row names the columns, streaming:
 * papaparse reads it in chunks, and each row's cells go straight into their typed columns as it
 * is read, so neither the file's text nor its cells' texts are held whole. Blank lines are skipped; a row
 * with the wrong number of cells, or a broken quote, is left out and counted (with its line); an
 * empty file, a header with no rows, or the same column name twice is `invalid-dataset`.
 *
 * A column of many distinct numbers keeps only their values; should it also hold text (a column
 * that is not all numbers), the file is read a second time for that column's texts.
 */
export async function parseCsv(csv: Blob | string): Promise<Table> {
  if (typeof csv !== 'string') checkDataSize(csv.size);
  const text = typeof csv === 'string' ? csv : new BlobText(csv);
  const sample =
    typeof text === 'string'
      ? text.slice(0, 64 * 1024)
      : await text.sample(64 * 1024).catch((err: Error) => {
          throw invalid(`The CSV file could not be read: ${err.message}.`);
        });
  if (sample.replace(/^\uFEFF/, '').trim() === '') throw invalid('The CSV file is empty: it needs a header row and at least one row of data.');
  const delimiter = guessDelimiter(sample.replace(/^\uFEFF/, ''));
  const decimalComma = delimiter !== ',';
  const bytes = typeof csv === 'string' ? csv.length : csv.size;
  // The rows of the first chunk, from the sample's lines, so the columns do not grow row by row (each chunk then reserves for the whole file).
  const sampleLines = sample.split('\n').length;
  const sampleSize = typeof csv === 'string' ? sample.length : Math.min(csv.size, 64 * 1024);
  const expectedRows = Math.ceil((Math.min(bytes, CHUNK_BYTES) / Math.max(sampleSize, 1)) * sampleLines);
  const builder = new TableBuilder(headerOnly, decimalComma, false, undefined, expectedRows);
  await readInto(text, delimiter, builder, bytes);
  // A byte-order mark is not part of the first column's name.
  if (builder.columns?.[0]?.startsWith('\uFEFF')) builder.columns[0] = builder.columns[0].slice(1);
  const table = builder.table(delimiter, 'csv');
  const reread = table.data.flatMap((col, c) => (!col.numberTexts && col.nonNumeric > 0 ? [c] : []));
  if (reread.length > 0) {
    const again = new TableBuilder(headerOnly, decimalComma, true, reread, table.rowCount);
    await readInto(typeof csv === 'string' ? csv : new BlobText(csv), delimiter, again, bytes);
    for (const c of reread) table.data[c] = again.builders[c]!.column(table.rowCount);
  }
  return table;
}

/** Rows given as objects: the columns are those of the first row, then any others in order of appearance. */
export function tableFromRows(rows: readonly Record<string, unknown>[]): Table {
  if (!Array.isArray(rows) || rows.length === 0) throw invalid('There are no rows of data to train on.');
  const names = new Set<string>();
  for (const row of rows) {
    if (row === null || typeof row !== 'object') throw invalid('Every row must be an object of column → value.');
    for (const key of Object.keys(row)) names.add(key);
  }
  const columns = [...names];
  const data = columns.map((c) => {
    const b = new ColumnBuilder(false, true);
    b.reserve(rows.length);
    rows.forEach((row, r) => b.addCell(cell(row[c]), r));
    return b.column(rows.length);
  });
  return {
    columns,
    data,
    rowCount: rows.length,
    lines: rows.map((_, i) => i + 1),
    source: 'rows',
    delimiter: ',',
    decimalComma: false,
    malformed: { count: 0, lines: [] },
  };
}

/** A column of cells given as text (null where missing), as a `Column`: for tests and small inputs. */
export function columnOf(cells: readonly (string | null)[], decimalComma = false): Column {
  const b = new ColumnBuilder(decimalComma, true);
  b.reserve(cells.length);
  cells.forEach((text, r) => b.addCell(text === null ? null : missingText(text.trim()), r));
  return b.column(cells.length);
}

/** The table of a training request's data: the CSV parsed, or the rows as they are. */
export function readTrainingData(data: TrainingData): Promise<Table> {
  if (data && 'csv' in data && data.csv instanceof Blob) return parseCsv(data.csv);
  if (data && 'rows' in data) return Promise.resolve(tableFromRows(data.rows));
  throw new HangarError(ErrorCode.InvalidArgument, 'Training data must be { csv: Blob } or { rows: [...] }.');
}
