import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, columnCells, columnOf, guessDelimiter, parseCsv, parseNumber, tableFromRows, type Column } from './csv.ts';
import { gridFigures, medianAt, profileColumn, profileTable, Scratch } from './profile.ts';
import { encodeRows, encodeTable, fitPreprocessing, fitScalingFlat, scaleInPlace, seededRandom, splitRows, type PreprocessingV2 } from './modules/tabular-data.ts';

const MESSY = [
  'id,island,bill_mm,mass_g,smoker,seen,species',
  ...Array.from({ length: 40 }, (_, i) => {
    const island = ['Biscoe', 'Dream', 'Torgersen'][i % 3];
    const bill = i % 7 === 3 ? 'NA' : String(30 + (i % 10));
    const mass = i % 9 === 4 ? '' : String(3000 + 10 * i);
    const smoker = i % 2 ? 'yes' : 'no';
    const species = i === 17 ? '' : i % 2 ? 'Adelie' : 'Gentoo';
    return `${1000 + i},${island},${bill},${mass},${smoker},2024-01-${String((i % 28) + 1).padStart(2, '0')},${species}`;
  }),
].join('\n');

describe('reading CSVs', () => {
  it('finds the separator: commas, tabs, and semicolons with decimal commas', () => {
    expect(guessDelimiter('a,b,c\n1,2,3\n4,5,6\n')).toBe(',');
    expect(guessDelimiter('a\tb\n1.5\t2\n3\t4\n')).toBe('\t');
    expect(guessDelimiter('a;b;c\n1,5;2,25;x\n3;4,0;y\n')).toBe(';');
    // A comma inside quotes is not a separator.
    expect(guessDelimiter('name,v\n"Smith, J",1\n"Doe, A",2\n')).toBe(',');
  });

  it('reads decimal commas only where the file is not comma-separated', async () => {
    expect(parseNumber('3,5', true)).toBe(3.5);
    expect(parseNumber('3,5', false)).toBeUndefined();
    expect(parseNumber('-1.5e3')).toBe(-1500);
    expect(parseNumber('12abc', true)).toBeUndefined();
    expect(['.5', '5.', '+3', '1e5', '-0.25'].map((t) => parseNumber(t))).toEqual([0.5, 5, 3, 100000, -0.25]);
    expect(['0x10', '0b1', '5-3', '1 2', 'Infinity', '1,000', '', '-'].map((t) => parseNumber(t))).toEqual(Array(8).fill(undefined));
    const table = await parseCsv('x;y\n1,5;a\n2,25;b\n');
    expect(table.delimiter).toBe(';');
    expect(table.decimalComma).toBe(true);
    expect(columnCells(table.data[0]!)).toEqual(['1,5', '2,25']);
  });

  it('keeps missing cells as null, and leaves out a malformed row with its line', async () => {
    const table = await parseCsv('a,b,c\n1,NA,x\n2,,y\n3,4\n  \n5,n/a,z,extra\n6,7,?\n');
    expect(table.columns).toEqual(['a', 'b', 'c']);
    expect(table.rowCount).toBe(3);
    expect(columnCells(table.data[1]!)).toEqual([null, null, '7']);
    expect(columnCells(table.data[2]!)).toEqual(['x', 'y', null]);
    expect(table.lines).toEqual([2, 3, 7]);
    expect(table.malformed.count).toBe(2);
    expect(table.malformed.lines).toEqual([4, 6]);
    expect(table.malformed.first).toMatch(/line 4 has 2 cells; the header has 3/);
  });

  it('keeps the texts of numbers in a column that meets its first word late, and reads as NaN a column without numbers', async () => {
    const table = await parseCsv('a,b,c,d\n1,x,1,2\n1.50,y,NA,2.0\n,z,-3,\n1,w,x,abc\n');
    const [a, b, c, d] = table.data;
    // Numbers and missing cells only: codes made from the values when first read.
    expect(columnCells(a!)).toEqual(['1', '1.50', null, '1']);
    expect(Array.from(a!.codes)).toEqual([0, 1, -1, 0]);
    // Words only: numbers all NaN.
    expect(Array.from(b!.numbers)).toEqual([NaN, NaN, NaN, NaN]);
    expect(columnCells(b!)).toEqual(['x', 'y', 'z', 'w']);
    // Numbers, then a word: the codes before it from the numbers' values.
    expect(columnCells(c!)).toEqual(['1', null, '-3', 'x']);
    expect(Array.from(c!.numbers)).toEqual([1, NaN, -3, NaN]);
    // Two texts of one number (`2`, `2.0`), then a word: read again for the texts.
    expect(columnCells(d!)).toEqual(['2', '2.0', null, 'abc']);
    expect(table.data.map((col) => [col.missing, col.nonNumeric])).toEqual([[1, 0], [0, 4], [1, 1], [1, 1]]);
  });

  it('reads the common cells of a long file as the rules for any cell read them', async () => {
    // Past the number texts a column keeps, its plain decimals and its texts met lately take a shorter way.
    const n = 3000;
    const a = Array.from({ length: n }, (_, i) =>
      i === 100 ? '-0' : i % 7 === 0 ? 'NA' : i % 11 === 0 ? ' 2.5 ' : i % 13 === 0 ? '+1' : i % 17 === 0 ? '.5' : i % 23 === 0 ? 'n/a' : (i / 1000 - 1.5).toFixed(3),
    );
    const b = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 'NA' : i % 9 === 0 ? 'y ' : i % 19 === 0 ? '' : i % 29 === 0 ? 'Other' : ['x', 'y', 'z'][i % 3]!));
    const table = await parseCsv(['a,b', ...a.map((v, i) => `${v},${b[i]}`)].join('\n'));
    const [parsedA, parsedB] = table.data;
    const slowA = columnOf(a);
    const slowB = columnOf(b);
    const figures = (c: Column) => ({ missing: c.missing, nonNumeric: c.nonNumeric, decimals: c.decimals, min: c.min, max: c.max });
    expect(parsedA!.numberTexts).toBe(false);
    expect(Array.from(parsedA!.numbers)).toEqual(Array.from(slowA.numbers));
    expect(figures(parsedA!)).toEqual(figures(slowA));
    expect(Object.is(parsedA!.numbers[100], -0)).toBe(true);
    expect(columnCells(parsedB!)).toEqual(columnCells(slowB));
    expect({ ...figures(parsedB!), texts: parsedB!.texts, counts: parsedB!.counts }).toEqual({ ...figures(slowB), texts: slowB.texts, counts: slowB.counts });
  });

  it('finds the smallest and largest number of a column, -0 below 0', () => {
    const range = (cells: (string | null)[]) => {
      const { min, max } = columnOf(cells);
      return [min, max];
    };
    expect(range(['3', '-0', '0', '1.5'])).toEqual([-0, 3]);
    expect(range(['0', '-0', 'NA'])).toEqual([-0, 0]);
    expect(range(['-0', null, '-0'])).toEqual([-0, -0]);
    expect(range(['0', '-2.5', 'x'])).toEqual([-2.5, 0]);
    expect(range(['NA', 'x'])).toEqual([Infinity, -Infinity]);
  });

  it('refuses duplicate column names, a header-only file and an empty file, naming what is wrong', async () => {
    await expect(parseCsv('a,b,a\n1,2,3\n')).rejects.toMatchObject({ code: 'invalid-dataset', message: expect.stringMatching(/"a" appears twice.*columns 1 and 3/) });
    await expect(parseCsv('a,b,species\n')).rejects.toMatchObject({ code: 'invalid-dataset', message: expect.stringMatching(/header row \(a, b, species\) but no rows/) });
    await expect(parseCsv('  \n')).rejects.toMatchObject({ code: 'invalid-dataset', message: expect.stringMatching(/empty/) });
  });

  it('reads a file of several chunks as its text, a character cut by the end of a chunk whole', async () => {
    // "Zürich" written so that the two bytes of its "ü" fall on either side of the first chunk's end.
    const encoder = new TextEncoder();
    const filler = Array.from({ length: 40_000 }, (_, i) => `${i},Basel,${'x'.repeat(80)}`);
    let text = ['id,city,note', ...filler].join('\n') + '\n';
    const pad = CHUNK_BYTES - 1 - encoder.encode(text).length - encoder.encode('40000,Z').length - encoder.encode('0,Bern,\n').length;
    text += `0,Bern,${'p'.repeat(pad)}\n40000,Zürich,end\n`;
    const bytes = encoder.encode(text);
    expect(Array.from(bytes.subarray(CHUNK_BYTES - 1, CHUNK_BYTES + 1))).toEqual([0xc3, 0xbc]);
    const table = await parseCsv(new Blob([bytes]));
    expect(table.rowCount).toBe(40_002);
    expect(table.data[1]!.texts).toEqual(['Basel', 'Bern', 'Zürich']);
    expect(columnCells(table.data[2]!)).toEqual(columnCells((await parseCsv(text)).data[2]!));
  });

  it('says a file that cannot be read could not be read', async () => {
    const gone = { size: 100, slice: () => ({ arrayBuffer: () => Promise.reject(new Error('the file is gone')) }) } as unknown as Blob;
    await expect(parseCsv(gone)).rejects.toMatchObject({ code: 'invalid-dataset', message: 'The CSV file could not be read: the file is gone.' });
  });

  it('refuses a file over the training data limit, naming the limit, before reading it', async () => {
    const big = { size: 1024 ** 3, slice: () => { throw new Error('read'); } } as unknown as Blob;
    await expect(parseCsv(big)).rejects.toMatchObject({ code: 'payload-too-large', message: expect.stringMatching(/1024 MiB; the limit is 512 MiB \(LIMITS\.trainingDataBytes\)/) });
  });
});

