import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { moveAlias } from '../db/aliases.ts';
import { logChange } from '../db/change-log.ts';
import type { ModelRow } from '../db/models.ts';
import { getTrashRow, trashModelRevived } from '../db/trash.ts';
import type { VersionRow } from '../db/versions.ts';
import { isUniqueViolation } from '../errors.ts';
import { currentActor } from '../actor.ts';

// Restoring from the trash (DESIGN §3b). A restore undoes the delete: the thing and what its
// delete took with it come back as they were, and every device learns it from the change log
// (`model.restore`, `version.restore`, then an `alias.set` for each alias put back).
//
// Rules:
// - Restoring a model brings back the versions its delete took with it; versions deleted before
//   it stay in the trash, each an entry of its own.
// - A version of a deleted model cannot be restored on its own (`model-not-found`, with
//   `details.inTrash`): restore the model first.
// - An alias the delete removed points at its version again only if nobody has set it since
//   (its last move is still that removal, and it is unset): a later decision is never undone.
// - A model created again since its delete is the same model (its id comes from its name), so
//   its entry left the trash then: restoring it answers `model-exists`. A version whose label
//   another version has taken since answers `version-label-taken`. Either way nothing changes.
// - Something purged, or never deleted, is not in the trash: `not-in-trash`.

export const notInTrash = (what: string, details: Record<string, unknown>) =>
  new HangarError(ErrorCode.NotInTrash, `${what} is not in the trash: it was purged, or never deleted.`, details);

interface AliasBack {
  alias: string;
  version_id: string;
  number: number;
}

/** The aliases that the deletes of these versions removed and that nobody set since. */
async function aliasesToPutBack(db: D1Database, modelId: string, versionIds: string[]): Promise<AliasBack[]> {
  if (!versionIds.length) return [];
  const { results } = await db
    .prepare(
      `SELECT h.alias, h.previous_version_id AS version_id, v.number FROM alias_history h JOIN versions v ON v.id = h.previous_version_id
       WHERE h.model_id = ?1 AND h.version_id IS NULL AND h.previous_version_id IN (SELECT value FROM json_each(?2))
         AND NOT EXISTS (SELECT 1 FROM alias_history l WHERE l.model_id = ?1 AND l.alias = h.alias AND (l.at > h.at OR (l.at = h.at AND l.id > h.id)))
         AND NOT EXISTS (SELECT 1 FROM aliases a WHERE a.model_id = ?1 AND a.alias = h.alias)`,
    )
    .bind(modelId, JSON.stringify(versionIds))
    .all<AliasBack>();
  return results;
}

function putBack(db: D1Database, model: Pick<ModelRow, 'id' | 'namespace'>, aliases: AliasBack[], hlc: string): D1PreparedStatement[] {
  const tokenId = currentActor().id;
  return aliases.flatMap((a) =>
    // Only if still unset when the batch runs (compare-and-set on "no version").
    moveAlias(db, { namespace: model.namespace, modelId: model.id, alias: a.alias, versionId: a.version_id, expectedVersionId: null, tokenId, hlc, versionNumber: a.number }),
  );
}

/** The `version.restore` change rows of these versions, in one statement, with the restoring token. */
function versionRestoreChanges(db: D1Database, namespace: string, ids: string[], hlc: string): D1PreparedStatement {
  const actor = currentActor();
  return db
    .prepare(
      `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
       SELECT ?, 'version', id, 'restore', json_object('modelId', model_id, 'number', number), ?, ?, ?, ? FROM versions
       WHERE id IN (SELECT value FROM json_each(?)) ORDER BY number`,
    )
    .bind(namespace, hlc, Date.now(), actor.id, actor.name, JSON.stringify(ids));
}

/** Restores a deleted model by name, with the versions its delete took. Answers the model's row. */
export async function restoreModel(db: D1Database, namespace: string, name: string, hlc: string): Promise<void> {
  const model = await db.prepare('SELECT * FROM models WHERE namespace = ? AND name = ?').bind(namespace, name).first<ModelRow>();
  if (model && model.deleted_at === null) {
    throw new HangarError(ErrorCode.ModelExists, `A model "${name}" exists in namespace "${namespace}" (never deleted, or created again since): there is nothing to restore.`, {
      namespace,
      model: name,
    });
  }
  if (!model) throw notInTrash(`Model "${name}"`, { namespace, model: name });
  await restoreModelRow(db, model, hlc);
}

