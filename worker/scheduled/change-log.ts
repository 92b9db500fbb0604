import { LIMITS } from '../../shared/limits.ts';
import { DAY_MS, type SweepCtx } from './budget.ts';

/** Change-log rows one DELETE removes at most. */
const ROWS = 2000;

/**
 * Change-log compaction (DESIGN §3b, §6 "Bootstrap"). Per namespace, the rows at or below a floor
 * go: the lowest cursor of the clients known to pull it (none known: nothing by cursor), or the
 * last row older than `LIMITS.changeLogRetentionDays`, whichever is further. Rows webhooks have
 * not yet turned into deliveries stay (within the retention). The floor is recorded before any
 * row goes, so a pull from below it answers `snapshot-required` from then on; an interrupted
 * run leaves rows below the floor, which the next run deletes.
 *
 * Namespaces are visited in name order from where the last run stopped, `limit` a run.
 */
export async function compactChangeLog({ env, now, budget, limit }: SweepCtx): Promise<{ namespaces: number; rows: number; done: boolean }> {
  const db = env.DB;
  if (!budget.take(2)) return { namespaces: 0, rows: 0, done: false };
  const after = (await db.prepare("SELECT value FROM sweep_cursors WHERE name = 'change-log'").first<string>('value')) ?? '';
  const { results: namespaces } = await db.prepare('SELECT name FROM namespaces WHERE name > ? ORDER BY name LIMIT ?').bind(after, limit).all<{ name: string }>();
  const cutoff = now - LIMITS.changeLogRetentionDays * DAY_MS;
  let rows = 0;
  let visited = 0;
  for (const { name } of namespaces) {
    if (!budget.take(1)) break;
    const target = await db
      .prepare(
        `SELECT MAX(COALESCE((SELECT MAX(seq) FROM change_log WHERE namespace = ?1 AND at < ?2), 0),
           COALESCE(MIN(
             (SELECT MIN(cursor) FROM sync_cursors WHERE namespace = ?1 AND seen_at >= ?2),
             COALESCE((SELECT seq FROM webhook_cursors WHERE namespace = ?1 AND EXISTS (SELECT 1 FROM webhooks WHERE namespace = ?1)), 9e15)
           ), 0),
           COALESCE((SELECT seq FROM change_log_floors WHERE namespace = ?1), 0)) AS floor`,
      )
      .bind(name, cutoff)
      .first<number>('floor');
    const floor = Math.min(target ?? 0, Number.MAX_SAFE_INTEGER);
    if (floor > 0) {
      if (!budget.take(1)) break;
      await db
        .prepare('INSERT INTO change_log_floors (namespace, seq) VALUES (?, ?) ON CONFLICT (namespace) DO UPDATE SET seq = MAX(seq, excluded.seq)')
        .bind(name, floor)
        .run();
      let more = true;
      while (more) {
        if (!budget.take(1)) return { namespaces: visited, rows, done: false };
        const { meta } = await db
          .prepare(`DELETE FROM change_log WHERE seq IN (SELECT seq FROM change_log WHERE namespace = ? AND seq <= ? ORDER BY seq LIMIT ${ROWS})`)
          .bind(name, floor)
          .run();
        rows += meta.changes;
        more = meta.changes === ROWS;
      }
    }
    visited++;
    if (!budget.take(1)) break;
    await db.prepare("INSERT INTO sweep_cursors (name, value) VALUES ('change-log', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").bind(visited === namespaces.length && namespaces.length < limit ? '' : name).run();
  }
  if (!namespaces.length && after !== '' && budget.take(1)) {
    await db.prepare("UPDATE sweep_cursors SET value = '' WHERE name = 'change-log'").run();
  }
  return { namespaces: visited, rows, done: visited === namespaces.length };
}