describe('reading many rows into typed columns', () => {
  // Rows of: many different numbers; numbers with text in a fifth of the rows (over 1,024 different ones);
  // a class label that is a number with a few words; categories written as numbers.
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    amount: (i * 0.37).toFixed(2),
    code: i % 5 === 0 ? `code-${i % 7}` : String(1000 + i),
    label: i === 1500 ? 'unknown' : i % 3 === 1 ? '2' : `${10 + i}.0`,
    grade: i % 3 === 0 ? '007' : i % 3 === 1 ? '7.0' : 'A',
    y: i % 2 ? 'yes' : 'no',
  }));
  const csv = ['amount,code,label,grade,y', ...rows.map((r) => [r.amount, r.code, r.label, r.grade, r.y].join(','))].join('\n');

  it('keeps the exact text of every cell of a column that is not all numbers, reading the file again for it', async () => {
    const table = await parseCsv(csv);
    const [amount, code, label, grade] = table.data;
    // A column of numbers keeps only its values past the first different texts; the others keep every text.
    expect(amount!.numberTexts).toBe(false);
    expect(Array.from(amount!.numbers.subarray(0, 3))).toEqual([0, 0.37, 0.74]);
    expect(code!.numberTexts).toBe(true);
    expect(columnCells(code!)).toEqual(rows.map((r) => r.code));
    expect(columnCells(label!)).toEqual(rows.map((r) => r.label));
    expect(columnCells(grade!)).toEqual(rows.map((r) => r.grade));
    // The same table as from the rows themselves.
    const same = tableFromRows(rows);
    for (const c of [1, 2, 3]) expect(columnCells(table.data[c]!)).toEqual(columnCells(same.data[c]!));
    const report = profileTable(table, 'y', 'tabular-classifier').report;
    expect(report.columns.map((c) => [c.name, c.type, c.distinct])).toEqual(profileTable(same, 'y', 'tabular-classifier').report.columns.map((c) => [c.name, c.type, c.distinct]));
    expect(report.columns.find((c) => c.name === 'grade')).toMatchObject({ type: 'categorical', values: ['007', '7.0', 'A'] });
  });

  it('reads a Blob as it reads the same text, the second reading included', async () => {
    const [fromText, fromBlob] = await Promise.all([parseCsv(csv), parseCsv(new Blob([csv]))]);
    expect(fromBlob.columns).toEqual(fromText.columns);
    fromText.data.forEach((column, c) => expect(columnCells(fromBlob.data[c]!)).toEqual(columnCells(column)));
  });

  it('takes a class label written as a number with its text, when the column also holds words', async () => {
    const table = await parseCsv(csv);
    const profile = profileTable(table, 'label', 'tabular-classifier', ['amount', 'grade']);
    expect(profile.y.slice(0, 4)).toEqual(['10.0', '2', '12.0', '13.0']);
    expect(profile.y[1500]).toBe('unknown');
    expect(profile.y[2999]).toBe('3009.0');
    expect(profile.report.classes!['unknown']).toBe(1);
    // All numbers: the labels are numbers.
    expect(profileTable(table, 'amount', 'tabular-regressor', ['grade']).y.slice(0, 2)).toEqual([0, 0.37]);
  });
});

