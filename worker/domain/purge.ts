import { serverHlc } from '../clock.ts';
import { logChange } from '../db/change-log.ts';
import type { TrashRow } from '../db/trash.ts';
import { uncountSegmentPoints } from '../db/usage.ts';

/**
 * Purging (DESIGN §3b): what a trash entry held is freed, in bounded steps, so that one purge
 * fits one invocation's D1 limits however much history it had, and a purge cut short anywhere
 * goes on where it stopped (the next step, or the next scheduled run).
 *
 * An entry being purged is marked (`trash.purging = 1`): from then on it is neither listed nor
 * restorable. Its rows go table by table, `PURGE_ROWS` at a time; the model's and versions' own
 * rows go last, since they name what is left to free. A purged version keeps a bare tombstone
 * row (its id and number), so its number is never given again and a write stamped before its
 * delete never brings it back; a purged model goes whole, versions included.
 *
 * The R2 objects of the purged artifacts are not deleted here: a blob no artifact references any
 * more is garbage for the scheduled blob sweep (worker/scheduled/blobs.ts), after its grace period.
 */

/** Rows one DELETE frees at most: small enough for D1's 30 s per query, large enough to be quick. */
export const PURGE_ROWS = 2000;

/**
 * The tables that hold a model's or version's data, each with the SQL of its rows (by rowid)
 * that belong to the ids `parents` selects: the model or one of its versions (`parent`), or
 * the model (`model`). A table added for model or version data belongs here, or a purge leaves
 * its rows behind. Metric points go segment by segment, each step taking the points it frees
 * off the namespace's count in the same batch (db/usage.ts); the series rows go after them.
 */
const CHILD_TABLES: { table: string; rows: (parents: string) => string; of: 'parent' | 'model'; points?: true }[] = [
  {
    table: 'metric_segments',
    rows: (parents) => `SELECT id FROM metric_segments WHERE series IN (SELECT id FROM metric_series WHERE parent_id IN (${parents}))`,
    of: 'parent',
    points: true,
  },
  { table: 'metric_series', rows: (parents) => `SELECT id FROM metric_series WHERE parent_id IN (${parents})`, of: 'parent' },
  { table: 'metadata', rows: (parents) => `SELECT rowid FROM metadata WHERE parent_id IN (${parents})`, of: 'parent' },
  { table: 'params', rows: (parents) => `SELECT rowid FROM params WHERE parent_id IN (${parents})`, of: 'parent' },
  { table: 'artifacts', rows: (parents) => `SELECT rowid FROM artifacts WHERE parent_id IN (${parents})`, of: 'parent' },
  { table: 'checkpoints', rows: (parents) => `SELECT rowid FROM checkpoints WHERE version_id IN (${parents})`, of: 'parent' },
  { table: 'alias_history', rows: (parents) => `SELECT rowid FROM alias_history WHERE model_id IN (${parents})`, of: 'model' },
];

/** SQL for the ids whose data an entry frees (bound: ?`at` the entry's id), re-read at every step so a revived thing is never touched. */
function parentsSql(kind: TrashRow['kind'], of: 'parent' | 'model', at = 1): string {
  const deletedModel = `SELECT id FROM models WHERE id = ?${at} AND deleted_at IS NOT NULL`;
  if (kind === 'version') return of === 'model' ? 'SELECT NULL WHERE 0' : `SELECT id FROM versions WHERE id = ?${at} AND deleted_at IS NOT NULL`;
  if (of === 'model') return deletedModel;
  return `SELECT id FROM versions WHERE model_id = ?${at} AND deleted_at IS NOT NULL UNION ALL ${deletedModel}`;
}

/** What a purge pass did. */
export interface PurgeReport {
  /** Entries purged to the end. */
  entries: number;
  /** Rows of model and version data freed. */
  rows: number;
  /** False when the query budget ran out with entries still being purged. */
  done: boolean;
}

/**
 * Purges entries marked `purging` (of one namespace, or of all), oldest delete first, spending
 * at most `queries` D1 queries. Idempotent: every statement deletes what is left.
 */
