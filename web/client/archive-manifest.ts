import Dexie from 'dexie';
import { z } from 'zod';
import { FILE_TYPES, mimeTypeSchema } from '../../shared/artifacts.ts';
import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { modelId } from '../../shared/ids.ts';
import { aliasSchema, artifactPathSchema, keySchema, nameSchema, namespaceSchema, sha256Schema } from '../../shared/names.ts';
import { parseWith } from '../../shared/validate.ts';
import { VERSION_STATUSES } from '../../shared/versions.ts';
import { readBlob } from './blob-store.ts';
import type { HangarDb } from './db.ts';
import { metricTables, parentPoints } from './metric-store.ts';

/** Names the archive format; `ARCHIVE_FORMAT_VERSION` changes with each incompatible change. */
export const ARCHIVE_FORMAT = 'hangar-model-archive';
/** 1: the first format (manifest.json + blobs/<sha256>). */
export const ARCHIVE_FORMAT_VERSION = 1;

const id = z.string().min(1).max(64);
const time = z.number().int().min(0);
const text = z.string().max(4096).nullable();
const clocks = z.record(z.string(), z.string().max(128));

// The rows as db.ts stores them, checked field by field: an archive is untrusted input.
const modelRow = z.object({
  id,
  namespace: namespaceSchema,
  name: nameSchema,
  owner: text,
  task: text,
  description: text,
  clocks,
  createdAt: time,
  updatedAt: time,
  deletedAt: time.nullable(),
});
const versionRow = z.object({
  id,
  modelId: id,
  namespace: namespaceSchema,
  number: z.number().int().min(1),
  numberConfirmed: z.boolean(),
  version: nameSchema.nullable(),
  name: text,
  description: text,
  framework: text,
  status: z.enum(VERSION_STATUSES),
  /**
   * The status the exporting device declared as the version's creator (DESIGN §3a), when it
   * was: `status` is what it served, pending while bytes were missing there. Archives from
   * before it have none.
   */
  declaredStatus: z.enum(VERSION_STATUSES).optional(),
  clocks,
  createdAt: time,
  updatedAt: time,
  deletedAt: time.nullable(),
});
const metadataRow = z.object({ parentId: id, key: keySchema, namespace: namespaceSchema, value: z.json(), hlc: z.string().max(128) });
const metricRow = z.object({ id, parentId: id, key: keySchema, value: z.number(), step: z.number().int().min(0), wallclock: z.number().int().min(0) });
const aliasRow = z.object({ modelId: id, alias: aliasSchema, versionId: id, updatedAt: time });
const aliasHistoryRow = z.object({ id, modelId: id, alias: aliasSchema, versionId: id.nullable(), previousVersionId: id.nullable(), at: time });
const artifactRow = z.object({
  id,
  namespace: namespaceSchema,
  modelId: id,
  parentId: id,
  path: artifactPathSchema,
  mimeType: mimeTypeSchema,
  fileType: z.enum(FILE_TYPES),
  size: z.number().int().min(0).nullable(),
  sha256: sha256Schema.nullable(),
  url: z.string().max(2048).nullable(),
  createdAt: time,
});
const checkpointRow = z.object({ versionId: id, handle: nameSchema, target: nameSchema.nullable(), createdAt: time, updatedAt: time });

/** `manifest.json`: a model and everything that hangs off it, as rows of the local store. */
export const manifestSchema = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  formatVersion: z.literal(ARCHIVE_FORMAT_VERSION),
  exportedAt: z.string(),
  model: modelRow,
  versions: z.array(versionRow),
  metadata: z.array(metadataRow),
  metrics: z.array(metricRow),
  aliases: z.array(aliasRow),
  aliasHistory: z.array(aliasHistoryRow),
  artifacts: z.array(artifactRow),
  checkpoints: z.array(checkpointRow),
});
export type Manifest = z.infer<typeof manifestSchema>;

const badArchive = (message: string, details: Record<string, unknown> = {}) =>
  new HangarError(ErrorCode.InvalidArgument, `Not a valid Hangar archive: ${message}.`, details);

