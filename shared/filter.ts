/**
 * Hangar's filter language: a small, MLflow-like expression language for listing models and
 * versions, written once and used by both sides. The browser evaluates it on records it holds
 * (`evaluateFilter`); the worker compiles the same AST to SQL (`worker/db/filter-sql.ts`). Both
 * follow the rules below, so a filter selects the same rows wherever it runs.
 *
 * Grammar (keywords are case-insensitive):
 *
 *     expr       := or
 *     or         := and ( OR and )*
 *     and        := not ( AND not )*
 *     not        := NOT not | primary
 *     primary    := '(' expr ')' | comparison
 *     comparison := field op value
 *                 | field [NOT] IN '(' value (',' value)* ')'
 *                 | field IS [NOT] NULL
 *                 | field [NOT] LIKE string | field [NOT] ILIKE string
 *     op         := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
 *     value      := string | number | TRUE | FALSE
 *     field      := identifier | `backquoted` | tags.<key> | params.<key> | metrics.<key>
 *     <key>      := [A-Za-z0-9_.:/-]+ | `anything but a backquote`
 *
 * Strings are single- or double-quoted; a doubled quote stands for itself (`'it''s'`).
 * `tags.<key>` is a metadata key; `params.<key>` a version's param (shared/params.ts);
 * `metrics.<key>` is the last logged value of that metric.
 *
 * Semantics, SQL's three-valued logic:
 * - A missing field, tag or metric, and a tag whose JSON value is `null`, is NULL. Every
 *   comparison, IN and LIKE against NULL is *unknown*, and so is one between values of different
 *   types (a string with a number, a JSON object with anything). NOT of unknown is unknown;
 *   AND and OR follow Kleene's logic; a record is selected only when the filter is *true*.
 * - `IS [NOT] NULL` is never unknown.
 * - Strings compare by Unicode code point (the order of their UTF-8 bytes, which is SQLite's
 *   BINARY collation); numbers numerically.
 * - A tag (any JSON value) compares with a string literal only when it is a JSON string, with a
 *   number only when it is a JSON number, with TRUE/FALSE only when it is a JSON boolean
 *   (FALSE < TRUE).
 * - A param is a string. It compares with a string literal as a string; with a number literal
 *   numerically when its whole value is a decimal number (`paramNumber` in shared/params.ts:
 *   `'0.01'` < 0.1, as MLflow users expect), and is unknown when it is not (`'abc'` < 1 is
 *   unknown); with TRUE/FALSE it is always unknown. LIKE and ILIKE match its string.
 * - A plain field or a metric has no boolean type: TRUE and FALSE stand for 1 and 0 there, and a
 *   boolean in a record's field counts as 1 or 0.
 * - An IN list holds values of one type; `x IN (a, b)` means `x = a OR x = b`.
 * - LIKE and ILIKE patterns use `%` (any run of characters) and `_` (one character); `\`
 *   makes the next character literal (`\%`, `\_`, `\\`). LIKE is case-sensitive; ILIKE folds
 *   the ASCII letters A–Z only, like SQLite's `lower()`. Both match strings only.
 * - A NaN metric or field is NULL (SQLite stores NaN as NULL). Numbers are doubles: integers
 *   beyond 2^53 in SQL may compare differently.
 *
 * Error columns count UTF-16 code units (JavaScript string indices) from 1.
 */
import { ErrorCode, HangarError } from './errors.ts';
import { utf8Length } from './encoding.ts';
import { LIMITS } from './limits.ts';
import { paramNumber } from './params.ts';

/** A literal in a filter. */
export type FilterValue = string | number | boolean;

/** What a comparison looks at: a column of the entity, a metadata key, a param, or a metric's last value. */
export type FieldRef = { kind: 'field'; name: string } | { kind: 'tag'; key: string } | { kind: 'param'; key: string } | { kind: 'metric'; key: string };

/** Comparison operators; `<>` parses as `!=`. */
export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A parsed filter. `and`/`or` nodes hold two or more items. */
export type FilterNode =
  | { type: 'and' | 'or'; items: FilterNode[] }
  | { type: 'not'; expr: FilterNode }
  | { type: 'compare'; field: FieldRef; op: CompareOp; value: FilterValue }
  | { type: 'in'; field: FieldRef; values: FilterValue[]; negated: boolean }
  | { type: 'null'; field: FieldRef; negated: boolean }
  | { type: 'like'; field: FieldRef; pattern: string; caseInsensitive: boolean; negated: boolean };

