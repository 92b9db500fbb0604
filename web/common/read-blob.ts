/** Bytes read at a time when a Blob is streamed into a reused buffer. */
export const READ_BUFFER_BYTES = 1024 * 1024;

/**
 * Streams a Blob's bytes into one reused buffer (a BYOB reader), calling `onBytes` with each
 * filled view, which is only valid until it returns. Memory stays at one buffer whatever the
 * Blob's size; a plain `arrayBuffer()` per slice leaves garbage the collector frees late.
 * Where Blob streams are not byte streams, it falls back to the stream's own chunks.
 */
export async function readBlobInto(blob: Blob, onBytes: (bytes: Uint8Array) => void): Promise<void> {
  const stream = blob.stream();
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: 'byob' });
  } catch {
    const plain = stream.getReader();
    for (let r = await plain.read(); !r.done; r = await plain.read()) onBytes(r.value);
    return;
  }
  let buffer = new ArrayBuffer(READ_BUFFER_BYTES);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done || !value) return;
    onBytes(value);
    // The read hands the buffer back (transferred) inside `value`; reuse it.
    buffer = value.buffer as ArrayBuffer;
  }
}
