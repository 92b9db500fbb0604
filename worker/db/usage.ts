import { ErrorCode, HangarError } from '../../shared/errors.ts';
import type { NamespaceUsage, QuotaName, Quotas, SetQuotas, UsageFigures } from '../../shared/usage.ts';

/**
 * A namespace's usage row (migration 0010): what it uses, and the quotas an admin set. Each
 * write that adds to a figure moves the row in its own batch; the row's CHECK constraints then
 * refuse a write past a quota, and D1 rolls the whole batch back.
 */

const COLUMN: Record<QuotaName, string> = { blobBytes: 'blob_bytes', metricPoints: 'metric_points', models: 'models' };
const BY_CONSTRAINT: Record<string, QuotaName> = { blob_bytes_quota: 'blobBytes', metric_points_quota: 'metricPoints', models_quota: 'models' };

interface UsageRow {
  metric_points: number;
  models: number;
  blob_bytes: number;
  quota_metric_points: number | null;
  quota_models: number | null;
  quota_blob_bytes: number | null;
}

const modelsSql = 'SELECT COUNT(*) FROM models WHERE namespace = ?1 AND deleted_at IS NULL';
const blobBytesSql = 'SELECT COALESCE(SUM(b.size), 0) FROM blob_grants g JOIN blobs b ON b.sha256 = g.sha256 WHERE g.namespace = ?1';

/**
 * Adds `count` points to the namespace's point count: put it in the batch that writes them. A
 * write stores only points it found not stored yet (worker/db/metrics.ts `storedIds`), and a
 * race with another write of the same points fails the batch on the segment's key, so `count`
 * is exactly what the batch stores: a retry counts nothing.
 */
export function countStoredPoints(db: D1Database, namespace: string, count: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO namespace_usage (namespace, metric_points, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (namespace) DO UPDATE SET metric_points = metric_points + excluded.metric_points, updated_at = excluded.updated_at`,
    )
    .bind(namespace, count, Date.now());
}

/**
 * Takes off the points of the metric segments that `segmentsSql` selects (a query of
 * `metric_segments` ids, bound from ?3 on): put it BEFORE the statement that deletes those
 * segments with the same query, in the same batch.
 */
export function uncountSegmentPoints(db: D1Database, namespace: string, segmentsSql: string, ...binds: unknown[]): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE namespace_usage SET metric_points = MAX(0, metric_points - (SELECT COALESCE(SUM(n), 0) FROM metric_segments WHERE id IN (${segmentsSql}))),
       updated_at = ?2 WHERE namespace = ?1`,
    )
    .bind(namespace, Date.now(), ...binds);
}

/** Counts the namespace's live models again (over its own rows); put it after a create. */
export function recountModels(db: D1Database, namespace: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO namespace_usage (namespace, models, updated_at) VALUES (?1, (${modelsSql}), ?2)
       ON CONFLICT (namespace) DO UPDATE SET models = excluded.models, updated_at = excluded.updated_at`,
    )
    .bind(namespace, Date.now());
}

/** Counts the bytes of the namespace's blobs again (over its own grants); put it after a grant. */
export function recountBlobBytes(db: D1Database, namespace: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO namespace_usage (namespace, blob_bytes, updated_at) VALUES (?1, (${blobBytesSql}), ?2)
       ON CONFLICT (namespace) DO UPDATE SET blob_bytes = excluded.blob_bytes, updated_at = excluded.updated_at`,
    )
    .bind(namespace, Date.now());
}

/** The namespace's blob bytes quota (null: none) and its blob bytes as last counted: one read. */
export async function readBlobRoom(db: D1Database, namespace: string): Promise<{ limit: number | null; used: number }> {
  const row = await db.prepare('SELECT quota_blob_bytes AS q, blob_bytes AS b FROM namespace_usage WHERE namespace = ?').bind(namespace).first<{ q: number | null; b: number }>();
  return { limit: row?.q ?? null, used: row?.b ?? 0 };
}

/**
 * Refuses registering an artifact whose bytes the namespace does not hold yet when they would
 * take it past its blob bytes quota: better now than after the upload (which is refused too).
 */
export function checkBlobRoomFor(namespace: string, room: { limit: number | null; used: number }, size: number | null, held: boolean): void {
  if (room.limit === null || held || size === null) return;
  if (room.used + size > room.limit) throw quotaError(namespace, 'blobBytes', room.limit, room.used, size);
}

/** The quota a failed batch ran into, if a usage CHECK constraint refused it. */
export function quotaOf(err: unknown): QuotaName | undefined {
  const m = err instanceof Error ? /CHECK constraint failed: (\w+_quota)/i.exec(err.message) : null;
  return m ? BY_CONSTRAINT[m[1]!] : undefined;
}

async function readRow(db: D1Database, namespace: string): Promise<UsageRow | undefined> {
  return (await db.prepare('SELECT * FROM namespace_usage WHERE namespace = ?').bind(namespace).first<UsageRow>()) ?? undefined;
}

