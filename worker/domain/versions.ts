import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { VERSION_FIELDS, type CreateVersion, type UpdateVersion } from '../../shared/versions.ts';
import { moveAlias } from '../db/aliases.ts';
import { settleVersionStatus } from '../db/blobs.ts';
import { logChange, type ChangeRow } from '../db/change-log.ts';
import { lwwUpdate } from '../db/lww.ts';
import type { ModelRow } from '../db/models.ts';
import { getVersionRowById, type VersionRow } from '../db/versions.ts';
import { isUniqueViolation } from '../errors.ts';
import { metadataWrites } from './models.ts';
import { currentActor } from '../actor.ts';
import { trashInsert } from '../db/trash.ts';

const labelTaken = (model: ModelRow, label: string | null | undefined) =>
  new HangarError(ErrorCode.VersionLabelTaken, `Another version of "${model.name}" is already labelled "${label}".`, {
    model: model.name,
    version: label,
  });

const idTaken = (id: string) =>
  new HangarError(ErrorCode.InvalidArgument, `Version id ${id} is already taken (by another or a deleted version); make a new id.`, { id });

/** The lineage a version's create row carries: `sourceVersionId` only when it has one. */
const lineage = (row: Pick<VersionRow, 'source_version_id'>) => (row.source_version_id ? { sourceVersionId: row.source_version_id } : {});

/** A lineage must name a version of this namespace (deleted or not: lineage is history). */
async function checkSource(db: D1Database, namespace: string, id: string): Promise<void> {
  if (await getVersionRowById(db, namespace, id)) return;
  throw new HangarError(ErrorCode.VersionNotFound, `Namespace "${namespace}" has no version ${id} to name as the source of this version.`, { sourceVersionId: id });
}

/**
 * Creates a version; the server numbers it 1, 2, 3… per model in arrival order. A client id
 * makes a retried create return the version it already made.
 */
export async function createVersion(
  db: D1Database,
  model: ModelRow,
  input: CreateVersion,
  ctx: { hlc: string; tokenId: string | null },
): Promise<VersionRow> {
  if (input.id) {
    const existing = await getVersionRowById(db, model.namespace, input.id);
    if (existing?.model_id === model.id && existing.deleted_at === null) return existing;
    if (existing) throw idTaken(input.id);
  }
  if (input.sourceVersionId !== undefined) await checkSource(db, model.namespace, input.sourceVersionId);
  const id = input.id ?? uuidv7();
  const { insert, row } = versionCreateParts(db, model, { ...input, id }, ctx.hlc);
  const now = row.created_at;
  const actor = currentActor();
  const status = row.status;
  const fields = { version: row.version, name: row.name, description: row.description, framework: row.framework, ...lineage(row) };
  // The number is only known inside the batch, so the change-log row reads it from the new row.
  const change = db
    .prepare(
      `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
       SELECT ?, 'version', ?, 'create', json_set(?, '$.number', number), ?, ?, ?, ? FROM versions WHERE id = ?`,
    )
    .bind(model.namespace, id, JSON.stringify({ modelId: model.id, status, ...fields }), ctx.hlc, now, actor.id, actor.name, id);
  const aliases = (input.uniqueTags ?? []).flatMap((alias) =>
    moveAlias(db, { namespace: model.namespace, modelId: model.id, alias, versionId: id, tokenId: ctx.tokenId, hlc: ctx.hlc, versionNumber: null }),
  );
  try {
    await db.batch([insert, change, ...metadataWrites(db, model.namespace, id, input.metadata, ctx.hlc), ...aliases]);
  } catch (err) {
    if (isUniqueViolation(err)) throw /versions\.id/.test(String(err)) ? idTaken(id) : labelTaken(model, input.version);
    throw err;
  }
  return (await getVersionRowById(db, model.namespace, id))!;
}

/**
 * The insert of a new version (numbered by SQL, the model's next number, when the statement
 * runs), its change row (whose number is read from the new row), and the row as it will be
 * stored but for its `number`, which only the batch knows (0 here).
 */