/** A record `evaluateFilter` looks at: entity fields, metadata (JSON values), params and last metric values. */
export interface FilterRecord {
  fields: Record<string, unknown>;
  tags: Record<string, unknown>;
  metrics: Record<string, number | undefined>;
  /** A version's params; absent for records that have none (models). */
  params?: Record<string, string | undefined>;
}

/** One piece of a LIKE pattern: `%`, `_`, or a literal character (one code point). */
export type LikePart = { kind: 'any' } | { kind: 'one' } | { kind: 'char'; char: string };

// ---------------------------------------------------------------------------------------------
// Errors

/** Builds the error for a problem at `index` (0-based) of `text`; `details.position` is the 1-based column. */
function filterError(text: string, index: number, problem: string, hint?: string): HangarError {
  const column = index + 1;
  const message = `${problem} at column ${column}${hint ? `: ${hint}` : ''}.`;
  const details = text.length <= LIMITS.filterLength ? { position: column, filter: text } : { position: column };
  return new HangarError(ErrorCode.InvalidFilter, message, details);
}

// ---------------------------------------------------------------------------------------------
// Tokens

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'LIKE', 'ILIKE', 'TRUE', 'FALSE']);
const KEY_PREFIXES: ReadonlyMap<string, 'tag' | 'param' | 'metric'> = new Map([
  ['tags', 'tag'],
  ['params', 'param'],
  ['metrics', 'metric'],
]);
const OPERATORS = ['<=', '>=', '<>', '!=', '=', '<', '>'] as const;
type Operator = (typeof OPERATORS)[number];

