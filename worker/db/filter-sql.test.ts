import fc from 'fast-check';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import {
  evaluateFilter,
  formatFilter,
  parseFilter,
  type FieldRef,
  type FilterNode,
  type FilterRecord,
  type FilterValue,
} from '../../shared/filter.ts';
import { paramNumber } from '../../shared/params.ts';
import { compileFilter, MAX_FILTER_PARAMS, type FilterTarget } from './filter-sql.ts';

const TARGET: FilterTarget = { alias: 'e', fields: { name: 'name', task: 'task', number: 'number' } };
const FIELDS = Object.keys(TARGET.fields);

const compile = (text: string, target: FilterTarget = TARGET) => compileFilter(parseFilter(text, FIELDS), target);

function compileError(node: FilterNode | undefined, target: FilterTarget = TARGET): HangarError {
  try {
    compileFilter(node, target);
  } catch (error) {
    if (error instanceof HangarError) return error;
    throw error;
  }
  throw new Error('expected the filter not to compile');
}

const field = (name: string): FieldRef => ({ kind: 'field', name });
const eq = (ref: FieldRef, value: FilterValue): FilterNode => ({ type: 'compare', field: ref, op: '=', value });

describe('compileFilter', () => {
  it('compiles no filter to 1 with no parameters', () => {
    expect(compileFilter(undefined, TARGET)).toEqual({ sql: '1', params: [] });
  });

  it('compiles a plain field to a typed CASE over the affinity-free column', () => {
    expect(compile("task = 'tabular'")).toEqual({
      sql: `(CASE WHEN typeof("e"."task") = 'text' THEN +"e"."task" = ? END)`,
      params: ['tabular'],
    });
    expect(compile('number >= 2').sql).toBe(`(CASE WHEN typeof("e"."number") IN ('integer', 'real') THEN +"e"."number" >= ? END)`);
  });

  it('compiles a tag to a metadata subquery guarded by json_type, binding the value before the key', () => {
    expect(compile("tags.team != 'growth'")).toEqual({
      sql:
        `(SELECT CASE WHEN json_type(filter_tag.value) = 'text' THEN json_extract(filter_tag.value, '$') <> ? END` +
        ` FROM metadata filter_tag WHERE filter_tag.parent_id = "e"."id" AND filter_tag.key = ? AND NOT filter_tag.deleted)`,
      params: ['growth', 'team'],
    });
    expect(compile('tags.ok = TRUE')).toMatchObject({ params: [1, 'ok'] });
    expect(compile('tags.ok = TRUE').sql).toContain(`json_type(filter_tag.value) IN ('true', 'false')`);
    expect(compile('tags.n < 3').sql).toContain(`json_type(filter_tag.value) IN ('integer', 'real')`);
  });

  it('compiles a metric to its last logged value', () => {
    expect(compile('metrics.accuracy > 0.9')).toEqual({
      sql:
        `(SELECT CASE WHEN typeof(filter_metric.last) IN ('integer', 'real') THEN +filter_metric.last > ? END` +
        ` FROM metric_series filter_metric WHERE filter_metric.parent_id = "e"."id" AND filter_metric.key = ?)`,
      params: [0.9, 'accuracy'],
    });
  });

  it('compiles AND, OR and NOT into parenthesised SQL with parameters in text order', () => {
    const { sql, params } = compile("name LIKE 'churn%' AND (task = 'a' OR NOT tags.team = 'growth') AND metrics.acc > 0.9");
    expect(sql).toMatch(/^\(\(CASE .* AND \(\(CASE .* OR \(NOT \(SELECT .*\)\)\) AND \(SELECT .*\)\)$/);
    expect(params).toEqual(['churn*', 'a', 'growth', 'team', 0.9, 'acc']);
  });

  it('compiles IN to one CASE with a parameter per value, and NOT IN to its negation', () => {
    expect(compile("task NOT IN ('a', 'b')")).toEqual({
      sql: `(NOT (CASE WHEN typeof("e"."task") = 'text' THEN +"e"."task" IN (?, ?) END))`,
      params: ['a', 'b'],
    });
  });

  it('compiles IS NULL without parameters for columns and with the key for tags and metrics', () => {
    expect(compile('name IS NULL')).toEqual({ sql: `(("e"."name") IS NULL)`, params: [] });
    expect(compile('tags.x IS NOT NULL').params).toEqual(['x']);
    expect(compile('metrics.x IS NULL').sql).toMatch(/^\(\(SELECT filter_metric\.last FROM metric_series .*\) IS NULL\)$/);
  });

  it('compiles LIKE to GLOB, translating wildcards and escaping GLOB metacharacters', () => {
    expect(compile("name LIKE 'a%b_c'")).toEqual({
      sql: `(CASE WHEN typeof("e"."name") = 'text' THEN +"e"."name" GLOB ? END)`,
      params: ['a*b?c'],
    });
    expect(compile("name LIKE '*?[]\\%\\_\\\\'").params).toEqual(['[*][?][[]]%_\\']);
    expect(compile("name NOT LIKE '😀_'").params).toEqual(['😀?']);
  });

  it("compiles ILIKE to lower() LIKE lower() with ESCAPE '\\', binding the pattern as written", () => {
    expect(compile("name NOT ILIKE 'A\\%%'")).toEqual({
      sql: `(NOT (CASE WHEN typeof("e"."name") = 'text' THEN lower(+"e"."name") LIKE lower(?) ESCAPE '\\' END))`,
      params: ['A\\%%'],
    });
  });

  it('binds booleans as 1 and 0', () => {
    expect(compile('number IN (TRUE, FALSE)').params).toEqual([1, 0]);
  });

  it('keeps every user value out of the SQL text', () => {
    const marked = fc.string({ maxLength: 8 }).map((s) => `§${s}`);
    const node = fc.oneof(
      fc.record({ type: fc.constant('compare' as const), field: fc.constant(field('name')), op: fc.constant('=' as const), value: marked }),
      marked.map((key): FilterNode => eq({ kind: 'tag', key }, 12345)),
      marked.map((key): FilterNode => ({ type: 'like', field: { kind: 'metric', key }, pattern: key, caseInsensitive: true, negated: true })),
      fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 5 }).map(
        (values): FilterNode => ({ type: 'in', field: field('number'), values, negated: false }),
      ),
    );
    fc.assert(
      fc.property(fc.array(node, { minLength: 2, maxLength: 4 }), (items) => {
        const { sql, params } = compileFilter({ type: 'or', items }, TARGET);
        expect(sql).not.toContain('§');
        expect(sql.replaceAll('LIMIT 1', '')).not.toMatch(/[0-9]/);
        expect(sql.split('?').length - 1).toBe(params.length);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a field the target does not map, even one inherited from Object', () => {
    for (const name of ['owner', 'constructor', '__proto__']) {
      const error = compileError(eq(field(name), 1));
      expect(error.code).toBe(ErrorCode.InvalidFilter);
      expect(error.message).toContain(name);
    }
  });

  it('refuses identifiers that are not plain SQL names', () => {
    expect(compileError(eq(field('name'), 1), { alias: 'e; DROP TABLE t', fields: { name: 'name' } }).code).toBe(ErrorCode.Internal);
    expect(compileError(eq(field('name'), 1), { alias: 'e', fields: { name: 'name"--' } }).code).toBe(ErrorCode.Internal);
    expect(compileError(eq(field('name'), 1), { alias: 'Filter_Tag', fields: { name: 'name' } }).code).toBe(ErrorCode.Internal);
  });

  it('refuses an empty or mixed IN list built by hand', () => {
    expect(compileError({ type: 'in', field: field('name'), values: [], negated: false }).code).toBe(ErrorCode.InvalidFilter);
    expect(compileError({ type: 'in', field: field('name'), values: ['a', 1], negated: false }).code).toBe(ErrorCode.InvalidFilter);
  });

  it('compiles an empty AND to true and an empty OR to false, as the evaluator reads them', () => {
    expect(compileFilter({ type: 'and', items: [] }, TARGET).sql).toBe('(1)');
    expect(compileFilter({ type: 'or', items: [] }, TARGET).sql).toBe('(0)');
    expect(evaluateFilter({ type: 'and', items: [] }, { fields: {}, tags: {}, metrics: {} })).toBe(true);
    expect(evaluateFilter({ type: 'or', items: [] }, { fields: {}, tags: {}, metrics: {} })).toBe(false);
  });

  it(`accepts ${MAX_FILTER_PARAMS} parameters and refuses a filter that needs more`, () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => i).join(', ');
    expect(compile(`number IN (${values(MAX_FILTER_PARAMS)})`).params).toHaveLength(MAX_FILTER_PARAMS);
    const error = compileError(parseFilter(`number IN (${values(MAX_FILTER_PARAMS - 1)}) OR tags.a IS NULL OR name = 'x'`, FIELDS));
    expect(error.code).toBe(ErrorCode.InvalidFilter);
    expect(error.message).toContain(`${MAX_FILTER_PARAMS + 1} query parameters`);
    expect(error.details).toEqual({ parameters: MAX_FILTER_PARAMS + 1, limit: MAX_FILTER_PARAMS });
  });
});

// ---------------------------------------------------------------------------------------------
// Against D1 itself (Miniflare runs workerd's D1 locally): each compiled filter must be true,
// false or NULL on exactly the rows where the evaluator finds it true, false or unknown.

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

interface MetricPoint {
  key: string;
  value: number;
  step: number;
  wallclock: number;
}

/** One entity row as inserted: the columns of `t`, its metadata and its metric points. */
interface Row {
  id: string;
  name: string | number | null;
  task: string | null;
  number: string | number | null;
  tags: Record<string, JsonValue>;
  metrics: MetricPoint[];
  params?: Record<string, string>;
}

type Truth = boolean | null;

const SCHEMA = [
  'CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT, task TEXT, number INTEGER)',
  `CREATE TABLE metadata (namespace TEXT NOT NULL, parent_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
     hlc TEXT NOT NULL, updated_at INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (parent_id, key))`,
  // The summary row per key that the server keeps current with every write (worker/db/metrics.ts):
  // `last` is the value of the point with the highest (step, wallclock, id).
  `CREATE TABLE metric_series (parent_id TEXT NOT NULL, key TEXT NOT NULL, last REAL NOT NULL, PRIMARY KEY (parent_id, key))`,
  `CREATE TABLE params (namespace TEXT NOT NULL, parent_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, num REAL,
     hlc TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (parent_id, key))`,
];

/** D1's limit of bound parameters per statement. */
const D1_MAX_PARAMS = 100;

const pointId = (row: Row, index: number) => `${row.id}-${index}`;

/** The latest point of each metric: highest step, then wallclock, then point id. */
function lastMetricValues(row: Row): Record<string, number> {
  const latest: Record<string, { point: MetricPoint; id: string }> = {};
  row.metrics.forEach((point, i) => {
    const id = pointId(row, i);
    const current = latest[point.key];
    const later =
      !current ||
      point.step > current.point.step ||
      (point.step === current.point.step &&
        (point.wallclock > current.point.wallclock || (point.wallclock === current.point.wallclock && id > current.id)));
    if (later) latest[point.key] = { point, id };
  });
  return Object.fromEntries(Object.entries(latest).map(([key, { point }]) => [key, point.value]));
}

type Database = Awaited<ReturnType<Miniflare['getD1Database']>>;
type Statement = ReturnType<Database['prepare']>;

let miniflare: Miniflare | undefined;
let database: Database | undefined;

function db(): Database {
  if (!database) throw new Error('D1 is not running');
  return database;
}

/** One multi-row INSERT (D1 is slow per statement), or none for no rows. */
function insertRows(table: string, columns: string, tuples: readonly (string | number | null)[][]): Statement[] {
  const [first] = tuples;
  if (!first) return [];
  const placeholders = `(${first.map(() => '?').join(', ')})`;
  const sql = `INSERT INTO ${table} (${columns}) VALUES ${tuples.map(() => placeholders).join(', ')}`;
  return [db().prepare(sql).bind(...tuples.flat())];
}

function insertStatements(rows: readonly Row[]): Statement[] {
  return [
    ...insertRows('t', 'id, name, task, number', rows.map((r) => [r.id, r.name, r.task, r.number])),
    ...insertRows(
      'metadata',
      'namespace, parent_id, key, value, hlc, updated_at',
      rows.flatMap((r) => Object.entries(r.tags).map(([key, value]) => ['ns', r.id, key, JSON.stringify(value), '0', 0])),
    ),
    ...insertRows(
      'metric_series',
      'parent_id, key, last',
      rows.flatMap((r) => Object.entries(lastMetricValues(r)).map(([key, last]) => [r.id, key, last])),
    ),
    ...insertRows(
      'params',
      'namespace, parent_id, key, value, num, hlc, updated_at',
      rows.flatMap((r) => Object.entries(r.params ?? {}).map(([key, value]) => ['ns', r.id, key, value, paramNumber(value) ?? null, '0', 0])),
    ),
  ];
}

/** SELECTs of every filter's value per row, as few as D1's parameter limit allows. */
function verdictStatements(ids: readonly string[], filters: readonly FilterNode[]): { statement: Statement; count: number }[] {
  const idList = ids.map(() => '?').join(', ');
  const chunks: { sql: string[]; params: (string | number)[] }[] = [];
  for (const node of filters) {
    const { sql, params } = compileFilter(node, TARGET);
    const chunk = chunks.at(-1);
    if (chunk && chunk.params.length + params.length + ids.length <= D1_MAX_PARAMS) {
      chunk.sql.push(sql);
      chunk.params.push(...params);
    } else {
      chunks.push({ sql: [sql], params: [...params] });
    }
  }
  return chunks.map(({ sql, params }) => {
    const columns = sql.map((s, i) => `${s} AS f${i}`).join(', ');
    const text = `SELECT e.id, e.name, e.task, e.number, ${columns} FROM t AS e WHERE e.id IN (${idList}) ORDER BY e.id`;
    return { statement: db().prepare(text).bind(...params, ...ids), count: sql.length };
  });
}

const asTruth = (value: unknown): Truth => (value === null ? null : Boolean(value));

/**
 * Inserts `rows` and evaluates every filter on them in D1, in one batch. Returns each row as
 * stored (read back, so column affinity has had its say) and, per filter, its value on each row.
 * Row ids must be new to the database.
 */
async function runInD1(rows: readonly Row[], filters: readonly FilterNode[]) {
  const ids = rows.map((r) => r.id).sort();
  const selects = verdictStatements(ids, filters);
  const results = await db().batch<Record<string, unknown>>([...insertStatements(rows), ...selects.map((s) => s.statement)]);
  const selected = results.slice(-selects.length).map((r) => r.results);

  const records = new Map<string, FilterRecord>();
  const stored = selected[0] ?? [];
  for (const row of rows) {
    const { name, task, number } = stored.find((r) => r.id === row.id) ?? {};
    const tags = JSON.parse(JSON.stringify(row.tags)) as Record<string, unknown>;
    records.set(row.id, { fields: { name, task, number }, tags, metrics: lastMetricValues(row), params: { ...row.params } });
  }
  const truths = selects.flatMap(({ count }, s) =>
    Array.from({ length: count }, (_, f) => (selected[s] ?? []).map((r) => asTruth(r[`f${f}`]))),
  );
  return { ids, records, truths };
}

/** The evaluator's three-valued verdict: true, false (its NOT is true), or unknown. */
function evaluatorTruth(node: FilterNode, record: FilterRecord): Truth {
  if (evaluateFilter(node, record)) return true;
  return evaluateFilter({ type: 'not', expr: node }, record) ? false : null;
}

let nextRun = 0;
/** Gives rows ids no earlier run used, so no run needs to delete anything. */
function freshIds<T extends Omit<Row, 'id'>>(rows: readonly T[]): Row[] {
  const run = String(nextRun++).padStart(4, '0');
  return rows.map((row, i) => ({ ...row, id: `${run}:r${i}` }));
}

function mustParse(text: string): FilterNode {
  const node = parseFilter(text, FIELDS);
  if (!node) throw new Error(`empty filter: ${text}`);
  return node;
}

describe('compileFilter against D1', () => {
  beforeAll(async () => {
    miniflare = new Miniflare({ modules: true, script: 'export default {}', d1Databases: ['DB'] });
    database = await miniflare.getD1Database('DB');
    await database.batch(SCHEMA.map((sql) => db().prepare(sql)));
  }, 30_000);

  afterAll(async () => {
    await miniflare?.dispose();
  });

  const rows: Omit<Row, 'id'>[] = [
    {
      name: 'churn-a',
      task: 'tabular',
      number: 7,
      tags: { team: 'growth', stars: 4, ok: true, cfg: { a: 1 } },
      params: { lr: '0.01', opt: 'adam', epochs: '10' },
      metrics: [
        { key: 'accuracy', value: 0.5, step: 0, wallclock: 9 },
        { key: 'accuracy', value: 0.95, step: 1, wallclock: 2 },
        { key: 'accuracy', value: 0.1, step: 1, wallclock: 1 },
      ],
    },
    {
      name: 'Churn*[x]',
      task: 'vision',
      number: '#1', // text in an INTEGER column: compared as text, never converted
      tags: { team: 'core', stars: '4', ok: 1, nothing: null },
      params: { lr: '1e-1', opt: 'sgd', epochs: '9' },
      metrics: [
        { key: 'accuracy', value: 0.99, step: 1, wallclock: 5 },
        { key: 'accuracy', value: 0.8, step: 2, wallclock: 0 },
      ],
    },
    { name: '\uff5a', task: null, number: null, tags: {}, metrics: [] },
    { name: '😀', task: 'tabular', number: 2.5, tags: { team: 'growth' }, metrics: [] },
  ];

  /** Each filter and the rows (by index) it selects. */
  const cases: [filter: string, rows: number[]][] = [
    ["name LIKE 'churn%' AND task = 'tabular' AND tags.team = 'growth' AND metrics.accuracy > 0.9", [0]],
    ["NOT task = 'tabular'", [1]],
    ["task IN ('tabular', 'x')", [0, 3]],
    ["task NOT IN ('tabular')", [1]],
    ['tags.stars = 4', [0]],
    ["tags.stars = '4'", [1]],
    ['tags.ok = TRUE', [0]],
    ['tags.ok = 1', [1]],
    ['NOT tags.ok = 1', []],
    ['tags.cfg IS NOT NULL', [0]],
    ["tags.cfg = '{\"a\":1}'", []],
    ['tags.nothing IS NULL AND tags.team IS NOT NULL', [0, 1, 3]],
    ['metrics.accuracy > 0.9', [0]],
    ['metrics.accuracy < 0.9', [1]],
    ['metrics.accuracy IS NULL', [2, 3]],
    ["name LIKE 'churn%'", [0]],
    ["name ILIKE 'CHURN%'", [0, 1]],
    ["name LIKE 'Churn*[%'", [1]],
    ["name LIKE 'Churn_[x]'", [1]],
    ["name LIKE '_'", [2, 3]],
    ["name > '\uff5a'", [3]],
    ["number < '5'", [1]],
    ['number > 2', [0, 3]],
    ['NOT number = 7', [3]],
    ['number = TRUE OR number IS NULL', [2]],
    ['params.lr < 0.05', [0]],
    ['params.lr = 0.1', [1]],
    ["params.lr = '0.1'", []],
    ["params.epochs < '9'", [0]],
    ['params.epochs < 10', [1]],
    ['params.opt < 1 OR NOT params.opt < 1', []],
    ["params.opt ILIKE 'A%'", [0]],
    ['params.opt IS NULL', [2, 3]],
    ["tags.lr IS NULL AND params.lr IN (0.01, 0.1)", [0, 1]],
    ['params.opt = TRUE', []],
  ];

  it('selects the rows the README-style cases name, and so does the evaluator', async () => {
    const stored = freshIds(rows);
    const nodes = cases.map(([text]) => mustParse(text));
    const { ids, records, truths } = await runInD1(stored, nodes);
    cases.forEach(([text, expected], i) => {
      const node = nodes[i] ?? mustParse(text);
      const expectedIds = expected.map((r) => stored[r]?.id);
      const d1 = ids.filter((_, r) => truths[i]?.[r] === true);
      const evaluator = ids.filter((id) => evaluateFilter(node, records.get(id) ?? { fields: {}, tags: {}, metrics: {} }));
      expect({ text, d1, evaluator }).toEqual({ text, d1: expectedIds, evaluator: expectedIds });
    });
  });

  // Small pools, so random rows and random filters often meet. The texts hold LIKE and GLOB
  // metacharacters, non-ASCII case pairs, numeric-looking strings (which INTEGER affinity
  // converts on insert) and code points whose UTF-16 and UTF-8 orders differ.
  const TEXTS = ['', 'a', 'A', 'aB', 'b', '2', '10', '-1', '0.5', 'é', 'É', '%', '_', '*', '?', '[a]', '\\', '😀', '\uff5a', 'a😀'];
  const KEYS = ['k', 'a.b'];
  const text = fc.constantFrom(...TEXTS);
  const num = fc.constantFrom(-1, 0, 0.5, 1, 2, 2.5, 10);
  const jsonValue: fc.Arbitrary<JsonValue> = fc.oneof(text, num, fc.boolean(), fc.constant(null), fc.constant({}), fc.constant<JsonValue>([1]));
  const point: fc.Arbitrary<MetricPoint> = fc.record({
    key: fc.constantFrom(...KEYS),
    value: num,
    step: fc.integer({ min: 0, max: 1 }),
    wallclock: fc.integer({ min: 0, max: 1 }),
  });
  const rowsArbitrary = fc.array(
    fc.record({
      name: fc.oneof(fc.constant(null), text, num),
      task: fc.oneof(fc.constant(null), text),
      number: fc.oneof(fc.constant(null), num, text),
      tags: fc.dictionary(fc.constantFrom(...KEYS), jsonValue),
      metrics: fc.array(point, { maxLength: 3 }),
      params: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...TEXTS, '1e1', ' 1', 'NaN', '2.', '+3')),
    }),
    { minLength: 1, maxLength: 5 },
  );

  const fieldRef: fc.Arbitrary<FieldRef> = fc.oneof(
    fc.constantFrom(...FIELDS).map(field),
    fc.constantFrom(...KEYS).map((key): FieldRef => ({ kind: 'tag', key })),
    fc.constantFrom(...KEYS).map((key): FieldRef => ({ kind: 'metric', key })),
    fc.constantFrom(...KEYS).map((key): FieldRef => ({ kind: 'param', key })),
  );
  const value: fc.Arbitrary<FilterValue> = fc.oneof(text, num, fc.boolean());
  const list = fc.oneof(
    fc.array(text, { minLength: 1, maxLength: 3 }),
    fc.array(num, { minLength: 1, maxLength: 3 }),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 2 }),
  );
  const PATTERN_PIECES = ['%', '_', 'a', 'A', 'é', 'É', '😀', '*', '?', '[', '[a]', ']', '\\%', '\\_', '\\\\', '\\a'];
  const pattern = fc.array(fc.constantFrom(...PATTERN_PIECES), { maxLength: 3 }).map((pieces) => pieces.join(''));
  const op = fc.constantFrom('=' as const, '!=' as const, '<' as const, '<=' as const, '>' as const, '>=' as const);
  const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({ type: fc.constant('compare' as const), field: fieldRef, op, value }),
    fc.record({ type: fc.constant('in' as const), field: fieldRef, values: list, negated: fc.boolean() }),
    fc.record({ type: fc.constant('null' as const), field: fieldRef, negated: fc.boolean() }),
    fc.record({ type: fc.constant('like' as const), field: fieldRef, pattern, caseInsensitive: fc.boolean(), negated: fc.boolean() }),
  );
  const filterNode = fc.letrec<{ node: FilterNode }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 2, depthIdentifier: 'sql-filter' },
      leaf,
      fc.record({ type: fc.constantFrom('and' as const, 'or' as const), items: fc.array(tie('node'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ type: fc.constant('not' as const), expr: tie('node') }),
    ),
  })).node;

  it('gives every filter the truth value the evaluator gives it, on random rows and filters', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArbitrary, fc.array(filterNode, { minLength: 1, maxLength: 8 }), async (rowList, filters) => {
        const { ids, records, truths } = await runInD1(freshIds(rowList), filters);
        filters.forEach((node, f) => {
          const evaluator = ids.map((id) => evaluatorTruth(node, records.get(id) ?? { fields: {}, tags: {}, metrics: {} }));
          expect(truths[f], `D1 and the evaluator disagree on ${formatFilter(node)}`).toEqual(evaluator);
        });
      }),
      { numRuns: 100 },
    );
  }, 30_000);
});
