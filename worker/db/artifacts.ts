import type { Artifact, FileType } from '../../shared/artifacts.ts';
import { utf8Length } from '../../shared/encoding.ts';
import { LIMITS } from '../../shared/limits.ts';
import { iso } from '../http.ts';
import { storedSql } from './blobs.ts';
import { currentActor } from '../actor.ts';

export interface ArtifactRow {
  id: string;
  namespace: string;
  model_id: string;
  parent_id: string;
  path: string;
  mime_type: string;
  file_type: FileType;
  size: number | null;
  sha256: string | null;
  url: string | null;
  created_at: number;
}

/** An artifact row with whether its verified bytes are readable by its namespace (0 or 1). */
export type StoredArtifactRow = ArtifactRow & { stored: number };

const SELECT = `SELECT a.*, (a.url IS NULL AND ${storedSql('a')}) AS stored FROM artifacts a`;

export async function getArtifactRow(db: D1Database, parentId: string, path: string): Promise<StoredArtifactRow | undefined> {
  return (await db.prepare(`${SELECT} WHERE a.parent_id = ? AND a.path = ?`).bind(parentId, path).first<StoredArtifactRow>()) ?? undefined;
}

/** A parent's artifacts by path, optionally only those under `prefix` (ASCII, e.g. `checkpoints/`). */
export async function listArtifactRows(db: D1Database, parentId: string, prefix = ''): Promise<StoredArtifactRow[]> {
  const { results } = await db
    .prepare(`${SELECT} WHERE a.parent_id = ? AND substr(a.path, 1, ?) = ? ORDER BY a.path`)
    .bind(parentId, prefix.length, prefix)
    .all<StoredArtifactRow>();
  return results;
}

export function rowToArtifact(r: StoredArtifactRow): Artifact {
  return {
    path: r.path,
    mimeType: r.mime_type,
    fileType: r.file_type,
    size: r.size,
    sha256: r.sha256,
    ...(r.url !== null ? { url: r.url } : {}),
    stored: r.stored === 1,
    createdAt: iso(r.created_at),
  };
}

/** What the change log says of a new artifact: enough for a sync client to create it. */
export function artifactChange(r: ArtifactRow, parentKind: 'model' | 'version') {
  return {
    id: r.id,
    parent: parentKind,
    parentId: r.parent_id,
    modelId: r.model_id,
    path: r.path,
    mimeType: r.mime_type,
    fileType: r.file_type,
    size: r.size,
    sha256: r.sha256,
    url: r.url,
  };
}

/**
 * Inserts artifacts and their change-log rows: two statements per chunk of rows, however many
 * artifacts (a checkpoint may hold a thousand files), reading the rows from one JSON parameter.
 * A chunk's JSON stays under D1's `LIMITS.d1ValueBytes` per bound value: a thousand files with
 * paths of the longest length would not fit in one.
 */
export function insertArtifacts(db: D1Database, rows: ArtifactRow[], parentKind: 'model' | 'version', hlc: string): D1PreparedStatement[] {
  const field = (f: keyof ArtifactRow) => `json_extract(value, '$.${f}')`;
  const columns = ['id', 'namespace', 'model_id', 'parent_id', 'path', 'mime_type', 'file_type', 'size', 'sha256', 'url', 'created_at'] as const;
  const namespace = rows[0]?.namespace ?? '';
  const now = Date.now();
  const actor = currentActor();
  return chunkByBytes(rows).flatMap((chunk) => [
    db
      .prepare(`INSERT INTO artifacts (${columns.join(', ')}) SELECT ${columns.map(field).join(', ')} FROM json_each(?)`)
      .bind(JSON.stringify(chunk)),
    db
      .prepare(
        `INSERT INTO change_log (namespace, entity, entity_id, op, data, hlc, at, token_id, token_name)
         SELECT ?, 'artifact', json_extract(value, '$.id'), 'create', value, ?, ?, ?, ? FROM json_each(?)`,
      )
      .bind(namespace, hlc, now, actor.id, actor.name, JSON.stringify(chunk.map((r) => artifactChange(r, parentKind)))),
  ]);
}

const COLUMNS = ['id', 'namespace', 'model_id', 'parent_id', 'path', 'mime_type', 'file_type', 'size', 'sha256', 'url', 'created_at'] as const;

/** An artifact row as `insertArtifactRows` binds it. */
export const artifactJson = (r: ArtifactRow) => JSON.stringify(COLUMNS.map((c) => r[c]));

/** Inserts many artifact rows (each as `artifactJson` made it; `json` is their JSON array) in one statement, without change-log rows. */
export function insertArtifactRows(db: D1Database, json: string): D1PreparedStatement {
  return db.prepare(`INSERT INTO artifacts (${COLUMNS.join(', ')}) SELECT ${COLUMNS.map((_, i) => `a.value ->> ${i}`).join(', ')} FROM json_each(?) a`).bind(json);
}

/** Rows in chunks whose JSON (as either statement above binds it) stays within one D1 value. */
function chunkByBytes(rows: ArtifactRow[]): ArtifactRow[][] {
  const chunks: ArtifactRow[][] = [];
  let chunk: ArtifactRow[] = [];
  let bytes = 2;
  for (const row of rows) {
    const size = utf8Length(JSON.stringify(row)) + 64;
    if (chunk.length && bytes + size > LIMITS.d1ValueBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 2;
    }
    chunk.push(row);
    bytes += size;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}
