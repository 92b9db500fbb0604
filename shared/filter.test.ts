import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, HangarError } from './errors.ts';
import {
  compareCodePoints,
  evaluateFilter,
  formatFilter,
  likePatternParts,
  parseFilter,
  type FieldRef,
  type FilterNode,
  type FilterRecord,
  type FilterValue,
} from './filter.ts';
import { LIMITS } from './limits.ts';

const FIELDS = ['name', 'task', 'number', 'owner'] as const;

const field = (name: string): FieldRef => ({ kind: 'field', name });
const tag = (key: string): FieldRef => ({ kind: 'tag', key });
const metric = (key: string): FieldRef => ({ kind: 'metric', key });
const param = (key: string): FieldRef => ({ kind: 'param', key });
const eq = (ref: FieldRef, value: FilterValue): FilterNode => ({ type: 'compare', field: ref, op: '=', value });

const parse = (text: string, fields: readonly string[] = FIELDS) => parseFilter(text, fields);

/** The HangarError `parseFilter` throws for `text`; fails the test when it throws nothing or something else. */
function parseError(text: string, fields: readonly string[] = FIELDS): HangarError {
  try {
    parse(text, fields);
  } catch (error) {
    if (error instanceof HangarError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} not to parse`);
}

function expectInvalidAt(text: string, column: number, messagePart?: string | RegExp): HangarError {
  const error = parseError(text);
  expect(error.code).toBe(ErrorCode.InvalidFilter);
  expect(error.details?.position).toBe(column);
  expect(error.message).toContain(`column ${column}`);
  if (messagePart !== undefined) expect(error.message).toMatch(messagePart);
  return error;
}

function record(partial: Partial<FilterRecord>): FilterRecord {
  return { fields: {}, tags: {}, metrics: {}, ...partial };
}

const matches = (text: string, r: FilterRecord) => evaluateFilter(parse(text), r);

describe('parseFilter', () => {
  it('parses the README example into one AND of four comparisons', () => {
    const text = "name LIKE 'churn%' AND task = 'tabular' AND tags.team = 'growth' AND metrics.accuracy > 0.9";
    expect(parse(text)).toEqual({
      type: 'and',
      items: [
        { type: 'like', field: field('name'), pattern: 'churn%', caseInsensitive: false, negated: false },
        eq(field('task'), 'tabular'),
        eq(tag('team'), 'growth'),
        { type: 'compare', field: metric('accuracy'), op: '>', value: 0.9 },
      ],
    });
  });

  it('returns undefined for an empty or whitespace-only filter', () => {
    expect(parse('')).toBeUndefined();
    expect(parse('  \t\n ')).toBeUndefined();
  });

  it('binds AND tighter than OR', () => {
    expect(parse('name = 1 OR task = 2 AND owner = 3')).toEqual({
      type: 'or',
      items: [eq(field('name'), 1), { type: 'and', items: [eq(field('task'), 2), eq(field('owner'), 3)] }],
    });
  });

  it('lets parentheses override precedence and keeps nested groups as nested nodes', () => {
    expect(parse('(name = 1 OR task = 2) AND owner = 3')).toEqual({
      type: 'and',
      items: [{ type: 'or', items: [eq(field('name'), 1), eq(field('task'), 2)] }, eq(field('owner'), 3)],
    });
    expect(parse('((name = 1))')).toEqual(eq(field('name'), 1));
  });

  it('reads keywords in any case', () => {
    expect(parse("name = 'a' and not task is null Or owner ilike 'x'")).toEqual(
      parse("name = 'a' AND NOT task IS NULL OR owner ILIKE 'x'"),
    );
  });

  it('binds NOT tighter than AND and allows NOT NOT', () => {
    expect(parse('NOT name = 1 AND task = 2')).toEqual({
      type: 'and',
      items: [{ type: 'not', expr: eq(field('name'), 1) }, eq(field('task'), 2)],
    });
    expect(parse('NOT NOT name = 1')).toEqual({ type: 'not', expr: { type: 'not', expr: eq(field('name'), 1) } });
  });

  it('parses every comparison operator, reading <> as !=', () => {
    for (const op of ['=', '!=', '<', '<=', '>', '>='] as const) {
      expect(parse(`number ${op} 3`)).toEqual({ type: 'compare', field: field('number'), op, value: 3 });
    }
    expect(parse('number <> 3')).toEqual({ type: 'compare', field: field('number'), op: '!=', value: 3 });
    expect(parse('number>=3')).toEqual({ type: 'compare', field: field('number'), op: '>=', value: 3 });
  });

  it('parses IN and NOT IN lists', () => {
    expect(parse("task IN ('a', 'b')")).toEqual({ type: 'in', field: field('task'), values: ['a', 'b'], negated: false });
    expect(parse('metrics.epochs NOT IN (1,2,3)')).toEqual({ type: 'in', field: metric('epochs'), values: [1, 2, 3], negated: true });
  });

  it('parses IS NULL and IS NOT NULL', () => {
    expect(parse('owner IS NULL')).toEqual({ type: 'null', field: field('owner'), negated: false });
    expect(parse('tags.x IS NOT NULL')).toEqual({ type: 'null', field: tag('x'), negated: true });
  });

  it('parses LIKE, NOT LIKE, ILIKE and NOT ILIKE', () => {
    expect(parse("name NOT ILIKE '%X_'")).toEqual({ type: 'like', field: field('name'), pattern: '%X_', caseInsensitive: true, negated: true });
    expect(parse("name not like 'a'")).toEqual({ type: 'like', field: field('name'), pattern: 'a', caseInsensitive: false, negated: true });
  });

  it("reads '' inside single quotes and \"\" inside double quotes as one quote", () => {
    expect(parse("name = 'it''s'")).toEqual(eq(field('name'), "it's"));
    expect(parse('name = "say ""hi"""')).toEqual(eq(field('name'), 'say "hi"'));
    expect(parse(`name = "it's"`)).toEqual(eq(field('name'), "it's"));
    expect(parse("name = ''")).toEqual(eq(field('name'), ''));
  });

  it('parses integers, decimals, exponents and negative numbers', () => {
    const values = ['0', '-1', '1.5', '.5', '-.5', '1.', '2e3', '1E-3', '-1.5e+2'].map((n) => parse(`number = ${n}`));
    expect(values.map((node) => (node?.type === 'compare' ? node.value : undefined))).toEqual([0, -1, 1.5, 0.5, -0.5, 1, 2000, 0.001, -150]);
  });

  it('parses TRUE and FALSE as booleans', () => {
    expect(parse('tags.ok = TRUE OR tags.ok = false')).toEqual({ type: 'or', items: [eq(tag('ok'), true), eq(tag('ok'), false)] });
  });

  it('reads bare keys with dots, colons, slashes and dashes, and backquoted keys with anything else', () => {
    expect(parse('tags.a.b = 1')).toEqual(eq(tag('a.b'), 1));
    expect(parse('metrics.val/loss-2:x = 1')).toEqual(eq(metric('val/loss-2:x'), 1));
    expect(parse("tags.`my key (v2)` = 'x'")).toEqual(eq(tag('my key (v2)'), 'x'));
    expect(parse('metrics.`acc@1`>0')).toEqual({ type: 'compare', field: metric('acc@1'), op: '>', value: 0 });
  });

  it('reads params.<key> as a param, apart from tags.<key>', () => {
    expect(parse("params.lr = '0.1'")).toEqual(eq(param('lr'), '0.1'));
    expect(parse('PARAMS.lr = 1')).toEqual(eq(param('lr'), 1));
    expect(parse('params.`my lr` > 0')).toEqual({ type: 'compare', field: param('my lr'), op: '>', value: 0 });
  });

  it('accepts a backquoted field name, even one that is a keyword', () => {
    expect(parse('`name` = 1')).toEqual(eq(field('name'), 1));
    expect(parse('`null` IS NULL', ['null'])).toEqual({ type: 'null', field: field('null'), negated: false });
  });

  it('accepts a key of exactly the key length limit', () => {
    const key = 'k'.repeat(LIMITS.keyLength);
    expect(parse(`tags.${key} = 1`)).toEqual(eq(tag(key), 1));
  });
});

describe('parseFilter errors', () => {
  it('rejects an unterminated string with invalid-filter and its column', () => {
    const error = expectInvalidAt("name = 'abc", 8, /Unterminated string/);
    expect(error.details?.filter).toBe("name = 'abc");
  });

  it('rejects an unknown field, naming the allowed ones', () => {
    const error = expectInvalidAt("colour = 'red'", 1, /Unknown field 'colour'/);
    expect(error.message).toContain('name, task, number, owner');
    expect(error.message).toContain('tags.<key>');
  });

  it('rejects a field name that matches only in another case', () => {
    expectInvalidAt('Name = 1', 1, /Unknown field/);
  });

  it('rejects an unexpected character', () => {
    expectInvalidAt('name = 1 # comment', 10, /Unexpected character "#"/);
    expectInvalidAt('name ! 1', 6, /!=/);
    expectInvalidAt('owner.x = 1', 6, /Unexpected character "\."/);
    expectInvalidAt('name = 😀', 8, /Unexpected character "😀"/);
    expectInvalidAt('constructor.x = 1', 12, /Unexpected character "\."/);
  });

  it('rejects a missing value, operator or field', () => {
    expectInvalidAt('name =', 7, /Expected a value but found the end of the filter/);
    expectInvalidAt("name 'x'", 6, /Expected an operator/);
    expectInvalidAt('= 1', 1, /Expected a field/);
    expectInvalidAt('name = 1 AND', 13, /Expected a field/);
    expectInvalidAt('name = AND', 8, /Expected a value/);
  });

  it('rejects comparing with NULL and points to IS NULL', () => {
    expectInvalidAt('name = NULL', 8, /IS NULL/);
  });

  it('rejects unbalanced parentheses', () => {
    expectInvalidAt('(name = 1', 10, /Expected '\)'.*column 1/);
    expectInvalidAt('name = 1)', 9, /Unmatched '\)'/);
    expectInvalidAt('()', 2, /Expected a field/);
  });

  it('rejects trailing input after a complete filter', () => {
    expectInvalidAt('name = 1 task = 2', 10, /Unexpected 'task'/);
  });

  it('rejects malformed and out-of-range numbers', () => {
    expectInvalidAt('number = 1x', 10, /Malformed number/);
    expectInvalidAt('number = 1.2.3', 10, /Malformed number/);
    expectInvalidAt('number = 1e999', 10, /out of range/);
    expectInvalidAt('number = -', 10, /Unexpected character "-"/);
  });

  it('rejects a bad IN list', () => {
    expectInvalidAt('task IN ()', 10, /Expected a value/);
    expectInvalidAt("task IN ('a' 'b')", 14, /Expected ',' or '\)'/);
    expectInvalidAt("task IN ('a', 2)", 15, /mixes a string with a number/);
    expectInvalidAt("task IN 'a'", 9, /Expected '\('/);
  });

  it('rejects NOT, IS and LIKE without what must follow them', () => {
    expectInvalidAt('name NOT = 1', 10, /Expected IN, LIKE or ILIKE after NOT/);
    expectInvalidAt('name IS 1', 9, /Expected NULL after IS/);
    expectInvalidAt('name LIKE 1', 11, /Expected a quoted pattern/);
    expectInvalidAt("name LIKE 'a\\'", 11, /lone backslash/);
  });

  it('rejects an empty, unterminated, too long or NUL-holding key', () => {
    expectInvalidAt('tags. = 1', 1, /Invalid key after 'tags\.'.*missing/);
    expectInvalidAt('metrics.`` = 1', 1, /missing/);
    expectInvalidAt('tags.`abc = 1', 6, /Unterminated backquoted name/);
    expectInvalidAt(`tags.${'k'.repeat(LIMITS.keyLength + 1)} = 1`, 1, /longer than 250/);
    expectInvalidAt('tags.`a\0b` = 1', 6, /NUL/);
  });

  it('rejects a NUL inside a string literal', () => {
    expectInvalidAt("name = 'a\0'", 8, /NUL/);
  });

  it('rejects a filter longer than the length limit, without echoing it', () => {
    const text = `name = '${'x'.repeat(LIMITS.filterLength)}'`;
    const error = expectInvalidAt(text, LIMITS.filterLength + 1, /longer than 2000 characters/);
    expect(error.details?.filter).toBeUndefined();
    expect(parse(' '.repeat(LIMITS.filterLength))).toBeUndefined();
  });

  it('accepts nesting up to the depth limit and rejects one level more', () => {
    const nest = (depth: number) => `${'('.repeat(depth)}name = 1${')'.repeat(depth)}`;
    expect(parse(nest(LIMITS.filterDepth))).toEqual(eq(field('name'), 1));
    expectInvalidAt(nest(LIMITS.filterDepth + 1), LIMITS.filterDepth + 1, /deeper than 32/);
    expectInvalidAt(`${'NOT '.repeat(LIMITS.filterDepth + 1)}name = 1`, LIMITS.filterDepth * 4 + 1, /deeper than 32/);
    expectInvalidAt(`${'NOT ('.repeat(17)}name = 1${')'.repeat(17)}`, 16 * 5 + 1, /deeper/);
  });
});

