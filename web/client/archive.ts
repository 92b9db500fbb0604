import { ErrorCode, HangarError } from '../../shared/errors.ts';
import { sha256Schema } from '../../shared/names.ts';
import { collectManifest, parseManifest } from './archive-manifest.ts';
import { mergeManifest } from './archive-merge.ts';
import { MAX_ARCHIVE_BYTES, entryBlob, readEntryBytes, readZipDirectory, writeZip, type ZipInput } from './archive-zip.ts';
import { storedDigests, withStagedBlobs, type StagedBlob } from './blob-store.ts';
import type { ClientContext } from './context.ts';
import type { ByteProgress } from './read-body.ts';

/** The manifest's name inside an archive. */
const MANIFEST = 'manifest.json';
/** Where each stored blob sits inside an archive: `blobs/<sha256>`. */
const BLOBS_DIR = 'blobs/';

export interface ArchiveOptions {
  /** Bytes of the archive written (export), or of its blobs stored (import), so far. */
  onProgress?(p: ByteProgress): void;
}

/**
 * Exports a model as one zip: `manifest.json` (the format and its version, the model row, its
 * live versions, metadata, metrics, aliases and their history, artifacts and checkpoints) and
 * `blobs/<sha256>` for the bytes of every uploaded artifact held on this device. Artifacts
 * whose bytes are not here are listed without bytes. Archives are limited to 4 GiB (no ZIP64).
 */
export async function exportModel(ctx: ClientContext, namespace: string, name: string, opts: ArchiveOptions = {}): Promise<Blob> {
  const { manifest, blobs } = await collectManifest(ctx.db, namespace, name);
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const total = json.length + [...blobs.values()].reduce((n, b) => n + b.size, 0);
  if (total > MAX_ARCHIVE_BYTES) {
    throw new HangarError(
      ErrorCode.PayloadTooLarge,
      `Model "${name}" holds ${total} bytes; an export holds at most ${MAX_ARCHIVE_BYTES} (zip without ZIP64). Sync it to a server instead.`,
      { size: total, limit: MAX_ARCHIVE_BYTES },
    );
  }
  const entries: ZipInput[] = [{ name: MANIFEST, bytes: json }];
  for (const [sha256, blob] of [...blobs].sort(([a], [b]) => (a < b ? -1 : 1))) entries.push({ name: `${BLOBS_DIR}${sha256}`, blob });
  return writeZip(entries, opts.onProgress && ((loaded) => opts.onProgress?.({ loaded, total })));
}

/**
 * Imports an archive made by {@link exportModel}. Each blob is hashed while it is stored and
 * must match its name (else `digest-mismatch`) and the size its artifacts announce (else
 * `size-mismatch`); then every row is merged in one transaction (see `mergeManifest`). Any
 * failure leaves the registry as it was. Importing the same archive again changes nothing and
 * emits no mutation; rows new to this registry emit the mutations a local write would.
 */
export async function importModel(ctx: ClientContext, archive: Blob, opts: ArchiveOptions = {}): Promise<{ namespace: string; name: string }> {
  const entries = await readZipDirectory(archive);
  const manifestEntry = entries.find((e) => e.name === MANIFEST);
  if (!manifestEntry) throw new HangarError(ErrorCode.InvalidArgument, `Not a valid Hangar archive: it has no ${MANIFEST}.`);
  const manifest = await parseManifest(await readEntryBytes(archive, manifestEntry));
  const sizes = new Map<string, Set<number | null>>();
  for (const a of manifest.artifacts) {
    if (a.url === null && a.sha256 !== null) sizes.set(a.sha256, (sizes.get(a.sha256) ?? new Set()).add(a.size));
  }
  const blobEntries = entries.filter((e) => e.name.startsWith(BLOBS_DIR) && sizes.has(e.name.slice(BLOBS_DIR.length)));
  const { db } = ctx;
  await withStagedBlobs(db, async (stage) => {
    const held = await storedDigests(db, blobEntries.map((e) => e.name.slice(BLOBS_DIR.length)));
    const staged: StagedBlob[] = [];
    // Progress counts the blobs' bytes, the import's long part; held ones count as done at once.
    const total = blobEntries.reduce((n, e) => n + e.compressedSize, 0);
    let done = 0;
    const report = (loaded: number) => opts.onProgress?.({ loaded, total });
    report(0);
    for (const entry of blobEntries) {
      const expected = entry.name.slice(BLOBS_DIR.length);
      if (held.has(expected) || staged.some((s) => s.sha256 === expected)) {
        report((done += entry.compressedSize));
        continue;
      }
      if (!sha256Schema.safeParse(expected).success || entry.compression !== 0) {
        throw new HangarError(ErrorCode.InvalidArgument, `Not a valid Hangar archive: ${entry.name} is not a stored blob.`, { entry: entry.name });
      }
      const s = await stage(await entryBlob(archive, entry), { onProgress: (loaded) => report(done + loaded) });
      done += entry.compressedSize;
      if (s.sha256 !== expected) {
        throw new HangarError(
          ErrorCode.DigestMismatch,
          `The archive is damaged: the bytes of ${entry.name} hash to ${s.sha256}. Nothing was imported.`,
          { entry: entry.name, expected, actual: s.sha256 },
        );
      }
      const announced = [...(sizes.get(expected) ?? [])];
      if (announced.some((n) => n !== s.size)) {
        throw new HangarError(
          ErrorCode.SizeMismatch,
          `The archive is damaged: ${entry.name} holds ${s.size} bytes, not the ${announced.join(' or ')} its artifacts announce. Nothing was imported.`,
          { entry: entry.name, size: s.size, expected: announced },
        );
      }
      staged.push(s);
    }
    await mergeManifest(ctx, manifest, staged);
    report(total);
  });
  return { namespace: manifest.model.namespace, name: manifest.model.name };
}
