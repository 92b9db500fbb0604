import { z } from 'zod';
import { FILE_TYPES, guessFileType, guessMimeType, mimeTypeSchema, registerArtifactSchema, type Artifact, type FileType } from '../../shared/artifacts.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { uuidv7 } from '../../shared/ids.ts';
import { MAX_BLOB_BYTES } from '../../shared/limits.ts';
import { artifactPathProblem, artifactPathSchema } from '../../shared/names.ts';
import { parseWith } from '../../shared/validate.ts';
import { readBlob, recordStagedBlob, storedDigests, withStagedBlobs, type StagedBlob } from './blob-store.ts';
import { sha256OfBlob } from '../common/hashing.ts';
import { readBody, type ByteProgress } from './read-body.ts';
import type { ClientContext, ParentRef } from './context.ts';
import type { ArtifactRecord, HangarDb } from './db.ts';
import type { Mutation } from './writer.ts';
import { requireLive } from './fields.ts';

/**
 * A file to upload: a `File` (its name is the path), or a Blob with the path to store it at
 * and, optionally, its MIME type and file type (guessed from the path when not given).
 */
export type ArtifactUpload = File | { file: Blob; path?: string; mimeType?: string; fileType?: FileType };

/** Paths under this prefix belong to checkpoints, written only by saving one (as on the server). */
export const CHECKPOINTS_DIR = 'checkpoints/';

/** An upload whose path, MIME type and file type passed the shared rules; its bytes are not read yet. */
export interface PreparedUpload {
  file: Blob;
  /** The path relative to the checkpoint for a checkpoint file, else the artifact's path. */
  path: string;
  mimeType: string;
  fileType: FileType;
}

const preparedSchema = z.object({
  file: z.instanceof(Blob, { message: 'must be a File or Blob' }),
  path: artifactPathSchema,
  mimeType: mimeTypeSchema,
  fileType: z.enum(FILE_TYPES),
  size: z.number().max(MAX_BLOB_BYTES, { message: `must be at most ${MAX_BLOB_BYTES} bytes` }),
});

const invalidArgument = (message: string, issues: { path: string; message: string }[], details: Record<string, unknown> = {}) =>
  new HangarError(ErrorCode.InvalidArgument, message, { ...details, issues });

/** A Blob's own type when it is a plain MIME type (`text/plain;charset=utf-8` → `text/plain`). */
function blobMimeType(file: Blob): string | undefined {
  const type = file.type.split(';')[0]?.trim().toLowerCase() ?? '';
  return mimeTypeSchema.safeParse(type).success ? type : undefined;
}

function describe(item: ArtifactUpload | Blob): { file: unknown; path?: string; mimeType?: string; fileType?: FileType } {
  const named = (b: unknown) => (typeof File !== 'undefined' && b instanceof File ? b.name : undefined);
  if (item instanceof Blob) return { file: item, path: named(item) };
  const given = (item ?? {}) as { file?: unknown; path?: string; mimeType?: string; fileType?: FileType };
  return { ...given, file: given.file, path: given.path ?? named(given.file) };
}

/**
 * Validates uploads with the shared rules before any byte is stored: paths, MIME types, file
 * types, sizes, no path twice; under `prefix` (a checkpoint's) the full path must also fit.
 * Without a prefix, paths under `checkpoints/` are refused. The MIME type defaults to the one
 * the path suggests (so every device picks the same), then the Blob's own type.
 */
