import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { parseFilter } from '../../shared/filter.ts';
import type { ListQuery } from '../../shared/pages.ts';
import { VERSION_FILTER_FIELDS, VERSION_ORDER_FIELDS, type ModelVersion, type VersionStatus } from '../../shared/versions.ts';
import { iso } from '../http.ts';
import { compileFilter } from './filter-sql.ts';
import { metadataOf } from './metadata.ts';
import type { ModelRow } from './models.ts';
import { keyset, pageOf, parseOrderBy } from './paging.ts';

export interface VersionRow {
  id: string;
  namespace: string;
  model_id: string;
  number: number;
  version: string | null;
  name: string | null;
  description: string | null;
  framework: string | null;
  /** The status served (DESIGN §3a): derived from `declared_status` and the artifacts' bytes. */
  status: VersionStatus;
  /** The status its creator declared: `pending` until it says `ready`, or `failed`. */
  declared_status: VersionStatus;
  /** Lineage: the version this one was registered from, or null. */
  source_version_id: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

const FILTER_COLUMNS = Object.fromEntries(VERSION_FILTER_FIELDS.map((f) => [f, f]));
const ORDER_COLUMNS = Object.fromEntries(VERSION_ORDER_FIELDS.map((f) => [f, f]));

const versionNotFound = (model: ModelRow, number: string | number) =>
  new HangarError(ErrorCode.VersionNotFound, `Model "${model.name}" has no version ${number}.`, { model: model.name, version: number });

/** A live version by its number (as it appears in a URL), or 404 `version-not-found`. */
export async function getVersionRow(db: D1Database, model: ModelRow, number: string | number): Promise<VersionRow> {
  const n = typeof number === 'number' ? number : /^[1-9]\d{0,15}$/.test(number) ? Number(number) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw versionNotFound(model, number);
  const row = await db
    .prepare('SELECT * FROM versions WHERE model_id = ? AND number = ? AND deleted_at IS NULL')
    .bind(model.id, n)
    .first<VersionRow>();
  if (!row) throw versionNotFound(model, number);
  return row;
}

/** A version by id, within one namespace (ids of other namespaces are not to be seen). */
export async function getVersionRowById(db: D1Database, namespace: string, id: string): Promise<VersionRow | undefined> {
  return (await db.prepare('SELECT * FROM versions WHERE id = ? AND namespace = ?').bind(id, namespace).first<VersionRow>()) ?? undefined;
}

/** Rows to API versions, with metadata and the aliases pointing at each. */
export async function toVersions(db: D1Database, model: ModelRow, rows: VersionRow[]): Promise<ModelVersion[]> {
  const ids = rows.map((r) => r.id);
  const tags = new Map<string, string[]>(ids.map((id) => [id, []]));
  const [metadata, aliasRows] = await Promise.all([
    metadataOf(db, ids),
    ids.length
      ? db
          .prepare('SELECT alias, version_id FROM aliases WHERE version_id IN (SELECT value FROM json_each(?)) ORDER BY alias')
          .bind(JSON.stringify(ids))
          .all<{ alias: string; version_id: string }>()
      : Promise.resolve({ results: [] as { alias: string; version_id: string }[] }),
  ]);
  for (const a of aliasRows.results) tags.get(a.version_id)?.push(a.alias);
  return rows.map((r) => ({
    id: r.id,
    modelId: r.model_id,
    namespace: r.namespace,
    model: model.name,
    number: r.number,
    version: r.version,
    name: r.name,
    description: r.description,
    framework: r.framework,
    status: r.status,
    metadata: metadata.get(r.id) ?? {},
    uniqueTags: tags.get(r.id) ?? [],
    sourceVersionId: r.source_version_id ?? null,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  }));
}

export async function toVersion(db: D1Database, model: ModelRow, row: VersionRow): Promise<ModelVersion> {
  return (await toVersions(db, model, [row]))[0]!;
}

/** One page of a model's versions, filtered and ordered (newest first by default). */
export async function listVersions(db: D1Database, model: ModelRow, q: ListQuery) {
  const filter = compileFilter(parseFilter(q.filter ?? '', VERSION_FILTER_FIELDS), { alias: 't', fields: FILTER_COLUMNS });
  const order = parseOrderBy(q.orderBy, ORDER_COLUMNS, 'number DESC');
  const page = keyset('t', order, q.pageToken, q.pageSize);
  const { results } = await db
    .prepare(`SELECT t.* FROM versions t WHERE t.model_id = ? AND t.deleted_at IS NULL AND ${filter.sql} AND ${page.where} ${page.orderSql}`)
    .bind(model.id, ...filter.params, ...page.params)
    .all<VersionRow>();
  const { items, nextPageToken } = pageOf(results, page.size, order, (r) => r[order.column as keyof VersionRow] as string | number);
  return { items: await toVersions(db, model, items), ...(nextPageToken ? { nextPageToken } : {}) };
}