describe('evaluateFilter', () => {
  const model = record({
    fields: { name: 'churn-predictor', task: 'tabular', number: 7, owner: null },
    tags: { team: 'growth', stars: 4, ok: true, config: { depth: 3 }, nothing: null, list: [1] },
    metrics: { accuracy: 0.93, loss: 0.2 },
  });

  it('accepts the README example on a matching record and rejects it when one part fails', () => {
    const text = "name LIKE 'churn%' AND task = 'tabular' AND tags.team = 'growth' AND metrics.accuracy > 0.9";
    expect(matches(text, model)).toBe(true);
    expect(matches(text, { ...model, metrics: { accuracy: 0.8 } })).toBe(false);
    expect(matches(text, { ...model, tags: {} })).toBe(false);
  });

  it('passes every record when there is no filter', () => {
    expect(evaluateFilter(undefined, record({}))).toBe(true);
  });

  it('treats a comparison with a missing value as unknown, so its NOT is not true either', () => {
    const empty = record({});
    for (const text of ['owner = 1', "tags.x = 'a'", 'metrics.m > 0', "owner IN ('a')", "owner LIKE '%'"]) {
      expect(matches(text, empty)).toBe(false);
      expect(matches(`NOT ${text}`, empty)).toBe(false);
    }
    expect(matches('NOT owner = 1 OR task IS NULL', empty)).toBe(true);
  });

  it('follows Kleene logic: unknown OR true is true, unknown AND false is false', () => {
    expect(matches("owner = 'x' OR task = 'tabular'", model)).toBe(true);
    expect(matches("NOT (owner = 'x' AND task = 'other')", model)).toBe(true);
    expect(matches("NOT (owner = 'x' AND task = 'tabular')", model)).toBe(false);
  });

  it('treats a comparison between different types as unknown', () => {
    expect(matches('name = 1', model)).toBe(false);
    expect(matches('NOT name = 1', model)).toBe(false);
    expect(matches("number = '7'", model)).toBe(false);
    expect(matches("NOT number = '7'", model)).toBe(false);
    expect(matches("metrics.accuracy != 'x'", model)).toBe(false);
  });

  it('compares tags by their JSON type', () => {
    expect(matches("tags.team = 'growth'", model)).toBe(true);
    expect(matches('tags.stars >= 4', model)).toBe(true);
    expect(matches("tags.stars = '4'", model)).toBe(false);
    expect(matches('tags.ok = TRUE', model)).toBe(true);
    expect(matches('tags.ok > FALSE', model)).toBe(true);
    expect(matches('tags.ok = 1', model)).toBe(false);
    expect(matches('NOT tags.ok = 1', model)).toBe(false);
    expect(matches('tags.stars = TRUE', model)).toBe(false);
  });

  it('never matches object or array tags by value, but counts them as not null', () => {
    expect(matches("tags.config = '{\"depth\":3}'", model)).toBe(false);
    expect(matches("NOT tags.config = 'x'", model)).toBe(false);
    expect(matches("tags.list LIKE '%'", model)).toBe(false);
    expect(matches('tags.config IS NOT NULL AND tags.list IS NOT NULL', model)).toBe(true);
  });

  it('counts a JSON null tag and a null field as NULL', () => {
    expect(matches('tags.nothing IS NULL AND owner IS NULL AND tags.absent IS NULL', model)).toBe(true);
    expect(matches('tags.team IS NULL OR name IS NULL', model)).toBe(false);
  });

  it('reads TRUE and FALSE as 1 and 0 against plain fields and metrics, and booleans in fields as 1 and 0', () => {
    const r = record({ fields: { number: 1, owner: false }, metrics: { m: 0 } });
    expect(matches('number = TRUE AND owner = FALSE AND owner = 0 AND metrics.m = FALSE', r)).toBe(true);
    expect(matches('number IN (TRUE)', r)).toBe(true);
  });

  it('treats a NaN metric as missing', () => {
    expect(matches('metrics.m IS NULL', record({ metrics: { m: Number.NaN } }))).toBe(true);
  });

  it('evaluates IN as OR of equalities and NOT IN as its negation', () => {
    expect(matches("task IN ('x', 'tabular')", model)).toBe(true);
    expect(matches("task NOT IN ('x', 'y')", model)).toBe(true);
    expect(matches("task NOT IN ('tabular')", model)).toBe(false);
    expect(matches('task NOT IN (1, 2)', model)).toBe(false);
  });

  it('matches LIKE case-sensitively with % and _', () => {
    expect(matches("name LIKE 'churn%'", model)).toBe(true);
    expect(matches("name LIKE 'CHURN%'", model)).toBe(false);
    expect(matches("name LIKE 'churn_predictor'", model)).toBe(true);
    expect(matches("name LIKE '%pred%'", model)).toBe(true);
    expect(matches("name LIKE 'churn'", model)).toBe(false);
    expect(matches("name NOT LIKE 'x%'", model)).toBe(true);
    expect(matches("number LIKE '7'", model)).toBe(false);
  });

  it('matches ILIKE folding ASCII letters only', () => {
    expect(matches("name ILIKE 'CHURN%'", model)).toBe(true);
    const accented = record({ fields: { name: 'Éclair' } });
    expect(matches("name ILIKE 'É%'", accented)).toBe(true);
    expect(matches("name ILIKE 'é%'", accented)).toBe(false);
    expect(matches("name ILIKE '_CLAIR'", accented)).toBe(true);
  });

  it('treats a backslash in a pattern as an escape for %, _ and itself', () => {
    const r = record({ fields: { name: '100%_\\' } });
    expect(matches("name LIKE '100\\%\\_\\\\'", r)).toBe(true);
    expect(matches("name LIKE '100\\%'", record({ fields: { name: '1000' } }))).toBe(false);
    expect(matches("name LIKE '1\\00%'", r)).toBe(true);
  });

  it('lets _ match one code point, even outside the BMP', () => {
    expect(matches("name LIKE 'a_b'", record({ fields: { name: 'a😀b' } }))).toBe(true);
  });

  it('orders strings by code point, as SQLite orders UTF-8', () => {
    expect(compareCodePoints('\uff5a', '😀')).toBe(-1); // UTF-16 order would say the opposite
    expect('\uff5a' < '😀').toBe(false);
    expect(matches("name < '😀'", record({ fields: { name: '\uff5a' } }))).toBe(true);
    expect(compareCodePoints('a', 'ab')).toBe(-1);
    expect(compareCodePoints('b', 'ab')).toBe(1);
    expect(compareCodePoints('😀', '😀')).toBe(0);
  });

  it('compares a param as a string, and numerically with a number when its whole value is a decimal number', () => {
    const run = record({ params: { lr: '0.01', epochs: '10', opt: 'adam', spaced: ' 1', big: '1e3', nan: 'NaN' } });
    expect(matches("params.lr = '0.01'", run)).toBe(true);
    expect(matches('params.lr = 0.01', run)).toBe(true);
    expect(matches('params.lr < 0.1 AND params.epochs >= 10', run)).toBe(true);
    // As strings '10' < '9'; as numbers it is not.
    expect(matches("params.epochs < '9'", run)).toBe(true);
    expect(matches('params.epochs < 9', run)).toBe(false);
    expect(matches('params.big = 1000', run)).toBe(true);
    expect(matches('params.lr IN (0.5, 0.01)', run)).toBe(true);
    // Not a decimal number: a numeric comparison is unknown, and so is its NOT.
    for (const key of ['opt', 'spaced', 'nan']) {
      expect(matches(`params.${key} < 1`, run)).toBe(false);
      expect(matches(`NOT params.${key} < 1`, run)).toBe(false);
    }
    expect(matches('params.opt = TRUE OR NOT params.opt = TRUE', run)).toBe(false);
    expect(matches("params.opt LIKE 'ad%' AND params.opt ILIKE 'ADAM'", run)).toBe(true);
    expect(matches('params.missing IS NULL AND params.lr IS NOT NULL', run)).toBe(true);
    // Params are not tags: a metadata key of the same name is another thing.
    expect(matches("params.team = 'growth'", record({ tags: { team: 'growth' } }))).toBe(false);
    expect(matches("tags.lr = '0.01'", run)).toBe(false);
  });

  it('ignores inherited properties of records', () => {
    expect(matches('tags.constructor IS NULL AND tags.toString IS NULL', record({}))).toBe(true);
    expect(evaluateFilter(parse('constructor IS NULL', ['constructor']), record({}))).toBe(true);
  });
});

