import { paramChanged, paramNumber } from '../../shared/params.ts';
import { currentActor } from '../actor.ts';
import { storedParams } from '../db/params.ts';

/** What params hang off: a version (`Parent` from worker/parent.ts with a version fits). */
export interface ParamParent {
  namespace: string;
  id: string;
}

export interface ParamInput {
  key: string;
  value: string;
}

/** Refuses params that are already set with other values (`param-changed`), before anything is written. */
export async function checkParams(db: D1Database, parent: ParamParent, params: ParamInput[]): Promise<void> {
  const given = new Map<string, string>();
  for (const p of params) {
    const earlier = given.get(p.key);
    if (earlier !== undefined && earlier !== p.value) throw paramChanged(p.key, earlier, p.value);
    given.set(p.key, p.value);
  }
  const stored = await storedParams(db, parent.id, params.map((p) => p.key));
  for (const p of params) {
    const value = stored.get(p.key);
    if (value !== undefined && value !== p.value) throw paramChanged(p.key, value, p.value);
  }
}

/**
 * The statements that set params once, for one `batch()` of the caller's: a change-log row
 * (entity `param`, op `set`, data `{key, value}`) for each key not yet set, then the rows,
 * leaving a key already set as it is. Two statements whatever the number of params (they travel
 * as one bound JSON value). Run `checkParams` first: a key set meanwhile to another value by a
 * concurrent writer keeps that value, and `setParams` then reports it.
 */
export function paramWrites(db: D1Database, parent: ParamParent, params: ParamInput[], hlc: string): D1PreparedStatement[] {
  if (params.length === 0) return [];
  // checkParams refuses one key given twice with two values: a key given twice is one param.
  const unique = [...new Map(params.map((p) => [p.key, p])).values()];
  const json = JSON.stringify(unique.map((p) => [p.key, p.value, paramNumber(p.value) ?? null]));
  const actor = currentActor();
  const now = Date.now();
  return [
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
         SELECT ?1, 'param', ?2, 'set', json_object('key', p.value ->> 0, 'value', p.value ->> 1), ?3, ?4, ?5, ?6
         FROM json_each(?7) p WHERE NOT EXISTS (SELECT 1 FROM params WHERE parent_id = ?2 AND key = p.value ->> 0) ORDER BY p.key`,
      )
      .bind(parent.namespace, parent.id, hlc, now, actor.id, actor.name, json),
    db
      .prepare(
        `INSERT INTO params (namespace, parent_id, key, value, num, hlc, updated_at)
         SELECT ?1, ?2, p.value ->> 0, p.value ->> 1, p.value ->> 2, ?3, ?4 FROM json_each(?5) p WHERE true
         ON CONFLICT (parent_id, key) DO NOTHING`,
      )
      .bind(parent.namespace, parent.id, hlc, now, json),
  ];
}

/**
 * Sets a version's params (REST, MLflow's routes, sync): write-once, so the same value again
 * changes nothing and another value is refused with `param-changed` (409) and changes nothing.
 */
export async function setParams(db: D1Database, parent: ParamParent, params: ParamInput[], hlc: string): Promise<void> {
  if (params.length === 0) return;
  await checkParams(db, parent, params);
  await db.batch(paramWrites(db, parent, params, hlc));
  // A concurrent writer may have set a key between the check and the batch.
  await checkParams(db, parent, params);
}
