import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { parseRef } from '../../shared/refs.ts';
import { trashExpiry, type TrashKind } from '../../shared/trash.ts';
import type { ClientContext } from './context.ts';
import type { ModelRecord, VersionRecord } from './db.ts';

/** A deleted model or version this registry holds, restorable with `hangar.restore(ref)` (DESIGN §3b). */
export interface LocalTrashEntry {
  kind: TrashKind;
  /** The deleted model's or version's id. */
  id: string;
  namespace: string;
  model: string;
  /** The version's number; null for a model. */
  number: number | null;
  /** What `hangar.restore` takes: `ns/model` or `ns/model/3`. */
  ref: string;
  deletedAt: Date;
  /** When the server purges it, if it has not been restored by then. */
  expiresAt: Date;
}

/**
 * The trash as this registry holds it, newest delete first: deleted models, and deleted versions
 * that did not go with their model's delete (those come back with the model). Entries past their
 * expiry are left out: the server purges them. The server's own list is `GET …/trash`.
 */
export async function localTrash(ctx: ClientContext, namespace?: string): Promise<LocalTrashEntry[]> {
  const { db } = ctx;
  const now = Date.now();
  const models = (namespace === undefined ? await db.models.toArray() : await db.models.where('namespace').equals(namespace).toArray());
  const byId = new Map(models.map((m) => [m.id, m]));
  const out: LocalTrashEntry[] = [];
  const entry = (kind: TrashKind, m: ModelRecord, id: string, number: number | null, at: number) => {
    if (trashExpiry(at) <= now) return;
    const ref = `${m.namespace}/${m.name}${number === null ? '' : `/${number}`}`;
    out.push({ kind, id, namespace: m.namespace, model: m.name, number, ref, deletedAt: new Date(at), expiresAt: new Date(trashExpiry(at)) });
  };
  for (const m of models) if (m.deletedAt !== null) entry('model', m, m.id, null, m.deletedAt);
  const versions = await db.versions.where('modelId').anyOf([...byId.keys()]).toArray();
  for (const v of versions) {
    const m = byId.get(v.modelId)!;
    if (v.deletedAt !== null && v.deletedAt !== m.deletedAt && !v.purged) entry('version', m, v.id, v.number, v.deletedAt);
  }
  return out.sort((a, b) => b.deletedAt.getTime() - a.deletedAt.getTime() || (a.id < b.id ? 1 : -1));
}

const notInTrash = (ref: string) => new HangarError(ErrorCode.NotInTrash, `"${ref}" is not in the trash here: it was purged, or never deleted.`, { ref });

/**
 * Restores `ns/model` (with the versions its delete took) or `ns/model/3` (a version of a live
 * model), here at once and on the server through sync (`model.restore`, `version.restore`). The
 * same refusals as the server's: a live model of that name (`model-exists`), a version of a
 * deleted model (`model-not-found`: restore the model first), a label another version has taken
 * since (`version-label-taken`), nothing deleted there (`not-in-trash`). Aliases come back when
 * the server's answer is pulled (it puts back the ones nobody set since).
 */
export async function restore(ctx: ClientContext, text: string): Promise<void> {
  const r = parseRef(text);
  if (r.kind === 'alias') throw new HangarError(ErrorCode.InvalidArgument, `Restore takes "namespace/model" or "namespace/model/3", not an alias.`, { ref: text });
  const { db, writer } = ctx;
  await writer.write(`"${text}"`, [db.models, db.versions], async ({ emit }) => {
    const model = await db.models.where('[namespace+name]').equals([r.namespace, r.model]).first();
    const now = Date.now();
    if (r.kind === 'latest') {
      if (model && model.deletedAt === null) {
        throw new HangarError(ErrorCode.ModelExists, `A model "${r.model}" exists in namespace "${r.namespace}": there is nothing to restore.`, { namespace: r.namespace, model: r.model });
      }
      if (!model || trashExpiry(model.deletedAt!) <= now) throw notInTrash(text);
      const took = model.deletedAt;
      await db.versions.where('modelId').equals(model.id).modify((v: VersionRecord) => {
        if (v.deletedAt === took) v.deletedAt = null;
      });
      await db.models.update(model.id, { deletedAt: null, updatedAt: now });
      emit({ name: 'model.restore', namespace: r.namespace, args: { id: model.id } });
      return;
    }
    if (!model || model.deletedAt !== null) {
      throw new HangarError(ErrorCode.ModelNotFound, `Model "${r.model}" is not alive here: restore the model first.`, { namespace: r.namespace, model: r.model, inTrash: !!model });
    }
    const version = await db.versions.where('[modelId+number]').equals([model.id, r.number]).first();
    if (!version || version.deletedAt === null || version.purged || trashExpiry(version.deletedAt) <= now) throw notInTrash(text);
    if (version.version !== null) {
      const holder = (await db.versions.where('modelId').equals(model.id).toArray()).find((v) => v.deletedAt === null && v.version === version.version);
      if (holder) {
        throw new HangarError(ErrorCode.VersionLabelTaken, `Version ${holder.number} of "${r.model}" has taken the label "${version.version}" since.`, { model: r.model, version: version.version });
      }
    }
    await db.versions.update(version.id, { deletedAt: null, updatedAt: now });
    emit({ name: 'version.restore', namespace: r.namespace, args: { id: version.id } });
  });
}