describe('formatFilter', () => {
  it('prints the README example back in canonical form', () => {
    const text = "name like 'churn%' and task = \"tabular\" and params.team = 'growth' and metrics.accuracy > 0.9";
    expect(formatFilter(parse(text))).toBe("name LIKE 'churn%' AND task = 'tabular' AND params.team = 'growth' AND metrics.accuracy > 0.9");
  });

  it('adds the parentheses precedence needs, and only those', () => {
    expect(formatFilter(parse('(name = 1 OR task = 2) AND NOT (owner = 3 OR owner = 4)'))).toBe(
      '(name = 1 OR task = 2) AND NOT (owner = 3 OR owner = 4)',
    );
    expect(formatFilter(parse('(name = 1 AND task = 2) AND owner = 3'))).toBe('(name = 1 AND task = 2) AND owner = 3');
    expect(formatFilter(parse('((name = 1)) OR (task = 2 AND owner = 3)'))).toBe('name = 1 OR task = 2 AND owner = 3');
  });

  it('quotes keys, keyword field names, strings and -0 so they parse back', () => {
    const node: FilterNode = {
      type: 'and',
      items: [eq(tag('a b'), "it's"), eq(field('null'), -0), { type: 'in', field: metric('x.y'), values: [true, false], negated: true }],
    };
    const text = formatFilter(node);
    expect(text).toBe("tags.`a b` = 'it''s' AND `null` = -0 AND metrics.x.y NOT IN (TRUE, FALSE)");
    expect(parse(text, ['null'])).toEqual(node);
  });

  it('prints no filter as the empty string', () => {
    expect(formatFilter(undefined)).toBe('');
  });
});

