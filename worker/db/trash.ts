import { LIMITS } from '../../shared/limits.ts';
import { trashExpiry, type TrashEntry, type TrashKind, type TrashQuery } from '../../shared/trash.ts';
import { currentActor } from '../actor.ts';
import { iso } from '../http.ts';
import { encodePageToken, keyset, type Order } from './paging.ts';

/** A row of `trash` (migration 0008). */
export interface TrashRow {
  id: string;
  namespace: string;
  kind: TrashKind;
  model_id: string;
  deleted_at: number;
  token_id: string | null;
  token_name: string | null;
  purging: number;
}

/** The entry a delete puts in the trash, in the delete's batch, with the token that made it. */
export function trashInsert(db: D1Database, e: { id: string; namespace: string; kind: TrashKind; modelId: string; at: number }): D1PreparedStatement {
  const actor = currentActor();
  return db
    .prepare('INSERT OR REPLACE INTO trash (id, namespace, kind, model_id, deleted_at, token_id, token_name, purging) VALUES (?, ?, ?, ?, ?, ?, ?, 0)')
    .bind(e.id, e.namespace, e.kind, e.modelId, e.at, actor.id, actor.name);
}

/**
 * A deleted model comes back to life (created again, or restored): the versions its delete took
 * with it, and that stay deleted, become entries of their own (same delete, same token, same
 * purge state) before its entry goes. For a restore, the caller restores those versions first,
 * so only the ones left deleted get entries.
 */
export function trashModelRevived(db: D1Database, modelId: string): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT OR IGNORE INTO trash (id, namespace, kind, model_id, deleted_at, token_id, token_name, purging)
         SELECT v.id, v.namespace, 'version', v.model_id, COALESCE(t.deleted_at, v.deleted_at), t.token_id, t.token_name, COALESCE(t.purging, 0)
         FROM versions v LEFT JOIN trash t ON t.id = v.model_id
         WHERE v.model_id = ? AND v.deleted_at IS NOT NULL`,
      )
      .bind(modelId),
    db.prepare('DELETE FROM trash WHERE id = ?').bind(modelId),
  ];
}

/** The entry of this model or version, if it is in the trash (not being purged). */
export async function getTrashRow(db: D1Database, namespace: string, id: string): Promise<TrashRow | undefined> {
  return (await db.prepare('SELECT * FROM trash WHERE id = ? AND namespace = ? AND purging = 0').bind(id, namespace).first<TrashRow>()) ?? undefined;
}

const ORDER: Order = { field: 'deleted_at', column: 'deleted_at', desc: true };

/** One page of the namespace's trash, newest delete first. */
export async function listTrash(db: D1Database, namespace: string, q: TrashQuery): Promise<{ items: TrashEntry[]; nextPageToken?: string }> {
  const page = keyset('t', ORDER, q.pageToken, q.pageSize ?? LIMITS.pageSizeDefault);
  const { results } = await db
    .prepare(
      `SELECT t.*, m.name AS model_name, v.number AS number,
         CASE t.kind WHEN 'model' THEN (SELECT COUNT(*) FROM versions w WHERE w.model_id = t.id AND w.deleted_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM trash o WHERE o.id = w.id)) ELSE 0 END AS versions
       FROM trash t JOIN models m ON m.id = t.model_id LEFT JOIN versions v ON t.kind = 'version' AND v.id = t.id
       WHERE t.namespace = ? AND t.purging = 0 AND ${page.where} ${page.orderSql}`,
    )
    .bind(namespace, ...page.params)
    .all<TrashRow & { model_name: string; number: number | null; versions: number }>();
  const items = results.slice(0, page.size);
  const last = items.at(-1);
  return {
    items: items.map((r) => ({
      id: r.id,
      kind: r.kind,
      model: r.model_name,
      modelId: r.model_id,
      number: r.kind === 'version' ? r.number : null,
      versions: r.versions,
      deletedAt: iso(r.deleted_at),
      deletedBy: r.token_id === null && r.token_name === null ? null : { tokenId: r.token_id, tokenName: r.token_name },
      expiresAt: iso(trashExpiry(r.deleted_at)),
    })),
    ...(results.length > page.size && last ? { nextPageToken: encodePageToken(ORDER, last.deleted_at, last.id) } : {}),
  };
}
