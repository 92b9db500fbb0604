import { env } from 'cloudflare:test';

/**
 * The baseline of the metric benchmarks: a plain table of one row per point, as Hangar stored
 * points before migration 0009 (the id as primary key, one index over the series), so "a plain
 * D1 batch of the same rows" writes what a row store would write.
 */
export const PLAIN_TABLE = 'plain_metrics';

export async function createPlainTable(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare(
      `CREATE TABLE IF NOT EXISTS ${PLAIN_TABLE} (id TEXT PRIMARY KEY, namespace TEXT NOT NULL, parent_id TEXT NOT NULL, key TEXT NOT NULL,
         value REAL NOT NULL, step INTEGER NOT NULL, wallclock INTEGER NOT NULL)`,
    ),
    env.DB.prepare(`CREATE INDEX IF NOT EXISTS ${PLAIN_TABLE}_series ON ${PLAIN_TABLE} (parent_id, key, step, wallclock, id)`),
  ]);
}

/** Points stored for a parent through the API: the sum of its segments' counts. */
export async function storedPoints(parentId: string): Promise<number> {
  return (
    (await env.DB.prepare('SELECT COALESCE(SUM(s.n), 0) AS n FROM metric_segments s JOIN metric_series ser ON ser.id = s.series WHERE ser.parent_id = ?')
      .bind(parentId)
      .first<number>('n')) ?? 0
  );
}

/** Rows of a parent in the plain table. */
export async function plainRows(parentId: string): Promise<number> {
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${PLAIN_TABLE} WHERE parent_id = ?`).bind(parentId).first<number>('n')) ?? 0;
}
