import Dexie from 'dexie';
import { DEFAULT_HANDLE, checkpointPrefix, type Checkpoint } from '../../shared/checkpoints.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/limits.ts';
import { nameSchema } from '../../shared/names.ts';
import { parseWith } from '../../shared/validate.ts';
import { newArtifactRecord, prepareUploads, readStoredBytes, toArtifact, type ArtifactUpload } from './artifacts.ts';
import { recordStagedBlob, storedDigests, withStagedBlobs, type StagedBlob } from './blob-store.ts';
import type { ClientContext, ParentRef } from './context.ts';
import type { ArtifactRecord, CheckpointRecord, HangarDb } from './db.ts';

/** A loaded checkpoint: its files' bytes, with paths relative to the checkpoint. */
export interface LoadedCheckpoint {
  /** The handle asked for (`default` when none was given). */
  handle: string;
  /** For `default`: the handle it points at, whose files these are. */
  target?: string;
  files: { path: string; blob: Blob; size: number; sha256: string; mimeType: string }[];
}

/** A version's checkpoint handles, oldest first, and the one `default` points at. */
export interface CheckpointList {
  items: { handle: string; target?: string; createdAt: string }[];
  default: string | null;
}

const invalid = (message: string, details: Record<string, unknown>) => new HangarError(ErrorCode.InvalidArgument, message, details);

const notFound = (handle: string) => new HangarError(ErrorCode.CheckpointNotFound, `No checkpoint "${handle}" on this version.`, { handle });

/** A version's artifacts under a checkpoint's prefix, by path. */
export function checkpointFiles(db: HangarDb, versionId: string, handle: string): Promise<ArtifactRecord[]> {
  const prefix = checkpointPrefix(handle);
  return db.artifacts.where('[parentId+path]').between([versionId, prefix], [versionId, `${prefix}${String.fromCharCode(0xffff)}`], true, true).toArray();
}

/** Same files (path, digest, size), whatever their order. */
export function sameFiles(existing: ArtifactRecord[], wanted: Pick<ArtifactRecord, 'path' | 'sha256' | 'size'>[]): boolean {
  const key = (r: Pick<ArtifactRecord, 'path' | 'sha256' | 'size'>) => `${r.path}\0${r.sha256}\0${r.size}`;
  const have = new Set(existing.map(key));
  return existing.length === wanted.length && wanted.every((r) => have.has(key(r)));
}

/** The `checkpoint.save` mutation's files: paths relative to the checkpoint. */
export function checkpointSaveFiles(handle: string, files: ArtifactRecord[]) {
  const prefix = checkpointPrefix(handle);
  return files.map((f) => ({ path: f.path.slice(prefix.length), size: f.size, sha256: f.sha256, mimeType: f.mimeType }));
}