/** Hints for characters people type by mistake. */
const UNEXPECTED_HINTS: ReadonlyMap<string, string> = new Map([
  ['!', "write '!=' for not-equal"],
  ['.', 'only tags., params. and metrics. are followed by a key'],
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BARE_KEY = /^[A-Za-z0-9_.:/-]+$/;
const WORD_AT = /[A-Za-z_][A-Za-z0-9_]*/y;
const BARE_KEY_AT = /[A-Za-z0-9_.:/-]+/y;
const NUMBER_AT = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /\s/;

type Token = { start: number; end: number } & (
  | { kind: 'word'; text: string } // an identifier or a keyword
  | { kind: 'name'; text: string } // a backquoted identifier: always a field
  | { kind: 'key'; field: FieldRef } // tags.<key>, params.<key>, metrics.<key>
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'op'; op: Operator }
  | { kind: 'punct'; char: '(' | ')' | ',' }
  | { kind: 'end' }
);

/** Matches a sticky regex at `index`, returning the matched text. */
function matchAt(pattern: RegExp, text: string, index: number): string | undefined {
  pattern.lastIndex = index;
  return pattern.exec(text)?.[0];
}

/** Splits a filter into tokens, ending with an `end` token. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  for (;;) {
    while (index < text.length && WHITESPACE.test(text.charAt(index))) index++;
    if (index >= text.length) {
      tokens.push({ kind: 'end', start: index, end: index });
      return tokens;
    }
    const token = readToken(text, index);
    tokens.push(token);
    index = token.end;
  }
}

function readToken(text: string, start: number): Token {
  const char = text.charAt(start);
  if (char === '(' || char === ')' || char === ',') return { kind: 'punct', char, start, end: start + 1 };
  const op = OPERATORS.find((o) => text.startsWith(o, start));
  if (op) return { kind: 'op', op, start, end: start + op.length };
  if (char === "'" || char === '"') {
    const { value, end } = readQuoted(text, start, 'string');
    return { kind: 'string', value, start, end };
  }
  if (char === '`') {
    const { value, end } = readQuoted(text, start, 'name');
    return { kind: 'name', text: value, start, end };
  }
  if (/^-?\.?[0-9]/.test(text.slice(start, start + 3))) return readNumber(text, start);
  const word = matchAt(WORD_AT, text, start);
  if (word) return readWordOrKey(text, start, word);
  const found = String.fromCodePoint(text.codePointAt(start) ?? 0);
  throw filterError(text, start, `Unexpected character ${JSON.stringify(found)}`, UNEXPECTED_HINTS.get(found));
}

/** Reads a quoted string or backquoted name; a doubled quote (not backquote) stands for itself. */
function readQuoted(text: string, start: number, what: 'string' | 'name'): { value: string; end: number } {
  const quote = text.charAt(start);
  let value = '';
  let index = start + 1;
  for (;;) {
    const close = text.indexOf(quote, index);
    if (close < 0) {
      const problem = what === 'string' ? 'Unterminated string starting' : 'Unterminated backquoted name starting';
      throw filterError(text, start, problem, `close it with ${quote}`);
    }
    value += text.slice(index, close);
    if (what === 'string' && text.charAt(close + 1) === quote) {
      value += quote;
      index = close + 2;
      continue;
    }
    const nul = value.indexOf('\0');
    if (nul >= 0) throw filterError(text, start, `The ${what} starting`, 'it must not contain a NUL character');
    return { value, end: close + 1 };
  }
}

function readNumber(text: string, start: number): Token {
  const match = matchAt(NUMBER_AT, text, start) ?? '';
  const end = start + match.length;
  if (!match || /[A-Za-z0-9_.]/.test(text.charAt(end))) {
    throw filterError(text, start, 'Malformed number', 'write numbers like 42, -0.5 or 1e-3');
  }
  const value = Number(match);
  if (!Number.isFinite(value)) throw filterError(text, start, 'Number out of range');
  return { kind: 'number', value, start, end };
}

/** Reads a word; `tags.`, `params.` and `metrics.` followed by a key make one key token. */
function readWordOrKey(text: string, start: number, word: string): Token {
  const afterWord = start + word.length;
  const kind = KEY_PREFIXES.get(word.toLowerCase());
  if (!kind || text.charAt(afterWord) !== '.') return { kind: 'word', text: word, start, end: afterWord };

  const keyStart = afterWord + 1;
  let key: string;
  let end: number;
  if (text.charAt(keyStart) === '`') {
    ({ value: key, end } = readQuoted(text, keyStart, 'name'));
  } else {
    key = matchAt(BARE_KEY_AT, text, keyStart) ?? '';
    end = keyStart + key.length;
  }
  const problem = keyProblem(key);
  if (problem) throw filterError(text, start, `Invalid key after '${word}.'`, problem);
  return { kind: 'key', field: { kind, key }, start, end };
}

/** Why `key` is no valid metadata or metric key, or undefined when it is. */
function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'it is missing (write tags.<key>, or tags.`a key` for other characters)';
  if (key.length > LIMITS.keyLength) return `it is longer than ${LIMITS.keyLength} characters`;
  if (key.includes('\0')) return 'it must not contain a NUL character';
  return undefined;
}

function truncate(s: string, max = 30): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

// ---------------------------------------------------------------------------------------------
// Parser

function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === 'word' && token.text.toUpperCase() === keyword;
}

