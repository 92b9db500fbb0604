import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { modelId } from '../../shared/ids.ts';
import { MODEL_FIELDS, type CreateModel, type UpdateModel } from '../../shared/models.ts';
import { ensureNamespace, logChange, type ChangeRow } from '../db/change-log.ts';
import { deleteMetricsOf } from '../db/metrics.ts';
import { lwwUpdate } from '../db/lww.ts';
import type { ModelRow } from '../db/models.ts';
import { isUniqueViolation } from '../errors.ts';
import { metadataWrites } from './metadata.ts';
import { currentActor } from '../actor.ts';
import { trashInsert, trashModelRevived } from '../db/trash.ts';
import { recountModels, uncountSegmentPoints, withinQuota } from '../db/usage.ts';

// versions.ts takes it from here.
export { metadataWrites };

/** The clock of the delete that left this tombstone (`clocks.deleted`), or '' when none was recorded. */
export function deleteClock(row: Pick<ModelRow, 'clocks'>): string {
  try {
    const deleted = (JSON.parse(row.clocks) as Record<string, unknown>).deleted;
    return typeof deleted === 'string' ? deleted : '';
  } catch {
    return '';
  }
}

/** The fields a create gave: a field left out, or null, is not the creator's to set. */
function givenFields(input: Partial<Record<(typeof MODEL_FIELDS)[number], string | null>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of MODEL_FIELDS) {
    const v = input[f];
    if (typeof v === 'string') out[f] = v;
  }
  return out;
}

/**
 * The statements that create a model (`existing` absent) or revive its tombstone, for one
 * `batch()`. Only the fields given are set, with the create's clock (DESIGN §3: two devices
 * creating the same model merge and never blank each other's values); the change-log row
 * carries only those. A revived model starts afresh: what the deleted one held (its metadata,
 * metrics, artifacts) goes with the tombstone, its versions stay deleted and keep their numbers,
 * and every field is set at the create's clock (null when not given), so a write older than the
 * revival loses, on the server as on every device.
 */
export function modelCreateWrites(
  db: D1Database,
  namespace: string,
  id: string,
  input: CreateModel,
  hlc: string,
  existing: Pick<ModelRow, 'clocks'> | undefined,
): D1PreparedStatement[] {
  const parts = modelCreateParts(db, namespace, id, input, hlc, existing);
  return [ensureNamespace(db, namespace), ...parts.writes, logChange(db, { namespace, ...parts.change }), ...metadataWrites(db, namespace, id, input.metadata, hlc)];
}

/**
 * `modelCreateWrites` in parts, for a batch that writes the namespace row and the change-log
 * rows of many mutations together: the model's writes and its change row (no metadata).
 */
