import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { filterNamesField, parseFilter } from '../../shared/filter.ts';
import { MODEL_FILTER_FIELDS, MODEL_ORDER_FIELDS, type Model, type ModelKind } from '../../shared/models.ts';
import type { ListQuery } from '../../shared/pages.ts';
import { iso } from '../http.ts';
import { compileFilter } from './filter-sql.ts';
import { metadataOf } from './metadata.ts';
import { keyset, pageOf, parseOrderBy } from './paging.ts';

export interface ModelRow {
  id: string;
  namespace: string;
  name: string;
  /** `model` or `experiment` (DESIGN §1), fixed at create. */
  kind: ModelKind;
  owner: string | null;
  task: string | null;
  description: string | null;
  /** JSON: field → clock of its last write, and `deleted` → the clock of the last delete. */
  clocks: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

const FILTER_COLUMNS = Object.fromEntries(MODEL_FILTER_FIELDS.map((f) => [f, f]));
const ORDER_COLUMNS = Object.fromEntries(MODEL_ORDER_FIELDS.map((f) => [f, f]));

/** A live model by name, or 404 `model-not-found`. */
export async function getModelRow(db: D1Database, namespace: string, name: string): Promise<ModelRow> {
  const row = await db
    .prepare('SELECT * FROM models WHERE namespace = ? AND name = ? AND deleted_at IS NULL')
    .bind(namespace, name)
    .first<ModelRow>();
  if (!row) throw new HangarError(ErrorCode.ModelNotFound, `No model "${name}" in namespace "${namespace}".`, { namespace, model: name });
  return row;
}

/** alias → version number, for each of many models. */
export async function aliasesOf(db: D1Database, modelIds: string[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>(modelIds.map((id) => [id, {}]));
  if (modelIds.length === 0) return out;
  const { results } = await db
    .prepare(
      `SELECT a.model_id, a.alias, v.number FROM aliases a JOIN versions v ON v.id = a.version_id
       WHERE a.model_id IN (SELECT value FROM json_each(?)) ORDER BY a.alias`,
    )
    .bind(JSON.stringify(modelIds))
    .all<{ model_id: string; alias: string; number: number }>();
  for (const r of results) out.get(r.model_id)![r.alias] = r.number;
  return out;
}

/** Rows to API models, with their metadata and aliases loaded in two queries. */
export async function toModels(db: D1Database, rows: ModelRow[]): Promise<Model[]> {
  const ids = rows.map((r) => r.id);
  const [metadata, aliases] = await Promise.all([metadataOf(db, ids), aliasesOf(db, ids)]);
  return rows.map((r) => ({
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    kind: r.kind,
    owner: r.owner,
    task: r.task,
    description: r.description,
    metadata: metadata.get(r.id) ?? {},
    aliases: aliases.get(r.id) ?? {},
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  }));
}

/**
 * One page of a namespace's models, filtered and ordered: registered models only (kind `model`)
 * unless the filter names `kind` (shared/models.ts `MODEL_FILTER_FIELDS`).
 */
export async function listModels(db: D1Database, namespace: string, q: ListQuery) {
  const node = parseFilter(q.filter ?? '', MODEL_FILTER_FIELDS);
  const compiled = compileFilter(node, { alias: 't', fields: FILTER_COLUMNS });
  const filter = filterNamesField(node, 'kind') ? compiled : { sql: `t.kind = 'model' AND ${compiled.sql}`, params: compiled.params };
  const order = parseOrderBy(q.orderBy, ORDER_COLUMNS, 'name ASC');
  const page = keyset('t', order, q.pageToken, q.pageSize);
  const { results } = await db
    .prepare(`SELECT t.* FROM models t WHERE t.namespace = ? AND t.deleted_at IS NULL AND ${filter.sql} AND ${page.where} ${page.orderSql}`)
    .bind(namespace, ...filter.params, ...page.params)
    .all<ModelRow>();
  const { items, nextPageToken } = pageOf(results, page.size, order, (r) => r[order.column as keyof ModelRow] as string | number);
  return { items: await toModels(db, items), ...(nextPageToken ? { nextPageToken } : {}) };
}
