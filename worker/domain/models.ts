import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { modelId } from '../../shared/ids.ts';
import type { Metadata } from '../../shared/metadata.ts';
import { MODEL_FIELDS, type CreateModel, type UpdateModel } from '../../shared/models.ts';
import { ensureNamespace, logChange } from '../db/change-log.ts';
import { lwwUpdate } from '../db/lww.ts';
import { upsertMetadata } from '../db/metadata.ts';
import type { ModelRow } from '../db/models.ts';
import { isUniqueViolation } from '../errors.ts';

export function metadataWrites(db: D1Database, namespace: string, parentId: string, metadata: Metadata | undefined, hlc: string) {
  return Object.entries(metadata ?? {}).flatMap(([key, value]) => [
    upsertMetadata(db, { namespace, parentId, key, value, hlc }),
    logChange(db, { namespace, entity: 'metadata', entityId: parentId, op: 'set', data: { key, value }, hlc }),
  ]);
}

/**
 * Creates a model. Its id comes from (namespace, name), so a model deleted and created again
 * is the same model, revived with the new fields.
 */
export async function createModel(db: D1Database, namespace: string, input: CreateModel, hlc: string): Promise<string> {
  const id = await modelId(namespace, input.name);
  const existing = await db.prepare('SELECT deleted_at FROM models WHERE id = ?').bind(id).first<Pick<ModelRow, 'deleted_at'>>();
  if (existing && existing.deleted_at === null) throw modelExists(namespace, input.name);
  const now = Date.now();
  const fields = { owner: input.owner ?? null, task: input.task ?? null, description: input.description ?? null };
  const clocks = JSON.stringify(Object.fromEntries(MODEL_FIELDS.map((f) => [f, hlc])));
  // A revived model starts afresh: what the deleted one held (its own metadata, metrics and
  // artifacts) goes with the tombstone; its versions stay deleted and keep their numbers.
  const write = existing
    ? [
        db
          .prepare('UPDATE models SET owner = ?, task = ?, description = ?, clocks = ?, created_at = ?, updated_at = ?, deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL')
          .bind(fields.owner, fields.task, fields.description, clocks, now, now, id),
        db.prepare('DELETE FROM metadata WHERE parent_id = ?').bind(id),
        db.prepare('DELETE FROM metrics WHERE parent_id = ?').bind(id),
        db.prepare('DELETE FROM artifacts WHERE parent_id = ?').bind(id),
      ]
    : db
        .prepare(
          'INSERT INTO models (id, namespace, name, owner, task, description, clocks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .bind(id, namespace, input.name, fields.owner, fields.task, fields.description, clocks, now, now);
  try {
    await db.batch([
      ensureNamespace(db, namespace),
      ...[write].flat(),
      logChange(db, { namespace, entity: 'model', entityId: id, op: 'create', data: { name: input.name, ...fields }, hlc }),
      ...metadataWrites(db, namespace, id, input.metadata, hlc),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw modelExists(namespace, input.name);
    throw err;
  }
  return id;
}

const modelExists = (namespace: string, name: string) =>
  new HangarError(ErrorCode.ModelExists, `A model "${name}" already exists in namespace "${namespace}".`, { namespace, model: name });

/** Updates a model's fields (last writer wins per field) and metadata keys. */
export async function updateModel(db: D1Database, model: ModelRow, input: UpdateModel, hlc: string): Promise<void> {
  const fields: Record<string, string | null> = {};
  for (const f of MODEL_FIELDS) if (input[f] !== undefined) fields[f] = input[f];
  if (!Object.keys(fields).length && !Object.keys(input.metadata ?? {}).length) return;
  await db.batch([
    lwwUpdate(db, 'models', fields, hlc, model.id),
    logChange(db, { namespace: model.namespace, entity: 'model', entityId: model.id, op: 'update', data: fields, hlc }),
    ...metadataWrites(db, model.namespace, model.id, input.metadata, hlc),
  ]);
}

/**
 * Deletes a model: a tombstone on it and on each live version, its aliases removed with a
 * history entry each, and a change-log row for every one of those.
 */
export async function deleteModel(db: D1Database, model: ModelRow, hlc: string): Promise<void> {
  const now = Date.now();
  const ns = model.namespace;
  await db.batch([
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at)
         SELECT ?, 'version', id, 'delete', json_object('number', number), ?, ? FROM versions WHERE model_id = ? AND deleted_at IS NULL`,
      )
      .bind(ns, hlc, now, model.id),
    db.prepare('UPDATE versions SET deleted_at = ?, updated_at = ? WHERE model_id = ? AND deleted_at IS NULL').bind(now, now, model.id),
    db
      .prepare(
        `INSERT INTO alias_history (id, model_id, alias, version_id, previous_version_id, token_id, at)
         SELECT lower(hex(randomblob(16))), model_id, alias, NULL, version_id, NULL, ? FROM aliases WHERE model_id = ?`,
      )
      .bind(now, model.id),
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at)
         SELECT ?, 'alias', model_id, 'delete', json_object('alias', alias, 'versionId', NULL, 'version', NULL), ?, ? FROM aliases WHERE model_id = ?`,
      )
      .bind(ns, hlc, now, model.id),
    db.prepare('DELETE FROM aliases WHERE model_id = ?').bind(model.id),
    db.prepare('UPDATE models SET deleted_at = ?, updated_at = ? WHERE id = ?').bind(now, now, model.id),
    logChange(db, { namespace: ns, entity: 'model', entityId: model.id, op: 'delete', data: { name: model.name }, hlc }),
  ]);
}
