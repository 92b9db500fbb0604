import { LIMITS } from '../../shared/limits.ts';
import { HOUR_MS, type SweepCtx } from './budget.ts';
import { isNoSuchUpload } from '../domain/blobs.ts';

/**
 * Abandoned multipart uploads: started more than `LIMITS.blobGraceHours` ago and never
 * completed (a client resumes an upload only within a day, see domain/blobs.ts). R2 drops their
 * parts, then their rows go; at most `limit` a run.
 */
export async function sweepUploads({ env, now, budget, limit }: SweepCtx): Promise<{ aborted: number }> {
  const db = env.DB;
  if (!budget.take(1)) return { aborted: 0 };
  const { results } = await db
    .prepare('SELECT id, r2_key, r2_upload_id FROM uploads WHERE created_at < ? ORDER BY created_at LIMIT ?')
    .bind(now - LIMITS.blobGraceHours * HOUR_MS, limit)
    .all<{ id: string; r2_key: string; r2_upload_id: string }>();
  const done: string[] = [];
  for (const u of results) {
    try {
      await env.BLOBS.resumeMultipartUpload(u.r2_key, u.r2_upload_id).abort();
    } catch (err) {
      if (!isNoSuchUpload(err)) {
        console.error('sweep: abort of upload failed', u.id, err);
        continue;
      }
    }
    done.push(u.id);
  }
  if (!done.length || !budget.take(2)) return { aborted: 0 };
  const json = JSON.stringify(done);
  await db.batch([
    db.prepare('DELETE FROM upload_parts WHERE upload_id IN (SELECT value FROM json_each(?))').bind(json),
    db.prepare('DELETE FROM uploads WHERE id IN (SELECT value FROM json_each(?))').bind(json),
  ]);
  return { aborted: done.length };
}
