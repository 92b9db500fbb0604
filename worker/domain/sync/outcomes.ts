import type { ConflictKind } from '../../../shared/sync.ts';

/** What applying one mutation came to, before it gets its seq. */
export type Outcome = { status: 'applied' } | { status: 'conflict'; kind: ConflictKind; message: string; server: unknown };

export const APPLIED: Outcome = { status: 'applied' };

/** A write to something deleted: a delete wins over a concurrent change, and the change is kept on the client. */
export const deleted = (what: string, server: unknown = { deleted: true }): Outcome => ({
  status: 'conflict',
  kind: 'deleted',
  message: `${what} was deleted on the server; a delete wins over a concurrent change, which is kept here.`,
  server,
});

/** Drops `null` and `undefined` fields: a create has no value to clear. */
export function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> };
}

export async function labelConflict(db: D1Database, model: string, label: string | null): Promise<Outcome> {
  const holder = await db
    .prepare('SELECT id, number FROM versions WHERE model_id = ? AND version = ?')
    .bind(model, label)
    .first<{ id: string; number: number }>();
  return {
    status: 'conflict',
    kind: 'version-label',
    message: `Label "${label}" was already taken by version ${holder?.number ?? '?'}; this version was kept without it.`,
    server: { version: label, versionId: holder?.id ?? null, number: holder?.number ?? null },
  };
}

export function aliasConflict(alias: string, current: { versionId: string; version: number } | undefined): Outcome {
  return {
    status: 'conflict',
    kind: 'alias',
    message: `Alias "${alias}" was moved elsewhere meanwhile (now ${current ? `version ${current.version}` : 'unset'}); this move was not applied.`,
    server: current ? { versionId: current.versionId, version: current.version } : null,
  };
}