describe('likePatternParts', () => {
  it('splits wildcards, escapes and code points', () => {
    expect(likePatternParts('a%\\_😀_')).toEqual([
      { kind: 'char', char: 'a' },
      { kind: 'any' },
      { kind: 'char', char: '_' },
      { kind: 'char', char: '😀' },
      { kind: 'one' },
    ]);
  });

  it('refuses a pattern ending in a lone backslash', () => {
    expect(() => likePatternParts('a\\')).toThrow(HangarError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const ROUND_TRIP_FIELDS = ['name', 'task', 'number', 'null', 'Or', 'tags', '_x9'] as const;

const noNul = (s: string) => !s.includes('\0');
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })).filter(noNul);
const anyKey = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_.:/-]{1,30}$/),
  anyString.filter((k) => k.length >= 1 && k.length <= LIMITS.keyLength && !k.includes('`')),
);
const endsWithLoneBackslash = (p: string) => (/\\*$/.exec(p)?.[0].length ?? 0) % 2 === 1;

interface NodeParts {
  field: fc.Arbitrary<FieldRef>;
  value: fc.Arbitrary<FilterValue>;
  list: fc.Arbitrary<FilterValue[]>;
  pattern: fc.Arbitrary<string>;
}

/** Random ASTs built from `parts`, at most a few levels deep. */
function filterNode(parts: NodeParts, maxDepth = 4): fc.Arbitrary<FilterNode> {
  const { field: f, value, list, pattern } = parts;
  const op = fc.constantFrom('=', '!=', '<', '<=', '>', '>=' as const);
  const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({ type: fc.constant('compare' as const), field: f, op, value }),
    fc.record({ type: fc.constant('in' as const), field: f, values: list, negated: fc.boolean() }),
    fc.record({ type: fc.constant('null' as const), field: f, negated: fc.boolean() }),
    fc.record({ type: fc.constant('like' as const), field: f, pattern, caseInsensitive: fc.boolean(), negated: fc.boolean() }),
  );
  return fc.letrec<{ node: FilterNode }>((tie) => ({
    node: fc.oneof(
      { maxDepth, depthIdentifier: 'filter' },
      leaf,
      fc.record({ type: fc.constantFrom('and' as const, 'or' as const), items: fc.array(tie('node'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ type: fc.constant('not' as const), expr: tie('node') }),
    ),
  })).node;
}

const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const wideParts: NodeParts = {
  field: fc.oneof(
    fc.constantFrom(...ROUND_TRIP_FIELDS).map(field),
    anyKey.map(tag),
    anyKey.map(param),
    anyKey.map(metric),
  ),
  value: fc.oneof(anyString, number, fc.boolean()),
  list: fc.oneof(
    fc.array(anyString, { minLength: 1, maxLength: 4 }),
    fc.array(number, { minLength: 1, maxLength: 4 }),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
  ),
  pattern: anyString.filter((p) => !endsWithLoneBackslash(p)),
};

/** Small pools, so random records and random filters often meet. */
const TEXTS = ['', 'a', 'A', 'ab', 'b', 'é', 'É', '%', '_', '\\', '😀', '\uff5a'];
const KEYS = ['k', 'a.b'];
/** Param values: strings, some of them decimal numbers (which compare numerically with numbers). */
const PARAM_TEXTS = ['', 'a', 'é', '%', '0', '0.5', '-1', '1e0', '2.', ' 1', 'NaN', '0x1'];
const poolNumber = fc.constantFrom(-1, 0, 0.5, 1, 2);
const poolParts: NodeParts = {
  field: fc.oneof(
    fc.constantFrom('name', 'number').map(field),
    fc.constantFrom(...KEYS).map(tag),
    fc.constantFrom(...KEYS).map(param),
    fc.constantFrom(...KEYS).map(metric),
  ),
  value: fc.oneof(fc.constantFrom(...TEXTS), poolNumber, fc.boolean()),
  list: fc.oneof(fc.array(fc.constantFrom(...TEXTS), { minLength: 1, maxLength: 3 }), fc.array(poolNumber, { minLength: 1, maxLength: 3 })),
  pattern: fc.array(fc.constantFrom('%', '_', 'a', 'A', 'é', '\\%', '\\_', '\\\\', '😀'), { maxLength: 4 }).map((p) => p.join('')),
};
const poolValue = fc.oneof(fc.constant(undefined), fc.constant(null), fc.constantFrom(...TEXTS), poolNumber, fc.boolean());
const poolRecord: fc.Arbitrary<FilterRecord> = fc.record({
  fields: fc.record({ name: poolValue, number: poolValue }),
  tags: fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(poolValue, fc.constant({}), fc.constant([1]))),
  metrics: fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(poolNumber, fc.constant(undefined))),
  params: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...PARAM_TEXTS)),
});

