import { logChange } from '../db/change-log.ts';
import { tombstoneMetadata, upsertMetadata } from '../db/metadata.ts';
import { currentActor } from '../actor.ts';

/** What metadata hangs off: a model or a version (`Parent` from worker/parent.ts fits). */
export interface MetadataParent {
  namespace: string;
  id: string;
}

/**
 * The statements that set metadata keys, last writer wins by clock: an upsert per key and its
 * change-log row, written only when the upsert won (a set older than the stored value or
 * tombstone changes nothing and logs nothing). For a `batch()` of the caller's.
 */
export function metadataWrites(db: D1Database, namespace: string, parentId: string, metadata: Record<string, unknown> | undefined, hlc: string) {
  return Object.entries(metadata ?? {}).flatMap(([key, value]) => [
    upsertMetadata(db, { namespace, parentId, key, value, hlc }),
    logChange(db, { namespace, entity: 'metadata', entityId: parentId, op: 'set', data: { key, value }, hlc }, { onlyIfChanged: true }),
  ]);
}

/**
 * The statements that delete one key: a change-log row (op `delete`), written only when the key
 * is live (or was never seen here) and older than the delete, then a tombstone with the delete's
 * clock unless a later write holds the key. Deleting a key never set leaves a tombstone too (and
 * tells the clients, which may hold an older value not yet pushed), so a set stamped earlier that
 * arrives later cannot create it. Deleting it again only moves the tombstone's clock.
 */
export function metadataDeleteWrites(db: D1Database, parent: MetadataParent, key: string, hlc: string): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name) SELECT ?1, 'metadata', ?2, 'delete', ?3, ?4, ?5, ?7, ?8
         WHERE NOT EXISTS (SELECT 1 FROM metadata WHERE parent_id = ?2 AND key = ?6 AND (deleted OR hlc >= ?4))`,
      )
      .bind(parent.namespace, parent.id, JSON.stringify({ key }), hlc, Date.now(), key, currentActor().id, currentActor().name),
    tombstoneMetadata(db, { namespace: parent.namespace, parentId: parent.id, key, hlc }),
  ];
}

/**
 * Sets one metadata key (REST): the writes and a read of what holds afterwards, in one batch.
 * Returns the value that holds, which is not the one given when a later write (a synced
 * client's) is already there, or null when a later delete's tombstone is.
 */
export async function setMetadata(db: D1Database, parent: MetadataParent, key: string, value: unknown, hlc: string): Promise<unknown> {
  const results = await db.batch<{ value: string; deleted: number }>([
    ...metadataWrites(db, parent.namespace, parent.id, { [key]: value }, hlc),
    db.prepare('SELECT value, deleted FROM metadata WHERE parent_id = ? AND key = ?').bind(parent.id, key),
  ]);
  const stored = results[results.length - 1]?.results[0];
  if (!stored) return value;
  return stored.deleted ? null : JSON.parse(stored.value);
}

/** Deletes one metadata key (REST) as a tombstone; deleting a missing key is harmless. */
export async function deleteMetadata(db: D1Database, parent: MetadataParent, key: string, hlc: string): Promise<void> {
  await db.batch(metadataDeleteWrites(db, parent, key, hlc));
}