export function prepareUploads(items: (ArtifactUpload | Blob)[], opts: { prefix?: string; fileType?: FileType } = {}): PreparedUpload[] {
  if (!Array.isArray(items)) throw invalidArgument('Invalid artifacts: files must be an array.', [{ path: 'files', message: 'must be an array' }]);
  const candidates = items.map((item, i) => {
    const d = describe(item);
    if (d.path === undefined) {
      throw invalidArgument(`Invalid artifacts: files.${i}.path is required for a Blob; pass { file, path }.`, [
        { path: `files.${i}.path`, message: 'is required for a Blob; pass { file, path }' },
      ]);
    }
    const guessed = guessMimeType(d.path);
    const fileBlob = d.file instanceof Blob ? d.file : undefined;
    const fromBlob = fileBlob && guessed === 'application/octet-stream' ? blobMimeType(fileBlob) : undefined;
    const mimeType = d.mimeType ?? fromBlob ?? guessed;
    const fileType = opts.fileType ?? d.fileType ?? guessFileType(`${opts.prefix ?? ''}${d.path}`, mimeType);
    return { file: d.file, path: d.path, mimeType, fileType, size: fileBlob?.size ?? 0 };
  });
  const files = parseWith(z.object({ files: z.array(preparedSchema) }), { files: candidates }, 'artifacts').files;
  const seen = new Set<string>();
  files.forEach((f, i) => {
    const at = `files.${i}.path`;
    if (seen.has(f.path)) throw invalidArgument(`Invalid artifacts: "${f.path}" appears twice.`, [{ path: at, message: 'appears twice' }]);
    seen.add(f.path);
    if (opts.prefix === undefined && f.path.startsWith(CHECKPOINTS_DIR)) throw reservedPath(f.path, i);
    const problem = opts.prefix === undefined ? undefined : artifactPathProblem(`${opts.prefix}${f.path}`);
    if (problem) throw invalidArgument(`Invalid artifacts: "${opts.prefix}${f.path}" ${problem}.`, [{ path: at, message: problem }]);
  });
  return files.map(({ file, path, mimeType, fileType }) => ({ file, path, mimeType, fileType }));
}

function reservedPath(path: string, i: number): HangarError {
  return invalidArgument(
    `Paths under "${CHECKPOINTS_DIR}" hold checkpoints; save one with version.saveCheckpoint(handle, files).`,
    [{ path: `files.${i}.path`, message: `must not start with "${CHECKPOINTS_DIR}"` }],
    { path },
  );
}

/** A new artifact row of `parent`. */
export function newArtifactRecord(
  parent: ParentRef,
  a: { path: string; mimeType: string; fileType: FileType; size: number | null; sha256: string | null; url: string | null },
  now = Date.now(),
): ArtifactRecord {
  return { id: uuidv7(now), namespace: parent.namespace, modelId: parent.modelId, parentId: parent.id, ...a, createdAt: now };
}

