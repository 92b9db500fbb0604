import { inflateSync, Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { ErrorCode, HangarError } from '../../shared/errors.ts';

/** Bytes read from a Blob at a time while zipping. */
const READ_BYTES = 4 * 1024 * 1024;

/**
 * fflate writes no ZIP64 records, so sizes and offsets must fit in 32 bits. Archives are
 * refused above this (with room for headers and the central directory).
 */
export const MAX_ARCHIVE_BYTES = 0xffff_ffff - 64 * 1024 * 1024;

/** One file of an archive: JSON-ish bytes to deflate, or a Blob stored as is. */
export type ZipInput = { name: string; bytes: Uint8Array } | { name: string; blob: Blob };

/**
 * Writes a zip with fflate's streaming `Zip`: bytes entries deflated, Blob entries passed
 * through (they are mostly incompressible weights) and read slice by slice. Each output
 * chunk becomes a Blob as it comes, so a large artifact never sits whole in the JS heap.
 */
export async function writeZip(entries: ZipInput[], onProgress?: (loaded: number) => void): Promise<Blob> {
  const parts: Blob[] = [];
  let loaded = 0;
  let failure: Error | undefined;
  let ended = false;
  const zip = new Zip(function onZipData(err, chunk, final) {
    if (err) failure = err;
    // fflate hands out ArrayBuffer-backed arrays; the Blob copies them out of the heap.
    else parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
    if (final) ended = true;
  });
  for (const entry of entries) {
    if ('bytes' in entry) {
      const file = new ZipDeflate(entry.name, { level: 6 });
      zip.add(file);
      file.push(entry.bytes, true);
      onProgress?.((loaded += entry.bytes.length));
    } else {
      const file = new ZipPassThrough(entry.name);
      zip.add(file);
      const { blob } = entry;
      if (blob.size === 0) file.push(new Uint8Array(0), true);
      for (let at = 0; at < blob.size; at += READ_BYTES) {
        const slice = new Uint8Array(await blob.slice(at, at + READ_BYTES).arrayBuffer());
        file.push(slice, at + READ_BYTES >= blob.size);
        onProgress?.((loaded += slice.length));
      }
    }
    if (failure) throw failure;
  }
  zip.end();
  if (failure) throw failure;
  if (!ended) throw new HangarError(ErrorCode.Internal, 'The zip writer did not finish the archive.');
  return new Blob(parts, { type: 'application/zip' });
}

/** A file in a zip's central directory. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  compression: number;
  compressedSize: number;
  size: number;
  headerOffset: number;
}

const notZip = (why: string) => new HangarError(ErrorCode.InvalidArgument, `Not a valid Hangar archive: ${why}.`);

async function bytesAt(blob: Blob, start: number, end: number): Promise<DataView> {
  if (start < 0 || end > blob.size || start > end) throw notZip('a record points outside the file');
  return new DataView(await blob.slice(start, end).arrayBuffer());
}

/**
 * The entries of a zip, from its central directory. Sizes there are exact, unlike in the
 * local headers of a streamed zip (which defer them to data descriptors): a streaming
 * reader has to guess where a stored entry ends by looking for a signature in its bytes,
 * and any artifact that is itself a zip (.zip, .pt, .keras) would fool it.
 */
export async function readZipDirectory(blob: Blob): Promise<ZipEntry[]> {
  const tailStart = Math.max(0, blob.size - 22 - 0xffff);
  const tail = await bytesAt(blob, tailStart, blob.size);
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip('it is not a zip file');
  const count = tail.getUint16(eocd + 10, true);
  const dirSize = tail.getUint32(eocd + 12, true);
  const dirOffset = tail.getUint32(eocd + 16, true);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) throw notZip('ZIP64 archives are not supported');
  const dir = await bytesAt(blob, dirOffset, dirOffset + dirSize);
  const names = new TextDecoder();
  const entries: ZipEntry[] = [];
  for (let at = 0, n = 0; n < count; n++) {
    if (at + 46 > dir.byteLength || dir.getUint32(at, true) !== 0x02014b50) throw notZip('its central directory is damaged');
    const nameLength = dir.getUint16(at + 28, true);
    const skip = nameLength + dir.getUint16(at + 30, true) + dir.getUint16(at + 32, true);
    if (at + 46 + nameLength > dir.byteLength) throw notZip('its central directory is damaged');
    entries.push({
      name: names.decode(new Uint8Array(dir.buffer, at + 46, nameLength)),
      compression: dir.getUint16(at + 10, true),
      compressedSize: dir.getUint32(at + 20, true),
      size: dir.getUint32(at + 24, true),
      headerOffset: dir.getUint32(at + 42, true),
    });
    at += 46 + skip;
  }
  return entries;
}

/** An entry's raw (possibly compressed) bytes, as a slice of the archive: nothing is read yet. */
export async function entryBlob(blob: Blob, entry: ZipEntry): Promise<Blob> {
  const header = await bytesAt(blob, entry.headerOffset, entry.headerOffset + 30);
  if (header.getUint32(0, true) !== 0x04034b50) throw notZip(`the header of ${entry.name} is damaged`);
  const start = entry.headerOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  if (start + entry.compressedSize > blob.size) throw notZip(`${entry.name} runs past the end of the file`);
  return blob.slice(start, start + entry.compressedSize);
}

/** A small entry's bytes, inflated if needed (the manifest). */
export async function readEntryBytes(blob: Blob, entry: ZipEntry): Promise<Uint8Array> {
  const raw = new Uint8Array(await (await entryBlob(blob, entry)).arrayBuffer());
  if (entry.compression === 0) return raw;
  if (entry.compression !== 8) throw notZip(`${entry.name} uses compression method ${entry.compression}`);
  try {
    return inflateSync(raw, { out: new Uint8Array(entry.size) });
  } catch {
    throw notZip(`${entry.name} does not inflate`);
  }
}
