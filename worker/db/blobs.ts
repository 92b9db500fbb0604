import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { currentActor } from '../actor.ts';

/** A verified blob: its bytes exist at `r2_key` and hash to `sha256`. */
export interface BlobRow {
  sha256: string;
  size: number;
  r2_key: string;
  created_at: number;
}

/** A multipart upload in progress, owned by one namespace. */
export interface UploadRow {
  id: string;
  namespace: string;
  sha256: string;
  size: number;
  part_size: number;
  r2_key: string;
  r2_upload_id: string;
  created_at: number;
  /** How many leading parts the running digest covers (0: none). */
  hashed_parts: number;
  /** The running digest after them, JSON (a `RunningDigest`). */
  digest_state: string | null;
}

export interface UploadPartRow {
  part_number: number;
  etag: string;
  size: number;
}

// R2 keys come from the digest (and our own upload id) only, never from a user's path, so no
// caller can choose where bytes land. A blob put in one request lives at `sha256/<hex>`; one
// completed from parts at `sha256/<hex>/<uploadId>`, so an upload never overwrites bytes
// another upload has verified.
export const singlePutKey = (sha256: string) => `sha256/${sha256}`;
export const multipartKey = (sha256: string, uploadId: string) => `sha256/${sha256}/${uploadId}`;

/**
 * SQL that is true when the artifact row aliased `a` has verified bytes this namespace may
 * read: a grant for its digest and a blob of its size. Used for `stored` and version status.
 */
export const storedSql = (a: string) =>
  `EXISTS (SELECT 1 FROM blob_grants g JOIN blobs b ON b.sha256 = g.sha256
           WHERE g.namespace = ${a}.namespace AND g.sha256 = ${a}.sha256 AND b.size = ${a}.size)`;

/** The verified blob with this digest, if the namespace may read it (it uploaded the bytes). */
export async function getGrantedBlob(db: D1Database, namespace: string, sha256: string): Promise<BlobRow | undefined> {
  const row = await db
    .prepare('SELECT b.* FROM blob_grants g JOIN blobs b ON b.sha256 = g.sha256 WHERE g.namespace = ? AND g.sha256 = ?')
    .bind(namespace, sha256)
    .first<BlobRow>();
  return row ?? undefined;
}

/** The verified blob with this digest, whoever uploaded it. Never tell a caller about it. */
export async function getBlobRow(db: D1Database, sha256: string): Promise<BlobRow | undefined> {
  return (await db.prepare('SELECT * FROM blobs WHERE sha256 = ?').bind(sha256).first<BlobRow>()) ?? undefined;
}

