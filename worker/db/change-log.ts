import { currentActor } from '../actor.ts';
import type { EventEntity } from '../../shared/events.ts';

/** Entities the change log speaks of. */
export type Entity = 'namespace' | 'model' | 'version' | 'metadata' | 'metrics' | 'alias' | 'artifact' | 'checkpoint' | 'param';

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

/**
 * A change-log row to be written with others by `insertChanges`. With `numberOf`, the data gets
 * the `number` of that version as stored when the statement runs (a version created earlier in
 * the same batch is numbered by SQL).
 */
export interface ChangeRow {
  entity: Entity;
  entityId: string;
  op: string;
  data: unknown;
  hlc: string;
  numberOf?: string;
}

/** A change row as `insertChanges` binds it. */
export const changeJson = (c: ChangeRow) => JSON.stringify([c.entity, c.entityId, c.op, JSON.stringify(c.data), c.hlc, c.numberOf ?? null]);

/**
 * Many change-log rows of one namespace in ONE statement, in the order given (each as
 * `changeJson` made it; `json` is their JSON array). The same rows as `logChange` writes one at
 * a time.
 */
export function insertChanges(db: D1Database, namespace: string, json: string, at = Date.now()): D1PreparedStatement {
  const actor = currentActor();
  return db
    .prepare(
      `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
       SELECT ?1, c.value ->> 0, c.value ->> 1, c.value ->> 2,
         CASE WHEN c.value ->> 5 IS NULL THEN c.value ->> 3
              ELSE json_set(c.value ->> 3, '$.number', (SELECT number FROM versions WHERE id = c.value ->> 5)) END,
         c.value ->> 4, ?2, ?4, ?5
       FROM json_each(?3) c ORDER BY c.key`,
    )
    .bind(namespace, at, json, actor.id, actor.name);
}

/** A change-log row with its token and model, as the events and the webhooks read it. */
export interface EventRow {
  seq: number;
  entity: EventEntity;
  entity_id: string;
  op: string;
  data: string;
  at: number;
  token_id: string | null;
  token_name: string | null;
  model_id: string | null;
  model_name: string | null;
}
