import { registerArtifactSchema } from '../../../shared/artifacts.ts';
import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import { modelId } from '../../../shared/ids.ts';
import type { MutationArgs, MutationName } from '../../../shared/sync.ts';
import { parseWith } from '../../../shared/validate.ts';
import { getAlias, moveAlias } from '../../db/aliases.ts';
import { withinQuota } from '../../db/usage.ts';
import { isUniqueViolation } from '../../errors.ts';
import type { Parent } from '../../parent.ts';
import { deleteAlias } from '../aliases.ts';
import { planArtifact, racedArtifact } from '../artifacts.ts';
import { saveCheckpoint } from '../checkpoints.ts';
import { metadataDeleteWrites, metadataWrites } from '../metadata.ts';
import { logMetrics } from '../metrics.ts';
import { setParams } from '../params.ts';
import { deleteClock, modelCreateWrites, modelDeleteWrites, modelUpdateWrites } from '../models.ts';
import { notInTrash, restoreModelRow, restoreVersionRow } from '../trash.ts';
import { createVersion, deleteVersion, updateVersion } from '../versions.ts';
import { notFound, type RowCache } from './cache.ts';
import { aliasConflict, APPLIED, definedOnly, deleted, labelConflict, type Outcome } from './outcomes.ts';

/** What an applier works with; `db` takes the mutation's one batch (see budget.ts `MutationDb`). */
export interface Ctx {
  db: D1Database;
  cache: RowCache;
  namespace: string;
  hlc: string;
  tokenId: string | null;
  /** Called before a domain function whose batch must also store a conflict answer. */
  willConflict(outcome: Outcome): void;
  /** Adds a statement to the mutation's batch. */
  alsoWrite(statement: D1PreparedStatement): void;
}

async function parentOrDeleted(ctx: Ctx, id: string): Promise<Parent | Outcome> {
  const parent = await ctx.cache.parent(id, ctx.hlc);
  return parent === 'deleted' ? deleted('The model or version') : parent;
}
const isOutcome = (x: Parent | Outcome): x is Outcome => 'status' in x;

async function write(ctx: Ctx, statements: D1PreparedStatement[]): Promise<void> {
  // A quota refuses the whole batch (db/usage.ts): the mutation is rejected with the figures.
  if (statements.length) await withinQuota(ctx.db, ctx.namespace, { models: 1 }, () => ctx.db.batch(statements));
}

/**
 * Applies one mutation through the same domain functions as REST, each in one batch that also
 * carries the mutation's seq record. Mutations never seen stay "not found"; writes to deleted
 * things are `deleted` conflicts; a write older than a delete never brings the thing back.
 */