const SOUP = [
  '(', ')', ',', '=', '!=', '<>', '<', '<=', '>', '>=', '!', 'AND', 'or', 'Not', 'IN', 'is', 'NULL', 'LIKE', 'ilike',
  'TRUE', 'false', 'name', 'task', 'colour', 'tags.', 'tags.a', 'params.x.y', 'metrics.`k', 'metrics.`k`', '`name`', '`',
  "'", '"', "'a''b'", '"x"', "'\\'", '1', '-', '-1.5e3', '1e', '.', '.5', '1e999', '\0', '\n', ' ', '#', '😀',
];
/** Whole comparisons, so that the soup often parses. */
const PHRASES = [
  "name = 'a'", 'task != 2', 'tags.a.b IN (1, 2)', "metrics.m NOT IN ('x')", 'owner IS NULL', 'number is not null',
  "name LIKE 'a%'", "task NOT ILIKE '\\_'", '`owner` >= TRUE', 'params.p <> -1e3', 'NOT', 'AND', 'OR', '(', ')',
];
const soup = fc
  .array(fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...PHRASES) }, fc.constantFrom(...SOUP)), { maxLength: 25 })
  .chain((tokens) => fc.constantFrom(tokens.join(' '), tokens.join('')));

/** Parses, returning the AST or the HangarError; rethrows anything else. */
function tryParse(text: string, fields: readonly string[] = FIELDS): FilterNode | undefined | HangarError {
  try {
    return parseFilter(text, fields);
  } catch (error) {
    if (error instanceof HangarError) return error;
    throw error;
  }
}

