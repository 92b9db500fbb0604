import Papa from 'papaparse';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import type { TrainingData } from './protocol.ts';

/**
 * Parsed training data, column by column: each cell as text (numbers are typed later, per
 * column), `null` where the cell is missing (empty, `NA`, `null`, `?`…). Rows that could not be
 * read (a wrong number of cells, a broken quote) are left out and counted in `malformed`.
 */
export interface Table {
  columns: string[];
  /** `cells[c][r]`: column `c` of row `r`, as text, or null when missing. */
  cells: (string | null)[][];
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

const invalid = (message: string, details?: Record<string, unknown>) => new HangarError(ErrorCode.InvalidDataset, message, details);

/** Where row `r` is, as a person looking at the data would say it. */
export const rowName = (table: Table, r: number) => (table.source === 'csv' ? `line ${table.lines[r]}` : `row ${table.lines[r]}`);

/** How many malformed lines a table lists (it counts them all). */
const LINES_LISTED = 10;

/** Cells that mean "no value", compared trimmed and lower-cased. */
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?', '#n/a', '-', 'missing', 'undefined']);

/** The longest text in `MISSING`: longer cells are never lower-cased to be looked up. */
const MISSING_LONGEST = Math.max(...[...MISSING].map((m) => m.length));

/** A cell as stored: trimmed text, or null when it says there is no value. */
export function cell(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  return missingText(String(value).trim());
}

/** Trimmed text as stored: null when it says there is no value. No token of `MISSING` starts with a digit, so most numbers are never lower-cased. */
function missingText(text: string): string | null {
  if (text.length === 0) return null;
  const first = text.charCodeAt(0);
  if (text.length > MISSING_LONGEST || isDigit(first) || (text.length > 1 && (first === 45 || first === 43 || first === 46) && isDigit(text.charCodeAt(1)))) return text;
  return MISSING.has(text.toLowerCase()) ? null : text;
}

/** A cell papaparse read: its text trimmed only when it needs it. */
function parsedCell(value: string): string | null {
  const n = value.length;
  if (n === 0) return null;
  return missingText(value.charCodeAt(0) <= 32 || value.charCodeAt(n - 1) <= 32 ? value.trim() : value);
}

const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const COMMA_NUMBER = /^[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?$/;

const isDigit = (c: number) => c >= 48 && c <= 57;

/** A cell's number: `12`, `-3.5`, `1e-3`, and `3,5` where decimal commas are allowed; otherwise undefined. */
export function parseNumber(text: string | null, decimalComma = false): number | undefined {
  if (text === null || text.length === 0) return undefined;
  // The common case without a regular expression: a digit (or sign, or point) first, a digit (or point) last,
  // and no letter second (Number() would read 0x10 and 0b1).
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if ((isDigit(first) || first === 45 || first === 43 || first === 46) && (isDigit(last) || last === 46) && (text.length < 2 || !/[a-zA-Z]/.test(text[1]!))) {
    const v = Number(text);
    if (v === v) return v;
  }
  if (!decimalComma || !COMMA_NUMBER.test(text)) return PLAIN_NUMBER.test(text) ? Number(text) : undefined;
  return Number(text.replace(',', '.'));
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

/** Rows of cells (header first) into a column-major table, as they stream in. */
class TableBuilder {
  columns: string[] | null = null;
  cells: (string | null)[][] = [];
  lines: number[] = [];
  malformed: Table['malformed'] = { count: 0, lines: [] };
  /** The data line the next row comes from. */
  line = 1;

  constructor(private readonly headerOnly: (columns: string[]) => never) {}

  /** One parsed row; `broken` when the parser reported an error on it. */
  add(row: readonly unknown[], broken?: string): void {
    if (this.columns === null) {
      if (row.every((c) => String(c ?? '').trim() === '')) return;
      this.columns = headerColumns(row);
      this.cells = this.columns.map(() => []);
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
    for (let c = 0; c < width; c++) this.cells[c]!.push(typeof row[c] === 'string' ? parsedCell(row[c] as string) : cell(row[c]));
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
    return {
      columns: this.columns,
      cells: this.cells,
      rowCount: this.lines.length,
      lines: this.lines,
      source,
      delimiter,
      decimalComma: delimiter !== ',',
      malformed: this.malformed,
    };
  }
}

const headerOnly = (columns: string[]): never => {
  throw invalid(`The CSV file has a header row (${columns.join(', ')}) but no rows of data.`, { columns });
};

/**
 * Parses a CSV (or TSV, or `;`-separated) file whose first row names the columns, streaming:
 * papaparse reads it in chunks, and each chunk's cells go straight into their columns, so the
 * file's text is never held whole beside its cells. Blank lines are skipped; a row with the wrong
 * number of cells, or a broken quote, is left out and counted (with its line); an empty file, a header with no
 * rows, or the same column name twice is `invalid-dataset`.
 */
export async function parseCsv(csv: Blob | string): Promise<Table> {
  if (typeof csv !== 'string') checkDataSize(csv.size);
  const sample = typeof csv === 'string' ? csv.slice(0, 64 * 1024) : await csv.slice(0, 64 * 1024).text();
  if (sample.replace(/^\uFEFF/, '').trim() === '') throw invalid('The CSV file is empty: it needs a header row and at least one row of data.');
  const delimiter = guessDelimiter(sample.replace(/^\uFEFF/, ''));
  const builder = new TableBuilder(headerOnly);
  // papaparse reads a Blob with FileReader, which browsers and their workers have; elsewhere (Node) it reads text.
  const input = typeof csv === 'string' || typeof FileReader !== 'undefined' ? csv : await csv.text();
  await new Promise<void>((resolve, reject) => {
    Papa.parse<string[]>(input as string, {
      delimiter,
      header: false,
      skipEmptyLines: false,
      chunkSize: 4 * 1024 * 1024,
      chunk(results: Papa.ParseResult<string[]>) {
        const broken = new Map<number, string>();
        for (const e of results.errors) if (e.row !== undefined && e.code !== 'UndetectableDelimiter') broken.set(e.row, e.message);
        try {
          results.data.forEach((row: string[], i: number) => builder.add(row, broken.get(i)));
        } catch (err) {
          reject(err);
        }
      },
      complete: () => resolve(),
      error: (err: Error) => reject(invalid(`The CSV file could not be read: ${err.message}.`)),
    });
  });
  // A byte-order mark is not part of the first column's name.
  if (builder.columns?.[0]?.startsWith('\uFEFF')) builder.columns[0] = builder.columns[0].slice(1);
  return builder.table(delimiter, 'csv');
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
  return {
    columns,
    cells: columns.map((c) => rows.map((row) => cell(row[c]))),
    rowCount: rows.length,
    lines: rows.map((_, i) => i + 1),
    source: 'rows',
    delimiter: ',',
    decimalComma: false,
    malformed: { count: 0, lines: [] },
  };
}

/** The table of a training request's data: the CSV parsed, or the rows as they are. */
export function readTrainingData(data: TrainingData): Promise<Table> {
  if (data && 'csv' in data && data.csv instanceof Blob) return parseCsv(data.csv);
  if (data && 'rows' in data) return Promise.resolve(tableFromRows(data.rows));
  throw new HangarError(ErrorCode.InvalidArgument, 'Training data must be { csv: Blob } or { rows: [...] }.');
}