/** Recursive descent over the token list; nesting depth is bounded, so recursion is too. */
class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly allowedFields: readonly string[],
  ) {}

  parseFilter(): FilterNode {
    const node = this.parseOr();
    const token = this.peek();
    if (token.kind !== 'end') {
      const problem = token.kind === 'punct' && token.char === ')' ? "Unmatched ')'" : `Unexpected ${this.describe(token)}`;
      throw this.error(token, problem, 'expected AND, OR or the end of the filter');
    }
    return node;
  }

  private parseOr(): FilterNode {
    return this.parseList('or', () => this.parseAnd());
  }

  private parseAnd(): FilterNode {
    return this.parseList('and', () => this.parseNot());
  }

  /** Parses `item (KEYWORD item)*`, returning the lone item or an n-ary node. */
  private parseList(type: 'and' | 'or', parseItem: () => FilterNode): FilterNode {
    const items = [parseItem()];
    while (isKeyword(this.peek(), type.toUpperCase())) {
      this.advance();
      items.push(parseItem());
    }
    const [first] = items;
    return items.length === 1 && first ? first : { type, items };
  }

  private parseNot(): FilterNode {
    const token = this.peek();
    if (!isKeyword(token, 'NOT')) return this.parsePrimary();
    this.advance();
    return this.nested(token, () => ({ type: 'not', expr: this.parseNot() }));
  }

  private parsePrimary(): FilterNode {
    const token = this.peek();
    if (token.kind !== 'punct' || token.char !== '(') return this.parseComparison();
    this.advance();
    const node = this.nested(token, () => this.parseOr());
    this.expectPunct(')', token);
    return node;
  }

  /** Runs `parse` one nesting level deeper, refusing to go past `LIMITS.filterDepth`. */
  private nested(token: Token, parse: () => FilterNode): FilterNode {
    if (++this.depth > LIMITS.filterDepth) {
      throw this.error(token, `Parentheses and NOT nest deeper than ${LIMITS.filterDepth} levels`, 'simplify the filter');
    }
    const node = parse();
    this.depth--;
    return node;
  }

  private parseComparison(): FilterNode {
    const field = this.parseField();
    const token = this.advance();
    if (token.kind === 'op') {
      return { type: 'compare', field, op: token.op === '<>' ? '!=' : token.op, value: this.parseValue() };
    }
    if (isKeyword(token, 'IS')) return this.parseIsNull(field);
    const negated = isKeyword(token, 'NOT');
    const operator = negated ? this.advance() : token;
    if (isKeyword(operator, 'IN')) return { type: 'in', field, values: this.parseValueList(), negated };
    if (isKeyword(operator, 'LIKE') || isKeyword(operator, 'ILIKE')) {
      const caseInsensitive = isKeyword(operator, 'ILIKE');
      return { type: 'like', field, pattern: this.parsePattern(), caseInsensitive, negated };
    }
    if (negated) throw this.error(operator, `Expected IN, LIKE or ILIKE after NOT but found ${this.describe(operator)}`);
    throw this.error(
      token,
      `Expected an operator after the field but found ${this.describe(token)}`,
      'use =, !=, <, <=, >, >=, IN, IS NULL, LIKE or ILIKE',
    );
  }

  private parseField(): FieldRef {
    const token = this.advance();
    if (token.kind === 'key') return token.field;
    const isName = token.kind === 'name' || (token.kind === 'word' && !KEYWORDS.has(token.text.toUpperCase()));
    if (!isName) throw this.error(token, `Expected a field but found ${this.describe(token)}`, this.fieldHint());
    if (!this.allowedFields.includes(token.text)) {
      throw this.error(token, `Unknown field '${truncate(token.text)}'`, this.fieldHint());
    }
    return { kind: 'field', name: token.text };
  }

  private fieldHint(): string {
    const keys = 'tags.<key>, params.<key> or metrics.<key>';
    return this.allowedFields.length ? `use one of ${this.allowedFields.join(', ')}, or ${keys}` : `use ${keys}`;
  }

  private parseValue(): FilterValue {
    const token = this.advance();
    if (token.kind === 'string' || token.kind === 'number') return token.value;
    if (isKeyword(token, 'TRUE')) return true;
    if (isKeyword(token, 'FALSE')) return false;
    if (isKeyword(token, 'NULL')) throw this.error(token, 'Cannot compare with NULL', 'use IS NULL or IS NOT NULL');
    throw this.error(token, `Expected a value but found ${this.describe(token)}`, "use a 'string', a number, TRUE or FALSE");
  }

  /** Parses `( value, … )`; every value must have the type of the first. */
  private parseValueList(): FilterValue[] {
    const open = this.peek();
    this.expectPunct('(');
    const values: FilterValue[] = [];
    for (;;) {
      const token = this.peek();
      const value = this.parseValue();
      const first = values[0];
      if (first !== undefined && typeof value !== typeof first) {
        throw this.error(token, `This IN list mixes a ${typeof first} with a ${typeof value}`, 'use values of one type');
      }
      values.push(value);
      const next = this.advance();
      if (next.kind === 'punct' && next.char === ')') return values;
      if (next.kind !== 'punct' || next.char !== ',') {
        throw this.error(next, `Expected ',' or ')' in the IN list but found ${this.describe(next)}`, `the list opens at column ${open.start + 1}`);
      }
    }
  }

  private parsePattern(): string {
    const token = this.advance();
    if (token.kind !== 'string') throw this.error(token, `Expected a quoted pattern but found ${this.describe(token)}`);
    if (endsWithLoneBackslash(token.value)) {
      throw this.error(token, 'The pattern ends with a lone backslash', 'write \\\\ to match a backslash');
    }
    // The database refuses long patterns; measure the pattern as it will reach it (GLOB escapes lengthen it).
    const bytes = Math.max(utf8Length(token.value), utf8Length(likeToGlob(likePatternParts(token.value))));
    if (bytes > LIMITS.likePatternBytes) {
      throw this.error(token, `The pattern is ${bytes} bytes long; patterns may be at most ${LIMITS.likePatternBytes}`);
    }
    return token.value;
  }

  private parseIsNull(field: FieldRef): FilterNode {
    const negated = isKeyword(this.peek(), 'NOT');
    if (negated) this.advance();
    const token = this.advance();
    if (!isKeyword(token, 'NULL')) throw this.error(token, `Expected NULL after IS but found ${this.describe(token)}`);
    return { type: 'null', field, negated };
  }

  private expectPunct(char: '(' | ')', opener?: Token): void {
    const token = this.advance();
    if (token.kind === 'punct' && token.char === char) return;
    const hint = opener ? `to close the '(' at column ${opener.start + 1}` : undefined;
    throw this.error(token, `Expected '${char}' but found ${this.describe(token)}`, hint);
  }

  private peek(): Token {
    const token = this.tokens[this.index] ?? this.tokens[this.tokens.length - 1];
    if (!token) throw new Error('tokenize always ends with an end token');
    return token;
  }

  private advance(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private describe(token: Token): string {
    return token.kind === 'end' ? 'the end of the filter' : `'${truncate(this.text.slice(token.start, token.end))}'`;
  }

  private error(token: Token, problem: string, hint?: string): HangarError {
    return filterError(this.text, token.start, problem, hint);
  }
}

