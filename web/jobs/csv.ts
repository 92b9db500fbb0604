import Papa from 'papaparse';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import type { TrainingData } from './protocol.ts';

/** Parsed training data: column names and one record per row. */
export interface Table {
  columns: string[];
  rows: Record<string, unknown>[];
  /** Where rows came from, so messages can point at a CSV line or a row index. */
  source: 'csv' | 'rows';
}

/** The numeric matrix a tabular model trains on, and the target of each row. */
export interface Dataset {
  features: string[];
  target: string;
  /** One array of feature values per row, in `features` order. */
  x: number[][];
  /** The target value of each row, as given (a label or a number). */
  y: (string | number)[];
}

const invalid = (message: string, details?: Record<string, unknown>) => new HangarError(ErrorCode.InvalidDataset, message, details);

/** Where row `i` is, as a person looking at the data would say it (CSV lines count the header). */
export const rowName = (table: Table, i: number) => (table.source === 'csv' ? `line ${i + 2}` : `row ${i + 1}`);

/**
 * Parses a CSV file whose first row names the columns. Numbers become numbers (papaparse's
 * dynamic typing), empty cells `null`, blank lines are skipped. An empty file, a header with no
 * rows, or rows with the wrong number of cells are `invalid-dataset`.
 */
export async function parseCsv(csv: Blob): Promise<Table> {
  const text = (await csv.text()).replace(/^\uFEFF/, '');
  if (text.trim() === '') throw invalid('The CSV file is empty: it needs a header row and at least one row of data.');
  const parsed = Papa.parse<Record<string, unknown>>(text, { header: true, dynamicTyping: true, skipEmptyLines: 'greedy' });
  const columns = (parsed.meta.fields ?? []).filter((c) => c !== '');
  // A file of one line and no separator leaves papaparse unsure of the delimiter: not an error here.
  const errors = parsed.errors.filter((e) => e.code !== 'UndetectableDelimiter');
  if (errors.length > 0) {
    const first = errors[0]!;
    const where = first.row === undefined ? '' : ` on line ${first.row + 2}`;
    throw invalid(`The CSV file does not parse${where}: ${first.message}.`, {
      errors: errors.slice(0, 10).map((e) => ({ line: e.row === undefined ? undefined : e.row + 2, message: e.message })),
    });
  }
  if (parsed.data.length === 0) throw invalid('The CSV file has a header row but no rows of data.', { columns });
  return { columns, rows: parsed.data, source: 'csv' };
}

/** Rows given as objects: the columns are those of the first row, then any others in order of appearance. */
export function tableFromRows(rows: readonly Record<string, unknown>[]): Table {
  if (!Array.isArray(rows) || rows.length === 0) throw invalid('There are no rows of data to train on.');
  const columns = new Set<string>();
  for (const row of rows) {
    if (row === null || typeof row !== 'object') throw invalid('Every row must be an object of column → value.');
    for (const key of Object.keys(row)) columns.add(key);
  }
  return { columns: [...columns], rows: [...rows], source: 'rows' };
}

/** The table of a training request's data: the CSV parsed, or the rows as they are. */
export function readTrainingData(data: TrainingData): Promise<Table> {
  if ('csv' in data && data.csv instanceof Blob) return parseCsv(data.csv);
  if ('rows' in data) return Promise.resolve(tableFromRows(data.rows));
  throw new HangarError(ErrorCode.InvalidArgument, 'Training data must be { csv: Blob } or { rows: [...] }.');
}

/** A cell as a number: numbers as they are, numeric strings (from rows given as text) parsed; otherwise undefined. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const isMissing = (value: unknown) => value === null || value === undefined || value === '';

/**
 * Splits a table into numeric features and a target. The target column must exist and have a
 * value in every row; every feature column (all the others unless `features` names some) must
 * hold a number in every row: anything else is `invalid-dataset`, naming the column and row.
 */
export function toDataset(table: Table, target: string, features?: readonly string[]): Dataset {
  if (!table.columns.includes(target)) {
    throw invalid(`There is no target column "${target}"; the columns are ${table.columns.join(', ')}.`, {
      target,
      columns: table.columns,
    });
  }
  const chosen = features ? [...features] : table.columns.filter((c) => c !== target);
  const unknown = chosen.filter((c) => !table.columns.includes(c));
  if (unknown.length > 0) throw invalid(`No such feature column: ${unknown.join(', ')}.`, { unknown, columns: table.columns });
  if (chosen.includes(target)) throw invalid(`The target "${target}" cannot also be a feature.`, { target });
  if (chosen.length === 0) throw invalid(`There are no feature columns besides the target "${target}".`, { target });

  const x: number[][] = [];
  const y: (string | number)[] = [];
  table.rows.forEach((row, i) => {
    const label = row[target];
    if (isMissing(label)) throw invalid(`The target "${target}" has no value on ${rowName(table, i)}.`, { column: target, row: i });
    if (typeof label !== 'string' && typeof label !== 'number') {
      throw invalid(`The target "${target}" on ${rowName(table, i)} is neither text nor a number.`, { column: target, row: i });
    }
    y.push(label);
    x.push(
      chosen.map((column) => {
        const n = toNumber(row[column]);
        if (n === undefined) {
          const value = row[column];
          const what = isMissing(value) ? 'is empty' : `is ${JSON.stringify(value)}, not a number`;
          throw invalid(`The feature column "${column}" ${what} on ${rowName(table, i)}; feature columns must be numeric.`, {
            column,
            row: i,
            value: isMissing(value) ? null : String(value),
          });
        }
        return n;
      }),
    );
  });
  return { features: chosen, target, x, y };
}