const quotasOf = (row: UsageRow | undefined): Quotas => ({
  blobBytes: row?.quota_blob_bytes ?? null,
  metricPoints: row?.quota_metric_points ?? null,
  models: row?.quota_models ?? null,
});

/** The refusal of a write past `quota`, with the figures (the batch rolled back: `used` is before it). */
export async function quotaExceeded(db: D1Database, namespace: string, quota: QuotaName, requested: number): Promise<HangarError> {
  const row = await readRow(db, namespace);
  const used = row ? row[COLUMN[quota] as keyof UsageRow] ?? 0 : 0;
  return quotaError(namespace, quota, quotasOf(row)[quota] ?? 0, used, requested);
}

const NOUN: Record<QuotaName, string> = { blobBytes: 'bytes of blobs', metricPoints: 'metric points', models: 'models' };

export const quotaError = (namespace: string, quota: QuotaName, limit: number, used: number, requested: number) =>
  new HangarError(
    ErrorCode.QuotaExceeded,
    `Namespace "${namespace}" may hold ${limit} ${NOUN[quota]} and holds ${used}; this write adds ${requested}. Nothing was written: free some, or ask an admin to raise the quota.`,
    { quota, limit, used, requested },
  );

/**
 * Runs a write's batch; when a quota refused it, throws `quota-exceeded` with the figures
 * (`requested`: what the write would add to that figure).
 */
export async function withinQuota<T>(db: D1Database, namespace: string, requested: Partial<Record<QuotaName, number>>, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const quota = quotaOf(err);
    if (!quota) throw err;
    throw await quotaExceeded(db, namespace, quota, requested[quota] ?? 1);
  }
}

/** What the namespace uses, counted now (models and blobs over its own rows; points from the counter), and its quotas. */
export async function readUsage(db: D1Database, namespace: string): Promise<NamespaceUsage> {
  const [row, live] = await db.batch<Record<string, number | null>>([
    db.prepare('SELECT * FROM namespace_usage WHERE namespace = ?1').bind(namespace),
    db.prepare(`SELECT (${modelsSql}) AS models, (${blobBytesSql}) AS blob_bytes`).bind(namespace),
  ]);
  const r = row?.results[0] as UsageRow | undefined;
  const l = live?.results[0] as { models: number; blob_bytes: number };
  const usage: UsageFigures = { blobBytes: l.blob_bytes, metricPoints: r?.metric_points ?? 0, models: l.models };
  return { namespace, usage, quotas: quotasOf(r) };
}

/**
 * Sets quotas (a field left out keeps its quota, `null` removes it). A quota below what the
 * namespace uses now is refused (400 `invalid-argument`, with the figures) and nothing changes.
 */
export async function setQuotas(db: D1Database, namespace: string, input: SetQuotas): Promise<NamespaceUsage> {
  const current = await readUsage(db, namespace);
  const next: Quotas = { ...current.quotas };
  for (const q of Object.keys(COLUMN) as QuotaName[]) if (input[q] !== undefined) next[q] = input[q];
  for (const q of Object.keys(COLUMN) as QuotaName[]) {
    const limit = next[q];
    if (limit !== null && input[q] !== undefined && limit < current.usage[q]) throw belowUse(namespace, q, limit, current.usage[q]);
  }
  const write = db
    .prepare(
      `INSERT INTO namespace_usage (namespace, models, blob_bytes, quota_blob_bytes, quota_metric_points, quota_models, updated_at)
       VALUES (?1, (${modelsSql}), (${blobBytesSql}), ?2, ?3, ?4, ?5)
       ON CONFLICT (namespace) DO UPDATE SET models = excluded.models, blob_bytes = excluded.blob_bytes,
         quota_blob_bytes = excluded.quota_blob_bytes, quota_metric_points = excluded.quota_metric_points,
         quota_models = excluded.quota_models, updated_at = excluded.updated_at`,
    )
    .bind(namespace, next.blobBytes, next.metricPoints, next.models, Date.now());
  try {
    await db.batch([db.prepare('INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?, ?)').bind(namespace, Date.now()), write]);
  } catch (err) {
    // Use grew past the new quota between the read and the write.
    const q = quotaOf(err);
    if (!q) throw err;
    const now = await readUsage(db, namespace);
    throw belowUse(namespace, q, next[q] ?? 0, now.usage[q]);
  }
  return { ...(await readUsage(db, namespace)) };
}

const belowUse = (namespace: string, quota: QuotaName, limit: number, used: number) =>
  new HangarError(
    ErrorCode.InvalidArgument,
    `Namespace "${namespace}" already holds ${used} ${NOUN[quota]}: a ${quota} quota of ${limit} would be below its use. Free some first, or set a quota of at least ${used}.`,
    { quota, limit, used },
  );
