/**
 * Compiles a filter AST (`shared/filter.ts`) to a SQLite (D1) WHERE fragment with bound
 * parameters. The SQL selects exactly the records `evaluateFilter` accepts:
 *
 * - Every leaf is a `CASE WHEN <type guard> THEN <comparison> END`, which is NULL (unknown) when
 *   the value is NULL or of another type than the literal, so NOT, AND and OR get SQL's
 *   three-valued logic just as the evaluator has it.
 * - Plain columns are compared as `+alias."col"`: the unary plus drops the column's affinity,
 *   so SQLite never converts the bound literal (a TEXT literal against an INTEGER column stays
 *   TEXT) and values compare by storage class, as in the evaluator.
 * - `tags.K` reads `json_extract(value, '$')` of the metadata row, guarded by `json_type`
 *   ('text', 'integer'/'real', 'true'/'false'); metadata values must be valid JSON. A deleted
 *   key's tombstone row counts as no row (`NOT deleted`).
 * - `params.K` reads the version's param: its string `value` against a string, its `num` (the
 *   value as a number when the whole value is a decimal number, else NULL) against a number;
 *   against a boolean it is always unknown.
 * - `metrics.K` reads the last logged value (highest step, then wallclock, then id), kept in
 *   the key's summary row (`metric_series.last`).
 * - LIKE compiles to GLOB (case-sensitive); ILIKE to `lower(x) LIKE lower(?) ESCAPE '\'`.
 * - Booleans bind as 1/0.
 *
 * User values only ever reach SQL as `?` parameters. Identifiers come from `FilterTarget`,
 * which the worker writes, and are checked anyway.
 */
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { likePatternParts, likeToGlob } from '../../shared/filter.ts';
import type { CompareOp, FieldRef, FilterNode, FilterValue } from '../../shared/filter.ts';

/** Where a filter runs: the entity table's alias in the query, and filter field → column. */
export interface FilterTarget {
  /** SQL alias of the entity table (which has an `id` column), e.g. `t`. */
  alias: string;
  /** Filter field name → column name of the entity table. */
  fields: Record<string, string>;
}

/** A WHERE fragment and its parameters, in order. */
export interface CompiledFilter {
  sql: string;
  params: (string | number)[];
}

/** D1 allows 100 bound parameters per statement; the filter may use this many, leaving room for the rest of the query. */
export const MAX_FILTER_PARAMS = 80;

const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Aliases of the subqueries' tables, which the target's alias must not shadow. */
const TAG_ALIAS = 'filter_tag';
const METRIC_ALIAS = 'filter_metric';
const PARAM_ALIAS = 'filter_param';

type LiteralType = 'text' | 'number' | 'boolean';

/** How to read one field: its value, a type guard, and the scope it is read in. */
interface FieldSource {
  /** SQL for the value, without column affinity (a param's depends on the literal's type). */
  value: string | ((type: LiteralType) => string);
  /** SQL for the value as stored (for IS NULL). */
  raw: string;
  /** SQL that is true when the value has the literal's type. */
  guard(type: LiteralType): string;
  /** Wraps `body` (SQL over `value`) into a scalar expression; binds any parameters of its own after the body's. */
  wrap(body: string): string;
}

function quoteIdentifier(name: string): string {
  if (!SQL_IDENTIFIER.test(name)) {
    throw new HangarError(ErrorCode.Internal, `Not a plain SQL identifier: ${JSON.stringify(name)}.`);
  }
  return `"${name}"`;
}

function literalType(field: FieldRef, value: FilterValue): LiteralType {
  if (typeof value === 'string') return 'text';
  if (typeof value === 'number') return 'number';
  return field.kind === 'tag' || field.kind === 'param' ? 'boolean' : 'number';
}

function typeofGuard(sql: string, type: LiteralType): string {
  return type === 'text' ? `typeof(${sql}) = 'text'` : `typeof(${sql}) IN ('integer', 'real')`;
}

function jsonTypeGuard(sql: string, type: LiteralType): string {
  if (type === 'text') return `json_type(${sql}) = 'text'`;
  return type === 'number' ? `json_type(${sql}) IN ('integer', 'real')` : `json_type(${sql}) IN ('true', 'false')`;
}


const SQL_OPERATORS: Readonly<Record<CompareOp, string>> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

class FilterCompiler {
  readonly params: (string | number)[] = [];
  private readonly entityId: string;

  constructor(private readonly target: FilterTarget) {
    const alias = target.alias.toLowerCase();
    if (alias === TAG_ALIAS || alias === METRIC_ALIAS || alias === PARAM_ALIAS) {
      throw new HangarError(ErrorCode.Internal, `The filter target's alias must not be ${target.alias}.`);
    }
    this.entityId = `${quoteIdentifier(target.alias)}."id"`;
  }

  compile(node: FilterNode): string {
    switch (node.type) {
      case 'and':
      case 'or': {
        // An empty AND is true and an empty OR false, as in the evaluator (the parser makes neither).
        const items = node.items.map((item) => this.compile(item));
        return items.length ? `(${items.join(` ${node.type.toUpperCase()} `)})` : node.type === 'and' ? '(1)' : '(0)';
      }
      case 'not':
        return `(NOT ${this.compile(node.expr)})`;
      case 'compare':
        return this.leaf(node.field, [node.value], false, (value, bind) => `${value} ${SQL_OPERATORS[node.op]} ${bind(node.value)}`);
      case 'in':
        return this.leaf(node.field, node.values, node.negated, (value, bind) => `${value} IN (${node.values.map(bind).join(', ')})`);
      case 'like':
        return this.leaf(node.field, [node.pattern], node.negated, (value, bind) =>
          node.caseInsensitive
            ? `lower(${value}) LIKE lower(${bind(node.pattern)}) ESCAPE '\\'`
            : `${value} GLOB ${bind(likeToGlob(likePatternParts(node.pattern)))}`,
        );
      case 'null': {
        const source = this.source(node.field);
        return `(${source.wrap(source.raw)} IS ${node.negated ? 'NOT NULL' : 'NULL'})`;
      }
    }
  }

