import { DEFAULT_HANDLE, checkpointPrefix, type Checkpoint, type SaveCheckpoint } from '../../shared/checkpoints.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { artifactPathProblem } from '../../shared/names.ts';
import { insertArtifacts, listArtifactRows, type ArtifactRow, type StoredArtifactRow } from '../db/artifacts.ts';
import { settleVersionStatus } from '../db/blobs.ts';
import { logChange } from '../db/change-log.ts';
import { getCheckpointRow, insertCheckpoint, listCheckpointRows, moveDefault, toCheckpoint } from '../db/checkpoints.ts';
import type { VersionRow } from '../db/versions.ts';
import { isUniqueViolation } from '../errors.ts';
import type { Parent } from '../parent.ts';
import { CHECKPOINTS_DIR, checkKnownSizes, newArtifactRow } from './artifacts.ts';

const notFound = (handle: string) => new HangarError(ErrorCode.CheckpointNotFound, `No checkpoint "${handle}" on this version.`, { handle });

const invalid = (message: string, details: Record<string, unknown>) => new HangarError(ErrorCode.InvalidArgument, message, details);

/** Same files (relative path, digest, size), whatever their order. */
function sameFiles(existing: StoredArtifactRow[], wanted: ArtifactRow[]): boolean {
  const key = (r: Pick<ArtifactRow, 'path' | 'sha256' | 'size'>) => `${r.path}\0${r.sha256}\0${r.size}`;
  const have = new Set(existing.map(key));
  return existing.length === wanted.length && wanted.every((r) => have.has(key(r)));
}

/** The checkpoint as stored, or 409 `checkpoint-exists` when it holds other files. */
async function existingOrConflict(db: D1Database, version: VersionRow, handle: string, wanted: ArtifactRow[]) {
  const row = await getCheckpointRow(db, version.id, handle);
  const files = await listArtifactRows(db, version.id, checkpointPrefix(handle));
  if (row && sameFiles(files, wanted)) return { checkpoint: toCheckpoint(row, files), created: false };
  throw new HangarError(
    ErrorCode.CheckpointExists,
    `Checkpoint "${handle}" already exists with other files; checkpoints are immutable, so save under a new handle.`,
    { handle },
  );
}

/** The artifact rows of a checkpoint's files, checked: a handle of the caller's, distinct and valid paths. */
export function checkpointFileRows(parent: Parent, handle: string, input: SaveCheckpoint, now: number): ArtifactRow[] {
  if (handle === DEFAULT_HANDLE) {
    throw invalid(`"${DEFAULT_HANDLE}" follows the last checkpoint saved; save under a name of your own (epoch_3, v1…).`, { handle });
  }
  const prefix = checkpointPrefix(handle);
  const seen = new Set<string>();
  return input.files.map((f, i) => {
    if (seen.has(f.path)) throw invalid(`Checkpoint files must have distinct paths; "${f.path}" appears twice.`, { path: `files.${i}.path` });
    seen.add(f.path);
    const row = newArtifactRow(parent, { ...f, path: `${prefix}${f.path}`, fileType: 'CHECKPOINT' }, now);
    const problem = artifactPathProblem(row.path);
    if (problem) throw invalid(`Invalid checkpoint file path "${row.path}": ${problem}.`, { path: `files.${i}.path` });
    return row;
  });
}

/**
 * Saves a checkpoint: its files become the version's artifacts under `checkpoints/<handle>/`,
 * in one batch with the checkpoint row, the `default` handle's move (unless `setAsDefault` is
 * false) and the version's status (pending until every file's bytes have arrived).
 */
export async function saveCheckpoint(
  db: D1Database,
  parent: Parent & { version: VersionRow },
  handle: string,
  input: SaveCheckpoint,
  hlc: string,
): Promise<{ checkpoint: Checkpoint; created: boolean }> {
  const { version, namespace } = parent;
  const now = Date.now();
  const rows = checkpointFileRows(parent, handle, input, now);
  if (await getCheckpointRow(db, version.id, handle)) return existingOrConflict(db, version, handle, rows);
  await checkKnownSizes(db, namespace, rows);

  const entityId = (h: string) => `${version.id}/${h}`;
  const moves = input.setAsDefault !== false;
  try {
    await db.batch([
      insertCheckpoint(db, { version_id: version.id, handle, namespace, target: null, created_at: now, updated_at: now }),
      logChange(db, { namespace, entity: 'checkpoint', entityId: entityId(handle), op: 'save', data: { versionId: version.id, handle }, hlc }),
      ...insertArtifacts(db, rows, 'version', hlc),
      ...(moves
        ? [
            moveDefault(db, namespace, version.id, handle, now),
            logChange(db, {
              namespace,
              entity: 'checkpoint',
              entityId: entityId(DEFAULT_HANDLE),
              op: 'default',
              data: { versionId: version.id, handle: DEFAULT_HANDLE, target: handle },
              hlc,
            }),
          ]
        : []),
      ...settleVersionStatus(db, version.id, hlc),
    ]);
  } catch (err) {
    // The handle was saved meanwhile, or artifacts already sit under its prefix.
    if (isUniqueViolation(err)) return existingOrConflict(db, version, handle, rows);
    throw err;
  }
  return { checkpoint: await readCheckpoint(db, version, handle), created: true };
}

/** One checkpoint; `default` answers the checkpoint it points at, with `target` naming it. */
export async function readCheckpoint(db: D1Database, version: VersionRow, handle: string): Promise<Checkpoint> {
  const row = await getCheckpointRow(db, version.id, handle);
  if (!row) throw notFound(handle);
  if (row.target === null) return toCheckpoint(row, await listArtifactRows(db, version.id, checkpointPrefix(handle)));
  const target = await getCheckpointRow(db, version.id, row.target);
  if (!target) throw notFound(handle);
  return toCheckpoint(target, await listArtifactRows(db, version.id, checkpointPrefix(target.handle)), row);
}

/** A version's checkpoints with their files, and where `default` points. */
export async function listCheckpoints(db: D1Database, version: VersionRow): Promise<{ items: Checkpoint[]; default: string | null }> {
  const [rows, files, def] = await Promise.all([
    listCheckpointRows(db, version.id),
    listArtifactRows(db, version.id, CHECKPOINTS_DIR),
    getCheckpointRow(db, version.id, DEFAULT_HANDLE),
  ]);
  return { items: rows.map((r) => toCheckpoint(r, files)), default: def?.target ?? null };
}