export function modelCreateParts(
  db: D1Database,
  namespace: string,
  id: string,
  input: CreateModel,
  hlc: string,
  existing: Pick<ModelRow, 'clocks'> | undefined,
): { writes: D1PreparedStatement[]; change: ChangeRow } {
  const now = Date.now();
  const given = givenFields(input);
  const value = (f: string) => given[f] ?? null;
  const floor = existing ? deleteClock(existing) : '';
  // A revival sets every field (null when not given) at the create's clock, which is later than
  // the delete's: its change-log row says so, and every device applies it alike.
  const clocks = JSON.stringify({
    ...(floor ? { deleted: floor, ...Object.fromEntries(MODEL_FIELDS.map((f) => [f, hlc])) } : {}),
    ...Object.fromEntries(Object.keys(given).map((f) => [f, hlc])),
  });
  const kind = input.kind ?? 'model';
  const write = existing
    ? [
        // A revival is a new create: it takes the kind it is given.
        db
          .prepare('UPDATE models SET kind = ?, owner = ?, task = ?, description = ?, clocks = ?, created_at = ?, updated_at = ?, deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL')
          .bind(kind, value('owner'), value('task'), value('description'), clocks, now, now, id),
        db.prepare('DELETE FROM metadata WHERE parent_id = ?').bind(id),
        // The points it still holds (a purge may have freed some) leave the namespace's count as they go.
        uncountSegmentPoints(db, namespace, 'SELECT id FROM metric_segments WHERE series IN (SELECT id FROM metric_series WHERE parent_id = ?3)', id),
        ...deleteMetricsOf(db, id),
        db.prepare('DELETE FROM artifacts WHERE parent_id = ?').bind(id),
        // Alive again, it leaves the trash; the versions its delete took stay deleted, each an entry of its own.
        ...trashModelRevived(db, id),
        recountModels(db, namespace),
      ]
    : [
        db
          .prepare('INSERT INTO models (id, namespace, name, kind, owner, task, description, clocks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .bind(id, namespace, input.name, kind, value('owner'), value('task'), value('description'), clocks, now, now),
        // The models quota: the usage row's CHECK refuses a create past it, and the batch with it.
        recountModels(db, namespace),
      ];
  // A new model's change-log row carries only the fields given, so a device holding its own
  // create of the same model merges them and keeps its other values; a revival's carries every
  // field (null when not given), since the model starts afresh everywhere.
  const data = existing
    ? { name: input.name, kind, owner: value('owner'), task: value('task'), description: value('description') }
    : { name: input.name, kind, ...given };
  return { writes: write, change: { entity: 'model', entityId: id, op: 'create', data, hlc } };
}

/**
 * Creates a model (REST). Its id comes from (namespace, name), so a model deleted and created
 * again is the same model, revived with the new fields.
 */
export async function createModel(db: D1Database, namespace: string, input: CreateModel, hlc: string): Promise<string> {
  const id = await modelId(namespace, input.name);
  const existing = await db.prepare('SELECT deleted_at, clocks FROM models WHERE id = ?').bind(id).first<Pick<ModelRow, 'deleted_at' | 'clocks'>>();
  if (existing && existing.deleted_at === null) throw modelExists(namespace, input.name);
  try {
    await withinQuota(db, namespace, { models: 1 }, () => db.batch(modelCreateWrites(db, namespace, id, input, hlc, existing ?? undefined)));
  } catch (err) {
    if (isUniqueViolation(err)) throw modelExists(namespace, input.name);
    throw err;
  }
  return id;
}

const modelExists = (namespace: string, name: string) =>
  new HangarError(ErrorCode.ModelExists, `A model "${name}" already exists in namespace "${namespace}".`, { namespace, model: name });

/** The statements that update a model's fields (last writer wins per field) and metadata keys; none for an empty update. */
export function modelUpdateWrites(db: D1Database, model: Pick<ModelRow, 'id' | 'namespace'>, input: UpdateModel, hlc: string): D1PreparedStatement[] {
  const metadata = metadataWrites(db, model.namespace, model.id, input.metadata, hlc);
  const parts = modelUpdateParts(db, model, input, hlc);
  if (!parts) return metadata;
  return [parts.write, logChange(db, { namespace: model.namespace, ...parts.change }), ...metadata];
}

/** The field update of `modelUpdateWrites` and its change row (no metadata); none for no field. */
export function modelUpdateParts(db: D1Database, model: Pick<ModelRow, 'id' | 'namespace'>, input: UpdateModel, hlc: string): { write: D1PreparedStatement; change: ChangeRow } | undefined {
  const fields: Record<string, string | null> = {};
  for (const f of MODEL_FIELDS) if (input[f] !== undefined) fields[f] = input[f];
  if (!Object.keys(fields).length) return undefined;
  return { write: lwwUpdate(db, 'models', fields, hlc, model.id), change: { entity: 'model', entityId: model.id, op: 'update', data: fields, hlc } };
}

/** Updates a model's fields (last writer wins per field) and metadata keys. */
export async function updateModel(db: D1Database, model: ModelRow, input: UpdateModel, hlc: string): Promise<void> {
  const statements = modelUpdateWrites(db, model, input, hlc);
  if (statements.length) await db.batch(statements);
}

/**
 * The statements that delete a model: a tombstone on it (its clock kept in `clocks.deleted`, so
 * no write older than the delete brings it back) and on each live version, its aliases removed
 * with a history entry each, a trash entry, and a change-log row for every one of those.
 */
export function modelDeleteWrites(db: D1Database, model: Pick<ModelRow, 'id' | 'namespace' | 'name'>, hlc: string): D1PreparedStatement[] {
  const now = Date.now();
  const actor = currentActor();
  const ns = model.namespace;
  return [
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
         SELECT ?, 'version', id, 'delete', json_object('number', number), ?, ?, ?, ? FROM versions WHERE model_id = ? AND deleted_at IS NULL`,
      )
      .bind(ns, hlc, now, actor.id, actor.name, model.id),
    db
      .prepare(`UPDATE versions SET deleted_at = ?, updated_at = ?, clocks = json_set(clocks, '$.deleted', ?) WHERE model_id = ? AND deleted_at IS NULL`)
      .bind(now, now, hlc, model.id),
    db
      .prepare(
        `INSERT INTO alias_history (id, model_id, alias, version_id, previous_version_id, token_id, at)
         SELECT lower(hex(randomblob(16))), model_id, alias, NULL, version_id, NULL, ? FROM aliases WHERE model_id = ?`,
      )
      .bind(now, model.id),
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
         SELECT ?, 'alias', model_id, 'delete', json_object('alias', alias, 'versionId', NULL, 'version', NULL), ?, ?, ?, ? FROM aliases WHERE model_id = ?`,
      )
      .bind(ns, hlc, now, actor.id, actor.name, model.id),
    db.prepare('DELETE FROM aliases WHERE model_id = ?').bind(model.id),
    db.prepare(`UPDATE models SET deleted_at = ?, updated_at = ?, clocks = json_set(clocks, '$.deleted', ?) WHERE id = ?`).bind(now, now, hlc, model.id),
    // One trash entry for the model: the versions deleted here come back with it (DESIGN §3b).
    trashInsert(db, { id: model.id, namespace: ns, kind: 'model', modelId: model.id, at: now }),
    logChange(db, { namespace: ns, entity: 'model', entityId: model.id, op: 'delete', data: { name: model.name }, hlc }),
  ];
}

/** Deletes a model (see `modelDeleteWrites`). */
export async function deleteModel(db: D1Database, model: ModelRow, hlc: string): Promise<void> {
  await db.batch(modelDeleteWrites(db, model, hlc));
}