/** An artifact row as the API shows it; `stored` says whether its bytes are on this device. */
export function toArtifact(r: ArtifactRecord, stored: boolean): Artifact {
  return {
    path: r.path,
    mimeType: r.mimeType,
    fileType: r.fileType,
    size: r.size,
    sha256: r.sha256,
    ...(r.url !== null ? { url: r.url } : {}),
    stored: r.url === null && stored,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

/** Artifacts are immutable: the same path with the same bytes (or URL) is the same artifact. */
export const sameArtifact = (a: Pick<ArtifactRecord, 'sha256' | 'url' | 'size'>, b: Pick<ArtifactRecord, 'sha256' | 'url' | 'size'>) =>
  a.sha256 === b.sha256 && a.url === b.url && a.size === b.size;

/** The `artifact.register` mutation of a new row (`url` only for a tracked artifact). */
export function registerMutation(r: ArtifactRecord): Mutation {
  const { parentId, id, path, size, sha256, mimeType, fileType, url } = r;
  return { name: 'artifact.register', namespace: r.namespace, args: { parentId, id, path, size, sha256, mimeType, fileType, ...(url !== null ? { url } : {}) } };
}

/** The row at a parent's path, if any. */
export function artifactAt(db: HangarDb, parentId: string, path: string): Promise<ArtifactRecord | undefined> {
  return db.artifacts.where('[parentId+path]').equals([parentId, path]).first();
}

/** Inside a transaction with `db.blobs`: the existing artifact if it is the same, else `artifact-conflict`. */
async function existingOrConflict(db: HangarDb, existing: ArtifactRecord, wanted: ArtifactRecord): Promise<ArtifactRecord> {
  if (sameArtifact(existing, wanted)) return existing;
  const stored = existing.sha256 !== null && (await db.blobs.get(existing.sha256)) !== undefined;
  throw new HangarError(
    ErrorCode.ArtifactConflict,
    `An artifact already exists at "${wanted.path}" with other bytes; artifacts are immutable, so use a new path.`,
    { path: wanted.path, existing: toArtifact(existing, stored) },
  );
}

/**
 * Uploads files as artifacts of a model or version. Every path, MIME type and file type is
 * validated first (an invalid call stores nothing). The bytes are stored once per digest,
 * hashed while they are written; then one transaction records the artifacts with one
 * `artifact.register` mutation each. Uploading the same bytes at the same path again returns
 * the existing artifact; other bytes at an existing path fail with `artifact-conflict` and
 * leave nothing behind.
 */
export async function uploadArtifacts(
  ctx: ClientContext,
  parent: ParentRef,
  files: (ArtifactUpload | Blob)[],
  opts: { onProgress?(p: { path: string; loaded: number; total: number }): void } = {},
): Promise<Artifact[]> {
  const uploads = prepareUploads(files);
  if (!uploads.length) return [];
  const { db, writer } = ctx;
  const rows = await withStagedBlobs(db, async (stage) => {
    const staged: StagedBlob[] = [];
    for (const u of uploads) {
      const onProgress = opts.onProgress && ((loaded: number, total: number) => opts.onProgress?.({ path: u.path, loaded, total }));
      staged.push(await stage(u.file, { onProgress }));
    }
    return writer.write(`${uploads.length === 1 ? `artifact "${uploads[0]!.path}"` : `${uploads.length} artifacts`}`, [db.artifacts, db.blobs, db.models, db.versions], async ({ emit }) => {
      await requireLive(db, parent);
      const now = Date.now();
      const out: ArtifactRecord[] = [];
      for (const [i, u] of uploads.entries()) {
        const s = staged[i]!;
        const wanted = newArtifactRecord(parent, { path: u.path, mimeType: u.mimeType, fileType: u.fileType, size: s.size, sha256: s.sha256, url: null }, now);
        const existing = await artifactAt(db, parent.id, u.path);
        // The same artifact again still keeps the bytes, in case they were not on this device.
        const row = existing ? await existingOrConflict(db, existing, wanted) : wanted;
        await recordStagedBlob(db, s);
        if (existing) {
          out.push(row);
          continue;
        }
        await db.artifacts.add(row);
        emit(registerMutation(row));
        out.push(row);
      }
      return out;
    });
  });
  return rows.map((r) => toArtifact(r, true));
}

// The URL is checked first: without one, the shared schema would ask for size and digest instead.
const trackUrlSchema = z.object({ items: z.array(z.looseObject({ url: z.string({ message: 'is required to track an artifact' }) })) });
const trackSchema = z.object({ items: z.array(registerArtifactSchema) });

/**
 * Records artifacts whose bytes live elsewhere, by URL (validated like `POST …/artifacts`).
 * The same artifact again is returned as is; another one at an existing path is an
 * `artifact-conflict`.
 */
export async function trackArtifacts(
  ctx: ClientContext,
  parent: ParentRef,
  items: { path: string; url: string; sha256?: string; size?: number; mimeType?: string; fileType?: FileType }[],
): Promise<Artifact[]> {
  parseWith(trackUrlSchema, { items }, 'tracked artifacts');
  const parsed = parseWith(trackSchema, { items }, 'tracked artifacts').items;
  const seen = new Set<string>();
  parsed.forEach((a, i) => {
    if (a.path.startsWith(CHECKPOINTS_DIR)) throw reservedPath(a.path, i);
    if (seen.has(a.path)) throw invalidArgument(`Invalid tracked artifacts: "${a.path}" appears twice.`, [{ path: `items.${i}.path`, message: 'appears twice' }]);
    seen.add(a.path);
  });
  const { db, writer } = ctx;
  const rows = await writer.write(`tracked artifacts`, [db.artifacts, db.blobs, db.models, db.versions], async ({ emit }) => {
    await requireLive(db, parent);
    const now = Date.now();
    const out: ArtifactRecord[] = [];
    for (const a of parsed) {
      const mimeType = a.mimeType ?? guessMimeType(a.path);
      const wanted = newArtifactRecord(
        parent,
        { path: a.path, mimeType, fileType: a.fileType ?? guessFileType(a.path, mimeType), size: a.size ?? null, sha256: a.sha256 ?? null, url: a.url ?? null },
        now,
      );
      const existing = await artifactAt(db, parent.id, a.path);
      if (existing) {
        out.push(await existingOrConflict(db, existing, wanted));
        continue;
      }
      await db.artifacts.add(wanted);
      emit(registerMutation(wanted));
      out.push(wanted);
    }
    return out;
  });
  const stored = await storedDigests(db, rows.flatMap((r) => (r.sha256 ? [r.sha256] : [])));
  return rows.map((r) => toArtifact(r, r.sha256 !== null && stored.has(r.sha256)));
}

/** A model's or version's artifacts (checkpoint files included), by path. */
export async function listArtifacts(ctx: ClientContext, parentId: string): Promise<Artifact[]> {
  const rows = await ctx.db.artifacts.where('parentId').equals(parentId).toArray();
  rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const stored = await storedDigests(ctx.db, rows.flatMap((r) => (r.sha256 ? [r.sha256] : [])));
  return rows.map((r) => toArtifact(r, r.sha256 !== null && stored.has(r.sha256)));
}

/**
 * The bytes of a stored artifact, fetched from the sync server first when this device lacks
 * them; `blob-not-found` when they are neither here nor reachable.
 */
export async function readStoredBytes(ctx: ClientContext, row: ArtifactRecord, onProgress?: (p: ByteProgress) => void): Promise<Blob> {
  const read = () => (row.sha256 === null ? undefined : readBlob(ctx.db, row.sha256, row.mimeType));
  let blob = await read();
  if (!blob && row.sha256 !== null && ctx.remote) {
    await ctx.remote.fetch(row.namespace, row.sha256, row.size, onProgress && ((loaded, total) => onProgress({ loaded, total })));
    blob = await read();
  }
  if (blob) return blob;
  throw new HangarError(
    ErrorCode.BlobNotFound,
    `The bytes of "${row.path}" are not on this device yet; sync will fetch them when a server is configured.`,
    { path: row.path, sha256: row.sha256 },
  );
}

export interface ReadArtifactOptions {
  /** Bytes fetched so far, when they come over the network (a synced artifact not yet here, or a tracked URL). */
  onProgress?(p: ByteProgress): void;
}

/**
 * An artifact's bytes as a Blob typed with its MIME type. A tracked artifact is fetched from
 * its URL. Unknown path: `artifact-not-found`; bytes not on this device: `blob-not-found`.
 */
export async function readArtifact(ctx: ClientContext, parentId: string, path: string, opts: ReadArtifactOptions = {}): Promise<Blob> {
  const problem = artifactPathProblem(path);
  if (problem) throw invalidArgument(`Invalid artifact path: ${problem}.`, [{ path: 'path', message: problem }], { path });
  const row = await artifactAt(ctx.db, parentId, path);
  if (!row) throw new HangarError(ErrorCode.ArtifactNotFound, `No artifact at "${path}".`, { path });
  if (row.url === null) return readStoredBytes(ctx, row, opts.onProgress);
  const response = await fetch(row.url).catch((err: unknown) => {
    throw new HangarError(ErrorCode.BlobNotFound, `Could not fetch "${path}" from ${row.url}: ${err instanceof Error ? err.message : String(err)}.`, {
      path,
      url: row.url,
    });
  });
  if (!response.ok) {
    throw new HangarError(ErrorCode.BlobNotFound, `Fetching "${path}" from ${row.url} answered ${response.status}.`, { path, url: row.url, status: response.status });
  }
  const body = await readBody(response, opts.onProgress);
  // A tracked artifact declares its digest: bytes that do not match are refused, not handed out.
  if (row.sha256 !== null) {
    const actual = await sha256OfBlob(body);
    if (actual !== row.sha256 || (row.size !== null && body.size !== row.size)) {
      throw new HangarError(ErrorCode.DigestMismatch, `The bytes fetched for "${path}" from ${row.url} do not match its declared SHA-256; nothing was kept.`, {
        path,
        url: row.url,
        expected: row.sha256,
        actual,
      });
    }
  }
  return body.type === row.mimeType ? body : body.slice(0, body.size, row.mimeType);
}
