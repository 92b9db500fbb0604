import { logChange } from '../db/change-log.ts';
import { metadataWrites } from './models.ts';

/** What metadata hangs off: a model or a version (`Parent` from worker/parent.ts fits). */
export interface MetadataParent {
  namespace: string;
  id: string;
}

/**
 * Sets one metadata key, last writer wins by clock: the upsert, its change-log row and a read
 * of the stored value in one batch. Returns the value that holds afterwards, which is not the
 * one given when a write with a later clock (a synced client's) is already there.
 */
export async function setMetadata(db: D1Database, parent: MetadataParent, key: string, value: unknown, hlc: string): Promise<unknown> {
  const results = await db.batch<{ value: string }>([
    ...metadataWrites(db, parent.namespace, parent.id, { [key]: value }, hlc),
    db.prepare('SELECT value FROM metadata WHERE parent_id = ? AND key = ?').bind(parent.id, key),
  ]);
  const stored = results[results.length - 1]?.results[0];
  return stored ? JSON.parse(stored.value) : value;
}

/**
 * Deletes one metadata key: a hard delete (the metadata table has no tombstone column), applied
 * only if this write's clock is later than the stored one, with a change-log row (op `delete`)
 * written only when a row went. Deleting a missing key is a no-op, so a retry is harmless.
 */
export async function deleteMetadata(db: D1Database, parent: MetadataParent, key: string, hlc: string): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM metadata WHERE parent_id = ? AND key = ? AND hlc < ?').bind(parent.id, key, hlc),
    logChange(db, { namespace: parent.namespace, entity: 'metadata', entityId: parent.id, op: 'delete', data: { key }, hlc }, { onlyIfChanged: true }),
  ]);
}