/** Granted blobs among many digests (digest → size), in one query. */
export async function grantedSizes(db: D1Database, namespace: string, digests: string[]): Promise<Map<string, number>> {
  if (digests.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT b.sha256, b.size FROM blob_grants g JOIN blobs b ON b.sha256 = g.sha256
       WHERE g.namespace = ? AND g.sha256 IN (SELECT value FROM json_each(?))`,
    )
    .bind(namespace, JSON.stringify(digests))
    .all<{ sha256: string; size: number }>();
  return new Map(results.map((r) => [r.sha256, r.size]));
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const uploadNotFound = (id: string) =>
  new HangarError(ErrorCode.UploadNotFound, `No upload "${id}" in progress; it may have been completed or aborted. Start a new upload.`, {
    uploadId: id,
  });

/** The namespace's upload by id, or 404 `upload-not-found` (also for another namespace's upload). */
export async function getUploadRow(db: D1Database, namespace: string, id: string): Promise<UploadRow> {
  const row = UPLOAD_ID.test(id)
    ? await db.prepare('SELECT * FROM uploads WHERE id = ? AND namespace = ?').bind(id, namespace).first<UploadRow>()
    : null;
  if (!row) throw uploadNotFound(id);
  return row;
}

/** The newest upload of these bytes the namespace started after `since`, to resume instead of restarting. */
export async function findOpenUpload(db: D1Database, namespace: string, sha256: string, size: number, since: number) {
  const row = await db
    .prepare('SELECT * FROM uploads WHERE namespace = ? AND sha256 = ? AND size = ? AND created_at > ? ORDER BY created_at DESC LIMIT 1')
    .bind(namespace, sha256, size, since)
    .first<UploadRow>();
  return row ?? undefined;
}

export const listUploadPartsStatement = (db: D1Database, uploadId: string) =>
  db.prepare('SELECT part_number, etag, size FROM upload_parts WHERE upload_id = ? ORDER BY part_number').bind(uploadId);

export async function listUploadParts(db: D1Database, uploadId: string): Promise<UploadPartRow[]> {
  return (await listUploadPartsStatement(db, uploadId).all<UploadPartRow>()).results;
}

export function insertUpload(db: D1Database, u: UploadRow): D1PreparedStatement {
  return db
    .prepare('INSERT INTO uploads (id, namespace, sha256, size, part_size, r2_key, r2_upload_id, created_at, hashed_parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)')
    .bind(u.id, u.namespace, u.sha256, u.size, u.part_size, u.r2_key, u.r2_upload_id, u.created_at);
}

/**
 * The statements that keep an upload's running digest true to the parts R2 holds, after part
 * `n` was stored. With `next` (part `n` hashed on top of the state `from` the row held after
 * parts 1…n-1), the digest moves on if the row still holds exactly that state; otherwise, or
 * when the part replaced one the digest covers (a re-send, or two sends racing), or with `next`
 * null (the state could not be carried on), the digest is dropped and completion reads the
 * object instead.
 */
export function advanceDigest(
  db: D1Database,
  uploadId: string,
  n: number,
  next: { from: string | null; state: string } | null | undefined,
): D1PreparedStatement[] {
  // null: part n came in order but could not be hashed on (a state this code cannot read).
  const drop = db.prepare('UPDATE uploads SET hashed_parts = 0, digest_state = NULL WHERE id = ? AND hashed_parts >= ?').bind(uploadId, next === null ? n - 1 : n);
  if (next == null) return [drop];
  return [
    db
      .prepare('UPDATE uploads SET hashed_parts = ?, digest_state = ? WHERE id = ? AND hashed_parts = ? AND digest_state IS ?')
      .bind(n, next.state, uploadId, n - 1, next.from),
    db.prepare('UPDATE uploads SET hashed_parts = 0, digest_state = NULL WHERE id = ? AND changes() = 0').bind(uploadId),
  ];
}

/** The running digest an upload's row holds (no row: the upload is gone). */
export const uploadDigestStatement = (db: D1Database, uploadId: string) =>
  db.prepare('SELECT hashed_parts, digest_state FROM uploads WHERE id = ?').bind(uploadId);

/**
 * Records a part (a re-sent part replaces the old record). Written only while the upload
 * still exists, so a part racing a completion or an abort leaves no orphan row.
 */
export function recordPart(db: D1Database, uploadId: string, part: UploadPartRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR REPLACE INTO upload_parts (upload_id, part_number, etag, size)
       SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?)`,
    )
    .bind(uploadId, part.part_number, part.etag, part.size, uploadId);
}

export function deleteUpload(db: D1Database, uploadId: string): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM upload_parts WHERE upload_id = ?').bind(uploadId),
    db.prepare('DELETE FROM uploads WHERE id = ?').bind(uploadId),
  ];
}

/**
 * Records verified bytes; if another upload recorded them first, that row stays. Bytes sent again
 * are wanted again: the blob sweep's unreferenced stamp is cleared, so its grace period restarts.
 */
export function insertBlob(db: D1Database, b: Omit<BlobRow, 'created_at'>): D1PreparedStatement {
  return db
    .prepare('INSERT INTO blobs (sha256, size, r2_key, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET unreferenced_since = NULL')
    .bind(b.sha256, b.size, b.r2_key, Date.now());
}

