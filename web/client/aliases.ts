import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import type { ClientContext, ParentRef } from './context.ts';
import type { VersionRecord } from './db.ts';
import type { Mutation } from './writer.ts';

/** Where the caller expects an alias to point now; `versionId: null` means "not set". */
export interface ExpectedAlias {
  versionId: string | null;
  number: number | null;
}

/**
 * Moves an alias inside a write transaction: checks the expectation (compare-and-set), keeps
 * the move in the history, and emits the mutation carrying the expectation so the server
 * can check it again. `target` null deletes the alias. Nothing happens when it is already there.
 */
export async function moveAlias(
  ctx: ClientContext,
  model: ParentRef,
  alias: string,
  target: VersionRecord | null,
  expected: ExpectedAlias | undefined,
  emit: (m: Mutation) => void,
): Promise<void> {
  const { db } = ctx;
  const current = await db.aliases.get([model.modelId, alias]);
  if (expected && (current?.versionId ?? null) !== expected.versionId) {
    const currentNumber = current ? ((await db.versions.get(current.versionId))?.number ?? null) : null;
    throw new HangarError(
      ErrorCode.AliasPreconditionFailed,
      `Alias "${alias}" points at ${currentNumber === null ? 'no version' : `version ${currentNumber}`}, not ${expected.number === null ? 'nothing' : `version ${expected.number}`} as expected.`,
      { alias, expected: expected.number, current: currentNumber },
    );
  }
  if (!current && !target) throw new HangarError(ErrorCode.AliasNotFound, `The model has no alias "${alias}".`, { alias });
  if ((current?.versionId ?? null) === (target?.id ?? null)) return;
  const now = Date.now();
  await db.aliasHistory.add({
    id: uuidv7(now),
    modelId: model.modelId,
    alias,
    versionId: target?.id ?? null,
    previousVersionId: current?.versionId ?? null,
    at: now,
  });
  if (target) {
    await db.aliases.put({ modelId: model.modelId, alias, versionId: target.id, updatedAt: now });
    emit({ name: 'alias.set', namespace: model.namespace, args: { modelId: model.modelId, alias, versionId: target.id, expectedVersionId: current?.versionId ?? null } });
  } else {
    await db.aliases.delete([model.modelId, alias]);
    emit({ name: 'alias.delete', namespace: model.namespace, args: { modelId: model.modelId, alias, expectedVersionId: current?.versionId ?? null } });
  }
}
