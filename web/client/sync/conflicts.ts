import { ErrorCode, HangarError } from '../../../shared/errors.ts';
import type { ClientContext } from '../context.ts';
import type { ConflictRecord } from '../db.ts';
import { ModelHandle } from '../model.ts';

/** A write the server did not take as it was; `mine` is the losing write, kept until resolved. */
export interface Conflict {
  id: string;
  kind: ConflictRecord['kind'];
  namespace: string;
  message: string;
  /** The losing mutation: its name and arguments. */
  mine: { name: string; args: unknown };
  /** What the server holds instead. */
  theirs: unknown;
  at: number;
  /** Whether `resolve(…, 'mine')` can apply the losing write again (aliases and labels). */
  canKeepMine: boolean;
}

const toConflict = (r: ConflictRecord): Conflict => ({
  id: r.id,
  kind: r.kind,
  namespace: r.namespace,
  message: r.message,
  mine: r.mutation,
  theirs: r.theirs,
  at: r.at,
  canKeepMine: r.kind === 'alias' || r.kind === 'version-label',
});

/** Open conflicts, oldest first. */
export async function listConflicts(ctx: ClientContext): Promise<Conflict[]> {
  const rows = await ctx.db.conflicts.where('resolved').equals(0).toArray();
  return rows.sort((a, b) => a.at - b.at).map(toConflict);
}

/**
 * Resolves a conflict. `theirs` keeps what the server holds (already shown here). `mine` writes
 * the losing change again on top of the server's, as a new local write that syncs: the alias
 * moves back to my version, or my version takes the label (the other version loses it).
 */
export async function resolveConflict(ctx: ClientContext, id: string, choice: 'mine' | 'theirs'): Promise<void> {
  if (choice !== 'mine' && choice !== 'theirs') {
    throw new HangarError(ErrorCode.InvalidArgument, `Resolve a conflict with "mine" or "theirs", not ${JSON.stringify(choice)}.`, { choice });
  }
  const row = await ctx.db.conflicts.get(id);
  if (!row || row.resolved) throw new HangarError(ErrorCode.InvalidArgument, `No open conflict ${id}.`, { id });
  if (choice === 'mine') await keepMine(ctx, row);
  await ctx.db.conflicts.update(id, { resolved: 1 });
}

async function keepMine(ctx: ClientContext, row: ConflictRecord): Promise<void> {
  const args = row.mutation.args as Record<string, string | null>;
  if (row.kind === 'alias') {
    const model = await modelOf(ctx, args.modelId!);
    if (row.mutation.name === 'alias.delete') return model.deleteAlias(args.alias!);
    const version = await ctx.db.versions.get(args.versionId!);
    if (!version || version.deletedAt !== null) throw gone('The version this alias pointed at');
    return model.setAlias(args.alias!, version.number);
  }
  if (row.kind === 'version-label') {
    const label = args.version ?? (args as unknown as { fields: { version: string } }).fields?.version;
    const mine = await ctx.db.versions.get(args.id!);
    if (!mine || mine.deletedAt !== null || !label) throw gone('This version');
    const model = await modelOf(ctx, mine.modelId);
    const holder = (row.theirs as { versionId: string | null }).versionId;
    const theirs = holder ? await ctx.db.versions.get(holder) : undefined;
    if (theirs && theirs.deletedAt === null && theirs.version === label) await (await model.version(theirs.number)).update({ version: null });
    await (await model.version(mine.number)).update({ version: label });
    return;
  }
  throw new HangarError(
    ErrorCode.InvalidArgument,
    row.kind === 'artifact'
      ? 'Artifacts are immutable: keep the server\'s, and upload yours under a new path.'
      : row.kind === 'deleted'
        ? 'A delete wins over a concurrent change: create the model or version again to keep yours.'
        : 'The server refused this change: keep the server\'s and make the change again, fixed.',
    { kind: row.kind },
  );
}

async function modelOf(ctx: ClientContext, modelId: string): Promise<ModelHandle> {
  const model = await ctx.db.models.get(modelId);
  if (!model || model.deletedAt !== null) throw gone('The model');
  return new ModelHandle(ctx, model);
}

const gone = (what: string) => new HangarError(ErrorCode.VersionNotFound, `${what} has been deleted since; this conflict can only be resolved with "theirs".`);