/** Lets the namespace read the blob: only ever written after it sent bytes the server verified. */
export function insertGrant(db: D1Database, namespace: string, sha256: string): D1PreparedStatement {
  return db.prepare('INSERT OR IGNORE INTO blob_grants (namespace, sha256, created_at) VALUES (?, ?, ?)').bind(namespace, sha256, Date.now());
}

// Version status (DESIGN §3a). The status served is derived from the one the version's creator
// declared (`declared_status`) and from its uploaded (not tracked) artifacts' bytes: `failed` if
// declared failed; `pending` if declared pending or any such artifact lacks verified bytes granted
// to its namespace; else `ready`. Bytes arriving never turn ready a version its creator still
// holds pending, nor a failed one. Each change of the served status gets a change-log row, written
// by an INSERT … SELECT placed just before the UPDATE in the same batch, so it sees the rows the
// UPDATE is about to change; a write that changes nothing served logs nothing.

const ALL_STORED = `NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.parent_id = versions.id AND a.url IS NULL AND NOT ${storedSql('a')})`;
/** The status a `versions` row should serve, as SQL over that row. */
export const SERVED_STATUS = `CASE WHEN versions.declared_status = 'failed' THEN 'failed'
  WHEN versions.declared_status = 'pending' OR NOT ${ALL_STORED} THEN 'pending' ELSE 'ready' END`;

function statusWrites(db: D1Database, where: string, params: unknown[], hlc: string): D1PreparedStatement[] {
  const now = Date.now();
  const actor = currentActor();
  const changed = `deleted_at IS NULL AND status <> ${SERVED_STATUS} AND ${where}`;
  return [
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
         SELECT namespace, 'version', id, 'status', json_object('status', ${SERVED_STATUS}), ?, ?, ?, ? FROM versions WHERE ${changed}`,
      )
      .bind(hlc, now, actor.id, actor.name, ...params),
    db.prepare(`UPDATE versions SET status = ${SERVED_STATUS}, updated_at = ? WHERE ${changed}`).bind(now, ...params),
  ];
}

/** Settles the versions of the namespace that hold these bytes, now verified (pending → ready when nothing else is missing). */
export function promoteVersionsWithBlob(db: D1Database, namespace: string, sha256: string, hlc: string): D1PreparedStatement[] {
  const where = 'namespace = ? AND id IN (SELECT parent_id FROM artifacts WHERE namespace = ? AND sha256 = ? AND url IS NULL)';
  return statusWrites(db, where, [namespace, namespace, sha256], hlc);
}

/** Sets one version to the status it should serve, after its artifacts or its declared status changed. */
export function settleVersionStatus(db: D1Database, versionId: string, hlc: string): D1PreparedStatement[] {
  return statusWrites(db, 'id = ?', [versionId], hlc);
}

/**
 * Sets many versions to the status each should serve, in two statements however many: `clocks`
 * maps each version id to the clock of the last write that touched its artifacts or declared
 * status, which its `version.status` change carries (as `settleVersionStatus` does for one).
 */
export function settleVersionsStatus(db: D1Database, clocks: Record<string, string>): D1PreparedStatement[] {
  const now = Date.now();
  const actor = currentActor();
  const json = JSON.stringify(clocks);
  const changed = `deleted_at IS NULL AND status <> ${SERVED_STATUS} AND id IN (SELECT key FROM json_each(?1))`;
  return [
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
         SELECT namespace, 'version', id, 'status', json_object('status', ${SERVED_STATUS}), (SELECT value FROM json_each(?1) WHERE key = versions.id), ?2, ?3, ?4
         FROM versions WHERE ${changed}`,
      )
      .bind(json, now, actor.id, actor.name),
    db.prepare(`UPDATE versions SET status = ${SERVED_STATUS}, updated_at = ?2 WHERE ${changed}`).bind(json, now),
  ];
}
