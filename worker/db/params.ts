import type { Params } from '../../shared/params.ts';

/** Params of many versions at once: version id → `{ key: value }`, keys in order. */
export async function paramsOf(db: D1Database, parentIds: string[]): Promise<Map<string, Params>> {
  const entries = new Map<string, [string, string][]>(parentIds.map((id) => [id, []]));
  if (parentIds.length === 0) return new Map();
  const { results } = await db
    .prepare('SELECT parent_id, key, value FROM params WHERE parent_id IN (SELECT value FROM json_each(?)) ORDER BY key')
    .bind(JSON.stringify(parentIds))
    .all<{ parent_id: string; key: string; value: string }>();
  for (const r of results) entries.get(r.parent_id)!.push([r.key, r.value]);
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return new Map([...entries].map(([id, kv]) => [id, Object.fromEntries(kv) as Params]));
}

/** The stored values of some keys of one version: key → value, for the keys that are set. */
export async function storedParams(db: D1Database, parentId: string, keys: string[]): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const { results } = await db
    .prepare('SELECT key, value FROM params WHERE parent_id = ? AND key IN (SELECT value FROM json_each(?))')
    .bind(parentId, JSON.stringify(keys))
    .all<{ key: string; value: string }>();
  return new Map(results.map((r) => [r.key, r.value]));
}
