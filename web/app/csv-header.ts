import Papa from 'papaparse';
import { guessDelimiter } from '../jobs/csv.ts';

/**
 * The column names of a CSV file (or TSV, or `;`-separated): its first row, read from the first
 * 64 KiB only (the whole file is parsed and profiled in the training worker). Refuses a file
 * that cannot be training data, so a bad CSV is reported before any job, model or version is made.
 */
export async function csvHeader(file: Blob): Promise<string[]> {
  const head = (await file.slice(0, 64 * 1024).text()).replace(/^\uFEFF/, '');
  if (!head.trim()) throw new Error('This file is empty: a CSV needs a header row and at least one data row.');
  if (head.includes('\u0000')) throw new Error('This file is not a text CSV file.');
  const rows = Papa.parse<string[]>(head, { delimiter: guessDelimiter(head), skipEmptyLines: 'greedy', preview: 2 }).data;
  const columns = (rows[0] ?? []).map((c) => c.trim());
  if (columns.length < 2) throw new Error('The first row should name at least two columns, separated by commas, semicolons or tabs (some features and the column to predict).');
  const twice = columns.find((c, i) => c && columns.indexOf(c) !== i);
  if (twice !== undefined) throw new Error(`The column name "${twice}" appears twice in the first row; each column needs its own name.`);
  if (rows.length < 2) throw new Error('This CSV has a header row but no data rows.');
  return columns.map((c, i) => c || `column_${i + 1}`);
}