/** Reads an archive's manifest: its shape, format version, and that every row belongs to its model. */
export async function parseManifest(bytes: Uint8Array): Promise<Manifest> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badArchive('manifest.json is not JSON');
  }
  const head = json as { format?: unknown; formatVersion?: unknown } | null;
  if (head?.format !== ARCHIVE_FORMAT) throw badArchive(`manifest.json does not name the format "${ARCHIVE_FORMAT}"`);
  if (head.formatVersion !== ARCHIVE_FORMAT_VERSION) {
    throw badArchive(`format version ${String(head.formatVersion)} is not one this library reads (it reads ${ARCHIVE_FORMAT_VERSION})`, {
      formatVersion: head.formatVersion,
    });
  }
  const m = parseWith(manifestSchema, json, 'archive manifest');
  const { model } = m;
  // Model ids are derived from (namespace, name): a mismatch means a damaged or forged archive.
  if (model.id !== (await modelId(model.namespace, model.name))) throw badArchive('the model id does not match its namespace and name');
  const versionIds = new Set(m.versions.map((v) => v.id));
  const parents = new Set([model.id, ...versionIds]);
  const stray =
    m.versions.find((v) => v.modelId !== model.id || v.namespace !== model.namespace) ??
    [...m.metadata, ...m.metrics, ...m.artifacts].find((r) => !parents.has(r.parentId)) ??
    m.metadata.find((r) => r.namespace !== model.namespace) ??
    m.artifacts.find((r) => r.modelId !== model.id || r.namespace !== model.namespace) ??
    [...m.aliases, ...m.aliasHistory].find((r) => r.modelId !== model.id) ??
    m.aliases.find((r) => !versionIds.has(r.versionId)) ??
    m.checkpoints.find((r) => !versionIds.has(r.versionId));
  if (stray) throw badArchive('a row does not belong to the archive\'s model', { row: stray });
  return m;
}

/**
 * Everything of a live model, read in one transaction so it is one consistent snapshot.
 * Deleted versions (tombstones) and what hangs off them are left out. Also returns the
 * stored bytes of every uploaded artifact whose bytes are on this device.
 */
export async function collectManifest(db: HangarDb, namespace: string, name: string): Promise<{ manifest: Manifest; blobs: Map<string, Blob> }> {
  const tables = [db.models, db.versions, db.metadata, ...metricTables(db), db.aliases, db.aliasHistory, db.artifacts, db.checkpoints, db.blobs, db.blobChunks];
  return db.transaction('r', tables, async () => {
    const model = await db.models.where('[namespace+name]').equals([namespace, name]).first();
    if (!model || model.deletedAt !== null) {
      throw new HangarError(ErrorCode.ModelNotFound, `No model "${name}" in namespace "${namespace}".`, { namespace, model: name });
    }
    const versions = (await db.versions.where('modelId').equals(model.id).sortBy('number')).filter((v) => v.deletedAt === null);
    const versionIds = new Set(versions.map((v) => v.id));
    const parents = [model.id, ...versionIds];
    const ofModel = [model.id, Dexie.minKey] as const;
    const toModelEnd = [model.id, Dexie.maxKey] as const;
    // One `equals` per parent: Dexie's `anyOf` walks a cursor, far slower for many rows.
    const each = async <R>(ids: string[], read: (id: string) => Promise<R[]>) => (await Promise.all(ids.map(read))).flat();
    const artifacts = (await each(parents, (p) => db.artifacts.where('parentId').equals(p).toArray())).sort((a, b) => (a.parentId + a.path < b.parentId + b.path ? -1 : 1));
    const manifest: Manifest = {
      format: ARCHIVE_FORMAT,
      formatVersion: ARCHIVE_FORMAT_VERSION,
      exportedAt: new Date().toISOString(),
      model,
      versions,
      // Values were checked as JSON when they were written.
      // Deleted keys (tombstones) are not part of what a model holds.
      metadata: (await each(parents, (p) => db.metadata.where('parentId').equals(p).filter((r) => !r.deleted).toArray())) as Manifest['metadata'],
      metrics: await each(parents, (p) => parentPoints(db, p)),
      aliases: (await db.aliases.where('[modelId+alias]').between(ofModel, toModelEnd).toArray()).filter((a) => versionIds.has(a.versionId)),
      aliasHistory: await db.aliasHistory.where('[modelId+alias]').between(ofModel, toModelEnd).toArray(),
      artifacts,
      checkpoints: await each([...versionIds], (v) => db.checkpoints.where('versionId').equals(v).toArray()),
    };
    const blobs = new Map<string, Blob>();
    for (const a of artifacts) {
      if (a.url !== null || a.sha256 === null || blobs.has(a.sha256)) continue;
      const blob = await readBlob(db, a.sha256);
      if (blob) blobs.set(a.sha256, blob);
    }
    return { manifest, blobs };
  });
}