export function versionCreateParts(db: D1Database, model: ModelRow, input: CreateVersion & { id: string }, hlc: string) {
  const now = Date.now();
  const fields = {
    version: input.version ?? null,
    name: input.name ?? null,
    description: input.description ?? null,
    framework: input.framework ?? null,
  };
  const clocks = JSON.stringify(Object.fromEntries(VERSION_FIELDS.map((f) => [f, hlc])));
  const source = input.sourceVersionId ?? null;
  // A new version has no artifacts, so it serves the status its creator declared (DESIGN §3a).
  const status = input.status ?? 'ready';
  const insert = db
    .prepare(
      `INSERT INTO versions (id, namespace, model_id, number, version, name, description, framework, status, declared_status, source_version_id, clocks, created_at, updated_at)
       VALUES (?, ?, ?, (SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE model_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(input.id, model.namespace, model.id, model.id, fields.version, fields.name, fields.description, fields.framework, status, status, source, clocks, now, now);
  const row: VersionRow = {
    id: input.id, namespace: model.namespace, model_id: model.id, number: 0, ...fields, status, declared_status: status,
    source_version_id: source, created_at: now, updated_at: now, deleted_at: null,
  };
  const change: ChangeRow = { entity: 'version', entityId: input.id, op: 'create', data: { modelId: model.id, status, ...fields, ...lineage(row) }, hlc, numberOf: input.id };
  return { insert, change, row };
}

/**
 * Updates a version's fields (last writer wins per field), its metadata, or its declared status
 * (DESIGN §3a). A declared status only moves forward: `pending` → `ready` → `failed`. Marking
 * `ready` a version declared `ready` changes nothing; marking `ready` a `failed` version is
 * refused (`invalid-argument`): failed is final, so make a new version. A `ready` version may
 * still be marked `failed` (its creator found it bad). The status served is settled in the
 * same batch, with a `version.status` change only when it changes.
 */
export async function updateVersion(db: D1Database, model: ModelRow, row: VersionRow, input: UpdateVersion, hlc: string): Promise<void> {
  if (input.status === 'ready' && row.declared_status === 'failed') {
    throw new HangarError(ErrorCode.InvalidArgument, `Version ${row.number} of "${model.name}" has failed, and a failed version stays failed; make a new version.`, {
      model: model.name,
      version: row.number,
      status: 'failed',
    });
  }
  const fields: Record<string, string | null> = {};
  for (const f of VERSION_FIELDS) if (input[f] !== undefined) fields[f] = input[f];
  const statements = [
    lwwUpdate(db, 'versions', fields, hlc, row.id),
    logChange(db, { namespace: row.namespace, entity: 'version', entityId: row.id, op: 'update', data: fields, hlc }),
    ...metadataWrites(db, row.namespace, row.id, input.metadata, hlc),
  ];
  if (input.status) {
    // Guarded in SQL too, so a concurrent `failed` is never undone by a `ready` read before it.
    statements.push(
      db
        .prepare("UPDATE versions SET declared_status = ?, updated_at = ? WHERE id = ? AND declared_status <> 'failed'")
        .bind(input.status, Date.now(), row.id),
      ...settleVersionStatus(db, row.id, hlc),
    );
  }
  try {
    await db.batch(statements);
  } catch (err) {
    if (isUniqueViolation(err)) throw labelTaken(model, input.version);
    throw err;
  }
}

/** Deletes a version: a tombstone and a trash entry; the aliases that pointed at it are removed, with history. */
export async function deleteVersion(db: D1Database, model: ModelRow, row: VersionRow, ctx: { hlc: string; tokenId: string | null }) {
  const { results: aliases } = await db.prepare('SELECT alias FROM aliases WHERE version_id = ?').bind(row.id).all<{ alias: string }>();
  const now = Date.now();
  await db.batch([
    // The delete's clock stays with the tombstone (`clocks.deleted`): a write older than it never brings the version back.
    db.prepare(`UPDATE versions SET deleted_at = ?, updated_at = ?, clocks = json_set(clocks, '$.deleted', ?) WHERE id = ?`).bind(now, now, ctx.hlc, row.id),
    trashInsert(db, { id: row.id, namespace: row.namespace, kind: 'version', modelId: model.id, at: now }),
    logChange(db, { namespace: row.namespace, entity: 'version', entityId: row.id, op: 'delete', data: { number: row.number }, hlc: ctx.hlc }),
    ...aliases.flatMap(({ alias }) =>
      moveAlias(db, { namespace: model.namespace, modelId: model.id, alias, versionId: null, expectedVersionId: row.id, tokenId: ctx.tokenId, hlc: ctx.hlc, versionNumber: null }),
    ),
  ]);
}