/** Restores a deleted model (REST or sync), if it is in the trash; else `not-in-trash`. */
export async function restoreModelRow(db: D1Database, model: ModelRow, hlc: string): Promise<void> {
  const namespace = model.namespace;
  if (!(await getTrashRow(db, namespace, model.id))) throw notInTrash(`Model "${model.name}"`, { namespace, model: model.name });
  const { results: versions } = await db
    .prepare('SELECT id FROM versions v WHERE model_id = ? AND deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM trash t WHERE t.id = v.id)')
    .bind(model.id)
    .all<{ id: string }>();
  const ids = versions.map((v) => v.id);
  const aliases = await aliasesToPutBack(db, model.id, ids);
  const now = Date.now();
  try {
    await db.batch([
      db.prepare('UPDATE models SET deleted_at = NULL, updated_at = ? WHERE id = ? AND deleted_at IS NOT NULL').bind(now, model.id),
      logChange(db, { namespace, entity: 'model', entityId: model.id, op: 'restore', data: { name: model.name }, hlc }),
      db.prepare('UPDATE versions SET deleted_at = NULL, updated_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NOT NULL').bind(now, JSON.stringify(ids)),
      versionRestoreChanges(db, namespace, ids, hlc),
      ...trashModelRevived(db, model.id),
      ...putBack(db, model, aliases, hlc),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw labelTaken(model.name, null);
    throw err;
  }
}

const labelTaken = (model: string, label: string | null) =>
  new HangarError(
    ErrorCode.VersionLabelTaken,
    `Another version of "${model}" has taken the label ${label === null ? 'of a version being restored' : `"${label}"`} since; nothing was restored. Clear that label first.`,
    { model, version: label },
  );

/** Restores one deleted version of a live model. */
export async function restoreVersion(db: D1Database, model: ModelRow, number: string, hlc: string): Promise<void> {
  const n = /^[1-9]\d{0,15}$/.test(number) ? Number(number) : NaN;
  const row = Number.isSafeInteger(n)
    ? await db.prepare('SELECT * FROM versions WHERE model_id = ? AND number = ?').bind(model.id, n).first<VersionRow>()
    : null;
  if (!row) throw notInTrash(`Version ${number} of "${model.name}"`, { model: model.name, version: number });
  await restoreVersionRow(db, model, row, hlc);
}

/** Restores a deleted version of a live model (REST or sync), if it is in the trash; else `not-in-trash`. */
export async function restoreVersionRow(db: D1Database, model: ModelRow, row: VersionRow, hlc: string): Promise<void> {
  if (row.deleted_at === null || !(await getTrashRow(db, model.namespace, row.id))) {
    throw notInTrash(`Version ${row.number} of "${model.name}"`, { model: model.name, version: row.number });
  }
  const aliases = await aliasesToPutBack(db, model.id, [row.id]);
  try {
    await db.batch([
      db.prepare('UPDATE versions SET deleted_at = NULL, updated_at = ? WHERE id = ? AND deleted_at IS NOT NULL').bind(Date.now(), row.id),
      db.prepare('DELETE FROM trash WHERE id = ?').bind(row.id),
      logChange(db, { namespace: model.namespace, entity: 'version', entityId: row.id, op: 'restore', data: { modelId: model.id, number: row.number }, hlc }),
      ...putBack(db, model, aliases, hlc),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw labelTaken(model.name, row.version);
    throw err;
  }
}

/** A deleted model named in a version's restore: `model-not-found`, saying whether the model itself can be restored. */
export async function deletedModelOf(db: D1Database, namespace: string, name: string): Promise<HangarError | undefined> {
  const model = await db.prepare('SELECT id FROM models WHERE namespace = ? AND name = ? AND deleted_at IS NOT NULL').bind(namespace, name).first<{ id: string }>();
  if (!model) return undefined;
  const inTrash = (await getTrashRow(db, namespace, model.id)) !== undefined;
  return new HangarError(
    ErrorCode.ModelNotFound,
    inTrash ? `Model "${name}" is in the trash: restore the model first (POST …/models/${name}/restore).` : `No model "${name}" in namespace "${namespace}".`,
    { namespace, model: name, inTrash },
  );
}
