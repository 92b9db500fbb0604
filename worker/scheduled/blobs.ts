import { LIMITS } from '../../shared/limits.ts';
import { HOUR_MS, type SweepCtx } from './budget.ts';

// Unreferenced blobs (DESIGN §3b). Blobs are shared by every namespace, so a blob is garbage only
// when NO artifact of ANY namespace names its digest (the artifacts of trashed models and
// versions stay until they are purged, so the trash holds its blobs) and no upload of those bytes
// is in flight. The sweep walks the blobs a slice a run and stamps each garbage blob with when it
// was first found so; once `LIMITS.blobGraceHours` have passed since and it is still garbage, its
// row goes and its R2 object after it. Bytes stored again clear the stamp (db/blobs.ts insertBlob),
// and a blob referenced again loses it on the next run.

/** SQL true when blob row `b` is still wanted. */
const REFERENCED = (b: string) =>
  `(EXISTS (SELECT 1 FROM artifacts a WHERE a.sha256 = ${b}.sha256) OR EXISTS (SELECT 1 FROM uploads u WHERE u.sha256 = ${b}.sha256))`;

/** Stamps garbage blobs of the next slice and clears the stamp of blobs referenced again. */
export async function markBlobs({ env, now, budget, limit }: SweepCtx): Promise<{ scanned: number; marked: number; unmarked: number }> {
  const db = env.DB;
  if (!budget.take(2)) return { scanned: 0, marked: 0, unmarked: 0 };
  const [unmarked, from] = await db.batch<{ value: string }>([
    db
      .prepare(`UPDATE blobs SET unreferenced_since = NULL WHERE sha256 IN (SELECT sha256 FROM blobs b WHERE unreferenced_since IS NOT NULL AND ${REFERENCED('b')} LIMIT ?)`)
      .bind(limit),
    db.prepare("SELECT value FROM sweep_cursors WHERE name = 'blobs'"),
  ]);
  const after = from?.results[0]?.value ?? '';
  if (!budget.take(1)) return { scanned: 0, marked: 0, unmarked: unmarked?.meta.changes ?? 0 };
  const last = await db
    .prepare('SELECT MAX(sha256) AS last, COUNT(*) AS n FROM (SELECT sha256 FROM blobs WHERE sha256 > ? ORDER BY sha256 LIMIT ?)')
    .bind(after, limit)
    .first<{ last: string | null; n: number }>();
  const scanned = last?.n ?? 0;
  // A short slice reached the end: the next run starts from the first blob again.
  const next = scanned < limit ? '' : last!.last!;
  if (!budget.take(2)) return { scanned: 0, marked: 0, unmarked: unmarked?.meta.changes ?? 0 };
  const [marked] = await db.batch([
    db
      .prepare(`UPDATE blobs SET unreferenced_since = ? WHERE sha256 > ? AND sha256 <= ? AND unreferenced_since IS NULL AND NOT ${REFERENCED('blobs')}`)
      .bind(now, after, last?.last ?? ''),
    db.prepare("INSERT INTO sweep_cursors (name, value) VALUES ('blobs', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").bind(next),
  ]);
  return { scanned, marked: marked?.meta.changes ?? 0, unmarked: unmarked?.meta.changes ?? 0 };
}

/**
 * Deletes blobs garbage for longer than the grace period: in one batch, each still-garbage row
 * moves to `blob_deletions` and its grants and row go; then the R2 objects are deleted and their
 * `blob_deletions` rows with them. A run cut short between the two leaves `blob_deletions` rows,
 * finished by the next run (deleting an R2 key twice is harmless).
 */
export async function deleteBlobs({ env, now, budget, limit }: SweepCtx): Promise<{ deleted: number; objects: number }> {
  const db = env.DB;
  const cutoff = now - LIMITS.blobGraceHours * HOUR_MS;
  let deleted = 0;
  if (budget.take(1)) {
    const { results } = await db
      .prepare('SELECT sha256 FROM blobs WHERE unreferenced_since IS NOT NULL AND unreferenced_since <= ? LIMIT ?')
      .bind(cutoff, limit)
      .all<{ sha256: string }>();
    if (results.length && budget.take(3)) {
      const json = JSON.stringify(results.map((r) => r.sha256));
      // Judged again inside the batch: a blob referenced since the SELECT stays.
      const [moved] = await db.batch([
        db
          .prepare(
            `INSERT OR REPLACE INTO blob_deletions (r2_key, sha256, at) SELECT r2_key, sha256, ?1 FROM blobs
             WHERE sha256 IN (SELECT value FROM json_each(?2)) AND unreferenced_since <= ?3 AND NOT ${REFERENCED('blobs')}`,
          )
          .bind(now, json, cutoff),
        // Only what this batch judged garbage (stamped with this run's time), never a row an earlier, unfinished run left.
        db.prepare('DELETE FROM blob_grants WHERE sha256 IN (SELECT d.sha256 FROM blob_deletions d WHERE d.at = ?1 AND d.sha256 IN (SELECT value FROM json_each(?2)))').bind(now, json),
        db.prepare('DELETE FROM blobs WHERE r2_key IN (SELECT d.r2_key FROM blob_deletions d WHERE d.at = ?1 AND d.sha256 IN (SELECT value FROM json_each(?2)))').bind(now, json),
      ]);
      deleted = moved?.meta.changes ?? 0;
    }
  }
  return { deleted, objects: await deleteObjects(env, budget, limit) };
}

/** Deletes the R2 objects queued in `blob_deletions` (at most `limit`), then their rows. */
async function deleteObjects(env: SweepCtx['env'], budget: SweepCtx['budget'], limit: number): Promise<number> {
  const db = env.DB;
  if (!budget.take(1)) return 0;
  // An object stored again under the same key since (a blob put again) has a row again: keep it.
  const { results } = await db
    .prepare('SELECT d.r2_key, EXISTS (SELECT 1 FROM blobs b WHERE b.r2_key = d.r2_key) AS live FROM blob_deletions d ORDER BY d.at LIMIT ?')
    .bind(Math.min(limit, 1000))
    .all<{ r2_key: string; live: number }>();
  if (!results.length) return 0;
  const dead = results.filter((r) => !r.live).map((r) => r.r2_key);
  if (dead.length) await env.BLOBS.delete(dead);
  if (!budget.take(1)) return dead.length;
  await db
    .prepare('DELETE FROM blob_deletions WHERE r2_key IN (SELECT value FROM json_each(?))')
    .bind(JSON.stringify(results.map((r) => r.r2_key)))
    .run();
  return dead.length;
}
