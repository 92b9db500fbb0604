import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { mergeFields } from '../../shared/rules.ts';
import type { ClientContext, ParentRef } from './context.ts';
import type { Clocks, HangarDb } from './db.ts';
import type { Mutation } from './writer.ts';

/** Applies fields to a record, each only if `hlc` is later than that field's clock (shared/rules.ts). */
export function applyFields<R extends { clocks: Clocks; updatedAt: number }>(row: R, fields: Record<string, unknown>, hlc: string): R {
  const { won, clocks } = mergeFields(row.clocks, fields, hlc, Object.keys(fields));
  return { ...row, ...won, clocks, updatedAt: Date.now() };
}

/** Writes `{ key: value }` metadata given inline on create or update, one mutation per key. */
export async function writeMetadataMap(
  ctx: ClientContext,
  parent: { id: string; namespace: string },
  metadata: Record<string, unknown> | undefined,
  hlc: string,
  emit: (m: Mutation) => void,
): Promise<void> {
  for (const [key, value] of Object.entries(metadata ?? {})) {
    await ctx.db.metadata.put({ parentId: parent.id, key, namespace: parent.namespace, value, hlc });
    emit({ name: 'metadata.set', namespace: parent.namespace, args: { parentId: parent.id, key, value } });
  }
}

/**
 * Throws `model-not-found` / `version-not-found` unless the parent is live. Called inside a
 * write's transaction (which must include `models` and `versions`), so a write never lands
 * on something deleted meanwhile, in this tab or another.
 */
export async function requireLive(db: HangarDb, parent: ParentRef): Promise<void> {
  const row = parent.kind === 'model' ? await db.models.get(parent.id) : await db.versions.get(parent.id);
  if (row && row.deletedAt === null) return;
  throw parent.kind === 'model'
    ? new HangarError(ErrorCode.ModelNotFound, 'This model has been deleted.', { id: parent.id })
    : new HangarError(ErrorCode.VersionNotFound, 'This version has been deleted.', { id: parent.id });
}

/**
 * Throws `version-label-taken` if a live version of the model other than `self` holds the
 * label (first to arrive keeps it, as on the server).
 */
export async function requireLabelFree(db: HangarDb, model: { id: string; name: string }, label: string, self?: string): Promise<void> {
  if (!(await labelHeldByOther(db, model.id, label, self))) return;
  throw new HangarError(ErrorCode.VersionLabelTaken, `Another version of "${model.name}" is already labelled "${label}".`, {
    model: model.name,
    version: label,
  });
}

/** Whether a live version of the model other than `self` holds the label. */
export async function labelHeldByOther(db: HangarDb, modelId: string, label: string, self?: string): Promise<boolean> {
  const holders = await db.versions.where('[modelId+version]').equals([modelId, label]).toArray();
  return holders.some((v) => v.deletedAt === null && v.id !== self);
}
