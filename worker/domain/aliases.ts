import type { Alias } from '../../shared/aliases.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { getAlias, moveAlias } from '../db/aliases.ts';
import type { ModelRow } from '../db/models.ts';
import type { VersionRow } from '../db/versions.ts';

interface Ctx {
  hlc: string;
  tokenId: string | null;
}

const preconditionFailed = (alias: string, expected: number | null, current: Alias | undefined) =>
  new HangarError(
    ErrorCode.AliasPreconditionFailed,
    `Alias "${alias}" points at ${current ? `version ${current.version}` : 'no version'}, not ${expected === null ? 'nothing' : `version ${expected}`} as expected.`,
    { alias, expected, current: current?.version ?? null },
  );

/**
 * Points an alias at a version. With `expected` (a version number, or null for "unset"),
 * a compare-and-set: applied only if the alias still points there, else 412.
 */
export async function setAlias(
  db: D1Database,
  model: ModelRow,
  alias: string,
  target: VersionRow,
  expected: { number: number | null; versionId: string | null } | undefined,
  ctx: Ctx,
): Promise<Alias> {
  const current = await getAlias(db, model.id, alias);
  if (expected && (current?.version ?? null) !== expected.number) throw preconditionFailed(alias, expected.number, current);
  await db.batch(
    moveAlias(db, {
      namespace: model.namespace,
      modelId: model.id,
      alias,
      versionId: target.id,
      ...(expected ? { expectedVersionId: expected.versionId } : {}),
      tokenId: ctx.tokenId,
      hlc: ctx.hlc,
      versionNumber: target.number,
    }),
  );
  const after = await getAlias(db, model.id, alias);
  // Another writer moved it between our read and our write: the conditional write did nothing.
  if (after?.versionId !== target.id) throw preconditionFailed(alias, expected?.number ?? null, after);
  return after;
}

export async function deleteAlias(db: D1Database, model: ModelRow, alias: string, ctx: Ctx): Promise<void> {
  const current = await getAlias(db, model.id, alias);
  if (!current) throw new HangarError(ErrorCode.AliasNotFound, `Model "${model.name}" has no alias "${alias}".`, { alias });
  await db.batch(
    moveAlias(db, {
      namespace: model.namespace,
      modelId: model.id,
      alias,
      versionId: null,
      expectedVersionId: current.versionId,
      tokenId: ctx.tokenId,
      hlc: ctx.hlc,
      versionNumber: null,
    }),
  );
}