describe('column typing', () => {
  const type = (cells: (string | null)[], name = 'c') => profileColumn(name, cells, false).report;
  const many = (f: (i: number) => string | null, n = 40) => Array.from({ length: n }, (_, i) => f(i));

  it('types numeric, categorical, boolean, identifier, date, constant and empty columns', () => {
    expect(type(many((i) => String(i % 5 + 0.5)))).toMatchObject({ type: 'numeric', action: 'use', missing: 0, distinct: 5, min: 0.5, max: 4.5 });
    expect(type(many((i) => (i % 4 ? String(i % 6) : null)))).toMatchObject({ type: 'numeric', action: 'impute', missing: 10 });
    expect(type(many((i) => ['a', 'b', 'c'][i % 3]!))).toMatchObject({ type: 'categorical', action: 'one-hot', distinct: 3, values: ['a', 'b', 'c'] });
    expect(type(many((i) => (i % 2 ? 'Yes' : 'no')))).toMatchObject({ type: 'boolean', action: 'use' });
    expect(type(many((i) => String(100 + i)), 'customer_id')).toMatchObject({ type: 'identifier', action: 'ignore' });
    expect(type(many((i) => String(i * 7 + 3)), 'weight')).toMatchObject({ type: 'numeric' });
    expect(type(many((i) => String(i * 7 + 3)), 'paid')).toMatchObject({ type: 'numeric' });
    expect(type(many((i) => String(i * 7 + 3)), 'orderId')).toMatchObject({ type: 'identifier' });
    expect(type(many((i) => String(i * 7 + 3)), 'row_id')).toMatchObject({ type: 'identifier' });
    expect(type(many((i) => `user-${i * 13}`))).toMatchObject({ type: 'identifier', action: 'ignore', reason: expect.stringMatching(/every value differs/) });
    expect(type(many((i) => `2023-0${(i % 9) + 1}-1${i % 10}`))).toMatchObject({ type: 'date', action: 'ignore' });
    expect(type(many(() => 'same'))).toMatchObject({ type: 'constant', action: 'ignore', reason: expect.stringMatching(/"same"/) });
    expect(type(many(() => null))).toMatchObject({ type: 'empty', action: 'ignore', missing: 40 });
  });

  it('counts the different numbers of a column, -0 and 0 as one, in a small or a large set', () => {
    const scratch = new Scratch();
    const count = (values: number[]) => {
      const a = Float64Array.from(values);
      const whole = values.every(Number.isInteger);
      const min = Math.min(...values);
      const max = Math.max(...values);
      return [scratch.distinct(a, min, max, whole), scratch.distinct(a)];
    };
    const expected = (values: number[]) => new Set(values.map((v) => v + 0)).size;
    const random = seededRandom(5);
    const cases = [
      [0, -0, 1, 1, 2, -3],
      Array.from({ length: 50_000 }, (_, i) => i * 3),
      Array.from({ length: 50_000 }, () => Math.floor(random() * 1000) - 500),
      Array.from({ length: 50_000 }, () => Number((random() * 2 - 1).toFixed(4))),
      Array.from({ length: 50_000 }, () => random() * 1e300),
      Array.from({ length: 5_000 }, () => Math.floor(random() * 3) * 1e15),
    ];
    for (const values of cases) expect(count(values)).toEqual([expected(values), expected(values)]);
  });

  it('finds the median and the different numbers on a grid as by sorting, for odd and even counts, with gaps', () => {
    const random = seededRandom(11);
    const sortedMedian = (values: number[]) => {
      const a = [...values].sort((x, y) => x - y);
      const k = a.length >> 1;
      return a.length % 2 ? a[k]! : (a[k - 1]! + a[k]!) / 2;
    };
    const cases: string[][] = [
      Array.from({ length: 9_999 }, () => (random() * 2 - 1).toFixed(4)),
      Array.from({ length: 10_000 }, () => (random() * 2 - 1).toFixed(random() < 0.5 ? 2 : 3)),
      Array.from({ length: 5_000 }, () => String(Math.floor(random() * 40) - 20)),
      Array.from({ length: 4 }, (_, i) => ['1.5', '-2', '0.25', '7'][i]!),
      ['3.0', '5.0', '4.0', '6.0'],
      Array.from({ length: 2_000 }, () => (random() * 1e6).toFixed(1)),
    ];
    for (const texts of cases) {
      const cells = texts.map((t, i) => (i % 7 === 3 ? null : t));
      const values = cells.filter((t) => t !== null).map(Number);
      const { report, grid, numbers } = profileColumn('x', cells, false);
      expect({ median: report.median, distinct: report.distinct, min: report.min, max: report.max }).toEqual({
        median: sortedMedian(values),
        distinct: new Set(values).size,
        min: Math.min(...values),
        max: Math.max(...values),
      });
      // The same median from the grid and without it, over some of the rows.
      const rows = Int32Array.from({ length: cells.length >> 1 }, (_, i) => i * 2);
      const some = Array.from(rows, (r) => numbers![r]!).filter((v) => v === v);
      const expected = { median: sortedMedian(some), missing: some.length < rows.length };
      expect(medianAt(numbers!, rows)).toEqual(expected);
      if (grid) {
        const { counts, present } = new Scratch().countAt(numbers!, rows, grid);
        expect({ median: gridFigures(counts, grid, present).median, missing: present < rows.length }).toEqual(expected);
      }
    }
    // Numbers a grid cannot hold (too many decimal places, too wide a range) are counted without one.
    expect(profileColumn('x', ['0.1234567', '2', '3'], false).grid).toBeUndefined();
    expect(profileColumn('x', ['1', '1000000000', '3'], false).grid).toBeUndefined();
    expect(profileColumn('x', ['1.25', '2', '3'], false).grid).toEqual({ low: 125, unit: 100, span: 176 });
  });

  it('counts a few stray words in a numeric column as missing', () => {
    const cells = many((i) => (i === 5 ? 'unknown' : String(i % 8)));
    const { report, numbers } = profileColumn('c', cells, false);
    expect(report).toMatchObject({ type: 'numeric', action: 'impute', missing: 1, reason: expect.stringMatching(/1 cell not a number/) });
    expect(Number.isNaN(numbers![5])).toBe(true);
  });
});

