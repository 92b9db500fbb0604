import { currentActor } from '../actor.ts';

/** Entities the change log speaks of. */
export type Entity = 'namespace' | 'model' | 'version' | 'metadata' | 'metrics' | 'alias' | 'artifact' | 'checkpoint';

export interface Change {
  namespace: string;
  entity: Entity;
  entityId: string;
  op: string;
  data: unknown;
  hlc: string;
}

/**
 * The change-log row of a write. Every domain function puts one of these in the same
 * `batch()` as its entity rows, so the log and the tables never disagree.
 * With `onlyIfChanged`, the row is written only if the statement just before it changed a
 * row (SQLite's `changes()`), for conditional writes such as an alias compare-and-set.
 */
export function logChange(db: D1Database, change: Change, opts: { onlyIfChanged?: boolean } = {}): D1PreparedStatement {
  const actor = currentActor();
  const guard = opts.onlyIfChanged ? ' WHERE changes() > 0' : '';
  return db
    .prepare(`INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?${guard}`)
    .bind(change.namespace, change.entity, change.entityId, change.op, JSON.stringify(change.data), change.hlc, Date.now(), actor.id, actor.name);
}

/** Makes sure the namespace has a row; namespaces come into being with their first token or model. */
export function ensureNamespace(db: D1Database, namespace: string): D1PreparedStatement {
  return db.prepare('INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?, ?)').bind(namespace, Date.now());
}
