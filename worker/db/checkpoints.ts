import { DEFAULT_HANDLE, checkpointPrefix, type Checkpoint } from '../../shared/checkpoints.ts';
import { iso } from '../http.ts';
import { rowToArtifact, type StoredArtifactRow } from './artifacts.ts';

export interface CheckpointRow {
  version_id: string;
  handle: string;
  namespace: string;
  /** Set on the `default` row only: the handle it points at. */
  target: string | null;
  created_at: number;
  updated_at: number;
}

export async function getCheckpointRow(db: D1Database, versionId: string, handle: string): Promise<CheckpointRow | undefined> {
  return (
    (await db.prepare('SELECT * FROM checkpoints WHERE version_id = ? AND handle = ?').bind(versionId, handle).first<CheckpointRow>()) ??
    undefined
  );
}

/** A version's checkpoints (without the `default` row), oldest first. */
export async function listCheckpointRows(db: D1Database, versionId: string): Promise<CheckpointRow[]> {
  const { results } = await db
    .prepare('SELECT * FROM checkpoints WHERE version_id = ? AND handle <> ? ORDER BY created_at, handle')
    .bind(versionId, DEFAULT_HANDLE)
    .all<CheckpointRow>();
  return results;
}

export function insertCheckpoint(db: D1Database, r: CheckpointRow): D1PreparedStatement {
  return db
    .prepare('INSERT INTO checkpoints (version_id, handle, namespace, target, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
    .bind(r.version_id, r.handle, r.namespace, r.target, r.created_at, r.updated_at);
}

/** Points the version's `default` handle at `target`, creating it the first time. */
export function moveDefault(db: D1Database, namespace: string, versionId: string, target: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO checkpoints (version_id, handle, namespace, target, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (version_id, handle) DO UPDATE SET target = excluded.target, updated_at = excluded.updated_at`,
    )
    .bind(versionId, DEFAULT_HANDLE, namespace, target, now, now);
}

/** A checkpoint as the API returns it, from its row and the version's artifacts under its prefix. */
export function toCheckpoint(row: CheckpointRow, files: StoredArtifactRow[], as?: CheckpointRow): Checkpoint {
  const prefix = checkpointPrefix(row.handle);
  const shown = as ?? row;
  return {
    handle: shown.handle,
    ...(as ? { target: row.handle } : {}),
    files: files.filter((f) => f.path.startsWith(prefix)).map((f) => ({ ...rowToArtifact(f), file: f.path.slice(prefix.length) })),
    createdAt: iso(shown.created_at),
    updatedAt: iso(shown.updated_at),
  };
}