export const appliers: { [N in MutationName]: (ctx: Ctx, args: MutationArgs<N>) => Promise<Outcome> } = {
  async 'model.create'(ctx, { id, name, ...fields }) {
    if ((await modelId(ctx.namespace, name)) !== id) {
      throw new HangarError(ErrorCode.InvalidArgument, `Model id ${id} is not the id of "${name}" in namespace "${ctx.namespace}".`, { id, name });
    }
    // Only the fields given: a field left out, or null, never blanks another device's value.
    const given = definedOnly(fields);
    const existing = await ctx.cache.model(id);
    // Two devices that create the same model make the same model: the second create merges
    // its fields by clock, as an update would.
    if (existing && existing.deleted_at === null) return write(ctx, modelUpdateWrites(ctx.db, existing, given, ctx.hlc)).then(() => APPLIED);
    // A create stamped before the delete does not revive the model; a later one does.
    if (existing && ctx.hlc <= deleteClock(existing)) return deleted(`Model "${name}"`);
    ctx.cache.forget(id);
    try {
      await write(ctx, modelCreateWrites(ctx.db, ctx.namespace, id, { name, ...given }, ctx.hlc, existing));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Another push created it meanwhile: merge into it.
      const now = await ctx.cache.model(id);
      if (!now || now.deleted_at !== null) throw err;
      await write(ctx, modelUpdateWrites(ctx.db, now, given, ctx.hlc));
      return APPLIED;
    }
    // The row as just written: the model's next mutations (an update, its versions) need not read it.
    const at = Date.now();
    const row = { owner: null, task: null, description: null, kind: 'model' as const, ...given, id, namespace: ctx.namespace, name, clocks: '{}', created_at: at, updated_at: at, deleted_at: null };
    ctx.cache.remember({ kind: 'model', row });
    return APPLIED;
  },
  async 'model.update'(ctx, { id, fields }) {
    const model = await ctx.cache.model(id);
    if (!model) throw notFound(ctx.namespace, id);
    if (model.deleted_at !== null) return deleted(`Model "${model.name}"`);
    await write(ctx, modelUpdateWrites(ctx.db, model, fields, ctx.hlc));
    return APPLIED;
  },
  async 'model.delete'(ctx, { id }) {
    const model = await ctx.cache.model(id);
    if (!model) throw notFound(ctx.namespace, id);
    // Its versions go too: forget every row.
    ctx.cache.forget();
    if (model.deleted_at === null) await write(ctx, modelDeleteWrites(ctx.db, model, ctx.hlc));
    return APPLIED;
  },
  async 'version.create'(ctx, { id, modelId: parentModel, status, ...fields }) {
    const model = await ctx.cache.model(parentModel);
    if (!model) throw notFound(ctx.namespace, parentModel);
    if (model.deleted_at !== null) return deleted(`Model "${model.name}"`);
    const input = { id, ...definedOnly(fields), ...(status ? { status } : {}) };
    let outcome: Outcome = APPLIED;
    ctx.cache.forget(id);
    try {
      // createVersion reads the new row back: keep it for the version's next mutations.
      ctx.cache.remember({ kind: 'version', row: await createVersion(ctx.db, model, input, ctx) });
    } catch (err) {
      if (err instanceof HangarError && err.code === ErrorCode.InvalidArgument && err.details?.id === id) {
        // The id is taken: by this version deleted (a create does not bring it back), or by another's.
        const gone = await ctx.cache.version(id);
        if (gone && gone.model_id === model.id && gone.deleted_at !== null) return deleted(`Version ${gone.number} of "${model.name}"`);
      }
      if (!(err instanceof HangarError && err.code === ErrorCode.VersionLabelTaken)) throw err;
      // First to arrive keeps the label; this one is kept with its label cleared.
      outcome = await labelConflict(ctx.db, model.id, fields.version ?? null);
      ctx.willConflict(outcome);
      await createVersion(ctx.db, model, { ...input, version: undefined }, ctx);
    }
    return outcome;
  },
  async 'version.update'(ctx, { id, fields, status }) {
    const parent = await parentOrDeleted(ctx, id);
    if (isOutcome(parent)) return parent;
    if (!parent.version) throw notFound(ctx.namespace, id);
    const input = { ...fields, ...(status ? { status } : {}) };
    ctx.cache.forget(id);
    try {
      await updateVersion(ctx.db, parent.model, parent.version, input, ctx.hlc);
      return APPLIED;
    } catch (err) {
      if (!(err instanceof HangarError && err.code === ErrorCode.VersionLabelTaken)) throw err;
      const outcome = await labelConflict(ctx.db, parent.model.id, fields.version ?? null);
      ctx.willConflict(outcome);
      const { version: _label, ...rest } = input;
      await updateVersion(ctx.db, parent.model, parent.version, rest, ctx.hlc);
      return outcome;
    }
  },
  async 'version.delete'(ctx, { id }) {
    const row = await ctx.cache.version(id);
    if (!row) throw notFound(ctx.namespace, id);
    const model = await ctx.cache.model(row.model_id);
    ctx.cache.forget(id);
    if (row.deleted_at === null && model) await deleteVersion(ctx.db, model, row, ctx);
    return APPLIED;
  },
  async 'model.restore'(ctx, { id }) {
    const model = await ctx.cache.model(id);
    // Purged: gone for good (never `model-not-found`, which would make the client re-seed it).
    if (!model) throw notInTrash(`Model ${id}`, { id });
    // Alive already (restored by another device, or created again): nothing to restore.
    if (model.deleted_at === null) return APPLIED;
    ctx.cache.forget();
    await restoreModelRow(ctx.db, model, ctx.hlc);
    return APPLIED;
  },
  async 'version.restore'(ctx, { id }) {
    const row = await ctx.cache.version(id);
    if (!row) throw notInTrash(`Version ${id}`, { id });
    const model = await ctx.cache.model(row.model_id);
    if (!model) throw notInTrash(`Version ${id}`, { id });
    if (model.deleted_at !== null) return deleted(`Model "${model.name}"`);
    if (row.deleted_at === null) return APPLIED;
    ctx.cache.forget(id);
    await restoreVersionRow(ctx.db, model, row, ctx.hlc);
    return APPLIED;
  },
  async 'metadata.set'(ctx, { parentId, key, value }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    await write(ctx, metadataWrites(ctx.db, parent.namespace, parent.id, { [key]: value }, ctx.hlc));
    return APPLIED;
  },
  async 'metadata.delete'(ctx, { parentId, key }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    await write(ctx, metadataDeleteWrites(ctx.db, parent, key, ctx.hlc));
    return APPLIED;
  },
  async 'metrics.log'(ctx, { parentId, points }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    await logMetrics(ctx.db, parent, points, ctx.hlc);
    return APPLIED;
  },
  async 'alias.set'(ctx, { modelId: id, alias, versionId, expectedVersionId }) {
    const model = await ctx.cache.model(id);
    if (!model) throw notFound(ctx.namespace, id);
    if (model.deleted_at !== null) return deleted(`Model "${model.name}"`);
    const target = await ctx.cache.version(versionId);
    if (!target || target.model_id !== model.id) throw notFound(ctx.namespace, versionId);
    if (target.deleted_at !== null) return deleted(`Version ${target.number} of "${model.name}"`);
    const current = await getAlias(ctx.db, model.id, alias);
    if ((current?.versionId ?? null) !== expectedVersionId) return aliasConflict(alias, current);
    if (current?.versionId === target.id) return APPLIED;
    // The move is a compare-and-set in SQL (db/aliases.ts `moveAlias`); whether it happened is
    // read from the batch's own result rather than from another query.
    const [, moved] = await ctx.db.batch(
      moveAlias(ctx.db, { namespace: model.namespace, modelId: model.id, alias, versionId: target.id, expectedVersionId, tokenId: ctx.tokenId, hlc: ctx.hlc, versionNumber: target.number }),
    );
    // Another writer moved it between our read and our write: the conditional write did nothing.
    return moved?.meta.changes ? APPLIED : aliasConflict(alias, await getAlias(ctx.db, model.id, alias));
  },
  async 'alias.delete'(ctx, { modelId: id, alias, expectedVersionId }) {
    const model = await ctx.cache.model(id);
    if (!model) throw notFound(ctx.namespace, id);
    if (model.deleted_at !== null) return APPLIED;
    const current = await getAlias(ctx.db, model.id, alias);
    if ((current?.versionId ?? null) !== expectedVersionId) return aliasConflict(alias, current);
    if (current) await deleteAlias(ctx.db, model, alias, ctx);
    return APPLIED;
  },
  async 'artifact.register'(ctx, { parentId, id: _id, ...body }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    const input = parseWith(registerArtifactSchema, definedOnly(body), 'artifact');
    // The version's status may change with its artifacts.
    ctx.cache.forget(parent.id);
    try {
      // Planned, then written without reading the new row back (the answer needs none of it).
      const plan = await planArtifact(ctx.db, parent, input, ctx.hlc);
      if ('statements' in plan) await ctx.db.batch(plan.statements).catch((err: unknown) => racedArtifact(ctx.db, parent, plan.row, err));
      return APPLIED;
    } catch (err) {
      if (err instanceof HangarError && err.code === ErrorCode.ArtifactConflict) {
        return { status: 'conflict', kind: 'artifact', message: err.message, server: err.details?.existing ?? null };
      }
      throw err;
    }
  },
  async 'param.set'(ctx, { parentId, key, value }) {
    const parent = await parentOrDeleted(ctx, parentId);
    if (isOutcome(parent)) return parent;
    if (!parent.version) {
      throw new HangarError(ErrorCode.InvalidArgument, `Params belong to versions; ${parentId} is a model.`, { parentId });
    }
    // Write-once: the same value again is applied (and writes nothing), another is `param-changed`.
    await setParams(ctx.db, parent, [{ key, value }], ctx.hlc);
    return APPLIED;
  },
  async 'checkpoint.save'(ctx, { versionId, handle, ...input }) {
    const parent = await parentOrDeleted(ctx, versionId);
    if (isOutcome(parent)) return parent;
    if (!parent.version) throw notFound(ctx.namespace, versionId);
    ctx.cache.forget(versionId);
    try {
      await saveCheckpoint(ctx.db, { ...parent, version: parent.version }, handle, input, ctx.hlc);
      return APPLIED;
    } catch (err) {
      if (err instanceof HangarError && err.code === ErrorCode.CheckpointExists) {
        return { status: 'conflict', kind: 'artifact', message: err.message, server: { handle } };
      }
      throw err;
    }
  },
};
