/**
 * The column names of a CSV file: its first line, read from the first 64 KiB only (the whole
 * file is parsed in the training worker). Refuses a file that cannot be training data, so a
 * bad CSV is reported before any job, model or version is made.
 */
export async function csvHeader(file: Blob): Promise<string[]> {
  const head = await file.slice(0, 64 * 1024).text();
  if (!head.trim()) throw new Error('This file is empty: a CSV needs a header row and at least one data row.');
  if (head.includes('\u0000')) throw new Error('This file is not a text CSV file.');
  const lines = head.split(/\r?\n/).filter((l) => l.trim());
  const columns = splitLine(lines[0]!);
  if (columns.length < 2) throw new Error('The first row should name at least two columns, separated by commas (some features and the column to predict).');
  if (columns.some((c) => !c)) throw new Error('Every column of the first row needs a name.');
  if (new Set(columns).size !== columns.length) throw new Error('Two columns of the first row have the same name.');
  if (lines.length < 2) throw new Error('This CSV has a header row but no data rows.');
  return columns;
}

/** One CSV line into fields, honouring double quotes. */
function splitLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(field.trim()), (field = '');
    else field += ch;
  }
  out.push(field.trim());
  return out;
}