describe('profiling a table for training', () => {
  it('reports each column, the rows left out and why, and the features used', async () => {
    const table = await parseCsv(MESSY + '\n1,2\n');
    const { report, rows, y } = profileTable(table, 'species', 'tabular-classifier');
    const byName = Object.fromEntries(report.columns.map((c) => [c.name, c]));
    expect(byName.id).toMatchObject({ type: 'identifier', action: 'ignore', feature: false });
    expect(byName.island).toMatchObject({ type: 'categorical', action: 'one-hot', feature: true });
    expect(byName.bill_mm).toMatchObject({ type: 'numeric', action: 'impute', missing: 6, feature: true });
    expect(byName.smoker).toMatchObject({ type: 'boolean', feature: true });
    expect(byName.seen).toMatchObject({ type: 'date', action: 'ignore' });
    expect(byName.species).toMatchObject({ action: 'target', missing: 1 });
    expect(report.features).toEqual(['island', 'bill_mm', 'mass_g', 'smoker']);
    expect(report.rows).toBe(40);
    expect(report.usedRows).toBe(39);
    expect(report.dropped).toEqual([
      { reason: 'malformed row', count: 1, lines: [42], detail: expect.stringMatching(/2 cells/) },
      { reason: 'missing target', count: 1, lines: [19], detail: 'no value for "species"' },
    ]);
    expect(report.classes).toEqual({ Gentoo: 20, Adelie: 19 });
    expect(rows).toHaveLength(39);
    expect(rows).not.toContain(17);
    expect(y[0]).toBe('Gentoo');
  });

  it('switches columns off as the features parameter says', async () => {
    const { report } = profileTable(await parseCsv(MESSY), 'species', 'tabular-classifier', ['bill_mm', 'island']);
    expect(report.features).toEqual(['island', 'bill_mm']);
    expect(report.columns.find((c) => c.name === 'mass_g')).toMatchObject({ action: 'ignore', feature: false, reason: expect.stringMatching(/^switched off/) });
  });

  it('refuses a constant or all-missing target, a categorical target for a regressor, and data with no usable feature', async () => {
    const rows = (f: (i: number) => Record<string, string | number>) => tableFromRows(Array.from({ length: 30 }, (_, i) => f(i)));
    expect(() => profileTable(rows((i) => ({ a: i % 3, t: 'x' })), 't', 'tabular-classifier')).toThrow(/"t" has one value \("x"\) in every row.*at least two classes/);
    expect(() => profileTable(rows((i) => ({ a: i % 3, t: '' })), 't', 'tabular-regressor')).toThrow(/"t" has no value in any row/);
    expect(() => profileTable(rows((i) => ({ a: i % 3, t: ['lo', 'hi'][i % 2]! })), 't', 'tabular-regressor')).toThrow(
      /"t" is not numeric \("lo" on row 1\): a regressor predicts numbers/,
    );
    expect(() => profileTable(rows((i) => ({ id: i + 1, k: 'same', t: i % 2 })), 't', 'tabular-classifier')).toThrow(
      /No usable feature column is left to predict "t" from \("id": whole numbers.*"k": one value/,
    );
    expect(() => profileTable(rows((i) => ({ a: i, t: i % 2 })), 'nope', 'tabular-classifier')).toThrow(/no target column "nope"/);
  });
});

describe('preprocessing format 2', () => {
  const table = tableFromRows([
    { x: 1, c: 'a', b: 'yes', t: 0 },
    { x: 2, c: 'a', b: 'no', t: 1 },
    { x: '', c: 'b', b: 'yes', t: 0 },
    { x: 10, c: 'b', b: '', t: 1 },
    { x: 4, c: '', b: 'no', t: 0 },
    { x: 100, c: 'rare', b: 'no', t: 1 },
  ]);
  const profile = profileTable(table, 't', 'tabular-classifier');
  // The last row is held out: its 100 and "rare" are not learned.
  const train = [0, 1, 2, 3, 4];
  const { columns, inputs } = fitPreprocessing(table, profile, train);
  const prep = { columns, inputs, decimalComma: false } as PreprocessingV2;

  it('learns medians, the common yes/no and vocabularies from the training rows only', () => {
    expect(columns).toEqual([
      { name: 'x', kind: 'numeric', median: 3, missingFlag: true },
      { name: 'c', kind: 'categorical', vocabulary: ['a', 'b'], missingSlot: true },
      { name: 'b', kind: 'boolean', fill: 1, missingFlag: true },
    ]);
    expect(prep.inputs).toEqual(['x', 'x (missing)', 'c=a', 'c=b', 'c (other)', 'c (missing)', 'b', 'b (missing)']);
  });

  it('imputes numeric gaps with the median and flags them; one-hot encodes, with unseen values in "other"', () => {
    const x = encodeTable(prep, table, profile, profile.rows);
    const row = (i: number) => Array.from(x.subarray(i * 8, i * 8 + 8));
    expect(row(0)).toEqual([1, 0, 1, 0, 0, 0, 1, 0]);
    expect(row(2)).toEqual([3, 1, 0, 1, 0, 0, 1, 0]);
    expect(row(3)).toEqual([10, 0, 0, 1, 0, 0, 1, 1]);
    expect(row(4)).toEqual([4, 0, 0, 0, 0, 1, 0, 0]);
    expect(row(5)).toEqual([100, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('predicts from rows with missing cells, unseen categories and stray text, noting each, never refusing', () => {
    const { x, imputed } = encodeRows(prep, [{ x: '2', c: 'b', b: 'no' }, { c: 'zebra', b: 'maybe', x: 'NA' }, {}]);
    expect(Array.from(x.subarray(0, 8))).toEqual([2, 0, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(x.subarray(8, 16))).toEqual([3, 1, 0, 0, 1, 0, 1, 1]);
    expect(Array.from(x.subarray(16, 24))).toEqual([3, 1, 0, 0, 0, 1, 1, 1]);
    expect(imputed).toEqual([
      { row: 1, column: 'x', reason: 'missing', used: 3 },
      { row: 1, column: 'c', reason: 'unseen category', used: 'other' },
      { row: 1, column: 'b', reason: 'not a number', used: 1 },
      { row: 2, column: 'x', reason: 'missing', used: 3 },
      { row: 2, column: 'c', reason: 'missing', used: 'missing' },
      { row: 2, column: 'b', reason: 'missing', used: 1 },
    ]);
  });

  it('reads decimal commas in rows to predict when the training file had them', () => {
    const { x, imputed } = encodeRows({ ...prep, decimalComma: true }, [{ x: '2,5', c: 'a', b: 'yes' }]);
    expect(x[0]).toBe(2.5);
    expect(imputed).toEqual([]);
  });

  it('fits the scaling from the columns as from the encoded matrix, and encodes standardized rows bit for bit as scaled afterwards', async () => {
    const messy = await parseCsv(MESSY);
    const profile = profileTable(messy, 'species', 'tabular-classifier');
    const { train } = splitRows(profile.rows.length, 0.25, 3, profile.y);
    const { scaling, ...prep } = fitPreprocessing(messy, profile, train);
    expect(prep.inputs.length).toBeGreaterThan(prep.columns.length);
    const raw = encodeTable(prep, messy, profile, profile.rows);
    // The same figures but for the rounding of sums added in another order.
    const flat = fitScalingFlat(raw, prep.inputs.length, train);
    expect(scaling.mean).toHaveLength(flat.mean.length);
    scaling.mean.forEach((m, j) => expect(Math.abs(m - flat.mean[j]!)).toBeLessThan(1e-12 * (1 + Math.abs(flat.mean[j]!))));
    scaling.std.forEach((s, j) => expect(Math.abs(s - flat.std[j]!)).toBeLessThan(1e-12 * flat.std[j]!));
    const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer));
    expect(bits(encodeTable(prep, messy, profile, profile.rows, scaling))).toEqual(bits(scaleInPlace(scaling, raw.slice(), prep.inputs.length)));
  });

  it('learns from the training rows alone when it counts every row less the others', () => {
    // Numbers on a narrow grid and categories, missing here and there (some only outside the training rows), and a row without a target.
    const rows = Array.from({ length: 600 }, (_, i) => ({
      x: i % 41 === 0 ? '' : String((i % 37) / 2),
      onlyHeld: i === 599 ? 'NA' : String(i % 5),
      c: i % 23 === 0 ? 'NA' : ['a', 'b', 'c', 'd'][(i * 7) % 4]!,
      t: i === 10 ? '' : i % 3 ? 'yes' : 'no',
    }));
    const table = tableFromRows(rows);
    const profile = profileTable(table, 't', 'tabular-classifier');
    expect(profile.columns[0]!.counted).toBeDefined();
    const { train } = splitRows(profile.rows.length, 0.3, 5, profile.y);
    const trainRows = train.filter((p) => profile.rows[p] !== 599);
    const { columns, inputs, scaling } = fitPreprocessing(table, profile, trainRows);
    const at = trainRows.map((p) => profile.rows[p]!);
    const xs = at.map((r) => rows[r]!.x).filter((x) => x !== '').map(Number).sort((a, b) => a - b);
    const middle = xs.length % 2 ? xs[xs.length >> 1]! : (xs[xs.length / 2 - 1]! + xs[xs.length / 2]!) / 2;
    expect(columns[0]).toEqual({ name: 'x', kind: 'numeric', median: middle, missingFlag: xs.length < at.length });
    expect(columns[1]).toMatchObject({ name: 'onlyHeld', missingFlag: false });
    const seen = new Set(at.map((r) => rows[r]!.c));
    expect(columns[2]).toMatchObject({ name: 'c', kind: 'categorical', missingSlot: seen.has('NA') });
    // The same figures from the encoded matrix of the training rows.
    const raw = encodeTable({ columns, inputs }, table, profile, profile.rows);
    const flat = fitScalingFlat(raw, inputs.length, trainRows);
    scaling.mean.forEach((m, j) => expect(Math.abs(m - flat.mean[j]!)).toBeLessThan(1e-12 * (1 + Math.abs(flat.mean[j]!))));
    scaling.std.forEach((v, j) => expect(Math.abs(v - flat.std[j]!)).toBeLessThan(1e-12 * flat.std[j]!));
  });

  it('splits a classifier stratified: each class keeps its share on both sides', () => {
    const labels = Array.from({ length: 100 }, (_, i) => (i < 80 ? 'a' : 'b'));
    const { train, held } = splitRows(100, 0.25, 7, labels);
    expect(train.length + held.length).toBe(100);
    expect(new Set([...train, ...held]).size).toBe(100);
    expect(held.filter((i) => labels[i] === 'a')).toHaveLength(20);
    expect(held.filter((i) => labels[i] === 'b')).toHaveLength(5);
    // Seeded: the same split again.
    expect(splitRows(100, 0.25, 7, labels)).toEqual({ train, held });
  });
});
