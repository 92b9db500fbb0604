import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { parseFilter, type FieldRef, type FilterNode, type FilterValue } from '../../../shared/filter.ts';
import { invalidParameter } from './errors.ts';

/**
 * MLflow's search filters and orderings in Hangar's filter language (shared/filter.ts). MLflow
 * writes `metrics.acc > 0.9 and params.lr = '0.01' and tags.team = 'x' and attributes.status =
 * 'FINISHED'`; its prefixes have several spellings (`metric.`, `param.`, `parameter.`, `tag.`,
 * `attribute.`, `attr.`, `run.`), and an attribute is a plain field here.
 */

const PREFIXES: Record<string, string> = {
  metric: 'metrics.',
  metrics: 'metrics.',
  param: 'params.',
  params: 'params.',
  parameter: 'params.',
  parameters: 'params.',
  tag: 'tags.',
  tags: 'tags.',
  attribute: '',
  attributes: '',
  attr: '',
  run: '',
};

/** Rewrites MLflow's prefixes, leaving quoted strings and backquoted names alone. */
export function rewritePrefixes(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const ch = text.charAt(i);
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < text.length && text.charAt(j) !== ch) j++;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
    if (word) {
      const prefix = PREFIXES[word.toLowerCase()];
      const prev = out.at(-1) ?? ' ';
      if (prefix !== undefined && text.charAt(i + word.length) === '.' && !/[A-Za-z0-9_.]/.test(prev)) {
        out += prefix;
        i += word.length + 1;
        continue;
      }
      out += word;
      i += word.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/** Parses an MLflow filter as a Hangar filter over `fields`, then renames fields (`rename`) and maps their values (`values`). */
export function translateFilter(
  text: string | undefined,
  fields: readonly string[],
  rename: Record<string, string>,
  values: Record<string, (v: FilterValue) => FilterValue> = {},
): FilterNode | undefined {
  let node: FilterNode | undefined;
  try {
    node = parseFilter(rewritePrefixes(text ?? ''), fields);
  } catch (err) {
    if (err instanceof HangarError && err.code === ErrorCode.InvalidFilter) throw invalidParameter(`Invalid filter '${text}': ${err.message}`);
    throw err;
  }
  const field = (f: FieldRef): FieldRef => (f.kind === 'field' ? { kind: 'field', name: rename[f.name] ?? f.name } : f);
  const value = (f: FieldRef, v: FilterValue) => (f.kind === 'field' && values[f.name] ? values[f.name]!(v) : v);
  const walk = (n: FilterNode): FilterNode => {
    switch (n.type) {
      case 'and':
      case 'or':
        return { type: n.type, items: n.items.map(walk) };
      case 'not':
        return { type: 'not', expr: walk(n.expr) };
      case 'compare':
        return { ...n, field: field(n.field), value: value(n.field, n.value) };
      case 'in':
        return { ...n, field: field(n.field), values: n.values.map((v) => value(n.field, v)) };
      default:
        return { ...n, field: field(n.field) };
    }
  };
  return node && walk(node);
}

/** One `order_by` entry: `metrics.acc DESC`, `attributes.start_time`, ``params.`my lr` ASC``. */
export function parseOrderClause(clause: string, fields: Record<string, string>): { field: FieldRef; desc: boolean } {
  const m = /^\s*(?:([A-Za-z]+)\.)?(`[^`]+`|"[^"]+"|[A-Za-z0-9_.:/-]+)(?:\s+(ASC|DESC))?\s*$/i.exec(clause);
  const prefix = m?.[1] === undefined ? '' : PREFIXES[m[1].toLowerCase()];
  if (!m || prefix === undefined) throw invalidParameter(`Invalid order_by clause '${clause}'.`);
  const raw = m[2]!;
  const key = /^[`"]/.test(raw) ? raw.slice(1, -1) : raw;
  const desc = (m[3] ?? 'ASC').toUpperCase() === 'DESC';
  if (prefix === 'metrics.') return { field: { kind: 'metric', key }, desc };
  if (prefix === 'params.') return { field: { kind: 'param', key }, desc };
  if (prefix === 'tags.') return { field: { kind: 'tag', key }, desc };
  const column = fields[key];
  if (!column) throw invalidParameter(`Invalid order_by clause '${clause}': ordering by '${key}' is not supported; use one of ${Object.keys(fields).join(', ')}.`);
  return { field: { kind: 'field', name: column }, desc };
}