describe('filter properties', () => {
  it('parses the formatted text of any AST back to an equal AST', () => {
    fc.assert(
      fc.property(filterNode(wideParts), (node) => {
        const text = formatFilter(node);
        expect(parseFilter(text, ROUND_TRIP_FIELDS)).toEqual(node);
        expect(parseFilter(` \n( ${text} )\t`, ROUND_TRIP_FIELDS)).toEqual(node);
      }),
      { numRuns: 300 },
    );
  });

  it('throws nothing but invalid-filter, with a column inside the text, on arbitrary strings and token soup', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 60 }), soup);
    fc.assert(
      fc.property(text, (t) => {
        const result = tryParse(t);
        if (!(result instanceof HangarError)) return;
        expect(result.code).toBe(ErrorCode.InvalidFilter);
        const position = result.details?.position;
        expect(typeof position === 'number' && position >= 1 && position <= t.length + 1).toBe(true);
        expect(result.message).toContain(`column ${String(position)}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('formats whatever soup parses into text that parses to the same AST', () => {
    fc.assert(
      fc.property(soup, (t) => {
        const result = tryParse(t);
        if (result instanceof HangarError) return;
        expect(parse(formatFilter(result))).toEqual(result);
      }),
      { numRuns: 1000 },
    );
  });

  it('makes OR true exactly when an item is true, AND when every item is, and NOT NOT a no-op', () => {
    fc.assert(
      fc.property(filterNode(poolParts, 3), poolRecord, (node, r) => {
        const verdict = evaluateFilter(node, r);
        if (node.type === 'or') expect(verdict).toBe(node.items.some((item) => evaluateFilter(item, r)));
        if (node.type === 'and') expect(verdict).toBe(node.items.every((item) => evaluateFilter(item, r)));
        expect(evaluateFilter({ type: 'not', expr: { type: 'not', expr: node } }, r)).toBe(verdict);
        if (verdict) expect(evaluateFilter({ type: 'not', expr: node }, r)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('evaluates IN exactly as an OR of equalities, and IS NULL as the opposite of IS NOT NULL', () => {
    fc.assert(
      fc.property(poolParts.field, poolParts.list, poolRecord, fc.boolean(), (f, values, r, negated) => {
        const asOr: FilterNode = { type: 'or', items: [...values, ...values].map((v) => eq(f, v)) };
        const inList: FilterNode = { type: 'in', field: f, values, negated };
        expect(evaluateFilter(inList, r)).toBe(evaluateFilter(negated ? { type: 'not', expr: asOr } : asOr, r));
        const isNull = evaluateFilter({ type: 'null', field: f, negated: false }, r);
        expect(evaluateFilter({ type: 'null', field: f, negated: true }, r)).toBe(!isNull);
      }),
      { numRuns: 200 },
    );
  });

  it('orders strings like their UTF-8 bytes', () => {
    const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
    const byteOrder = (a: number[], b: number[]) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0) ? -1 : 1;
      return Math.sign(a.length - b.length);
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(compareCodePoints(a, b)).toBe(byteOrder(bytes(a), bytes(b)));
      }),
      { numRuns: 300 },
    );
  });
});