/**
 * Parses a filter expression. Returns `undefined` for an empty or whitespace-only filter.
 * Plain field names must be in `allowedFields`; `tags.*`, `params.*` and `metrics.*` are always
 * allowed. Throws `HangarError` with code `invalid-filter`, a message naming the problem and its
 * 1-based column, and `details.position` (that column) and `details.filter`, when the filter
 * does not parse, is longer than `LIMITS.filterLength` or nests deeper than `LIMITS.filterDepth`.
 */
export function parseFilter(text: string, allowedFields: readonly string[]): FilterNode | undefined {
  if (text.length > LIMITS.filterLength) {
    throw filterError(text, LIMITS.filterLength, `The filter is longer than ${LIMITS.filterLength} characters`, 'shorten it');
  }
  if (text.trim() === '') return undefined;
  return new Parser(text, tokenize(text), allowedFields).parseFilter();
}

// ---------------------------------------------------------------------------------------------
// LIKE patterns

function endsWithLoneBackslash(pattern: string): boolean {
  const trailing = /\\*$/.exec(pattern)?.[0].length ?? 0;
  return trailing % 2 === 1;
}

/**
 * Splits a LIKE pattern into wildcards and literal code points (`\` makes the next character
 * literal). Shared by the evaluator and the SQL compiler. Throws `invalid-filter` when the
 * pattern ends with a lone backslash (the parser never produces such a pattern).
 */
export function likePatternParts(pattern: string): LikePart[] {
  const parts: LikePart[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] ?? '';
    if (char === '%') parts.push({ kind: 'any' });
    else if (char === '_') parts.push({ kind: 'one' });
    else if (char !== '\\') parts.push({ kind: 'char', char });
    else {
      const escaped = chars[++i];
      if (escaped === undefined) {
        throw new HangarError(ErrorCode.InvalidFilter, 'A LIKE pattern must not end with a lone backslash.');
      }
      parts.push({ kind: 'char', char: escaped });
    }
  }
  return parts;
}

/** Replaces `%` and `_` with GLOB's `*` and `?`, and makes GLOB's metacharacters literal. */
export function likeToGlob(parts: readonly LikePart[]): string {
  return parts
    .map((part) => {
      if (part.kind === 'any') return '*';
      if (part.kind === 'one') return '?';
      return part.char === '*' || part.char === '?' || part.char === '[' ? `[${part.char}]` : part.char;
    })
    .join('');
}