  /** The field's value as stored, NULL when missing. */
  value(field: FieldRef): string {
    const source = this.source(field);
    return source.wrap(source.raw);
  }

  /**
   * A comparison of `field` with literals of one type: `CASE WHEN <guard> THEN <test> END`,
   * so a NULL or a value of another type makes it unknown. Negation wraps the CASE in NOT.
   */
  private leaf(
    field: FieldRef,
    literals: readonly FilterValue[],
    negated: boolean,
    test: (value: string, bind: (literal: FilterValue) => string) => string,
  ): string {
    const [first] = literals;
    if (first === undefined) throw invalid('An IN list must hold at least one value.');
    const type = literalType(field, first);
    if (literals.some((literal) => literalType(field, literal) !== type)) throw invalid('An IN list must hold values of one type.');

    const source = this.source(field);
    const value = typeof source.value === 'function' ? source.value(type) : source.value;
    const body = `CASE WHEN ${source.guard(type)} THEN ${test(value, (literal) => this.bind(literal))} END`;
    const sql = source.wrap(body);
    return negated ? `(NOT ${sql})` : sql;
  }

  private source(field: FieldRef): FieldSource {
    switch (field.kind) {
      case 'field':
        return this.columnSource(field.name);
      case 'tag':
        return this.tagSource(field.key);
      case 'metric':
        return this.metricSource(field.key);
      case 'param':
        return this.paramSource(field.key);
    }
  }

  private paramSource(key: string): FieldSource {
    const p = PARAM_ALIAS;
    return {
      value: (type) => (type === 'number' ? `+${p}.num` : `+${p}.value`),
      raw: `${p}.value`,
      guard: (type) => (type === 'text' ? '1' : type === 'number' ? `${p}.num IS NOT NULL` : '0'),
      wrap: (body) => `(SELECT ${body} FROM params ${p} WHERE ${p}.parent_id = ${this.entityId} AND ${p}.key = ${this.bind(key)})`,
    };
  }

  private columnSource(name: string): FieldSource {
    const column = Object.hasOwn(this.target.fields, name) ? this.target.fields[name] : undefined;
    if (column === undefined) throw invalid(`The field '${name}' cannot be filtered on here.`);
    const raw = `${quoteIdentifier(this.target.alias)}.${quoteIdentifier(column)}`;
    return { value: `+${raw}`, raw, guard: (type) => typeofGuard(raw, type), wrap: (body) => `(${body})` };
  }

  private tagSource(key: string): FieldSource {
    const json = `${TAG_ALIAS}.value`;
    const value = `json_extract(${json}, '$')`;
    return {
      value,
      raw: value,
      guard: (type) => jsonTypeGuard(json, type),
      wrap: (body) =>
        `(SELECT ${body} FROM metadata ${TAG_ALIAS} WHERE ${TAG_ALIAS}.parent_id = ${this.entityId} AND ${TAG_ALIAS}.key = ${this.bind(key)} AND NOT ${TAG_ALIAS}.deleted)`,
    };
  }

  private metricSource(key: string): FieldSource {
    const m = METRIC_ALIAS;
    const raw = `${m}.last`;
    return {
      value: `+${raw}`,
      raw,
      guard: (type) => typeofGuard(raw, type),
      wrap: (body) =>
        `(SELECT ${body} FROM metric_series ${m} WHERE ${m}.parent_id = ${this.entityId} AND ${m}.key = ${this.bind(key)})`,
    };
  }

  /** Adds a parameter and returns its placeholder. */
  private bind(value: FilterValue): string {
    this.params.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return '?';
  }
}

function invalid(message: string, details?: Record<string, unknown>): HangarError {
  return new HangarError(ErrorCode.InvalidFilter, message, details);
}

/**
 * SQL for the value of one filter field over `target.alias` (a column, a tag's JSON value, a
 * param's string, a metric's last value; NULL when missing), and its parameters: what a listing
 * orders by.
 */
export function compileValue(field: FieldRef, target: FilterTarget): CompiledFilter {
  const compiler = new FilterCompiler(target);
  return { sql: compiler.value(field), params: compiler.params };
}

/**
 * Compiles a filter to a parenthesised SQL boolean expression over `target.alias` and its
 * parameters (`'1'` and none for no filter). Throws `invalid-filter` when the filter names a
 * field `target` lacks, or needs more than `MAX_FILTER_PARAMS` parameters.
 */
export function compileFilter(node: FilterNode | undefined, target: FilterTarget): CompiledFilter {
  if (node === undefined) return { sql: '1', params: [] };
  const compiler = new FilterCompiler(target);
  const sql = compiler.compile(node);
  const count = compiler.params.length;
  if (count > MAX_FILTER_PARAMS) {
    throw invalid(
      `This filter needs ${count} query parameters, more than the ${MAX_FILTER_PARAMS} allowed: use fewer conditions or shorter IN lists.`,
      { parameters: count, limit: MAX_FILTER_PARAMS },
    );
  }
  return { sql, params: compiler.params };
}