export async function purgeMarked(db: D1Database, opts: { queries: number; namespace?: string }): Promise<PurgeReport> {
  let left = opts.queries;
  const report: PurgeReport = { entries: 0, rows: 0, done: false };
  while (left > 0) {
    left--;
    const entry = await (opts.namespace === undefined
      ? db.prepare('SELECT * FROM trash WHERE purging = 1 ORDER BY deleted_at, id LIMIT 1')
      : db.prepare('SELECT * FROM trash WHERE purging = 1 AND namespace = ? ORDER BY deleted_at, id LIMIT 1').bind(opts.namespace)
    ).first<TrashRow>();
    if (!entry) {
      report.done = true;
      return report;
    }
    for (const child of CHILD_TABLES) {
      if (entry.kind === 'version' && child.of === 'model') continue;
      // With the points' count, the same rows for the count and the delete: one order, one limit, one batch.
      const rows = child.points
        ? `${child.rows(parentsSql(entry.kind, child.of, 3))} ORDER BY 1 LIMIT ${PURGE_ROWS}`
        : `${child.rows(parentsSql(entry.kind, child.of))} LIMIT ${PURGE_ROWS}`;
      const remove = () => db.prepare(`DELETE FROM ${child.table} WHERE rowid IN (${rows})`);
      for (;;) {
        const cost = child.points ? 2 : 1;
        if (left < cost) return report;
        left -= cost;
        const results = child.points
          ? await db.batch([uncountSegmentPoints(db, entry.namespace, rows, entry.id), remove().bind(entry.namespace, Date.now(), entry.id)])
          : [await remove().bind(entry.id).run()];
        const changes = results.at(-1)?.meta.changes ?? 0;
        report.rows += changes;
        if (changes < PURGE_ROWS) break;
      }
    }
    const finish = finishWrites(db, entry);
    if (left < finish.length) return report;
    left -= finish.length;
    const results = await db.batch(finish);
    // The last statement is the change-log row, not a row freed.
    report.rows += results.slice(0, -1).reduce((n, r) => n + (r.meta.changes ?? 0), 0);
    report.entries++;
  }
  return report;
}

/**
 * The last statements of an entry's purge, once its data is gone: its own rows and its entry, and
 * a `purge` row in the change log (only when this batch ended the purge), so devices drop what
 * they hold of it and no longer offer it in their trash.
 */
function finishWrites(db: D1Database, entry: TrashRow): D1PreparedStatement[] {
  const purged = logChange(db, { namespace: entry.namespace, entity: entry.kind, entityId: entry.id, op: 'purge', data: { modelId: entry.model_id }, hlc: serverHlc() }, { onlyIfChanged: true });
  if (entry.kind === 'version') {
    return [
      // The bare tombstone stays: id, model and number (never given again), delete clock.
      db
        .prepare("UPDATE versions SET version = NULL, name = NULL, description = NULL, framework = NULL WHERE id = ? AND deleted_at IS NOT NULL")
        .bind(entry.id),
      db.prepare('DELETE FROM trash WHERE id = ? AND purging = 1').bind(entry.id),
      purged,
    ];
  }
  const stillDeleted = 'EXISTS (SELECT 1 FROM models WHERE id = ?1 AND deleted_at IS NOT NULL)';
  return [
    db.prepare(`DELETE FROM aliases WHERE model_id = ?1 AND ${stillDeleted}`).bind(entry.id),
    db.prepare(`DELETE FROM versions WHERE model_id = ?1 AND deleted_at IS NOT NULL AND ${stillDeleted}`).bind(entry.id),
    // Its versions' own entries go with it: their rows go here.
    db.prepare(`DELETE FROM trash WHERE model_id = ?1 AND (id = ?1 OR ${stillDeleted})`).bind(entry.id),
    db.prepare('DELETE FROM models WHERE id = ?1 AND deleted_at IS NOT NULL').bind(entry.id),
    purged,
  ];
}

/** Marks one entry for purging (a model's entry takes its versions' entries along); true if it was in the trash. */
export async function markForPurge(db: D1Database, namespace: string, id: string): Promise<boolean> {
  const [one] = await db.batch([
    db.prepare('UPDATE trash SET purging = 1 WHERE id = ? AND namespace = ? AND purging = 0').bind(id, namespace),
    db.prepare("UPDATE trash SET purging = 1 WHERE model_id = ?1 AND namespace = ?2 AND EXISTS (SELECT 1 FROM trash WHERE id = ?1 AND kind = 'model' AND purging = 1)").bind(id, namespace),
  ]);
  return (one?.meta.changes ?? 0) > 0;
}

/** Marks every entry of the namespace's trash for purging; answers how many there were. */
export async function markTrashForPurge(db: D1Database, namespace: string): Promise<number> {
  const { meta } = await db.prepare('UPDATE trash SET purging = 1 WHERE namespace = ? AND purging = 0').bind(namespace).run();
  return meta.changes;
}