/** Whether `value` matches the pattern parts, by code point (greedy with backtracking, O(n·m)). */
function matchesLike(parts: readonly LikePart[], value: string): boolean {
  const chars = Array.from(value);
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < chars.length) {
    const part = parts[p];
    if (part && (part.kind === 'one' || (part.kind === 'char' && part.char === chars[s]))) {
      p++;
      s++;
    } else if (part?.kind === 'any') {
      starP = p++;
      starS = s;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (parts[p]?.kind === 'any') p++;
  return p === parts.length;
}

/** Lower-cases A–Z only, as SQLite's `lower()` does without ICU. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// Evaluator

/** Three-valued truth: `null` is SQL's unknown. */
type Truth = boolean | null;

/** A value as the filter sees it; `undefined` is NULL, `opaque` a value no literal equals. */
type Scalar =
  | { kind: 'text'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'param'; value: string; number: number | undefined }
  | { kind: 'opaque' };

function ownValue(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A field's or metric's value: no boolean type (booleans count as 1/0), NaN is NULL. */
function columnScalar(value: unknown): Scalar | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { kind: 'text', value };
  if (typeof value === 'boolean') return { kind: 'number', value: value ? 1 : 0 };
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : { kind: 'number', value };
  return { kind: 'opaque' };
}

/** A tag's JSON value: JSON null (and a non-finite number, which JSON stores as null) is NULL. */
function tagScalar(value: unknown): Scalar | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { kind: 'text', value };
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (typeof value === 'number') return Number.isFinite(value) ? { kind: 'number', value } : undefined;
  return { kind: 'opaque' };
}

function fieldScalar(field: FieldRef, record: FilterRecord): Scalar | undefined {
  switch (field.kind) {
    case 'field':
      return columnScalar(ownValue(record.fields, field.name));
    case 'tag':
      return tagScalar(ownValue(record.tags, field.key));
    case 'metric':
      return columnScalar(ownValue(record.metrics, field.key));
    case 'param': {
      const value = record.params ? ownValue(record.params, field.key) : undefined;
      return typeof value === 'string' ? { kind: 'param', value, number: paramNumber(value) } : undefined;
    }
  }
}

/** A literal as compared with `field`: booleans are 1/0 except against tags. */
function literalScalar(field: FieldRef, value: FilterValue): Scalar {
  if (typeof value === 'string') return { kind: 'text', value };
  if (typeof value === 'number') return { kind: 'number', value };
  return field.kind === 'tag' || field.kind === 'param' ? { kind: 'boolean', value } : { kind: 'number', value: value ? 1 : 0 };
}

/** Orders strings by code point, which is UTF-8 byte order (SQLite's BINARY collation). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; ) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** -1, 0 or 1 when `a` and `b` have one comparable type; undefined (unknown) otherwise. */
function compareScalars(a: Scalar, b: Scalar): number | undefined {
  if (a.kind === 'param') {
    if (b.kind === 'text') return compareCodePoints(a.value, b.value);
    if (b.kind === 'number' && a.number !== undefined) return compareScalars({ kind: 'number', value: a.number }, b);
    return undefined;
  }
  if (a.kind === 'text' && b.kind === 'text') return compareCodePoints(a.value, b.value);
  if (a.kind === 'number' && b.kind === 'number') return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  if (a.kind === 'boolean' && b.kind === 'boolean') return Number(a.value) - Number(b.value);
  return undefined;
}