function toCheckpoint(row: CheckpointRecord, files: ArtifactRecord[], stored: Set<string>): Checkpoint {
  const prefix = checkpointPrefix(row.handle);
  return {
    handle: row.handle,
    files: files.map((f) => ({ ...toArtifact(f, f.sha256 !== null && stored.has(f.sha256)), file: f.path.slice(prefix.length) })),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** Points a version's `default` handle at `target` (inside a transaction with `db.checkpoints`). */
export async function moveDefault(db: HangarDb, versionId: string, target: string, now = Date.now()): Promise<void> {
  const current = await db.checkpoints.get([versionId, DEFAULT_HANDLE]);
  await db.checkpoints.put({ versionId, handle: DEFAULT_HANDLE, target, createdAt: current?.createdAt ?? now, updatedAt: now });
}

/**
 * Saves files as a named checkpoint of a version (Steamship's handles): they become the
 * version's artifacts under `checkpoints/<handle>/` (file type CHECKPOINT), in one
 * transaction with the checkpoint row, the move of `default` (unless `setAsDefault` is
 * false) and one `checkpoint.save` mutation. Checkpoints are immutable: saving the same files
 * again returns the checkpoint; other files under an existing handle fail with
 * `checkpoint-exists`. `files` is a list of uploads or `{ relativePath: Blob }`.
 */
export async function saveCheckpoint(
  ctx: ClientContext,
  version: ParentRef,
  handle: string,
  files: ArtifactUpload[] | Record<string, Blob>,
  opts: { setAsDefault?: boolean } = {},
): Promise<Checkpoint> {
  if (version.kind !== 'version') throw invalid('Checkpoints belong to versions; save one on a version, not on a model.', { parentId: version.id });
  parseWith(nameSchema, handle, 'checkpoint handle');
  if (handle === DEFAULT_HANDLE) {
    throw invalid(`"${DEFAULT_HANDLE}" follows the last checkpoint saved; save under a name of your own (epoch_3, v1…).`, { handle });
  }
  const list: ArtifactUpload[] = Array.isArray(files) ? files : Object.entries(files ?? {}).map(([path, file]) => ({ file, path }));
  if (list.length < 1 || list.length > LIMITS.filesPerCheckpoint) {
    throw invalid(`A checkpoint holds 1 to ${LIMITS.filesPerCheckpoint} files; this one has ${list.length}.`, {
      issues: [{ path: 'files', message: `must hold 1 to ${LIMITS.filesPerCheckpoint} files` }],
    });
  }
  const prefix = checkpointPrefix(handle);
  const uploads = prepareUploads(list, { prefix, fileType: 'CHECKPOINT' });
  const setAsDefault = opts.setAsDefault !== false;
  const { db, writer } = ctx;
  const { row, rows } = await withStagedBlobs(db, async (stage) => {
    const staged: StagedBlob[] = [];
    for (const u of uploads) staged.push(await stage(u.file));
    return writer.write(`checkpoint "${handle}"`, [db.versions, db.checkpoints, db.artifacts, db.blobs], async ({ emit }) => {
      const live = await db.versions.get(version.id);
      if (!live || live.deletedAt !== null) throw new HangarError(ErrorCode.VersionNotFound, 'This version no longer exists.', { versionId: version.id });
      const now = Date.now();
      const wanted = uploads.map((u, i) => {
        const { size, sha256 } = staged[i]!;
        return newArtifactRecord(version, { path: `${prefix}${u.path}`, mimeType: u.mimeType, fileType: 'CHECKPOINT', size, sha256, url: null }, now);
      });
      const existing = await db.checkpoints.get([version.id, handle]);
      const existingFiles = await checkpointFiles(db, version.id, handle);
      // Files already under the prefix without a checkpoint row also make the handle taken.
      if (existing || existingFiles.length) {
        if (!existing || !sameFiles(existingFiles, wanted)) {
          throw new HangarError(
            ErrorCode.CheckpointExists,
            `Checkpoint "${handle}" already exists with other files; checkpoints are immutable, so save under a new handle.`,
            { handle },
          );
        }
        for (const s of staged) await recordStagedBlob(db, s);
        return { row: existing, rows: existingFiles };
      }
      for (const s of staged) await recordStagedBlob(db, s);
      await db.artifacts.bulkAdd(wanted);
      const created: CheckpointRecord = { versionId: version.id, handle, target: null, createdAt: now, updatedAt: now };
      await db.checkpoints.add(created);
      if (setAsDefault) await moveDefault(db, version.id, handle, now);
      emit({ name: 'checkpoint.save', namespace: version.namespace, args: { versionId: version.id, handle, files: checkpointSaveFiles(handle, wanted), setAsDefault } });
      return { row: created, rows: wanted };
    });
  });
  const stored = await storedDigests(db, rows.flatMap((r) => (r.sha256 ? [r.sha256] : [])));
  return toCheckpoint(row, rows, stored);
}

/**
 * Loads a checkpoint's files; with no handle, the one `default` points at. Unknown handle:
 * `checkpoint-not-found`; bytes not on this device yet: `blob-not-found`.
 */
export async function loadCheckpoint(ctx: ClientContext, versionId: string, handle: string = DEFAULT_HANDLE): Promise<LoadedCheckpoint> {
  parseWith(nameSchema, handle, 'checkpoint handle');
  const { db } = ctx;
  const row = await db.checkpoints.get([versionId, handle]);
  if (!row) throw notFound(handle);
  const target = row.target === null ? row : await db.checkpoints.get([versionId, row.target]);
  if (!target) throw notFound(handle);
  const prefix = checkpointPrefix(target.handle);
  const files: LoadedCheckpoint['files'] = [];
  for (const f of await checkpointFiles(db, versionId, target.handle)) {
    const blob = await readStoredBytes(ctx, f);
    files.push({ path: f.path.slice(prefix.length), blob, size: f.size ?? blob.size, sha256: f.sha256 ?? '', mimeType: f.mimeType });
  }
  return { handle, ...(row.target !== null ? { target: row.target } : {}), files };
}

/** A version's checkpoints (oldest first, `default` not among them) and where `default` points. */
export async function listCheckpoints(ctx: ClientContext, versionId: string): Promise<CheckpointList> {
  const rows = await ctx.db.checkpoints.where('[versionId+handle]').between([versionId, Dexie.minKey], [versionId, Dexie.maxKey]).toArray();
  const items = rows
    .filter((r) => r.handle !== DEFAULT_HANDLE)
    .sort((a, b) => a.createdAt - b.createdAt || (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0))
    .map((r) => ({ handle: r.handle, ...(r.target !== null ? { target: r.target } : {}), createdAt: new Date(r.createdAt).toISOString() }));
  const def = rows.find((r) => r.handle === DEFAULT_HANDLE);
  return { items, default: def?.target ?? null };
}
