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
  const write = existing
    ? db
        .prepare('UPDATE models SET owner = ?, task = ?, description = ?, clocks = ?, updated_at = ?, deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL')
        .bind(fields.owner, fields.task, fields.description, clocks, now, id)
    : db
        .prepare(
          'INSERT INTO models (id, namespace, name, owner, task, description, clocks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .bind(id, namespace, input.name, fields.owner, fields.task, fields.description, clocks, now, now);
  try {
    await db.batch([
      ensureNamespace(db, namespace),
      write,
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
  await db.batch([
    lwwUpdate(db, 'models', fields, hlc, model.id),
    logChange(db, { namespace: model.namespace, entity: 'model', entityId: model.id, op: 'update', data: fields, hlc }),
    ...metadataWrites(db, model.namespace, model.id, input.metadata, hlc),
  ]);
}

/** Deletes a model: a tombstone on it and its versions; its aliases go. */
export async function deleteModel(db: D1Database, model: ModelRow, hlc: string): Promise<void> {
  const now = Date.now();
  await db.batch([
    db.prepare('UPDATE models SET deleted_at = ?, updated_at = ? WHERE id = ?').bind(now, now, model.id),
    db.prepare('UPDATE versions SET deleted_at = ?, updated_at = ? WHERE model_id = ? AND deleted_at IS NULL').bind(now, now, model.id),
    db.prepare('DELETE FROM aliases WHERE model_id = ?').bind(model.id),
    logChange(db, { namespace: model.namespace, entity: 'model', entityId: model.id, op: 'delete', data: { name: model.name }, hlc }),
  ]);
}
