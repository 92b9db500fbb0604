import { guessFileType, guessMimeType, type Artifact, type FileType, type RegisterArtifact } from '../../shared/artifacts.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { getArtifactRow, insertArtifacts, rowToArtifact, type ArtifactRow, type StoredArtifactRow } from '../db/artifacts.ts';
import { grantedSizes, settleVersionStatus } from '../db/blobs.ts';
import { checkBlobRoomFor, readBlobRoom } from '../db/usage.ts';
import { isUniqueViolation } from '../errors.ts';
import type { Parent } from '../parent.ts';

/** Paths under this prefix belong to checkpoints, written only by saving one. */
export const CHECKPOINTS_DIR = 'checkpoints/';

/** A new artifact row, with the MIME and file types guessed from the path when not given. */
export function newArtifactRow(
  parent: Parent,
  a: { path: string; size?: number; sha256?: string; mimeType?: string; fileType?: FileType; url?: string },
  now = Date.now(),
): ArtifactRow {
  const mimeType = a.mimeType ?? guessMimeType(a.path);
  return {
    id: uuidv7(now),
    namespace: parent.namespace,
    model_id: parent.model.id,
    parent_id: parent.id,
    path: a.path,
    mime_type: mimeType,
    file_type: a.fileType ?? guessFileType(a.path, mimeType),
    size: a.size ?? null,
    sha256: a.sha256 ?? null,
    url: a.url ?? null,
    created_at: now,
  };
}

/**
 * Refuses artifacts whose announced size contradicts bytes this namespace already uploaded.
 * Only the namespace's own grants are consulted, so nothing is told about other namespaces.
 */
export async function checkKnownSizes(db: D1Database, namespace: string, rows: Pick<ArtifactRow, 'path' | 'size' | 'sha256' | 'url'>[]) {
  checkSizes(rows, await grantedSizes(db, namespace, uploadedDigests(rows)));
}

/** The digests of the uploaded (not tracked) artifacts among `rows`. */
export const uploadedDigests = (rows: Pick<ArtifactRow, 'sha256' | 'url'>[]) => [...new Set(rows.filter((r) => r.url === null && r.sha256 !== null).map((r) => r.sha256!))];

/** `checkKnownSizes` with the granted sizes (digest → size) already read. */
export function checkSizes(rows: Pick<ArtifactRow, 'path' | 'size' | 'sha256' | 'url'>[], sizes: Map<string, number>): void {
  const uploaded = rows.filter((r) => r.url === null && r.sha256 !== null);
  for (const r of uploaded) {
    const known = sizes.get(r.sha256!);
    if (known !== undefined && known !== r.size) {
      throw new HangarError(ErrorCode.SizeMismatch, `${r.path}: blob ${r.sha256} has ${known} bytes, not ${r.size}.`, {
        path: r.path,
        sha256: r.sha256,
        expected: known,
        size: r.size,
      });
    }
  }
}

/** Registration never writes under `checkpoints/`: those paths are written by saving a checkpoint. */
export function checkRegisterPath(path: string): void {
  if (path.startsWith(CHECKPOINTS_DIR)) {
    throw new HangarError(
      ErrorCode.InvalidArgument,
      `Paths under "${CHECKPOINTS_DIR}" hold checkpoints; save one with PUT …/versions/{number}/checkpoints/{handle}.`,
      { path },
    );
  }
}

/** Artifacts are immutable: the same path with the same bytes (or URL) is the same artifact. */
export const sameArtifact = (a: Pick<ArtifactRow, 'sha256' | 'url' | 'size'>, b: Pick<ArtifactRow, 'sha256' | 'url' | 'size'>) =>
  a.sha256 === b.sha256 && a.url === b.url && a.size === b.size;

export function existingOrConflict(existing: StoredArtifactRow, wanted: ArtifactRow): { artifact: Artifact; created: false } {
  if (sameArtifact(existing, wanted)) return { artifact: rowToArtifact(existing), created: false };
  throw new HangarError(
    ErrorCode.ArtifactConflict,
    `An artifact already exists at "${wanted.path}" with other bytes; artifacts are immutable, so use a new path.`,
    { path: wanted.path, existing: rowToArtifact(existing) },
  );
}

/**
 * Checks a registration and plans its writes: the artifact row and the statements that insert
 * it (with its change-log row and, on a version, the version's status settled in the same
 * batch), or the artifact already at that path (the same bytes: registering again is harmless;
 * other bytes: 409 `artifact-conflict`). Sync applies the plan in the batch that also carries
 * the mutation's seq record.
 */
export async function planArtifact(
  db: D1Database,
  parent: Parent,
  input: RegisterArtifact,
  hlc: string,
): Promise<{ existing: { artifact: Artifact; created: false } } | { row: ArtifactRow; statements: D1PreparedStatement[] }> {
  checkRegisterPath(input.path);
  const row = newArtifactRow(parent, input);
  const existing = await getArtifactRow(db, parent.id, row.path);
  if (existing) return { existing: existingOrConflict(existing, row) };
  const sizes = await grantedSizes(db, parent.namespace, uploadedDigests([row]));
  checkSizes([row], sizes);
  if (row.url === null && row.sha256 !== null) checkBlobRoomFor(parent.namespace, await readBlobRoom(db, parent.namespace), row.size, sizes.has(row.sha256));
  return { row, statements: [...insertArtifacts(db, [row], parent.kind, hlc), ...(parent.version ? settleVersionStatus(db, parent.version.id, hlc) : [])] };
}

/** When a planned insert met a unique violation: someone registered this path meanwhile, so answer as if they had been first. */
export async function racedArtifact(db: D1Database, parent: Parent, row: ArtifactRow, err: unknown): Promise<{ artifact: Artifact; created: false }> {
  const raced = isUniqueViolation(err) ? await getArtifactRow(db, parent.id, row.path) : undefined;
  if (raced) return existingOrConflict(raced, row);
  throw err;
}

/**
 * Registers an uploaded or tracked artifact on a model or version. Registering it again is
 * harmless; other bytes at the same path are a conflict. A version with an artifact whose
 * bytes have not arrived becomes `pending`, in the same batch.
 */
export async function registerArtifact(
  db: D1Database,
  parent: Parent,
  input: RegisterArtifact,
  hlc: string,
): Promise<{ artifact: Artifact; created: boolean }> {
  const plan = await planArtifact(db, parent, input, hlc);
  if ('existing' in plan) return plan.existing;
  try {
    await db.batch(plan.statements);
  } catch (err) {
    return racedArtifact(db, parent, plan.row, err);
  }
  return { artifact: rowToArtifact((await getArtifactRow(db, parent.id, plan.row.path))!), created: true };
}