function holds(op: CompareOp, order: number): boolean {
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

function compare(field: FieldRef, op: CompareOp, value: FilterValue, record: FilterRecord): Truth {
  const actual = fieldScalar(field, record);
  if (!actual) return null;
  const order = compareScalars(actual, literalScalar(field, value));
  return order === undefined ? null : holds(op, order);
}

function like(node: Extract<FilterNode, { type: 'like' }>, record: FilterRecord): Truth {
  const actual = fieldScalar(node.field, record);
  if (actual?.kind !== 'text' && actual?.kind !== 'param') return null;
  const fold = node.caseInsensitive ? asciiLower : (s: string) => s;
  return matchesLike(likePatternParts(fold(node.pattern)), fold(actual.value));
}

function not(truth: Truth): Truth {
  return truth === null ? null : !truth;
}

/** Kleene AND (`dominant` false) or OR (`dominant` true) over the items' truths. */
function kleene(truths: Truth[], dominant: boolean): Truth {
  if (truths.includes(dominant)) return dominant;
  return truths.includes(null) ? null : !dominant;
}

function evaluate(node: FilterNode, record: FilterRecord): Truth {
  switch (node.type) {
    case 'and':
      return kleene(node.items.map((item) => evaluate(item, record)), false);
    case 'or':
      return kleene(node.items.map((item) => evaluate(item, record)), true);
    case 'not':
      return not(evaluate(node.expr, record));
    case 'compare':
      return compare(node.field, node.op, node.value, record);
    case 'in': {
      const found = kleene(node.values.map((value) => compare(node.field, '=', value, record)), true);
      return node.negated ? not(found) : found;
    }
    case 'null':
      return (fieldScalar(node.field, record) === undefined) !== node.negated;
    case 'like': {
      const matched = like(node, record);
      return node.negated ? not(matched) : matched;
    }
  }
}

/**
 * Whether `record` passes the filter: true only when the filter is *true* under SQL's
 * three-valued logic (unknown excludes the record, as a SQL WHERE does). `undefined` (no
 * filter) passes everything.
 */
export function evaluateFilter(node: FilterNode | undefined, record: FilterRecord): boolean {
  return node === undefined || evaluate(node, record) === true;
}

// ---------------------------------------------------------------------------------------------
// Formatter

const PRECEDENCE = { or: 1, and: 2, not: 3, leaf: 4 } as const;

function precedence(node: FilterNode): number {
  return node.type === 'or' || node.type === 'and' || node.type === 'not' ? PRECEDENCE[node.type] : PRECEDENCE.leaf;
}

function formatName(name: string): string {
  return IDENTIFIER.test(name) && !KEYWORDS.has(name.toUpperCase()) ? name : `\`${name}\``;
}

function formatField(field: FieldRef): string {
  if (field.kind === 'field') return formatName(field.name);
  const key = BARE_KEY.test(field.key) ? field.key : `\`${field.key}\``;
  return `${field.kind === 'tag' ? 'tags' : field.kind === 'param' ? 'params' : 'metrics'}.${key}`;
}

function formatValue(value: FilterValue): string {
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return Object.is(value, -0) ? '-0' : String(value);
}

/** Formats `node`, in parentheses when it binds looser than `minimum`. */
function formatAt(node: FilterNode, minimum: number): string {
  const text = formatNode(node);
  return precedence(node) < minimum ? `(${text})` : text;
}

function formatNode(node: FilterNode): string {
  switch (node.type) {
    case 'or':
    case 'and': {
      // A nested node of the same type keeps its parentheses, so the AST round-trips exactly.
      const minimum = PRECEDENCE[node.type] + 1;
      return node.items.map((item) => formatAt(item, minimum)).join(` ${node.type.toUpperCase()} `);
    }
    case 'not':
      return `NOT ${formatAt(node.expr, PRECEDENCE.not)}`;
    case 'compare':
      return `${formatField(node.field)} ${node.op} ${formatValue(node.value)}`;
    case 'in':
      return `${formatField(node.field)} ${node.negated ? 'NOT IN' : 'IN'} (${node.values.map(formatValue).join(', ')})`;
    case 'null':
      return `${formatField(node.field)} IS ${node.negated ? 'NOT NULL' : 'NULL'}`;
    case 'like': {
      const op = `${node.negated ? 'NOT ' : ''}${node.caseInsensitive ? 'ILIKE' : 'LIKE'}`;
      return `${formatField(node.field)} ${op} ${formatValue(node.pattern)}`;
    }
  }
}

/**
 * Prints a filter back as text that `parseFilter` turns into an equal AST (given the same
 * allowed fields); `''` for no filter.
 */
export function formatFilter(node: FilterNode | undefined): string {
  return node === undefined ? '' : formatNode(node);
}

/** Whether the filter names the plain field `name` anywhere (a model listing lists only registered models unless it names `kind`). */
export function filterNamesField(node: FilterNode | undefined, name: string): boolean {
  if (node === undefined) return false;
  switch (node.type) {
    case 'and':
    case 'or':
      return node.items.some((item) => filterNamesField(item, name));
    case 'not':
      return filterNamesField(node.expr, name);
    default:
      return node.field.kind === 'field' && node.field.name === name;
  }
}
