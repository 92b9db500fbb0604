import { currentActor } from '../actor.ts';
import type { Alias, AliasHistoryEntry } from '../../shared/aliases.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { iso } from '../http.ts';
import { logChange } from './change-log.ts';

export interface AliasMove {
  namespace: string;
  modelId: string;
  alias: string;
  /** Where the alias goes; null deletes it. */
  versionId: string | null;
  /** With a value, the move happens only if the alias points there now (null: only if unset). */
  expectedVersionId?: string | null;
  tokenId: string | null;
  hlc: string;
  /**
   * For the change log, so sync clients need no lookup; `undefined` reads it from the target's
   * row when the statement runs (a version created earlier in the same batch).
   */
  versionNumber: number | null | undefined;
}

const CURRENT = '(SELECT version_id FROM aliases WHERE model_id = ? AND alias = ?)';

/**
 * The statements of one alias move, for a `batch()`: a history row, the alias row, and the
 * change-log row. All three apply only if the precondition holds (compare-and-set), and
 * nothing is written when the alias already points at the target.
 */
export function moveAlias(db: D1Database, m: AliasMove): D1PreparedStatement[] {
  const now = Date.now();
  const cond =
    m.expectedVersionId === undefined
      ? { sql: `COALESCE(${CURRENT}, '') != COALESCE(?, '')`, params: [m.modelId, m.alias, m.versionId] }
      : {
          sql: `COALESCE(${CURRENT}, '') = COALESCE(?, '') AND COALESCE(${CURRENT}, '') != COALESCE(?, '')`,
          params: [m.modelId, m.alias, m.expectedVersionId, m.modelId, m.alias, m.versionId],
        };
  const history = db
    .prepare(
      `INSERT INTO alias_history (id, model_id, alias, version_id, previous_version_id, token_id, at)
       SELECT ?, ?, ?, ?, ${CURRENT}, ?, ? WHERE ${cond.sql}`,
    )
    .bind(uuidv7(now), m.modelId, m.alias, m.versionId, m.modelId, m.alias, m.tokenId, now, ...cond.params);
  const write =
    m.versionId === null
      ? db.prepare('DELETE FROM aliases WHERE model_id = ? AND alias = ? AND ' + cond.sql).bind(m.modelId, m.alias, ...cond.params)
      : db
          .prepare(
            `INSERT INTO aliases (model_id, alias, namespace, version_id, updated_at) SELECT ?, ?, ?, ?, ? WHERE ${cond.sql}
             ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at`,
          )
          .bind(m.modelId, m.alias, m.namespace, m.versionId, now, ...cond.params);
  const change =
    m.versionNumber === undefined && m.versionId !== null
      ? db
          .prepare(
            `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
             SELECT ?, 'alias', ?, 'set', json_set(?, '$.version', (SELECT number FROM versions WHERE id = ?)), ?, ?, ?, ? WHERE changes() > 0`,
          )
          .bind(m.namespace, m.modelId, JSON.stringify({ alias: m.alias, versionId: m.versionId, version: null }), m.versionId, m.hlc, now, currentActor().id, currentActor().name)
      : logChange(
    db,
    {
      namespace: m.namespace,
      entity: 'alias',
      entityId: m.modelId,
      op: m.versionId === null ? 'delete' : 'set',
      data: { alias: m.alias, versionId: m.versionId, version: m.versionNumber ?? null },
      hlc: m.hlc,
    },
    { onlyIfChanged: true },
  );
  return [history, write, change];
}

export async function getAlias(db: D1Database, modelId: string, alias: string): Promise<Alias | undefined> {
  const row = await db
    .prepare(
      `SELECT a.alias, a.version_id, a.updated_at, v.number FROM aliases a JOIN versions v ON v.id = a.version_id
       WHERE a.model_id = ? AND a.alias = ?`,
    )
    .bind(modelId, alias)
    .first<{ alias: string; version_id: string; updated_at: number; number: number }>();
  return row ? { alias: row.alias, version: row.number, versionId: row.version_id, updatedAt: iso(row.updated_at) } : undefined;
}

export async function listAliases(db: D1Database, modelId: string): Promise<Alias[]> {
  const { results } = await db
    .prepare(
      `SELECT a.alias, a.version_id, a.updated_at, v.number FROM aliases a JOIN versions v ON v.id = a.version_id
       WHERE a.model_id = ? ORDER BY a.alias`,
    )
    .bind(modelId)
    .all<{ alias: string; version_id: string; updated_at: number; number: number }>();
  return results.map((r) => ({ alias: r.alias, version: r.number, versionId: r.version_id, updatedAt: iso(r.updated_at) }));
}

/** Every move of an alias, oldest first. */
export async function aliasHistory(db: D1Database, modelId: string, alias: string): Promise<AliasHistoryEntry[]> {
  const { results } = await db
    .prepare(
      `SELECT h.alias, h.at, v.number AS version, p.number AS previous FROM alias_history h
       LEFT JOIN versions v ON v.id = h.version_id LEFT JOIN versions p ON p.id = h.previous_version_id
       WHERE h.model_id = ? AND h.alias = ? ORDER BY h.at, h.id`,
    )
    .bind(modelId, alias)
    .all<{ alias: string; at: number; version: number | null; previous: number | null }>();
  return results.map((r) => ({ alias: r.alias, version: r.version, previousVersion: r.previous, at: iso(r.at) }));
}
