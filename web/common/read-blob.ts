/** Bytes read at a time when a Blob is streamed into a reused buffer. */
export const READ_BUFFER_BYTES = 1024 * 1024;

/**
 * Streams a Blob's bytes into one buffer (a BYOB reader), calling `onBytes` with each filled
 * view, which is only valid until it returns. Memory stays at one buffer whatever the Blob's
 * size; a plain `arrayBuffer()` per slice leaves garbage the collector frees late. Where Blob
 * streams are not byte streams, it falls back to the stream's own chunks.
 *
 * Resolves with the buffer, to be passed to the next call (each read transfers it, so the
 * one given is detached afterwards), or undefined when it is not reusable (the fallback).
 */
export async function readBlobInto(
  blob: Blob,
  onBytes: (bytes: Uint8Array) => void,
  buffer: ArrayBuffer = new ArrayBuffer(READ_BUFFER_BYTES),
): Promise<ArrayBuffer | undefined> {
  const stream = blob.stream();
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: 'byob' });
  } catch {
    const plain = stream.getReader();
    for (let r = await plain.read(); !r.done; r = await plain.read()) onBytes(r.value);
    return undefined;
  }
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    // The read hands the buffer back (transferred) inside `value`, also the last, empty one.
    if (!value) return undefined;
    buffer = value.buffer as ArrayBuffer;
    if (value.byteLength) onBytes(value);
    if (done) return buffer;
  }
}

/**
 * Reads Blob after Blob through one buffer it keeps between reads ({@link readBlobInto}). A
 * large file hashed slice by slice then allocates one buffer in all, not one per slice: the
 * buffers of finished slices are garbage the collector of a worker with a small heap leaves
 * for a long time (64 of them for a 256 MiB file in 4 MiB slices). Reads may overlap: one
 * that starts while another holds the buffer gets a buffer of its own.
 */
export class BlobBytesReader {
  private spare: ArrayBuffer | undefined;

  /** `allocate` makes a buffer when none is spare (tests count the calls). */
  constructor(private readonly allocate: () => ArrayBuffer = () => new ArrayBuffer(READ_BUFFER_BYTES)) {}

  async read(blob: Blob, onBytes: (bytes: Uint8Array) => void): Promise<void> {
    const buffer = this.spare ?? this.allocate();
    this.spare = undefined;
    const back = await readBlobInto(blob, onBytes, buffer);
    if (back?.byteLength) this.spare = back;
  }
}
