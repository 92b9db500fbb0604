import type { Metadata } from '../../shared/metadata.ts';

/**
 * Sets one metadata key unless a later write (by clock) is already there, a tombstone included:
 * a set stamped before a delete does not bring the key back, one stamped after it does.
 */
export function upsertMetadata(
  db: D1Database,
  m: { namespace: string; parentId: string; key: string; value: unknown; hlc: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO metadata (namespace, parent_id, key, value, hlc, updated_at, deleted) VALUES (?, ?, ?, ?, ?, ?, 0)
       ON CONFLICT (parent_id, key) DO UPDATE SET value = excluded.value, hlc = excluded.hlc, updated_at = excluded.updated_at, deleted = 0
       WHERE excluded.hlc > metadata.hlc`,
    )
    .bind(m.namespace, m.parentId, m.key, JSON.stringify(m.value), m.hlc, Date.now());
}

/**
 * Deletes one metadata key as a tombstone carrying the delete's clock, unless a later write is
 * already there. A key never set gets a tombstone too, so a set older than the delete that
 * arrives afterwards still loses.
 */
export function tombstoneMetadata(db: D1Database, m: { namespace: string; parentId: string; key: string; hlc: string }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO metadata (namespace, parent_id, key, value, hlc, updated_at, deleted) VALUES (?, ?, ?, 'null', ?, ?, 1)
       ON CONFLICT (parent_id, key) DO UPDATE SET value = 'null', hlc = excluded.hlc, updated_at = excluded.updated_at, deleted = 1
       WHERE excluded.hlc > metadata.hlc`,
    )
    .bind(m.namespace, m.parentId, m.key, m.hlc, Date.now());
}

/** Metadata of many parents at once: parent id → `{ key: value }`, tombstones skipped. */
export async function metadataOf(db: D1Database, parentIds: string[]): Promise<Map<string, Metadata>> {
  const entries = new Map<string, [string, unknown][]>(parentIds.map((id) => [id, []]));
  if (parentIds.length === 0) return new Map();
  const { results } = await db
    .prepare('SELECT parent_id, key, value FROM metadata WHERE parent_id IN (SELECT value FROM json_each(?)) AND deleted = 0 ORDER BY key')
    .bind(JSON.stringify(parentIds))
    .all<{ parent_id: string; key: string; value: string }>();
  for (const r of results) entries.get(r.parent_id)!.push([r.key, JSON.parse(r.value)]);
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return new Map([...entries].map(([id, kv]) => [id, Object.fromEntries(kv) as Metadata]));
}
