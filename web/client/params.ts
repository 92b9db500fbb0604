import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { paramChanged, paramKeySchema, paramValueSchema, type Params } from '../../shared/params.ts';
import { LIMITS } from '../../shared/limits.ts';
import { parseWith } from '../../shared/validate.ts';
import type { ClientContext, ParentRef } from './context.ts';
import type { HangarDb } from './db.ts';
import { requireLive } from './fields.ts';

/**
 * Sets a version's params (DESIGN §1, shared/params.ts), write-once as on the server: a key
 * already set to the same value changes nothing, a key set to another value is refused with
 * `param-changed` and nothing of the call is written. Each new key is pushed as `param.set`.
 */
export async function logParams(ctx: ClientContext, parent: ParentRef, params: Record<string, string | number | boolean>): Promise<void> {
  if (parent.kind !== 'version') {
    throw new HangarError(ErrorCode.InvalidArgument, 'Params belong to versions, not models.', { parentId: parent.id });
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new HangarError(ErrorCode.InvalidArgument, 'Params must be an object of key → value.');
  }
  const entries = Object.entries(params);
  if (entries.length > LIMITS.mlflowBatchParamsAndTags) {
    throw new HangarError(ErrorCode.InvalidArgument, `At most ${LIMITS.mlflowBatchParamsAndTags} params in one call.`, { count: entries.length });
  }
  // MLflow's clients send every param as a string; numbers and booleans are written as text.
  const given = entries.map(([key, raw]) => {
    parseWith(paramKeySchema, key, 'param key');
    const value = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
    parseWith(paramValueSchema, value, `param "${key}"`);
    return { key, value };
  });
  if (given.length === 0) return;
  const { db, writer } = ctx;
  await writer.write('params', [db.params, db.models, db.versions], async ({ hlc, emit }) => {
    await requireLive(db, parent);
    const stored = await db.params.bulkGet(given.map((p) => [parent.id, p.key] as [string, string]));
    // Every key checked before anything is written: a refused call writes nothing.
    stored.forEach((row, i) => {
      if (row && row.value !== given[i]!.value) throw paramChanged(row.key, row.value, given[i]!.value);
    });
    const fresh = given.filter((_, i) => !stored[i]);
    await db.params.bulkPut(fresh.map((p) => ({ parentId: parent.id, key: p.key, namespace: parent.namespace, value: p.value, hlc })));
    for (const p of fresh) emit({ name: 'param.set', namespace: parent.namespace, args: { parentId: parent.id, key: p.key, value: p.value } });
  });
}

/** A version's params as `{ key: value }`, keys in order. */
export async function paramsOf(db: HangarDb, parentId: string): Promise<Params> {
  const rows = await db.params.where('parentId').equals(parentId).toArray();
  return Object.fromEntries(rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((r) => [r.key, r.value]));
}
